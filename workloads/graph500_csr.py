"""Graph500 generator and kernel 1 (the seq-csr CSR), built in bounded memory.

The generator follows ``octave/kronecker_generator.m`` and kernel 1 follows
``create_graph_from_edgelist`` of the reference's ``seq-csr/seq-csr.c`` (see
``workloads/graph500.py`` for what is modelled and the trace it gives).  The
CSR is built by counting, as seq-csr builds it, rather than by a global sort;
the passes run in blocks of ``BLOCK`` edges, the dedup sorts one int64 key per
non-loop edge in place, and the xadj position of each half edge is recomputed
when needed (``Graph.csr_positions``) rather than stored.  Peak RSS of the
whole generator: about 24 bytes per generated edge (graph500.py,
``HOST_BYTES_PER_EDGE``), where a lexsort of the adjacency entries took about
85 (5.47 GiB at scale 22).
"""
from __future__ import annotations

import numpy as np

A, B, C = 0.57, 0.19, 0.19
GEN_BLOCK = 1 << 20
# edges per block of the construction's vectorised passes (memory only: any
# value gives the same arrays)
BLOCK = 1 << 20


def kronecker_edges(scale: int, edgefactor: int, rng: np.random.Generator):
    """The Graph500 Kronecker edge list (src, dst), zero-based, permuted.

    Returns two arrays of shape (edgefactor * 2^scale,), int32 (int64 from
    scale 31), vertex labels in [0, 2^scale).  Random numbers are drawn in
    blocks of ``GEN_BLOCK`` edges, so a seed always gives the same list."""
    n = 1 << scale
    m = edgefactor * n
    vdt = np.int32 if scale < 31 else np.int64
    src = np.empty(m, vdt)
    dst = np.empty(m, vdt)
    ab = A + B
    c_norm = C / (1 - (A + B))
    a_norm = A / (A + B)
    for s in range(0, m, GEN_BLOCK):
        c = min(GEN_BLOCK, m - s)
        ii = np.zeros(c, np.int64)
        jj = np.zeros(c, np.int64)
        for ib in range(scale):
            ii_bit = rng.random(c) > ab
            jj_bit = rng.random(c) > np.where(ii_bit, c_norm, a_norm)
            ii += ii_bit.astype(np.int64) << ib
            jj += jj_bit.astype(np.int64) << ib
        src[s:s + c] = ii
        dst[s:s + c] = jj
    p = rng.permutation(n).astype(vdt)
    for s in range(0, m, BLOCK):             # relabel in place, block by block
        src[s:s + BLOCK] = p[src[s:s + BLOCK]]
        dst[s:s + BLOCK] = p[dst[s:s + BLOCK]]
    perm = rng.permutation(m)
    src = src[perm]                          # one permuted copy alive at a time
    dst = dst[perm]
    return src, dst


