"""Compiled lookup loop of the XSBench-like trace (``workloads/xsbench.py``).

``lookup_records`` replays ``Simulation.c`` ``calculate_macro_xs`` for a
batch of lookups and writes the trace's access records directly: page words
(kind ACCESS, reads) and repeat counts, consecutive equal pages merged as
``TraceWriter.access`` merges them within one call.  One lookup is

    grid_search        unionized[ex] at each halving step (``grid_search``)
    num_nucs[mat]      1 read
    per nuclide j      mats 1, concs 1, index_grid 1, low point 6, high point 6

the stream the numpy version (``rows.emit_rows`` over (rows x 5) arrays)
wrote, record for record (tests/test_workloads_xsbench.py checks both).

The index search.  ``index_grid[idx * n_iso + nuc]`` is the last point of
nuclide nuc at or below unionized[idx] (``GridInit.c``), clipped to
0..n_gp-2.  The numpy version searched the flattened grid ``energies + 2 *
row`` for ``unionized[idx] + 2 * nuc``; those sums are rounded, so two
energies of a row closer than the spacing of doubles at 2 * nuc compare
equal, and the search here compares the same rounded sums (``flat``) to give
the same index in every case.  ``buckets`` replaces the binary search over
the row (log2(n_gp) dependent cache misses): row r's ``buckets[r, b]`` is its
first point whose ``bucket`` is >= b, and ``bucket`` is monotone in the value,
so the answer lies in [buckets[r, b], buckets[r, b + 1]] for the key's bucket
b: with 4 buckets a point that is usually no point at all to compare.

Plain ``njit(cache=True, nogil=True)`` as ``planes.compiled``'s kernels, not
``jitcache``: these kernels inline nothing from other modules (numba's own
cache key, this file, is complete), and without the GIL the trace writer's
compression thread runs beside them.
"""
from __future__ import annotations

from numba import njit

PAGE_MASK = -4096          # int64 mask of a 4 KiB page's first byte (hpsim.units.PAGE_SIZE)
# addrs[] slots of lookup_records: the arrays' (and the materials fields') byte addresses
UNIONIZED, NUM_NUCS, MATS, CONCS, INDEX_GRID, NUCLIDE_GRID = range(6)
POINT_BYTES, INT_BYTES, DOUBLE_BYTES = 48, 4, 8   # NuclideGridPoint (6 doubles), int, double
# buckets per grid point: 4 made lookup_records 1.3x as fast as 1 at the paper's
# grid, 11 ns a record (64 MB of buckets; 8: 5% faster still), measured on 200k
# lookups with time.process_time, 2026-11-30
BUCKETS_PER_POINT = 4


@njit(cache=True, nogil=True)
def bucket(y, row, n_buckets):
    """Bucket of ``y`` = energy + 2 * row rounded (``flat``), in 0..n_buckets:
    monotone non-decreasing in y for a fixed row."""
    b = int((y - 2.0 * row) * n_buckets)
    return min(max(b, 0), n_buckets)


@njit(cache=True, nogil=True)
def fill_buckets(flat, n_gp, buckets):
    """buckets int32 (n_iso, n_buckets + 2): row r's first point (0..n_gp)
    whose ``bucket`` is >= b, for b in 0..n_buckets + 1; flat float64
    (n_iso * n_gp,) sorted within each row of n_gp points."""
    n_buckets = buckets.shape[1] - 2
    for r in range(buckets.shape[0]):
        b = 0
        for i in range(n_gp):
            bi = bucket(flat[r * n_gp + i], r, n_buckets)
            while b <= bi:
                buckets[r, b] = i
                b += 1
        while b < buckets.shape[1]:
            buckets[r, b] = n_gp
            b += 1


@njit(cache=True, nogil=True)
def _put(words, counts, n, floor, addr, count):
    """Append a read of ``addr`` (count ``count``) at n, or add it to record
    n - 1 when that is the same page and at or after ``floor``; returns n."""
    w = addr & PAGE_MASK
    if n > floor and words[n - 1] == w:
        counts[n - 1] += count
        return n
    words[n] = w
    counts[n] = count
    return n + 1


@njit(cache=True, nogil=True)
def lookup_records(energy, mat, start, chunk, unionized, flat, buckets, n_gp, n_iso,
                   num_nucs, mats, addrs, lows, words, counts):
    """Records of lookups ``start`` .. of (energy float64 (k,), mat int64 (k,)).

    Lookups are taken whole ``chunk`` at a time (start is a multiple of
    chunk) while ``words`` int64 / ``counts`` uint32 (cap,) have room for a
    chunk's largest possible stream; merging restarts at each chunk, the
    numpy version's ``TraceWriter.access`` call.  unionized float64 (n,)
    sorted; flat, buckets: the module docstring's; num_nucs int64 (12,),
    mats int64 (12, mx) (``material_table``); addrs int64 (6,) byte
    addresses by the slot constants above; lows int64 (2, mx) scratch.
    Returns (next lookup, records written)."""
    k, cap, mx = len(energy), len(words), mats.shape[1]
    n_buckets = buckets.shape[1] - 2
    steps = 1
    while (1 << steps) < len(unionized):
        steps += 1
    worst = chunk * (steps + 1 + 5 * mx)
    n, i = 0, start
    while i < k and cap - n >= worst:
        floor = n                    # no merge across TraceWriter.access calls
        for q in range(i, min(i + chunk, k)):
            e, m = energy[q], mat[q]
            lo, hi = 0, len(unionized) - 1        # Simulation.c grid_search
            while hi - lo > 1:
                ex = lo + (hi - lo) // 2
                n = _put(words, counts, n, floor, addrs[UNIONIZED] + ex * DOUBLE_BYTES, 1)
                if unionized[ex] > e:
                    hi = ex
                else:
                    lo = ex
            n = _put(words, counts, n, floor, addrs[NUM_NUCS] + m * INT_BYTES, 1)
            # the index searches in passes of independent iterations, apart from
            # the emission, so that their cache misses overlap
            u, nn = unionized[lo], num_nucs[m]
            for j in range(nn):
                nuc = mats[m, j]
                b = bucket(u + 2.0 * nuc, nuc, n_buckets)
                lows[0, j] = buckets[nuc, b]
                lows[1, j] = buckets[nuc, b + 1]
            for j in range(nn):
                nuc = mats[m, j]
                key, base, p, end = u + 2.0 * nuc, nuc * n_gp, lows[0, j], lows[1, j]
                while p < end and flat[base + p] <= key:
                    p += 1
                lows[0, j] = min(max(p - 1, 0), n_gp - 2)
            for j in range(nn):
                nuc = mats[m, j]
                slot = m * mx + j
                n = _put(words, counts, n, floor, addrs[MATS] + slot * INT_BYTES, 1)
                n = _put(words, counts, n, floor, addrs[CONCS] + slot * DOUBLE_BYTES, 1)
                n = _put(words, counts, n, floor,
                         addrs[INDEX_GRID] + (lo * n_iso + nuc) * INT_BYTES, 1)
                a = addrs[NUCLIDE_GRID] + (nuc * n_gp + lows[0, j]) * POINT_BYTES
                n = _put(words, counts, n, floor, a, 6)
                n = _put(words, counts, n, floor, a + 2 * POINT_BYTES - 1, 6)
        i = min(i + chunk, k)
    return i, n
