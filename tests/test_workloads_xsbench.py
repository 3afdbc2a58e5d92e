"""XSBench-like workload: sizes, the lookup loop's exact access stream, phases."""
import numpy as np
import pytest

from workloads import xsbench as X
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


@pytest.mark.parametrize("q", [-1.0, 0.0, 0.37, 0.999999, 2.0])
def test_grid_search_matches_the_c_loop(q):
    grid = np.sort(np.random.default_rng(2).random(1000))
    lo, probes = X.grid_search(grid, np.array([q]))
    ref_lo, ref_probes = reference_search(grid, q)
    assert lo[0] == ref_lo
    assert probes[0][probes[0] >= 0].tolist() == ref_probes
