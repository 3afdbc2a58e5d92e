"""XSBench-like workload: sizes, the lookup loop's exact access stream, phases."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from workloads import xsbench as X
from workloads import xsbench_jit as J
from workloads.rows import Slot, emit_rows
from workloads.trace import ACCESS, MMAP, PAGE_SHIFT, PAGE_SIZE, TraceReader, decode
from workloads.tracecheck import walk

# tiny "small" problem: 68 isotopes x round(11303 * 0.01) = 113 grid points
TINY = {"size": "small", "grid_scale": 0.01, "lookups": 40, "chunk_lookups": 64}


def records(path):
    out = {k: [] for k in ("kind", "write", "addr", "arg")}
    for recs in TraceReader(path).chunks():
        for k, v in decode(recs).items():
            out[k].append(v)
    return {k: np.concatenate(v) for k, v in out.items()}


def test_sizes_of_the_large_problem():
    w = X.XSBench({"grid_scale": 1.0}, seed=0)
    n = 355 * 11303
    assert w.array_bytes()["nuclide_grid"] == 48 * n == 192_603_120
    assert w.array_bytes()["unionized"] == 8 * n == 32_100_520
    assert w.array_bytes()["index_grid"] == 4 * n * 355 == 5_697_842_300
    # materials: num_nucs (64 B slot), mats 12 x 321 ints, concs 12 x 321 doubles
    assert w.array_bytes()["materials"] == 64 + 4 * 12 * 321 + 8 * 12 * 321
    assert 5.5 * 2**30 < w.footprint_bytes() < 5.52 * 2**30


def test_tiny_footprint_and_init_pages(tmp_path):
    w = X.XSBench(TINY, seed=1)
    assert (w.n_isotopes, w.n_gridpoints) == (68, 113)
    n = 68 * 113
    # bytes: 368832, 61472, 2090048, 64 + 4*12*34 + 8*12*34 = 4960 -> 91, 16, 511, 2 pages
    pages = {"nuclide_grid": 91, "unionized": 16, "index_grid": 511, "materials": 2}
    assert w.footprint_bytes() == sum(pages.values()) * PAGE_SIZE
    path = tmp_path / "x.trace"
    w.write(path)
    r, events, outside, per_phase = walk(path)
    assert outside == 0
    assert r.phases == ["init", "lookup"]
    va = w.layout()
    mm = [(a, npg) for k, a, npg in events if k == MMAP]      # (address, pages)
    assert mm == [(va[name], pages[name]) for name in pages]
    assert all(a % (2 << 20) == 0 for a, _ in mm)
    d = records(path)
    acc = d["kind"] == ACCESS
    n_init = r.trailer["phase_starts"][1]
    # every element written once: 6 doubles per point, a double per unionized point,
    # n_iso ints per unionized point, 4960 B of materials in doubles
    assert n_init == 6 * n + n + 68 * n + 4960 // 8
    # written pages in init: each page of each array exactly once (one write record)
    cum = np.cumsum(np.where(acc, d["arg"], 0))
    init = acc & (cum <= n_init)
    assert d["write"][init].all()
    assert len(np.unique(d["addr"][init])) == int(init.sum()) == sum(pages.values())


def reference_index_grid(energies, unionized):
    """GridInit.c's idx_low loop, as written (sequential in e)."""
    n_iso, n_gp = energies.shape
    idx_low = np.zeros(n_iso, np.int64)
    high = energies[:, 1].copy()
    out = np.empty((len(unionized), n_iso), np.int64)
    for e, u in enumerate(unionized):
        step = (u >= high) & (idx_low != n_gp - 2)
        idx_low[step] += 1
        high[step] = energies[np.flatnonzero(step), idx_low[step] + 1]
        out[e] = idx_low
    return out


def reference_search(grid, q):
    """Simulation.c grid_search, scalar: (lower index, probed indices)."""
    lo, hi, probes = 0, len(grid) - 1, []
    while hi - lo > 1:
        ex = lo + (hi - lo) // 2
        probes.append(ex)
        if grid[ex] > q:
            hi = ex
        else:
            lo = ex
    return lo, probes


