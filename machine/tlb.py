"""Set-associative, LRU translation lookaside buffers (compiled).

Each set keeps its ways in recency order (way 0 = most recently used), so
LRU needs no timestamps and an insert is a fixed-length shift.

Each process has an L1 for 4 KiB pages, an L1 for 2 MiB pages and a shared
L2, like the paper's Haswell.  A tag encodes the page size in its low bit so
the shared L2 never confuses a 4 KiB and a 2 MiB translation.  Sets are
indexed by the low bits of the virtual page number (sets are powers of two).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
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


@kernel
def invalidate_region(tlb, vpn2m):
    """Shoot down every translation inside one 2 MiB virtual region
    (promotion, split, unmap of the region)."""
    n = 0
    for tags in (tlb.l1s_tag, tlb.l1h_tag, tlb.l2_tag):
        S, W = tags.shape
        for s in range(S):
            for w in range(W):
                t = tags[s, w]
                if t == INVALID:
                    continue
                if t & 1:
                    hit = (t >> 1) == vpn2m
                else:
                    hit = (t >> 10) == vpn2m  # (vpn >> 9) of a 4 KiB tag
                if hit:
                    tags[s, w] = INVALID
                    n += 1
            # keep valid ways in front, in their recency order
            k = 0
            for w in range(W):
                if tags[s, w] != INVALID:
                    tags[s, k] = tags[s, w]
                    k += 1
            for w in range(k, W):
                tags[s, w] = INVALID
    return n


def contains(tlb: TLB, vaddr: int, huge: bool) -> bool:
    """Would a lookup of vaddr hit in any level? (tests only)"""
    if huge:
        v = vaddr >> 21
        t = (v << 1) | 1
        return bool((tlb.l1h_tag[v & (tlb.l1h_tag.shape[0] - 1)] == t).any()
                    or (tlb.l2_tag[v & (tlb.l2_tag.shape[0] - 1)] == t).any())
    v = vaddr >> 12
    t = v << 1
    return bool((tlb.l1s_tag[v & (tlb.l1s_tag.shape[0] - 1)] == t).any()
                or (tlb.l2_tag[v & (tlb.l2_tag.shape[0] - 1)] == t).any())
