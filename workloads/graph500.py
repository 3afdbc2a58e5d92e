"""Graph500 BFS (kernels 1 and 2 of the Graph500 reference, sequential CSR).

What it imitates
----------------
The Graph500 reference code (``graph500/graph500``: ``octave/kronecker_generator.m``
for the generator, ``seq-csr/seq-csr.c`` for kernel 1 and the top-down BFS of
kernel 2, ``graph500.c`` for the driver).

* Generator (spec / ``kronecker_generator.m``): N = 2^scale vertices,
  M = edgefactor * N edges, initiator A=0.57, B=0.19, C=0.19.  For each bit
  level: ``ii_bit = rand > A+B``; ``jj_bit = rand > (C/(1-(A+B)))*ii_bit +
  (A/(A+B))*!ii_bit``; then the vertex labels are permuted (randperm N) and the
  edge list is permuted (randperm M).  Seeded with ``numpy.random.default_rng``
  (random numbers are drawn in fixed 2^20-edge blocks, so a seed always gives
  the same graph; it is not bit-identical to Octave's or the C reference's RNG).
* Kernel 1 (``create_graph_from_edgelist`` of seq-csr): self loops dropped, each
  undirected edge put in canonical order (``((i^j)&1) == (i<j)``), duplicates
  removed, and an int64 CSR built whose adjacency order is exactly seq-csr's
  (for vertex v: the scattered entries of lower "steps" first, its own sorted
  half list at step v, then scattered entries of later steps).  Built by
  counting, in blocks (``workloads/graph500_csr.py``).
* Search keys (``octave/Graph500.m``): a random permutation of the vertices,
  vertices of degree 0 (self loops excluded) removed, the first ``n_roots``
  kept.  ``sample`` = k keeps every k-th of those keys (recorded in the header
  with the other parameters) so a trace can stand for all ``n_roots`` BFS runs.
* Kernel 2: the reference top-down BFS (seq-csr 2.1.x ``make_bfs_tree``;
  the newer direction-optimising switch to bottom-up is not modelled)::

      for k in range(nv): bfs_tree[k] = -1
      vlist[0] = root; bfs_tree[root] = root
      while k1 != k2:
          for k in range(k1, oldk2):
              v = vlist[k]
              for vo in range(xoff[v], xoff[v+1]):
                  j = xadj[vo]
                  if bfs_tree[j] == -1:
                      vlist[k2++] = j; bfs_tree[j] = v

  The access stream is exactly this loop's, element by element, except that
  reads of one neighbour list that fall in the same 4 KiB page are issued
  as one record (with the run's count) at the first of them (see
  ``workloads/rows.py``, ``hoist``); ``exact_interleave=True`` turns that off.
  Each BFS level is processed as whole numpy arrays in blocks of at most
  ``chunk_edges`` adjacency entries; discovery ("first occurrence of an
  unvisited vertex in adjacency order") is computed per block in order, so the
  parent array and queue order are exactly the sequential ones.

Address-space layout (each array its own 2 MiB-aligned anonymous VMA, in
allocation order, from ``base_addr`` upward, one after the other)::

    IJ         16 * M bytes          edge list (packed_edge = 2 x int64); construct only
    xoff       8 * (N+1)             row offsets
    xoff_half  8 * (N+1)             kernel-1 temporary; construct only, unmapped after
    xadj_half  8 * (M - self loops)  kernel-1 temporary; construct only, unmapped after
    xadj       8 * 2E                column indices (E = distinct undirected non-loop edges)
    bfs_tree   8 * N                 parent array (allocated once, as graph500.c)
    vlist      8 * N                 BFS queue (both frontiers; mapped and unmapped
                                     around every BFS, as make_bfs_tree's xmalloc_large)

Footprint (M = edgefactor * N generated edges, L self loops, E distinct
undirected edges; E/M rises slowly with scale as duplicates become rarer:
measured at edgefactor 16: 0.81 (scale 14), 0.84 (15), 0.87 (16), 0.91
(18), 0.94 (20), 0.956 (22)):

    BFS working set   8(N+1) + 16E + 16N                 (xoff, xadj, bfs_tree, vlist)
    construct peak    16M + 16(N+1) + 8(M-L) + 16E       (IJ, xoff, xoff_half, xadj_half, xadj)

At the defaults (scale 16, edgefactor 16) that is 15.4 MiB for the BFS and a
peak of 38.9 MiB (622 N bytes) during kernel 1; the edge list (16M bytes) stays
mapped through the BFS as in graph500.c.

STLB reach (1024 entries): the BFS working set, about N (24 + 256 E/M) bytes,
exceeds the 4 KiB-page reach (4 MiB) from scale 15 (7.5 MiB; scale 14: 3.6
MiB) and the 2 MiB-page reach (2 GiB) from scale 23 (about 2.1 GiB with E/M
~0.965 extrapolated; scale 22 measured: 1.05 GiB).  Scale 18 (64 MiB) or 20
(264 MiB) fits in the huge-page reach.  Cost here (2-core VM, one root
traced): scale 22 took 130 CPU s and 1.72 GiB peak RSS to generate
(2026-11-30, load average 3.6-4.2; 547M records, 0.9 GB; 252 CPU s and 5.47
GiB before kernel 1 was built by counting, ``workloads/graph500_csr.py``) and
13 s to simulate under linux-4k; scale 23 needs about twice that.  The
generator holds the graph in numpy, about 24 bytes per generated edge at its
peak (the edges' canonical first endpoints and loop mask, the deduped half
lists, xadj); only the access stream is streamed.

Phases
------
``construct=True`` (default): "generate" (sequential writes of the edge list),
"construct" (kernel 1: two counting/copy passes over the edge list with
random increments of ``xoff_half``, per-vertex sort/dedup sweeps, the scatter
passes into ``xoff``/``xadj``; sequential sweeps are issued page by page, reads
then writes; a read-modify-write ``x[i]++`` is one write), then "bfs".
``construct=False``: "init" writes ``xoff`` and ``xadj`` sequentially (as if
loaded from a file), then "bfs".  Validation (kernel-2 verification) is not
traced.

Parameters (``defaults``)
-------------------------
scale (16), edgefactor (16), n_roots (64, the spec's), sample (16: keep one
key in 16, i.e. 4 BFS runs at the defaults), cycles_per_access (10),
base_addr (0x7f0000000000, 2 MiB aligned), construct (True),
exact_interleave (False), chunk_edges (2^18 adjacency entries per block).

Trailer extras: ``graph500`` = {n_vertices, n_edges_generated, n_edges_undirected
(E), n_self_loops, roots (all keys), roots_traced, reached (vertices per traced
BFS), edges_traversed (adjacency entries scanned per traced BFS), bfs_bytes
(the BFS working set: xoff, xadj, bfs_tree, vlist), vma_bytes}.

The phases ("generate", "construct" or "init", "bfs") are separate in the
simulator's ``phases.csv``, so the BFS (graph500's timed kernel 2) can be
measured without graph construction.
"""
from __future__ import annotations