def runs(pages, counts):
    """Collapse consecutive equal pages: list of (page, total count)."""
    out = []
    for p, c in zip(pages, counts):
        if out and out[-1][0] == p:
            out[-1][1] += c
        else:
            out.append([p, c])
    return out


def test_lookup_stream_is_the_loop(tmp_path):
    """Every access of calculate_macro_xs, in program order, on the right page."""
    w = X.XSBench(TINY, seed=3)
    path = tmp_path / "x.trace"
    w.write(path)
    energies, uni, rng = w.make_grids()
    energy, mat = X.XSBench.sample(rng, TINY["lookups"])
    ig = reference_index_grid(energies, uni)
    nn, mats = X.num_nucs("small"), X.material_table("small")
    va, n_iso, n_gp = w.layout(), 68, 113
    mx = mats.shape[1]
    m_nn, m_mats = va["materials"], va["materials"] + 64
    m_concs = m_mats + 4 * 12 * mx
    exp_pages, exp_counts, total = [], [], 0
    for e, m in zip(energy, mat):
        idx, probes = reference_search(uni, e)
        total += len(probes) + 1 + 15 * nn[m]
        acc = [(va["unionized"] + 8 * x, 1) for x in probes] + [(m_nn + 4 * m, 1)]
        for j in range(nn[m]):
            nuc = mats[m, j]
            low = va["nuclide_grid"] + 48 * (nuc * n_gp + ig[idx, nuc])
            acc += [(m_mats + 4 * (m * mx + j), 1), (m_concs + 8 * (m * mx + j), 1),
                    (va["index_grid"] + 4 * (idx * n_iso + nuc), 1), (low, 6), (low + 95, 6)]
        exp_pages += [a >> PAGE_SHIFT for a, _ in acc]
        exp_counts += [c for _, c in acc]
    d = records(path)
    r = TraceReader(path)
    acc = d["kind"] == ACCESS
    cum = np.cumsum(np.where(acc, d["arg"], 0))
    look = acc & (cum > r.trailer["phase_starts"][1])
    assert not d["write"][look].any()
    got = runs((d["addr"][look] >> np.uint64(PAGE_SHIFT)).tolist(), d["arg"][look].tolist())
    assert got == runs(exp_pages, exp_counts)
    assert r.trailer["n_accesses"] - r.trailer["phase_starts"][1] == total
    assert sum(r.trailer["xsbench"]["lookups_per_material"]) == TINY["lookups"]


