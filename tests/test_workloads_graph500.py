"""Graph500 generator, kernel 1, BFS and trace tests."""
from math import comb

import numpy as np
import pytest

from workloads import graph500 as G
from workloads.trace import TraceReader, decode, ACCESS
from workloads.tracecheck import walk


def analytic_top1_share(scale: int) -> float:
    """Expected share of (multigraph) edge endpoints held by the top 1% of vertices.

    With A+B = A+C = 0.76, a vertex whose label has b one-bits is the source of an
    edge with probability 0.76^(scale-b) 0.24^b and the destination with the same
    probability, so its expected degree is 2M times that; the relabelling permutes
    vertices and changes nothing.  Scale 14: 0.349."""
    p = []
    for b in range(scale + 1):
        p += [0.76 ** (scale - b) * 0.24 ** b] * comb(scale, b)
    p = np.sort(np.array(p))[::-1]
    return float(p[:(1 << scale) // 100].sum() / p.sum())


@pytest.fixture(scope="module")
def g14():
    return G.Graph500({"scale": 14}, seed=3).make_graph()


def test_kronecker_degree_skew(g14):
    src, dst, g, roots = g14
    n = 1 << 14
    assert len(src) == 16 * n
    md = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    top = np.sort(md)[::-1][: n // 100].sum() / md.sum()
    expect = analytic_top1_share(14)
    assert abs(expect - 0.349) < 0.001
    assert abs(top - expect) < 0.01, (top, expect)
    # after dedup (the CSR), still heavily skewed: a uniform random graph gives ~0.02
    deg = g.degree
    assert np.sort(deg)[::-1][: n // 100].sum() / deg.sum() > 0.2
    assert deg.max() > 50 * deg.mean()


def test_csr_is_deduped_symmetric_graph(g14):
    src, dst, g, _ = g14
    n = g.nv
    s, d = src.astype(np.int64), dst.astype(np.int64)
    ns = s != d
    und = np.unique(np.minimum(s[ns], d[ns]) * n + np.maximum(s[ns], d[ns]))
    assert g.n_edges == len(und)
    v = np.repeat(np.arange(n), g.degree)
    u = g.xadj.astype(np.int64)
    got = np.sort(np.minimum(v, u) * n + np.maximum(v, u))
    assert np.array_equal(got, np.repeat(und, 2))
    assert g.xoff[-1] == 2 * g.n_edges


def test_search_keys_have_degree(g14):
    _, _, g, roots = g14
    assert len(roots) == 64 and len(set(roots.tolist())) == 64
    assert (g.degree[roots] > 0).all()


def simple_bfs(g, root):
    parent = [-1] * g.nv
    parent[root] = root
    q = [root]
    k = 0
    while k < len(q):
        v = q[k]
        k += 1
        for vo in range(g.xoff[v], g.xoff[v + 1]):
            j = int(g.xadj[vo])
            if parent[j] == -1:
                parent[j] = v
                q.append(j)
    return np.array(parent), q


def test_bfs_matches_sequential_and_validates():
    w = G.Graph500({"scale": 11}, seed=5)
    src, dst, g, roots = w.make_graph()
    for r in roots[:4]:
        seen = []
        par, scanned = G.bfs(g, int(r), chunk_edges=97,   # tiny blocks: exercise chunking
                             emit=lambda k0, fb, *a: seen.extend(fb.tolist()))
        ref, queue = simple_bfs(g, int(r))
        assert np.array_equal(par, ref)           # exact sequential parents
        assert seen == queue                       # exact queue order
        assert len(set(seen)) == len(seen)         # each reachable vertex visited once
        reach = par >= 0
        assert scanned == int(g.degree[reach].sum())
        G.validate_bfs(g, src, dst, par, int(r))


def test_validation_rejects_bad_trees():
    w = G.Graph500({"scale": 10}, seed=2)
    src, dst, g, roots = w.make_graph()
    r = int(roots[0])
    par, _ = G.bfs(g, r)
    bad = par.copy()
    bad[r] = -1
    with pytest.raises(AssertionError, match="rule 1"):
        G.validate_bfs(g, src, dst, bad, r)
    v = int(np.flatnonzero((par >= 0) & (np.arange(g.nv) != r))[-1])
    bad = par.copy()
    bad[v] = -1                                     # a reachable vertex left out
    with pytest.raises(AssertionError, match="rule 4|rule 2"):
        G.validate_bfs(g, src, dst, bad, r)
    bad = par.copy()
    bad[v] = r if v not in g.xadj[g.xoff[r]:g.xoff[r + 1]] else v  # non-edge / self cycle
    with pytest.raises(AssertionError, match="rule 2"):
        G.validate_bfs(g, src, dst, bad, r)


@pytest.mark.parametrize("construct", [True, False])
def test_trace_touches_only_mapped_vmas(tmp_path, construct):
    w = G.Graph500({"scale": 12, "sample": 32, "construct": construct}, seed=1)
    path = tmp_path / "g.trace"
    w.write(path)
    r, events, outside, per_phase = walk(path)
    assert outside == 0
    assert r.phases == (["generate", "construct", "bfs"] if construct else ["init", "bfs"])
    ex = r.trailer["graph500"]
    assert len(ex["roots_traced"]) == 2 and ex["roots_traced"] == ex["roots"][::32]
    assert r.header["params"]["sample"] == 32
    # all VMAs 2 MiB aligned; the BFS queue is mapped and unmapped once per traced root
    assert all(a % (2 << 20) == 0 for k, a, n in events if k == 1)
    q = w.va["vlist"]
    assert sum(1 for k, a, n in events if k == 2 and a == q) == 2


def test_bfs_trace_counts_match_the_loop(tmp_path):
    """Every access of the top-down loop is present with the right count."""
    p = {"scale": 10, "sample": 64, "construct": False}
    for exact in (False, True):
        w = G.Graph500({**p, "exact_interleave": exact}, seed=4)
        path = tmp_path / f"g{exact}.trace"
        w.write(path)
        src, dst, g, roots = w.make_graph()
        root = int(roots[0])
        par, scanned = G.bfs(g, root)
        reached = int((par >= 0).sum())
        r = TraceReader(path)
        start = r.trailer["phase_starts"][r.phases.index("bfs")]
        total = r.trailer["n_accesses"] - start
        n = g.nv
        init = n + 2                                  # bfs_tree = -1 sweep, vlist[0], tree[root]
        per_vertex = 3 * reached                      # vlist[k], xoff[v], xoff[v+1]
        per_edge = 2 * scanned                        # xadj[vo], bfs_tree[j]
        per_disc = 2 * (reached - 1)                  # vlist push, bfs_tree[j] = v
        assert total == init + per_vertex + per_edge + per_disc
        # the tree array writes: the sweep (one per element) + root + discoveries
        tree_lo, tree_hi = w.va["bfs_tree"], w.va["bfs_tree"] + 8 * n
        wr = 0
        for recs in r.chunks():
            d = decode(recs)
            sel = (d["kind"] == ACCESS) & d["write"] & (d["addr"] >= tree_lo) & (d["addr"] < tree_hi)
            wr += int(d["arg"][sel].sum())
        assert wr == n + 1 + (reached - 1)


def test_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    G.Graph500({"scale": 9, "sample": 64}, seed=7).write(a)
    G.Graph500({"scale": 9, "sample": 64}, seed=7).write(b)
    assert a.read_bytes() == b.read_bytes()
    G.Graph500({"scale": 9, "sample": 64}, seed=8).write(b)
    assert a.read_bytes() != b.read_bytes()


def test_bfs_parents_of_traced_roots_validate():
    w = G.Graph500({"scale": 12, "sample": 16}, seed=9)
    src, dst, g, runs = w.bfs_parents()
    assert len(runs) == 4
    for root, parent in runs:
        G.validate_bfs(g, src, dst, parent, root)
        assert parent[root] == root and (parent >= 0).sum() > 1


def test_phases_csv_sums_to_the_summary(tmp_path):
    """phases.csv splits a graph500 run into its phases; the spans add up to
    the summary's totals, and the BFS phase is measurable alone."""
    from sim.simulate import Simulation
    from sim.testing import small_spec
    path = tmp_path / "g.trace"
    G.Graph500({"scale": 10, "sample": 32}, seed=2).write(path)
    sim = Simulation(small_spec("linux-thp", memory_mib=64), [str(path)], progress=False)
    sim.run()
    s = sim.summary().iloc[0]
    ph = sim.phases_table()
    assert ph["phase"].tolist() == ["generate", "construct", "bfs"]
    for col in ("accesses", "user_cycles", "walk_cycles", "tlb_misses", "faults"):
        assert ph[col].sum() == s[col], col
    assert ph["duration_s"].sum() == pytest.approx(s["runtime_s"], rel=1e-12)
    assert ph["fault_time_s"].sum() == pytest.approx(s["fault_time_s"], rel=1e-12)
    assert (ph["start_s"].iloc[1:].to_numpy() == ph["end_s"].iloc[:-1].to_numpy()).all()
    r = TraceReader(path)
    starts = r.trailer["phase_starts"] + [r.trailer["n_accesses"]]
    assert ph["accesses"].tolist() == np.diff(starts).tolist()


def test_phases_of_a_hand_made_trace():
    """Exact spans: an unnamed lead-in with work is kept, phases in order."""
    from sim.testing import A, HZ, pages, run, small_spec

    def body(w):
        w.cycles(100)
        w.mmap(A, 4 * 4096)
        w.access(pages(0, 1), True, counts=[10])        # before any phase marker
        w.phase("a")
        w.access(pages(1, 2), True, counts=[5, 5])
        w.phase("b")
        w.access(pages(1, 1), False, counts=[7])

    sim = run(small_spec("linux-4k"), [body])
    ph = sim.phases_table()
    assert ph["phase"].tolist() == ["", "a", "b"]
    assert ph["accesses"].tolist() == [10, 10, 7]
    assert ph["faults"].tolist() == [1, 2, 0]
    # user cycles = compute (100 per access) + page walks (walk_cycles_4k 80 per TLB miss)
    walk = int(small_spec("linux-4k")["machine"]["costs"]["walk_cycles_4k"])
    assert ph["walk_cycles"].tolist() == [walk, 2 * walk, 0]
    assert ph["user_cycles"].tolist() == [1000 + walk, 1000 + 2 * walk, 700]
    assert ph["end_s"].iloc[-1] * HZ == pytest.approx(sim.summary()["runtime_s"].iloc[0] * HZ)


def test_bfs_bytes_in_the_trailer(tmp_path):
    """The BFS working set 8(N+1) + 16E + 16N (xoff, xadj, bfs_tree, vlist)."""
    w = G.Graph500({"scale": 9, "sample": 64}, seed=1)
    w.write(tmp_path / "g.trace")
    ex = TraceReader(tmp_path / "g.trace").trailer["graph500"]
    n, e = ex["n_vertices"], ex["n_edges_undirected"]
    assert ex["bfs_bytes"] == 8 * (n + 1) + 16 * e + 16 * n