import numpy as np

from workloads.base import Workload, register
from workloads.graph500_csr import Graph, running_rank, search_keys
from workloads.rows import Slot, emit_rows, hoist, sweep
from workloads.trace import HUGE_SIZE, PAGE_SIZE

ELEM = 8  # int64 everywhere, as the reference


# --------------------------------------------------------------------------
# kernel 2
# --------------------------------------------------------------------------
def bfs(graph: Graph, root: int, parent: np.ndarray | None = None, emit=None,
        chunk_edges: int = 1 << 18):
    """Top-down BFS from ``root``; returns (parent array, edges scanned).

    ``emit(k0, frontier_block, starts, degrees, entries, js, disc_idx, tail0)``
    is called for every block in execution order (see ``Graph500.generate``)."""
    nv = graph.nv
    xoff, xadj = graph.xoff, graph.xadj
    if parent is None:
        parent = np.empty(nv, np.int64)
    parent.fill(-1)
    parent[root] = root
    frontier = np.array([root], np.int64)
    k1 = 0          # queue index of frontier[0]
    tail = 1        # next free queue slot
    scanned = 0
    while len(frontier):
        deg = xoff[frontier + 1] - xoff[frontier]
        cdeg = np.cumsum(deg)
        nxt = []
        a = 0
        while a < len(frontier):
            base_e = cdeg[a - 1] if a else 0
            b = int(np.searchsorted(cdeg, base_e + chunk_edges, side="right"))
            b = max(b, a + 1)
            fb = frontier[a:b]
            db = deg[a:b]
            starts = xoff[fb]
            tot = int(db.sum())
            owner = np.repeat(np.arange(len(fb)), db)
            excl = np.cumsum(db) - db
            entries = np.repeat(starts - excl, db) + np.arange(tot)
            js = xadj[entries].astype(np.int64)
            cand = np.flatnonzero(parent[js] == -1)
            _, first = np.unique(js[cand], return_index=True)
            disc = np.sort(cand[first])
            newv = js[disc]
            parent[newv] = fb[owner[disc]]
            if emit is not None:
                emit(k1 + a, fb, starts, db, owner, entries, js, disc, tail)
            tail += len(disc)
            nxt.append(newv)
            scanned += tot
            a = b
        k1 += len(frontier)
        frontier = np.concatenate(nxt) if nxt else np.zeros(0, np.int64)
    return parent, scanned


