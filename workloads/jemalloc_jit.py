"""The jemalloc 4.0.3 arena of ``workloads/jemalloc.py``, compiled.

Functions of the state ``workloads.arena_state.State`` (layout there; the
behaviour and its sources in jemalloc.py's docstring: src/arena.c
``arena_run_alloc``, ``arena_run_first_best_fit``, ``arena_run_coalesce``,
``arena_maybe_purge``, ``arena_purge``; huge.c; chunk_mmap.c), emitting
accesses and mmap/munmap/madvise records through the state's output.
"""
from __future__ import annotations

import numpy as np

from workloads.arena_state import (CHUNK, CP, DHEAD, DTAIL, HP, HUGE_PAGE,
                                   LARGE_MAX, LGD, LGQ, MADVISE, MAPPED, MASK_WORDS, MINADDR,
                                   MISC_BYTES, MMAP, MUNMAP, NACTIVE, NCHUNKS, NDIRTY, NHOLES,
                                   NHUGE, NPURGES, NRUNS, NSFREE, NSLOTS, NUNMAPS, PAGE, PEAK,
                                   PURGED, SMALL_MAX, TOPC, _event, _hpop, _hpush, _htop, access)
from workloads.jitcache import compiled, entry


# -- address space ---------------------------------------------------------------
@compiled
def _vas_alloc(st, size, align):
    """Top-down: the highest hole that fits (as Linux's mmap)."""
    S, hs, he = st.S, st.hs, st.he
    nh = S[NHOLES]
    for i in range(nh - 1, -1, -1):
        s, e = hs[i], he[i]
        a = (e - size) // align * align
        if a >= s:
            keep_lo = s < a
            keep_hi = a + size < e
            k = int(keep_lo) + int(keep_hi)
            if k != 1:                           # shift the holes above i
                d = k - 1
                if d > 0:
                    for j in range(nh - 1, i, -1):
                        hs[j + d], he[j + d] = hs[j], he[j]
                else:
                    for j in range(i + 1, nh):
                        hs[j + d], he[j + d] = hs[j], he[j]
                S[NHOLES] = nh + d
            j = i
            if keep_lo:
                hs[j], he[j] = s, a
                j += 1
            if keep_hi:
                hs[j], he[j] = a + size, e
            if a < S[MINADDR]:
                S[MINADDR] = a
            return a
    raise MemoryError("address space exhausted")


@compiled
def _vas_free(st, addr, size):
    S, hs, he = st.S, st.hs, st.he
    nh = S[NHOLES]
    s, e = addr, addr + size
    i = 0
    while i < nh and hs[i] < s:
        i += 1
    lo = i > 0 and he[i - 1] >= s                  # joins the hole below
    hi = i < nh and e >= hs[i]                     # joins the hole above
    if lo and hi:
        he[i - 1] = max(he[i], e)
        for j in range(i + 1, nh):
            hs[j - 1], he[j - 1] = hs[j], he[j]
        S[NHOLES] = nh - 1
    elif lo:
        he[i - 1] = max(he[i - 1], e)
    elif hi:
        hs[i] = s
        he[i] = max(he[i], e)
    else:
        for j in range(nh - 1, i - 1, -1):
            hs[j + 1], he[j + 1] = hs[j], he[j]
        hs[i], he[i] = s, e
        S[NHOLES] = nh + 1


@compiled
def _mmap(st, size):
    S = st.S
    a = _vas_alloc(st, size, S[CHUNK])
    _event(st, MMAP, a, size)
    S[MAPPED] += size
    S[PEAK] = max(S[PEAK], S[MAPPED])
    return a


@compiled
def _munmap(st, a, size):
    _event(st, MUNMAP, a, size)
    _vas_free(st, a, size)
    st.S[MAPPED] -= size


# -- chunk pages -----------------------------------------------------------------
@compiled
def _gidx(st, page):
    """Per-page array index of ``page``, or -1 if its chunk is not an arena chunk."""
    S = st.S
    cp = S[CP]
    i = page % cp
    ci = (S[TOPC] - (page - i) * PAGE) // S[CHUNK]
    if ci < 0 or ci >= len(st.cslot):
        return -1
    slot = st.cslot[ci]
    return -1 if slot < 0 else slot * cp + i


