"""Set-associative, LRU translation lookaside buffers (compiled).

Each set keeps its ways in recency order (way 0 = most recently used), so
LRU needs no timestamps and an insert is a fixed-length shift.

The replay loop uses ``touch`` (one LRU access: move to front on a hit,
insert on a miss), branch-free for 4- and 8-way sets; ``lookup``/``insert``
are the plain reference it must agree with (``tests/test_tlb.py``).

Each process has an L1 for 4 KiB pages, an L1 for 2 MiB pages and a shared
L2, like the paper's Haswell.  A tag encodes the page size in its low bit so
the shared L2 never confuses a 4 KiB and a 2 MiB translation.  Sets are
indexed by the low bits of the virtual page number (sets are powers of two).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from hpsim.units import HPAGE_PMD_ORDER, HUGE_SHIFT, PAGE_SHIFT, PAGES_PER_HUGE
from machine.jit import kernel

TLB = namedtuple("TLB", ["l1s_tag", "l1h_tag", "l2_tag"])
INVALID = -1


def new_tlb(l1s_sets, l1s_ways, l1h_sets, l1h_ways, l2_sets, l2_ways) -> TLB:
    def arr(s, w):
        return np.full((s, w), INVALID, np.int64)
    return TLB(arr(l1s_sets, l1s_ways), arr(l1h_sets, l1h_ways), arr(l2_sets, l2_ways))


@kernel(inline="always")
def tag_4k(vpn):
    return vpn << 1


@kernel(inline="always")
def tag_2m(vpn2m):
    return (vpn2m << 1) | 1


@kernel(inline="always")
def touch(tags, s, t):
    """One LRU access of t in set s: move t to the front on a hit, insert it
    at the front (evicting the last way) on a miss.  Returns the hit.

    Same result as ``lookup`` followed, on a miss, by ``insert``.  The
    common geometries (4 and 8 ways) compare every way without branches: a
    data-dependent early exit mispredicts on most accesses of a big
    footprint."""
    W = tags.shape[1]
    if tags[np.uint64(s), 0] == t:
        return True            # already most recent: nothing to move (no stores)
    if W == 4:
        return _touch4(tags, s, t)
    if W == 8:
        return _touch8(tags, s, t)
    if lookup(tags, s, t):
        return True
    insert(tags, s, t)
    return False


@kernel(inline="always")
def tlb_access(l1s, l1h, l2, huge, vpn, cnt, cpa, walk_4k, walk_2m, l2_hit):
    """A run of cnt accesses to one page through the TLBs: the L1 of the page
    size, then the shared L2 (true LRU); the repeats hit the L1.  Returns
    (cycles, L1 hits, L2 hits, walks, walk cycles)."""
    cyc = cnt * cpa
    if huge:
        key = vpn >> HPAGE_PMD_ORDER
        t = tag_2m(key)
        hit = touch(l1h, key & (l1h.shape[0] - 1), t)
        wc = walk_2m
    else:
        key = vpn
        t = tag_4k(key)
        hit = touch(l1s, key & (l1s.shape[0] - 1), t)
        wc = walk_4k
    if hit:
        return cyc, cnt, 0, 0, 0
    h2 = np.int64(touch(l2, key & (l2.shape[0] - 1), t))
    wc = 0 if h2 else wc
    return cyc + (l2_hit if h2 else wc), cnt - 1, h2, 1 - h2, wc



@kernel(inline="always")
def _touch4(tags, s, t):
    s = np.uint64(s)   # unsigned index: no negative-index fix-up code
    a0, a1, a2, a3 = tags[s, 0], tags[s, 1], tags[s, 2], tags[s, 3]
    # way k keeps its tag when t was found before it, else takes way k-1's
    # (tags within a set are unique, so at most one way matches)
    f1 = a0 == t
    f2 = f1 | (a1 == t)
    f3 = f2 | (a2 == t)
    hit = f3 | (a3 == t)
    tags[s, 3] = a3 if f3 else a2
    tags[s, 2] = a2 if f2 else a1
    tags[s, 1] = a1 if f1 else a0
    tags[s, 0] = t
    return hit


@kernel(inline="always")
def _touch8(tags, s, t):
    s = np.uint64(s)
    a0, a1, a2, a3 = tags[s, 0], tags[s, 1], tags[s, 2], tags[s, 3]
    a4, a5, a6, a7 = tags[s, 4], tags[s, 5], tags[s, 6], tags[s, 7]
    f1 = a0 == t
    f2 = f1 | (a1 == t)
    f3 = f2 | (a2 == t)
    f4 = f3 | (a3 == t)
    f5 = f4 | (a4 == t)
    f6 = f5 | (a5 == t)
    f7 = f6 | (a6 == t)
    hit = f7 | (a7 == t)
    tags[s, 7] = a7 if f7 else a6
    tags[s, 6] = a6 if f6 else a5
    tags[s, 5] = a5 if f5 else a4
    tags[s, 4] = a4 if f4 else a3
    tags[s, 3] = a3 if f3 else a2
    tags[s, 2] = a2 if f2 else a1
    tags[s, 1] = a1 if f1 else a0
    tags[s, 0] = t
    return hit


@kernel(inline="always")
def lookup(tags, s, t):
    """Look t up in set s; on a hit move it to the front (ways are kept in
    recency order, way 0 most recent: true LRU without timestamps)."""
    W = tags.shape[1]
    for w in range(W):
        if tags[s, w] == t:
            for k in range(w, 0, -1):
                tags[s, k] = tags[s, k - 1]
            tags[s, 0] = t
            return True
    return False


@kernel(inline="always")
def insert(tags, s, t):
    """Insert t at the front of set s, evicting the least recently used way."""
    for k in range(tags.shape[1] - 1, 0, -1):
        tags[s, k] = tags[s, k - 1]
    tags[s, 0] = t


@kernel(inline="always")
def _drop_tag(tags, s, t):
    """Remove t from set s, keeping the other ways in recency order."""
    W = tags.shape[1]
    for w in range(W):
        if tags[s, w] == t:
            for k in range(w, W - 1):
                tags[s, k] = tags[s, k + 1]
            tags[s, W - 1] = INVALID
            return 1
    return 0


@kernel(inline="always")
def invalidate_page(tlb, vpn):
    """Shoot down the 4 KiB translation of one page (munmap, madvise)."""
    t = tag_4k(vpn)
    n = _drop_tag(tlb.l1s_tag, vpn & (tlb.l1s_tag.shape[0] - 1), t)
    n += _drop_tag(tlb.l2_tag, vpn & (tlb.l2_tag.shape[0] - 1), t)
    return n


@kernel(inline="always")
def _drop_where(tags, lo, hi, h):
    """Remove from every set the 4 KiB tags of pages [lo, hi) and the tag h,
    keeping the other ways in recency order.  Returns how many were removed.

    Sets without a match (nearly all) are only read: the match test is
    branch-free, so the scan runs at a few cycles per way."""
    S, W = tags.shape
    n = 0
    for s in range(S):
        m = 0
        for w in range(W):
            t = tags[s, w]
            v = t >> 1
            # INVALID (-1) never matches: its low bit is set and it is not h
            m += (((t & 1) == 0) & (v >= lo) & (v < hi)) | (t == h)
        if m:
            k = 0
            for w in range(W):
                t = tags[s, w]
                v = t >> 1
                if not ((((t & 1) == 0) & (v >= lo) & (v < hi)) | (t == h)):
                    tags[s, k] = t
                    k += 1
            for w in range(k, W):
                tags[s, w] = INVALID
            n += m
    return n


@kernel
def invalidate_region(tlb, vpn2m):
    """Shoot down every translation inside one 2 MiB virtual region
    (promotion, split, unmap of the region)."""
    lo = vpn2m << HPAGE_PMD_ORDER
    hi = lo + PAGES_PER_HUGE
    h = tag_2m(vpn2m)
    return (_drop_where(tlb.l1s_tag, lo, hi, h) + _drop_where(tlb.l1h_tag, lo, hi, h)
            + _drop_where(tlb.l2_tag, lo, hi, h))


@kernel
def invalidate_range_4k(tlb, vpn0, vpn1):
    """Shoot down the 4 KiB translations of pages [vpn0, vpn1) with one scan
    of the TLB (munmap of a big range: cheaper than one shootdown per page).
    Returns how many were removed."""
    return _drop_where(tlb.l1s_tag, vpn0, vpn1, -2) + _drop_where(tlb.l2_tag, vpn0, vpn1, -2)


def contains(tlb: TLB, vaddr: int, huge: bool) -> bool:
    """Would a lookup of vaddr hit in any level? (tests only)"""
    if huge:
        v = vaddr >> HUGE_SHIFT
        t = (v << 1) | 1
        return bool((tlb.l1h_tag[v & (tlb.l1h_tag.shape[0] - 1)] == t).any()
                    or (tlb.l2_tag[v & (tlb.l2_tag.shape[0] - 1)] == t).any())
    v = vaddr >> PAGE_SHIFT
    t = v << 1
    return bool((tlb.l1s_tag[v & (tlb.l1s_tag.shape[0] - 1)] == t).any()
                or (tlb.l2_tag[v & (tlb.l2_tag.shape[0] - 1)] == t).any())