def validate_bfs(graph: Graph, src: np.ndarray, dst: np.ndarray, parent: np.ndarray,
                 root: int) -> None:
    """The Graph500 BFS validation; raises AssertionError naming the failed rule.

    1. the root's parent is itself; 2. the tree is a tree (following parents
    from every reached vertex ends at the root) and every tree edge
    (v, parent[v]) is an edge of the input; 3. tree levels of every input edge's
    endpoints differ by at most one, and a tree edge's by exactly one; 4. every
    input edge has both endpoints reached or neither (so every vertex of the
    root's component is reached and no other vertex is)."""
    nv = graph.nv
    parent = np.asarray(parent, np.int64)
    assert parent[root] == root, "rule 1: root's parent is not the root"
    reached = parent >= 0
    # levels by pointer doubling over the parent tree
    level = np.full(nv, -1, np.int64)
    level[root] = 0
    anc = np.where(reached, parent, -1)
    dist = np.where(reached, 1, 0).astype(np.int64)
    dist[root] = 0
    anc[root] = root
    for _ in range(64):
        nxt = np.where(anc >= 0, anc[anc.clip(0)], -1)
        if np.array_equal(nxt, anc):
            break
        dist = dist + np.where(anc >= 0, dist[anc.clip(0)], 0)
        anc = nxt
    assert np.all(anc[reached] == root), "rule 2: parent pointers do not all lead to the root"
    level[reached] = dist[reached]
    # tree edges exist in the input
    v = np.flatnonzero(reached & (np.arange(nv) != root))
    s = src.astype(np.int64)
    d = dst.astype(np.int64)
    edge_keys = np.unique(np.concatenate((s * nv + d, d * nv + s)))
    tk = v * nv + parent[v]
    assert np.all(np.isin(tk, edge_keys)), "rule 2: a tree edge is not in the input"
    assert np.all(level[v] == level[parent[v]] + 1), "rule 3: tree edge levels differ by != 1"
    ns = s != d
    s, d = s[ns], d[ns]
    rs, rd = reached[s], reached[d]
    assert np.all(rs == rd), "rule 4: an edge has exactly one reached endpoint"
    both = rs & rd
    assert np.all(np.abs(level[s[both]] - level[d[both]]) <= 1), \
        "rule 3: an input edge spans more than one level"


# --------------------------------------------------------------------------
# the workload
# --------------------------------------------------------------------------
def align_huge(x: int) -> int:
    """x bytes rounded up to a multiple of 2 MiB (VMAs laid out 2 MiB aligned)."""
    return (x + HUGE_SIZE - 1) // HUGE_SIZE * HUGE_SIZE