def running_rank(keys: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """Rank of each element among the elements with the same key seen so far.

    keys: integer array, shape (n,), values in [0, len(counter)).  counter:
    int64 array, shape (n_keys,), the number of elements of each key in earlier
    blocks; updated in place.  Returns int64, shape (n,): for element k,
    counter[keys[k]] (before the call) plus the number of k' < k with
    keys[k'] == keys[k].  Called on consecutive blocks of one sequence it gives
    each element's position within its key in a stable counting sort (the
    scatter of seq-csr's ``create_graph_from_edgelist``), without an index of
    the whole sequence."""
    keys = np.asarray(keys)
    n = len(keys)
    if n == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    start = np.empty(n, bool)
    start[0] = True
    np.not_equal(sk[1:], sk[:-1], out=start[1:])
    first = np.flatnonzero(start)
    size = np.diff(np.append(first, n))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - np.repeat(first, size) + counter[sk]
    counter[sk[first]] += size
    return rank


class Graph:
    """seq-csr CSR of an edge list; keeps what kernel 1's trace needs.

    Models ``create_graph_from_edgelist`` of the Graph500 reference's
    ``seq-csr/seq-csr.c``.  src, dst: the edge list, equal shapes (M,), integer
    vertex labels in [0, nv).  Counts: ``n_edges_generated`` (M),
    ``n_self_loops``, ``n_edges`` (E, distinct undirected non-loop edges).
    Arrays (vertex arrays of dtype ``vdt``: int32 while nv <= 2^31, else int64):

    * ``ns_mask`` bool (M,): edge is not a self loop; ``ci`` (M,): each edge's
      canonical first endpoint (``((i^j)&1) == (i<j)`` keeps (i, j));
    * ``hi``, ``hj`` (E,): the deduped canonical edges sorted by (hi, hj), i.e.
      the half lists in order;
    * ``xoff`` int64 (nv+1,), ``xadj`` (2E,): the CSR, seq-csr's adjacency
      order (for vertex v: entries scattered from lower vertices w < v by w,
      then its own half list, then those scattered from w > v);
    * ``first_own``, ``below``, ``own`` int64 (nv+1,), (nv,), (nv,): per
      vertex, its first index in ``hi``, the entries scattered into it from
      lower vertices, its half-list length (``csr_positions``)."""

    def __init__(self, src: np.ndarray, dst: np.ndarray, nv: int):
        self._half_lists(self._canonical(src, dst, nv))
        self._build_csr()

    @classmethod
    def kronecker(cls, scale: int, edgefactor: int, rng: np.random.Generator,
                  keep_edges: bool = True):
        """``kronecker_edges`` and their Graph: (src, dst, graph).  With
        ``keep_edges=False`` the edge list (8 bytes per edge) is dropped as soon
        as the canonical edges are made, and src, dst are None."""
        src, dst = kronecker_edges(scale, edgefactor, rng)
        g = cls.__new__(cls)
        key = g._canonical(src, dst, 1 << scale)
        if not keep_edges:
            src = dst = None
        g._half_lists(key)
        del key
        g._build_csr()
        return src, dst, g

    def _canonical(self, src: np.ndarray, dst: np.ndarray, nv: int) -> np.ndarray:
        """ns_mask and ci (the last use of the edge list); returns the non-loop
        edges' keys ci * nv + cj in edge order, int64."""
        self.nv = nv = int(nv)
        m = self.n_edges_generated = len(src)
        self.vdt = vdt = np.int32 if nv <= (1 << 31) else np.int64
        self.ns_mask = ns = src != dst
        n_ns = int(np.count_nonzero(ns))
        self.n_self_loops = m - n_ns
        self.ci = ci = np.empty(m, vdt)
        key = np.empty(n_ns, np.int64)
        o = 0
        for s in range(0, m, BLOCK):
            a, b = src[s:s + BLOCK], dst[s:s + BLOCK]
            keep = ((a ^ b) & 1).astype(bool) == (a < b)
            ci[s:s + BLOCK] = np.where(keep, a, b)
            nsb = ns[s:s + BLOCK]
            kb = ci[s:s + BLOCK][nsb].astype(np.int64) * nv + np.where(keep, b, a)[nsb]
            key[o:o + len(kb)] = kb
            o += len(kb)
        return key

    def _half_lists(self, key: np.ndarray) -> None:
        """hi, hj: the distinct keys (sorted in place) split into (ci, cj)."""
        nv = self.nv
        key.sort()
        new = np.empty(len(key), bool)
        new[:1] = True
        np.not_equal(key[1:], key[:-1], out=new[1:])
        self.n_edges = e = int(np.count_nonzero(new))
        self.hi = hi = np.empty(e, self.vdt)
        self.hj = hj = np.empty(e, self.vdt)
        o = 0
        for s in range(0, len(key), BLOCK):
            kb = key[s:s + BLOCK][new[s:s + BLOCK]]
            hi[o:o + len(kb)] = kb // nv
            hj[o:o + len(kb)] = kb % nv
            o += len(kb)

    def _build_csr(self) -> None:
        """xoff and xadj by counting (seq-csr's scatter of the half lists)."""
        nv, hi, hj, e = self.nv, self.hi, self.hj, self.n_edges
        self.own = np.bincount(hi, minlength=nv)
        self.xoff = np.concatenate(([0], np.cumsum(self.own + np.bincount(hj, minlength=nv))))
        self.below = np.bincount(hj[hi < hj], minlength=nv)
        self.first_own = np.concatenate(([0], np.cumsum(self.own)))
        self.xadj = np.empty(2 * e, self.vdt)
        seen = np.zeros(nv, np.int64)
        for s in range(0, e, BLOCK):
            t = min(s + BLOCK, e)
            pos_own, pos_scatter = self.csr_positions(s, t, seen)
            self.xadj[pos_own] = hj[s:t]
            self.xadj[pos_scatter] = hi[s:t]

    def csr_positions(self, s: int, t: int, seen: np.ndarray):
        """xadj positions of the half edges s..t-1 (indices into hi, hj): of
        their own entries (hi -> hj) and of their scattered ones (hj -> hi).

        seen: int64 (nv,), zeros before the first call; the calls must cover
        0..E-1 in order (it counts each vertex's scattered entries so far).
        Returns two int64 arrays of shape (t - s,)."""
        h, j = self.hi[s:t], self.hj[s:t]
        pos_own = self.xoff[h] + self.below[h] + np.arange(s, t) - self.first_own[h]
        # half edges come sorted by w = hi, so a running count orders each v's entries by w
        pos_scatter = self.xoff[j] + running_rank(j, seen) + np.where(h > j, self.own[j], 0)
        return pos_own, pos_scatter

    @property
    def degree(self) -> np.ndarray:
        """Vertex degrees (adjacency entries), int64, shape (nv,)."""
        return np.diff(self.xoff)


def search_keys(graph: Graph, n_roots: int, rng: np.random.Generator) -> np.ndarray:
    """Graph500.m: randperm, drop degree-0 vertices, keep the first n_roots.

    Returns int64, shape (min(n_roots, vertices of degree > 0),)."""
    perm = rng.permutation(graph.nv)
    perm = perm[graph.degree[perm] > 0]
    return perm[:n_roots].astype(np.int64)