@compiled
def _map_touch(st, page):
    """Write map_bits and map_misc of the page run starting at ``page``."""
    cp, hp = st.S[CP], st.S[HP]
    i = page % cp
    base = (page - i) * PAGE
    access(st, base, True, 1)
    misc_page = 1 + (i * MISC_BYTES) // PAGE
    if misc_page < hp:
        access(st, base + misc_page * PAGE, True, 1)


@compiled
def _add_extent(st, s, n, dirty):
    S = st.S
    g = _gidx(st, s)
    st.fs[g] = n
    st.fl[g + n - 1] = s
    if dirty:                                    # arena_run_dirty_insert: at the tail
        st.df[g] = 1
        t = S[DTAIL]
        st.dp[g] = t
        st.dn[g] = -1
        if t >= 0:
            st.dn[t] = g
        else:
            S[DHEAD] = g
        S[DTAIL] = g
        S[NDIRTY] += n
    _hpush(st, n, s)
    st.nem[n >> 6] |= np.uint64(1) << np.uint64(n & 63)


@compiled
def _unlink_dirty(st, g):
    S = st.S
    p, q = st.dp[g], st.dn[g]
    if p >= 0:
        st.dn[p] = q
    else:
        S[DHEAD] = q
    if q >= 0:
        st.dp[q] = p
    else:
        S[DTAIL] = p


@compiled
def _del_extent(st, s):
    """Remove the free run starting at page s; returns (pages, dirty)."""
    g = _gidx(st, s)
    n = st.fs[g]
    st.fs[g] = 0
    st.fl[g + n - 1] = -1
    dirty = st.df[g] != 0
    if dirty:
        st.df[g] = 0
        _unlink_dirty(st, g)
        st.S[NDIRTY] -= n
    return n, dirty


@compiled
def _find_extent(st, need):
    """Best fit: the lowest-address free run of the smallest size >= need
    (``arena_run_first_best_fit``); returns (start page, pages) or (-1, 0)."""
    nem = st.nem
    w = need >> 6
    while w < len(nem):
        m = nem[w]
        if w == need >> 6:
            m &= ~np.uint64(0) << np.uint64(need & 63)
        while m:
            low = 0
            x = m
            while not (x & np.uint64(1)):
                x >>= np.uint64(1)
                low += 1
            n = w * 64 + low
            while st.hcnt[n] > 0:
                top = _htop(st, n)
                g = _gidx(st, top)
                if g >= 0 and st.fs[g] == n:
                    return top, n
                _hpop(st, n)
            nem[w] &= ~(np.uint64(1) << np.uint64(low))
            m &= ~(np.uint64(1) << np.uint64(low))
        w += 1
    return -1, 0


@compiled
def _coalesce_add(st, s, n, dirty):
    """Free run [s, s+n) joined with free neighbours in the same state
    (``arena_run_coalesce``); a chunk left with one free run of all its data
    pages is unmapped (``arena_chunk_dalloc``)."""
    S = st.S
    cp, hp = S[CP], S[HP]
    start, length = s, n
    if s % cp > 0:
        g = _gidx(st, s - 1)
        left = st.fl[g]
        if left >= 0 and (st.df[_gidx(st, left)] != 0) == dirty:
            length += _del_extent(st, left)[0]
            start = left
    if (s + n) % cp > 0:
        g = _gidx(st, s + n)
        rn = st.fs[g]
        if rn > 0 and (st.df[g] != 0) == dirty:
            _del_extent(st, s + n)
            length += rn
    _add_extent(st, start, length, dirty)
    if length == cp - hp:
        c0 = start - hp
        _del_extent(st, start)
        ci = (S[TOPC] - c0 * PAGE) // S[CHUNK]
        st.sfree[S[NSFREE]] = st.cslot[ci]
        S[NSFREE] += 1
        st.cslot[ci] = -1
        S[NUNMAPS] += 1
        _munmap(st, c0 * PAGE, S[CHUNK])