def _page_len(nbytes: int) -> int:
    return max(PAGE_SIZE, (nbytes + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE)


# Generator memory per generated edge: peak RSS (/usr/bin/time -f %M, this
# project's 2-core VM, 2026-11-30) 316 MiB at scale 18 (config.yaml's graph500),
# 608 MiB at 20 and 1760 MiB at 22 (n_roots 64, sample 64): 24.3 and 24.0 bytes
# per added edge (edgefactor 16); rounded up.
HOST_BYTES_PER_EDGE = 25


@register("graph500")
class Graph500(Workload):
    __doc__ = __doc__  # the module docstring documents parameters and layout
    work_unit = "steps"     # building the graph, then one per traced BFS root
    defaults = {
        "scale": 16,
        "edgefactor": 16,
        "n_roots": 64,
        "sample": 16,
        "cycles_per_access": 10,
        "llc_misses_per_access": 0.0,   # data cost off unless configured (config.yaml)
        "base_addr": 0x7F0000000000,
        "construct": True,
        "exact_interleave": False,
        "chunk_edges": 1 << 18,
    }

    def host_bytes(self) -> int:
        """Generator peak memory: the base plus ``HOST_BYTES_PER_EDGE`` per edge."""
        p = self.params
        return super().host_bytes() + HOST_BYTES_PER_EDGE * p["edgefactor"] * (1 << p["scale"])

    # -- graph construction shared with tests ------------------------------
    def make_graph(self, keep_edges: bool = True):
        """(src, dst, graph, search keys); src and dst are None unless ``keep_edges``
        (``Graph.kronecker``)."""
        rng = np.random.default_rng(self.seed)
        src, dst, g = Graph.kronecker(int(self.params["scale"]), int(self.params["edgefactor"]),
                                      rng, keep_edges)
        roots = search_keys(g, int(self.params["n_roots"]), rng)
        return src, dst, g, roots

    def traced_roots(self, roots):
        return roots[::int(self.params["sample"])]

    def bfs_parents(self):
        """For validation: (src, dst, graph, [(root, parent array), ...]) for the
        traced roots, exactly the BFS runs whose accesses ``generate`` writes."""
        src, dst, g, roots = self.make_graph()
        runs = [(int(r), bfs(g, int(r), chunk_edges=int(self.params["chunk_edges"]))[0])
                for r in self.traced_roots(roots)]
        return src, dst, g, runs

    def generate(self, out):
        p = self.params
        # progress from the start: the graph's construction is the first step
        n_traced = len(range(0, int(p["n_roots"]), int(p["sample"])))
        self.progress(0, n_traced + 1)
        _, _, g, roots = self.make_graph(keep_edges=False)   # Graph keeps what the trace needs
        nv, m = g.nv, g.n_edges_generated
        raw_half = int(g.ns_mask.sum())
        sizes = {"IJ": 16 * m, "xoff": ELEM * (nv + 1), "xoff_half": ELEM * (nv + 1),
                 "xadj_half": ELEM * raw_half, "xadj": ELEM * 2 * g.n_edges,
                 "bfs_tree": ELEM * nv, "vlist": ELEM * nv}
        order = ["IJ", "xoff", "xoff_half", "xadj_half", "xadj", "bfs_tree", "vlist"]
        if not p["construct"]:
            order = ["xoff", "xadj", "bfs_tree", "vlist"]
        self.va = va = {}
        addr = int(p["base_addr"])
        for name in order:
            va[name] = addr
            addr = align_huge(addr + _page_len(sizes[name]))
        self.sizes = sizes

        def mmap(name):
            out.mmap(va[name], _page_len(sizes[name]))

        def munmap(name):
            out.munmap(va[name], _page_len(sizes[name]))

        out.cycles(int(p["cycles_per_access"]), float(p["llc_misses_per_access"]))
        if p["construct"]:
            self._construct(out, g, m, mmap, munmap)
        else:
            out.phase("init")
            for name in ("xoff", "xadj"):
                mmap(name)
                sweep(out, va[name], sizes[name], write=True)
        out.phase("bfs")
        mmap("bfs_tree")
        parent = np.empty(nv, np.int64)
        reached, scanned = [], []
        hoisted = not p["exact_interleave"]
        U = np.uint64
        xoff_a, xadj_a, tree_a, q_a = (U(va["xoff"]), U(va["xadj"]), U(va["bfs_tree"]),
                                       U(va["vlist"]))
        E = U(ELEM)

        def emit(k0, fb, starts, db, owner, entries, js, disc, tail0):
            nf = len(fb)
            fbu = fb.astype(U)
            head = (np.arange(nf), [
                Slot(q_a + (U(k0) + np.arange(nf, dtype=U)) * E, False),
                Slot(xoff_a + fbu * E, False),
                Slot(xoff_a + (fbu + U(1)) * E, False)])
            ea = xadj_a + entries.astype(U) * E
            if hoisted:
                # a new vertex's list always starts a new run
                brk = np.zeros(len(entries), bool)
                firsts = (np.cumsum(db) - db)[db > 0]
                brk[firsts] = True
                mk, cnt = hoist(ea, brk)
                xslot = Slot(ea, False, mk, cnt)
            else:
                xslot = Slot(ea, False)
            is_disc = np.zeros(len(entries), bool)
            is_disc[disc] = True
            qpos = np.zeros(len(entries), np.uint64)
            qpos[disc] = U(tail0) + np.arange(len(disc), dtype=U)
            ta = tree_a + js.astype(U) * E
            body = (owner, [xslot, Slot(ta, False),
                            Slot(q_a + qpos * E, True, is_disc),
                            Slot(ta, True, is_disc)])
            emit_rows(out, nf, [head, body])

        traced = self.traced_roots(roots)
        for k, root in enumerate(traced):
            self.progress(1 + k, len(traced) + 1)
            mmap("vlist")
            sweep(out, va["bfs_tree"], sizes["bfs_tree"], write=True)   # bfs_tree[k] = -1
            out.access(np.array([va["vlist"], va["bfs_tree"] + ELEM * int(root)], np.uint64),
                       True)
            par, sc = bfs(g, int(root), parent, emit, int(p["chunk_edges"]))
            reached.append(int((par >= 0).sum()))
            scanned.append(int(sc))
            munmap("vlist")
        self.progress(len(traced) + 1, len(traced) + 1)
        self.trailer_extra["graph500"] = {
            "n_vertices": nv, "n_edges_generated": m, "n_edges_undirected": int(g.n_edges),
            "n_self_loops": g.n_self_loops, "roots": [int(r) for r in roots],
            "roots_traced": [int(r) for r in self.traced_roots(roots)],
            "reached": reached, "edges_traversed": scanned,
            "bfs_bytes": sum(sizes[k] for k in ("xoff", "xadj", "bfs_tree", "vlist")),
            "vma_bytes": {k: sizes[k] for k in order}}

    # -- kernel 1 trace ------------------------------------------------------
    def _construct(self, out, g: Graph, m: int, mmap, munmap):
        va, sizes = self.va, self.sizes
        U = np.uint64
        E = U(ELEM)
        nv = g.nv
        blk = int(self.params["chunk_edges"])
        out.phase("generate")
        mmap("IJ")
        sweep(out, va["IJ"], sizes["IJ"], write=True)
        out.phase("construct")
        for name in ("xoff", "xoff_half"):
            mmap(name)
        sweep(out, va["xoff_half"], sizes["xoff_half"], write=True)      # zero
        ij_a, xh_a, xo_a = U(va["IJ"]), U(va["xoff_half"]), U(va["xoff"])
        xah_a, xa_a = U(va["xadj_half"]), U(va["xadj"])
        ns = g.ns_mask
        ci = g.ci
        cnt_half = np.zeros(nv, np.int64)       # non-loop edges per canonical first endpoint
        for s in range(0, m, blk):
            cnt_half += np.bincount(ci[s:s + blk][ns[s:s + blk]], minlength=nv)
        off_half = np.concatenate(([0], np.cumsum(cnt_half))).astype(np.int64)

        def edge_pass(copy: bool):
            placed = np.zeros(nv, np.int64)     # copy pass: entries put in xadj_half, per ci
            for s in range(0, m, blk):
                e = np.arange(s, min(s + blk, m))
                ija = ij_a + e.astype(U) * U(16)
                mk, cnt = hoist(ija, per_elem=2)
                nsb = ns[s:s + blk]
                cib = ci[s:s + blk]
                slots = [Slot(ija, False, mk, cnt),
                         Slot(xh_a + (cib.astype(U) + U(1)) * E, True, nsb)]
                if copy:
                    # raw position in xadj_half: edge order within each ci's segment
                    rawpos = np.zeros(len(e), np.int64)
                    rawpos[nsb] = off_half[cib[nsb]] + running_rank(cib[nsb], placed)
                    slots.append(Slot(xah_a + rawpos.astype(U) * E, True, nsb))
                emit_rows(out, len(e), [(np.arange(len(e)), slots)])

        edge_pass(copy=False)                                              # count
        sweep(out, va["xoff_half"], sizes["xoff_half"], read=True, write=True)  # prefix sum
        mmap("xadj_half")
        edge_pass(copy=True)                                               # copy endpoints
        sweep(out, va["xoff"], sizes["xoff"], write=True)                  # zero xoff

        # per-vertex passes; vertices in blocks with about blk half entries each
        ucnt, uoff = g.own, g.first_own          # deduped half list of each vertex
        cum = off_half[1:]

        def vertex_blocks():
            a = 0
            while a < nv:
                b = int(np.searchsorted(cum, off_half[a] + blk, side="right"))
                b = min(max(b, a + 1), nv)
                yield a, b
                a = b

        def seg_rows(a, b, cnts, offs):
            """owner index and element positions of per-vertex segments a..b-1."""
            c = cnts[a:b]
            own = np.repeat(np.arange(b - a), c)
            first = np.cumsum(c) - c
            pos = np.repeat(offs[a:b] - first, c) + np.arange(int(c.sum()))
            return own, pos, c

        for a, b in vertex_blocks():                                       # dedup + count
            vs = np.arange(a, b)
            nonempty = cnt_half[a:b] > 0
            vu = vs.astype(U)
            head = (np.arange(b - a), [Slot(xh_a + vu * E, False),
                                       Slot(xh_a + (vu + U(1)) * E, False),
                                       Slot(xo_a + (vu + U(1)) * E, True, nonempty)])
            own, pos, c = seg_rows(a, b, cnt_half, off_half)
            pa = xah_a + pos.astype(U) * E
            brk = np.zeros(len(own), bool)
            brk[(np.cumsum(c) - c)[c > 0]] = True
            mk, cnt = hoist(pa, brk)
            sort = (own, [Slot(pa, False, mk, cnt), Slot(pa, True, mk, cnt)])
            own2, upos, c2 = seg_rows(a, b, ucnt, uoff)
            # deduped half entries live at the start of each raw segment
            first2 = np.cumsum(c2) - c2
            rank = np.arange(len(own2)) - np.repeat(first2, c2)
            da = xah_a + (off_half[a:b][own2] + rank).astype(U) * E
            brk2 = np.zeros(len(own2), bool)
            brk2[first2[c2 > 0]] = True
            mk2, cnt2 = hoist(da, brk2)
            scat = (own2, [Slot(da, False, mk2, cnt2),
                           Slot(xo_a + (g.hj[upos].astype(U) + U(1)) * E, True)])
            emit_rows(out, b - a, [head, sort, scat])
        sweep(out, va["xoff"], sizes["xoff"], read=True, write=True)       # prefix sum
        mmap("xadj")
        seen = np.zeros(nv, np.int64)            # for Graph.csr_positions, block by block
        for a, b in vertex_blocks():                                       # final copy
            vs = np.arange(a, b)
            nonempty = cnt_half[a:b] > 0
            vu = vs.astype(U)
            head = (np.arange(b - a), [Slot(xh_a + vu * E, False),
                                       Slot(xh_a + (vu + U(1)) * E, False),
                                       Slot(xo_a + (vu + U(1)) * E, False)])
            own2, upos, c2 = seg_rows(a, b, ucnt, uoff)
            first2 = np.cumsum(c2) - c2
            rank = np.arange(len(own2)) - np.repeat(first2, c2)
            da = xah_a + (off_half[a:b][own2] + rank).astype(U) * E
            brk2 = np.zeros(len(own2), bool)
            brk2[first2[c2 > 0]] = True
            mk2, cnt2 = hoist(da, brk2)
            pos_own, pos_scatter = g.csr_positions(int(uoff[a]), int(uoff[b]), seen)
            wa = xa_a + pos_own.astype(U) * E
            mkw, cntw = hoist(wa, brk2)
            copy = (own2, [Slot(da, False, mk2, cnt2), Slot(wa, True, mkw, cntw)])
            tail = (np.arange(b - a), [Slot(xo_a + (vu + U(1)) * E, True, nonempty)])
            scat = (own2, [Slot(da, False, mk2, cnt2),
                           Slot(xo_a + (g.hj[upos].astype(U) + U(1)) * E, True),
                           Slot(xa_a + pos_scatter.astype(U) * E, True)])
            emit_rows(out, b - a, [head, copy, tail, scat])
        munmap("xoff_half")
        munmap("xadj_half")