def test_deterministic_by_seed(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    X.XSBench(TINY, seed=5).write(a)
    X.XSBench(TINY, seed=5).write(b)
    assert a.read_bytes() == b.read_bytes()
    X.XSBench(TINY, seed=6).write(b)
    assert a.read_bytes() != b.read_bytes()


def test_pick_mat_distribution():
    rng = np.random.default_rng(0)
    _, mat = X.XSBench.sample(rng, 200_000)
    pdf = np.diff(np.concatenate(([0.0], X.MAT_CDF)))
    assert np.abs(np.bincount(mat, minlength=12) / 200_000 - pdf).max() < 0.005
    # material rolls exactly on a CDF step go to the next material (roll < dist[i])
    assert np.searchsorted(X.MAT_CDF, [0.0, 0.14, 0.999], side="right").tolist() == [0, 1, 11]


def test_materials_are_the_codes():
    assert X.num_nucs("large").tolist() == [321, 5, 4, 4, 27, 21, 21, 21, 21, 21, 9, 9]
    assert X.num_nucs("small")[0] == 34
    big = X.material_table("large")
    assert big[0, 33] == 41 and big[0, 34] == 68 and big[0, 320] == 354   # 68 + 286
    assert big.max() == 354 and (big[1, :5] == [63, 64, 65, 66, 67]).all()
    assert X.material_table("small").max() == 67


# -- the compiled loop against the numpy version it replaced ------------------

def numpy_grid_search(grid, energy):
    """The numpy version's grid_search for many energies: (lower index int64
    (k,), probed indices int64 (k, steps), -1 after a search ended)."""
    k = len(energy)
    lo, hi, probes = np.zeros(k, np.int64), np.full(k, len(grid) - 1, np.int64), []
    while True:
        length = hi - lo
        act = length > 1
        if not act.any():
            break
        ex = lo + length // 2
        probes.append(np.where(act, ex, -1))
        up = act & (grid[np.where(act, ex, 0)] > energy)
        hi, lo = np.where(up, ex, hi), np.where(act & ~up, ex, lo)
    return lo, (np.stack(probes, axis=1) if probes else np.zeros((k, 0), np.int64))


class Merged:
    """A trace writer's ``access`` reduced to its records: (word, count) lists
    with equal neighbouring pages merged within each call."""

    def __init__(self):
        self.words, self.counts, self.new_call = [], [], True

    def access(self, addrs, write, counts):
        for a, c in zip(np.asarray(addrs).tolist(), np.asarray(counts).tolist()):
            w = a & ~(PAGE_SIZE - 1)
            if self.words and self.words[-1] == w and not self.new_call:
                self.counts[-1] += c
            else:
                self.words.append(w)
                self.counts.append(c)
            self.new_call = False
        self.new_call = True


def numpy_lookup_stream(energies, energy, mat, nn, mats, addrs, chunk):
    """The lookup phase as the numpy version wrote it (XSBench.generate before
    the compiled loop: index_rows' search over the flattened grid, rows.emit_rows):
    (words, counts) of its records."""
    n_iso, n_gp = energies.shape
    uni, mx, U = np.sort(energies, axis=None), mats.shape[1], np.uint64
    flat = (energies + 2.0 * np.arange(n_iso)[:, None]).ravel()
    out = Merged()
    for c0 in range(0, len(energy), chunk):
        e, m = energy[c0:c0 + chunk], mat[c0:c0 + chunk]
        k = len(e)
        idx, probes = numpy_grid_search(uni, e)
        po, ps = np.nonzero(probes >= 0)
        cnt = nn[m]
        own = np.repeat(np.arange(k), cnt)
        j = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        slot, nuc = (m[own] * mx + j).astype(U), mats[m[own], j]
        pos = np.searchsorted(flat, uni[idx[own]] + 2.0 * nuc, side="right")
        low = np.clip(pos - nuc * n_gp - 1, 0, n_gp - 2)
        a = [U(x) for x in addrs]
        lo_a = a[J.NUCLIDE_GRID] + (nuc * n_gp + low).astype(U) * U(48)
        emit_rows(out, k, [
            (po, [Slot(a[J.UNIONIZED] + probes[po, ps].astype(U) * U(8), False)]),
            (np.arange(k), [Slot(a[J.NUM_NUCS] + m.astype(U) * U(4), False)]),
            (own, [Slot(a[J.MATS] + slot * U(4), False), Slot(a[J.CONCS] + slot * U(8), False),
                   Slot(a[J.INDEX_GRID] + (idx[own] * n_iso + nuc).astype(U) * U(4), False),
                   Slot(lo_a, False, None, 6), Slot(lo_a + U(95), False, None, 6)])])
    return out.words, out.counts


def compiled_lookup_stream(energies, energy, mat, nn, mats, addrs, chunk, cap):
    """The same through xsbench_jit.lookup_records, ``cap`` records a call."""
    n_iso, n_gp = energies.shape
    uni = np.sort(energies, axis=None)
    flat = (energies + 2.0 * np.arange(n_iso)[:, None]).ravel()
    buckets = np.empty((n_iso, J.BUCKETS_PER_POINT * n_gp + 2), np.int32)
    J.fill_buckets(flat, n_gp, buckets)
    words, counts = np.empty(cap, np.int64), np.empty(cap, np.uint32)
    lows = np.empty((2, mats.shape[1]), np.int64)
    out_w, out_c, i = [], [], 0
    while i < len(energy):
        i, n = J.lookup_records(energy, mat, i, chunk, uni, flat, buckets, n_gp, n_iso, nn,
                                mats, np.array(addrs, np.int64), lows, words, counts)
        out_w += words[:n].tolist()
        out_c += counts[:n].tolist()
    return out_w, out_c


@st.composite
def lookup_problems(draw):
    """Grids with near-ties (an energy a few ulps above another row's, which
    ties with it once both are shifted by 2 * row), lookups landing on them."""
    n_iso, n_gp = draw(st.integers(1, 6)), draw(st.integers(2, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    e = rng.random((n_iso, n_gp))
    ties = draw(st.lists(st.tuples(st.integers(0, n_iso - 1), st.integers(0, n_gp - 1),
                                   st.integers(0, n_iso - 1), st.integers(0, n_gp - 1),
                                   st.integers(-3, 3)), max_size=8))
    for r0, i0, r1, i1, ulps in ties:
        e[r1, i1] = e[r0, i0] + ulps * np.spacing(e[r0, i0])
    e = np.sort(np.clip(e, 0.0, np.nextafter(1.0, 0.0)), axis=1)
    k = draw(st.integers(1, 70))
    energy = rng.random(k)
    hits = draw(st.lists(st.integers(0, k - 1), max_size=k))
    energy[hits] = rng.choice(e.ravel(), len(hits))      # lookups exactly on grid energies
    mx = draw(st.integers(1, 5))
    nn = rng.integers(1, mx + 1, 12)
    mats = rng.integers(0, n_iso, (12, mx))
    mat = rng.integers(0, 12, k)
    # materials on one page (mats and concs then merge) or on their own pages
    m0 = draw(st.sampled_from([0x10000, 0x10040]))
    addrs = [0x200000, m0, m0 + 0x40, m0 + draw(st.sampled_from([0x100, 0x3000])),
             0x400000, 0x800000]
    return e, energy, mat, nn, mats, addrs, draw(st.integers(1, 9))


@settings(max_examples=150, deadline=None)
@given(lookup_problems(), st.integers(1, 3))
def test_compiled_loop_writes_the_numpy_records(problem, room):
    e, energy, mat, nn, mats, addrs, chunk = problem
    steps = int(np.ceil(np.log2(e.size))) + 1
    cap = room * chunk * (steps + 1 + 5 * mats.shape[1])     # 1 to 3 chunks a call
    assert compiled_lookup_stream(e, energy, mat, nn, mats, addrs, chunk, cap) \
        == numpy_lookup_stream(e, energy, mat, nn, mats, addrs, chunk)


def test_index_search_keeps_the_shifted_ties():
    """Row 3's energies 0.3 and 0.3 + 1 ulp both read 6.3 once shifted by 6: the
    numpy search counted both as at or below 0.3, and so does the compiled one.
    Row 3's point 2 starts a page: the exact lower point (1) would read the page
    before it, for both its low and its high point."""
    u = 0.3
    e = np.array([[0.1, 0.2, u, 0.9], [0.05, 0.15, 0.6, 0.7], [0.01, 0.02, 0.03, 0.04],
                  [0.1, u, np.nextafter(u, 1.0), 0.95]])
    assert u + 6.0 == np.nextafter(u, 1.0) + 6.0
    mats = np.full((12, 1), 3)
    args = (e, np.array([u]), np.array([0]), np.ones(12, np.int64), mats,
            [0, 0x1000, 0x2000, 0x3000, 0x100000, 0x1000000 - 48 * (3 * 4 + 2)], 1)
    want = numpy_lookup_stream(*args)
    assert (want[0][-1], want[1][-1]) == (0x1000000, 12)     # low and high, merged
    assert compiled_lookup_stream(*args, cap=1000) == want


@pytest.mark.parametrize("q", [-1.0, 0.0, 0.37, 0.999999, 2.0])
def test_grid_search_probes_are_the_c_loops(q):
    """One lookup's first records: the unionized points grid_search probes
    (2^16 of them, 128 pages), then num_nucs[1]."""
    e = np.sort(np.random.default_rng(2).random((1, 1 << 16)), axis=1)
    _, probes = reference_search(e.ravel(), q)
    want = runs([(8 * x) & ~0xFFF for x in probes] + [1 << 30], [1] * (len(probes) + 1))
    words, counts = compiled_lookup_stream(
        e, np.array([q]), np.array([1]), np.ones(12, np.int64), np.zeros((12, 1), np.int64),
        [0, 1 << 30, 2 << 30, 3 << 30, 4 << 30, 5 << 30], 1, 1000)
    assert len(want) >= 8
    assert [[w, c] for w, c in zip(words, counts)][:len(want)] == want