@compiled
def _new_chunk(st):
    S = st.S
    a = _mmap(st, S[CHUNK])
    c0 = a // PAGE
    if S[NSFREE] > 0:
        S[NSFREE] -= 1
        slot = st.sfree[S[NSFREE]]
    else:
        slot = S[NSLOTS]
        S[NSLOTS] += 1
    st.cslot[(S[TOPC] - a) // S[CHUNK]] = slot
    st.sbase[slot] = c0
    S[NCHUNKS] += 1
    for p in range(S[HP]):                       # header initialisation
        access(st, a + p * PAGE, True, PAGE // 64)
    _add_extent(st, c0 + S[HP], S[CP] - S[HP], False)


@compiled
def _alloc_pages(st, n):
    """A run of n pages (``arena_run_alloc``); returns its first page."""
    s, m = _find_extent(st, n)
    if s < 0:
        _new_chunk(st)
        s, m = _find_extent(st, n)
    dirty = _del_extent(st, s)[1]
    if m > n:
        _add_extent(st, s + n, m - n, dirty)
    st.S[NACTIVE] += n
    _map_touch(st, s)
    return s


@compiled
def _free_pages(st, s, n):
    """``arena_run_dalloc`` of a used (dirty) run, then ``arena_maybe_purge``."""
    _map_touch(st, s)
    st.S[NACTIVE] -= n
    _coalesce_add(st, s, n, True)
    _maybe_purge(st)


@compiled
def _maybe_purge(st):
    """``arena_maybe_purge``: purge while ndirty exceeds the threshold."""
    S = st.S
    if S[LGD] < 0:
        return
    while True:
        threshold = max(S[NACTIVE] >> S[LGD], S[CP])
        if S[NDIRTY] <= threshold:
            return
        _purge(st, S[NDIRTY] - threshold)


@compiled
def _page_of(st, g):
    cp = st.S[CP]
    return st.sbase[g // cp] + g % cp


@compiled
def _purge(st, npurge):
    """``arena_purge``: the oldest dirty runs, whole, until >= npurge pages
    (``arena_stash_dirty``); one madvise each (``arena_purge_stashed``); each
    then freed as a clean run (``arena_unstash_purged``)."""
    S = st.S
    S[NPURGES] += 1
    head = S[DHEAD]
    g = head
    got = 0
    while True:                                  # the stash: a prefix of the list
        got += st.fs[g]
        if got >= npurge or st.dn[g] < 0:
            break
        g = st.dn[g]
    last = g
    nxt = st.dn[last]
    S[DHEAD] = nxt
    if nxt >= 0:
        st.dp[nxt] = -1
    else:
        S[DTAIL] = -1
    g = head
    while True:                                  # _del_extent, the run marked stashed
        n = st.fs[g]
        st.fl[g + n - 1] = -1
        st.df[g] = 0
        S[NDIRTY] -= n
        st.fs[g] = -n
        if g == last:
            break
        g = st.dn[g]
    g = head
    while True:
        n = -st.fs[g]
        s = _page_of(st, g)
        _event(st, MADVISE, s * PAGE, n * PAGE)
        _map_touch(st, s)
        S[PURGED] += n
        if g == last:
            break
        g = st.dn[g]
    g = head
    while True:
        after = st.dn[g]
        n = -st.fs[g]
        s = _page_of(st, g)
        st.fs[g] = 0
        _coalesce_add(st, s, n, False)
        if g == last:
            break
        g = after


# -- allocation API -----------------------------------------------------------------
@entry
def size_class(n, lg_quantum):
    """jemalloc 4 usable size (B) of a request of n bytes (see jemalloc.size_class)."""
    n = max(n, 1)
    q = 1 << lg_quantum
    if n <= 8:
        return 8
    if n <= 4 * q:
        return (n + q - 1) // q * q
    k = -1
    x = n - 1
    while x:
        x >>= 1
        k += 1
    step = 1 << (k - 2)
    return (n + step - 1) // step * step


@compiled
def _huge_length(st, cls):
    S = st.S
    if S[HUGE_PAGE]:
        return (cls + PAGE - 1) // PAGE * PAGE
    return (cls + S[CHUNK] - 1) // S[CHUNK] * S[CHUNK]


@compiled
def _new_run(st, cls, b, p):
    S = st.S
    r = S[NRUNS]
    S[NRUNS] = r + 1
    st.raddr[r] = p * PAGE
    st.rcls[r] = cls
    nregs = st.bnregs[b]
    st.rnfree[r] = nregs
    for w in range(MASK_WORDS):
        k = min(max(nregs - 64 * w, 0), 64)
        st.rmask[r, w] = np.uint64(0) if k == 0 else (
            ~np.uint64(0) if k == 64 else (np.uint64(1) << np.uint64(k)) - np.uint64(1))
    return r


@entry
def malloc(st, size):
    """``je_malloc(size)``: returns (address, handle)."""
    S = st.S
    cls = size_class(size, S[LGQ])
    if cls <= SMALL_MAX:
        b = cls >> 3
        if st.bpages[b] == 0:
            x, y = cls, PAGE                     # lcm(cls, 4096) by gcd
            while y:
                x, y = y, x % y
            run_bytes = cls // x * PAGE
            st.bpages[b] = run_bytes // PAGE
            st.bnregs[b] = run_bytes // cls
        run = st.bcur[b]
        if run < 0 or st.rnfree[run] == 0:
            run = -1
            hb = S[CP] + 1 + b
            while st.hcnt[hb] > 0:
                r = _htop(st, hb) & ((1 << 28) - 1)
                _hpop(st, hb)
                if st.rnfree[r] > 0 and st.raddr[r] >= 0:
                    run = r
                    break
            if run < 0:
                run = _new_run(st, cls, b, _alloc_pages(st, st.bpages[b]))
            st.bcur[b] = run
        w = 0
        while st.rmask[run, w] == 0:
            w += 1
        m = st.rmask[run, w]
        i = 0
        while not (m >> np.uint64(i)) & np.uint64(1):
            i += 1
        st.rmask[run, w] = m & ~(np.uint64(1) << np.uint64(i))
        st.rnfree[run] -= 1
        return st.raddr[run] + (w * 64 + i) * cls, run * 4
    if cls <= S[LARGE_MAX]:
        n = (cls + PAGE - 1) // PAGE
        return _alloc_pages(st, n) * PAGE, n * 4 + 1
    a = _mmap(st, _huge_length(st, cls))
    S[NHUGE] += 1
    S[NACTIVE] += cls // PAGE                    # arena_chunk_alloc_huge
    return a, cls * 4 + 2


@entry
def ralloc(st, addr, h, size):
    """``je_realloc``: returns (address, handle, moved).  A huge object whose
    ``CHUNK_CEILING`` does not change is resized in place (huge.c
    ``huge_ralloc_no_move_similar``), shrinking purges the tail; anything else
    is a new malloc (``moved``: the caller copies and frees the old one)."""
    S = st.S
    cls = size_class(size, S[LGQ])
    if h & 3 == 2 and not S[HUGE_PAGE] and cls > S[LARGE_MAX]:
        old = h >> 2
        if _huge_length(st, cls) == _huge_length(st, old):
            if cls < old:
                _event(st, MADVISE, addr + cls, old - cls)
            S[NACTIVE] += (cls - old) // PAGE    # arena_chunk_ralloc_huge_similar
            return addr, cls * 4 + 2, False
    a, h2 = malloc(st, size)
    return a, h2, True


@compiled
def _bin_push(st, b, r):
    _hpush(st, st.S[CP] + 1 + b, (st.raddr[r] // PAGE) << 28 | r)


@entry
def free(st, addr, h):
    """``je_free`` of an allocation at ``addr`` with handle ``h``."""
    kind = h & 3
    if kind == 0:
        run = h >> 2
        cls = st.rcls[run]
        b = cls >> 3
        i = (addr - st.raddr[run]) // cls
        was_full = st.rnfree[run] == 0
        st.rmask[run, i >> 6] |= np.uint64(1) << np.uint64(i & 63)
        st.rnfree[run] += 1
        if st.rnfree[run] == st.bnregs[b]:       # empty run: give its pages back
            if st.bcur[b] == run:
                st.bcur[b] = -1
            page0 = st.raddr[run] // PAGE
            st.raddr[run] = -1 - st.raddr[run]   # dead for the lazy heap
            _free_pages(st, page0, st.bpages[b])
        elif was_full:
            cur = st.bcur[b]
            if cur >= 0 and st.rnfree[cur] > 0 and st.raddr[run] < st.raddr[cur]:
                _bin_push(st, b, cur)
                st.bcur[b] = run
            elif cur < 0 or st.rnfree[cur] == 0:
                st.bcur[b] = run
            else:
                _bin_push(st, b, run)
    elif kind == 1:
        _free_pages(st, addr // PAGE, h >> 2)
    else:
        cls = h >> 2
        _munmap(st, addr, _huge_length(st, cls))
        st.S[NACTIVE] -= cls // PAGE             # arena_chunk_dalloc_huge
        _maybe_purge(st)                         # chunk_dalloc_cache


