"""Compiled lookup loop of the XSBench-like trace (``workloads/xsbench.py``).

``lookup_records`` replays ``Simulation.c`` ``calculate_macro_xs`` for a
batch of lookups and writes the trace's access records directly: page words
(kind ACCESS, reads) and repeat counts, consecutive equal pages merged as
``TraceWriter.access`` merges them within one call.  One lookup is

    grid_search        unionized[ex] at each halving step (``grid_search``)
    num_nucs[mat]      1 read
    per nuclide j      mats 1, concs 1, index_grid 1, low point 6, high point 6

exactly the stream the numpy version built (``rows.emit_rows`` over the same
rows), without its (rows x 5) intermediate arrays.

``index_row`` is ``XSBench.index_rows`` for one (unionized index, nuclide):
the numpy version searched the flattened grid ``energies + 2 * row`` for
``unionized[idx] + 2 * nuc``; the sum is rounded, so two energies of a row
closer than its spacing at 2 * nuc can tie, and the search here compares
the same rounded sums (``flat``) to give the same index in every case, not
only where the energies are far apart.  ``buckets`` narrows the search: row
r's ``buckets[r, b]`` is the first point whose ``_bucket`` is >= b, so the
answer lies in [buckets[r, b], buckets[r, b + 1]] for the key's bucket b
(``_bucket`` is monotone in the value): about one point to look at instead of
log2(n_gp) dependent probes of a binary search over the row.
"""
from __future__ import annotations

import numpy as np

from workloads.jitcache import compiled, entry

PAGE_MASK = -4096          # int64 mask of a 4 KiB page's first byte (hpsim.units.PAGE_SIZE)
# addrs[] slots of lookup_records: the arrays' (and the materials fields') byte addresses
UNIONIZED, NUM_NUCS, MATS, CONCS, INDEX_GRID, NUCLIDE_GRID = range(6)
POINT_BYTES, INT_BYTES, DOUBLE_BYTES = 48, 4, 8   # NuclideGridPoint, int, double


@compiled
def _bucket(y, row, n_buckets):
    """Bucket of ``y`` = energy + 2 * row rounded (``flat``), in 0..n_buckets:
    monotone non-decreasing in y for a fixed row."""
    b = int((y - 2.0 * row) * n_buckets)
    return min(max(b, 0), n_buckets)


@entry
def fill_buckets(flat, n_gp, n_buckets, buckets):
    """buckets (n_iso, n_buckets + 2) int32: row r's first point (0..n_gp) whose
    ``_bucket`` is >= b, for b in 0..n_buckets + 1; flat (n_iso * n_gp,)
    float64 sorted within each row."""
    for r in range(buckets.shape[0]):
        b = 0
        for i in range(n_gp):
            bi = _bucket(flat[r * n_gp + i], r, n_buckets)
            while b <= bi:
                buckets[r, b] = i
                b += 1
        while b < buckets.shape[1]:
            buckets[r, b] = n_gp
            b += 1


@compiled
def index_row(flat, buckets, n_gp, n_buckets, key, nuc):
    """The last point of row ``nuc`` of ``flat`` at or below ``key`` (a
    unionized energy + 2 * nuc), clipped to 0..n_gp-2: ``index_grid`` as
    ``XSBench.index_rows`` computes it."""
    b = _bucket(key, nuc, n_buckets)
    base = nuc * n_gp
    i = buckets[nuc, b]              # every point before it is below key
    end = buckets[nuc, b + 1]        # every point from it on is above key
    while i < end and flat[base + i] <= key:
        i += 1
    return min(max(i - 1, 0), n_gp - 2)


@compiled
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


@entry
def lookup_records(energy, mat, start, chunk, unionized, flat, buckets, n_gp, n_iso,
                   num_nucs, mats, addrs, words, counts):
    """Records of lookups ``start`` .. of (energy float64 (k,), mat int64 (k,)).

    Lookups are taken whole ``chunk`` at a time (start is a multiple of
    chunk) while ``words``/``counts`` (uint64, uint32 (cap,)) have room for a
    chunk's largest possible stream; merging restarts at each chunk, the
    generator's ``TraceWriter.access`` call.  unionized float64 (n,) sorted;
    flat, buckets: ``index_row``'s; num_nucs int64 (12,), mats int64 (12, mx)
    (``material_table``); addrs int64 (6,) byte addresses by the slot
    constants above.  Returns (next lookup, records written)."""
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
            u = unionized[lo]
            for j in range(num_nucs[m]):
                nuc = mats[m, j]
                slot = m * mx + j
                n = _put(words, counts, n, floor, addrs[MATS] + slot * INT_BYTES, 1)
                n = _put(words, counts, n, floor, addrs[CONCS] + slot * DOUBLE_BYTES, 1)
                n = _put(words, counts, n, floor,
                         addrs[INDEX_GRID] + (lo * n_iso + nuc) * INT_BYTES, 1)
                low = index_row(flat, buckets, n_gp, n_buckets, u + 2.0 * nuc, nuc)
                a = addrs[NUCLIDE_GRID] + (nuc * n_gp + low) * POINT_BYTES
                n = _put(words, counts, n, floor, a, 6)
                n = _put(words, counts, n, floor, a + 2 * POINT_BYTES - 1, 6)
        i = min(i + chunk, k)
    return i, n
