"""The page-fault handler: what one fault on a 4 KiB page of a region does.

Linux 4.3 ``mm/memory.c`` ``handle_mm_fault`` -> ``do_anonymous_page`` /
``do_wp_page`` (copy-on-write of the zero page), ``mm/huge_memory.c``
``do_huge_pmd_anonymous_page`` (a 2 MiB page, or the huge zero page on a read)
and ``do_huge_pmd_wp_page``; FreeBSD ``vm_reserv_alloc_page`` for reservations.
Inlined into the compiled loop (``machine.engine.replay``); the policy's
choices arrive as parameters (``P_FAULT_MODE``, ``P_DEFRAG``,
``P_HUGE_ZERO_PAGE``, ...).  Latency = the base cost of the page size + its
zeroing unless the frame was pre-zeroed (+ a direct compaction's cost).
A fault that clears (or copies into) its frame leaves those lines in the
cache (``cleared``): the accesses that follow to that page pay no data
cycles until the process's next fault.
``touch_run`` takes a run of first-touch faults that all end in
``do_anonymous_page``'s private frame (``plain_4k``) in one call: speed
only, the results of one ``fault`` per record (tests/test_fast_path.py).
"""
from __future__ import annotations

import numpy as np

from hpsim.units import HUGE_PAGE_MASK, HUGE_SHIFT, HUGE_SIZE, PAGE_SHIFT, PAGE_SIZE
from machine import physmem, tlb as tlbmod
from machine.constants import (BLK_HUGE, BLK_RESERVED, C_COMPACT_PENDING, C_FAULTS_2M,
                               C_FAULTS_4K, C_FAULTS_COW, C_FAULTS_HUGE_ZERO,
                               C_FAULTS_PREZEROED, C_FAULTS_ZEROPAGE, C_HOT_HI, C_HOT_LO,
                               C_RSS_PAGES,
                               C_THP_FALLBACK, C_TLB_INVALIDATIONS, C_ZERO_CYCLES, FAULT_BASE,
                               FAULT_HUGE, FAULT_RESERVE, G_FREE_FRAMES, G_RESERVATIONS, G_WMARK,
                               HUGE_ZERO, P_DEFRAG,
                               P_L2_HIT, P_WALK_2M, P_WALK_4K,
                               P_FAULT_BASE_2M, P_FAULT_BASE_4K, P_FAULT_MODE,
                               P_HUGE_ZERO_PAGE, P_PREFER_ZEROED, P_ZEROPAGE_FAULT,
                               P_ZEROPAGE_ON_READ, P_ZERO_2M, P_ZERO_4K, PAGES_PER_HUGE,
                               PG_MAPPED, PG_TOUCHED, PG_ZEROPAGE)
from machine.jit import kernel
from machine.pagetable import map_huge, map_huge_zero, mark_accessed, wp_huge_zero
from workloads.trace import ACCESS, KIND_MASK, WRITE_BIT

WRITE_SHIFT = WRITE_BIT.bit_length() - 1


@kernel(inline="always")
def cleared(C, lo, nbytes):
    """The fault being handled cleared (or copied into) the virtual range
    [lo, lo + nbytes): its lines are now in the cache, so the process's
    accesses to it pay no data cycles until its next fault (machine.engine).
    Linux clears with cached stores (x86 clear_page_erms, ``rep stosb``:
    arch/x86/lib/clear_page_64.S; copy_page for copy-on-write), and
    clear_huge_page clears the faulting subpage last "to keep its cache
    lines hot" (mm/memory.c, Linux 4.14+, later process_huge_page), and 2 MiB
    fits the LLC of every machine modelled here.  A pre-zeroed frame was
    cleared earlier with non-temporal stores (HawkEye's asynczero.c
    ``movnti``: "avoids cache pollution and the double cache miss",
    hawkeye-facts.md §3.1), so a fault onto one leaves the range empty
    (fault() empties it first).  Only the last fault's range is kept: a
    one-entry model of the cache, not an LRU of the LLC."""
    C[C_HOT_LO] = lo
    C[C_HOT_HI] = lo + nbytes


@kernel(inline="always")
def huge_fault_done(P, C, z, rg, slot):
    """Count a 2 MiB page mapped at fault (THP_FAULT_ALLOC) for region slot
    and return its latency: base cost, plus clearing unless the block was
    pre-zeroed."""
    C[C_FAULTS_2M] += 1
    zc = 0
    if z:
        C[C_FAULTS_PREZEROED] += 1
    else:
        zc = P[P_ZERO_2M]
        cleared(C, rg.vaddr[slot], HUGE_SIZE)
    C[C_ZERO_CYCLES] += zc
    return P[P_FAULT_BASE_2M] + zc


@kernel(inline="always")
def map_private_4k(ph, rg, slot, p, f):
    """PTE of page p (of region slot) onto the fresh private frame f, in use
    (do_anonymous_page's set_pte_at), with the reverse map."""
    rg.pg_state[p] = PG_MAPPED | PG_TOUCHED
    rg.pg_frame[p] = f
    ph.frame_page[f] = p
    rg.mapped[slot] += 1


@kernel(inline="always")
def plain_4k(P, rg, slot, write, whole):
    """A fault on a never-mapped page (state 0) of region slot, with no
    direct compaction pending, takes fault()'s last branch and only it: a
    private 4 KiB frame from the allocator; no huge page, huge zero page,
    zero page or reservation (the conditions of fault()'s earlier branches,
    negated; tests/test_fast_path.py compares the two paths)."""
    mode = P[P_FAULT_MODE]
    empty = whole and rg.mapped[slot] == 0
    return ((mode == FAULT_BASE or (mode == FAULT_HUGE and not empty))
            and (write or (P[P_ZEROPAGE_ON_READ] == 0 and not (empty and P[P_HUGE_ZERO_PAGE]))))


@kernel(inline="always")
def fault(ph, G, rg, P, C, tlb, slot, i, write, whole):
    """Handle a fault on page i of region slot.  Returns the latency in cycles,
    or -1 when no frame could be found (nothing changed, except that a huge
    zero mapping written to may have been split first, as in Linux)."""
    p = slot * PAGES_PER_HUGE + i
    st = rg.pg_state[p]
    mode = P[P_FAULT_MODE]
    C[C_HOT_LO] = 0      # nothing cleared yet by this fault (cleared() sets it)
    C[C_HOT_HI] = 0
    if rg.huge[slot] == HUGE_ZERO:
        # a write: a cleared 2 MiB page, else 512 zero-page PTEs and the COW below
        blk, z = wp_huge_zero(ph, G, rg, P, C, tlb, slot, mode == FAULT_HUGE)
        if blk >= 0:
            return huge_fault_done(P, C, z, rg, slot)
    if st & PG_MAPPED:
        # write to the shared zero page: copy-on-write into a fresh frame
        f, z = physmem.alloc_frame(ph, G)
        if f < 0:
            return -1
        rg.zpages[slot] -= 1
        rg.pg_state[p] = PG_MAPPED | PG_TOUCHED
        rg.pg_frame[p] = f
        ph.frame_page[f] = p   # reverse map
        # the PTE changes frame: wp_page_copy replaces it with
        # ptep_clear_flush_notify, so the read-only translation cached by the
        # read is gone and the retried write walks again (Linux 4.3 mm/memory.c)
        C[C_TLB_INVALIDATIONS] += tlbmod.invalidate_page(tlb, (rg.vaddr[slot] >> PAGE_SHIFT) + i)
        C[C_RSS_PAGES] += 1
        C[C_FAULTS_COW] += 1
        zc = 0 if z else P[P_ZERO_4K]
        if not z:
            cleared(C, rg.vaddr[slot] + (i << PAGE_SHIFT), PAGE_SIZE)
        C[C_ZERO_CYCLES] += zc
        return P[P_FAULT_BASE_4K] + zc
    if not write and whole and rg.mapped[slot] == 0 and P[P_HUGE_ZERO_PAGE]:
        # do_huge_pmd_anonymous_page, read fault, use_zero_page: one PMD onto
        # the shared huge zero page; no frame, no zeroing
        map_huge_zero(rg, C, tlb, slot)
        C[C_FAULTS_HUGE_ZERO] += 1
        return P[P_ZEROPAGE_FAULT]
    # a direct compaction done for this fault (ST_COMPACT): its cost is part
    # of this fault's latency, and the retry does not ask again
    compacted = C[C_COMPACT_PENDING]
    C[C_COMPACT_PENDING] = 0
    dc = max(compacted - 1, 0)
    if mode == FAULT_HUGE and whole and rg.mapped[slot] == 0:
        blk, z = physmem.alloc_block(ph, G, P[P_PREFER_ZEROED] != 0, slot, BLK_HUGE)
        if blk < 0 and P[P_DEFRAG] != 0 and compacted == 0:
            return -2    # ST_COMPACT: __alloc_pages_direct_compact, then retry
        if blk >= 0:
            map_huge(ph, G, rg, C, tlb, slot, blk)
            return huge_fault_done(P, C, z, rg, slot) + dc
        C[C_THP_FALLBACK] += 1
    if not write and P[P_ZEROPAGE_ON_READ]:
        rg.pg_state[p] = PG_MAPPED | PG_ZEROPAGE | PG_TOUCHED
        rg.zpages[slot] += 1
        rg.mapped[slot] += 1
        C[C_FAULTS_ZEROPAGE] += 1
        return P[P_ZEROPAGE_FAULT] + dc
    f = -1
    z = False
    if mode == FAULT_RESERVE:
        b = rg.block[slot]
        if b < 0 and whole and rg.mapped[slot] == 0:
            # reserve only an empty extent (vm_reserv_alloc_page: no page of
            # the object may already lie in it)
            b, _z = physmem.alloc_block(ph, G, False, slot, BLK_RESERVED)
            if b >= 0:
                rg.block[slot] = b
                G[G_RESERVATIONS] += 1
        if b >= 0:
            f = b * PAGES_PER_HUGE + i
            z = physmem.alloc_frame_at(ph, G, f)
    if f < 0:
        f, z = physmem.alloc_frame(ph, G)
        if f < 0:
            C[C_COMPACT_PENDING] = compacted   # nothing changed: the retry pays it
            return -1
    map_private_4k(ph, rg, slot, p, f)
    C[C_RSS_PAGES] += 1
    C[C_FAULTS_4K] += 1
    zc = P[P_ZERO_4K]
    if z:
        zc = 0
        C[C_FAULTS_PREZEROED] += 1
    else:
        cleared(C, rg.vaddr[slot] + (i << PAGE_SHIFT), PAGE_SIZE)
    C[C_ZERO_CYCLES] += zc
    return P[P_FAULT_BASE_4K] + zc + dc


@kernel
def touch_run(words, args, i, limit, clock, cpa, dcpa, hot_lo, hot_hi, vlo, vhi, rb, ph, G,
              rg, P, slot_table, tlb, trigger, zero_pop):
    """replay's first touches (a buffer being filled): from record i, accesses
    that each fault a never-mapped 4 KiB page of the cached VMA [vlo, vhi)
    on fault()'s plain 4 KiB path (``plain_4k``), as replay's general path
    would handle them one by one, with the counters kept in registers.  It
    stops before a record it cannot take: another kind, another VMA, a
    mapped page, a run of repeats crossing the time limit, a fault that would
    fire the population trigger, memory exhausted; and after a fault that
    takes free frames below the armed watermark (``G_WMARK``).  (The caller
    checks that no direct compaction is pending.)  A record whose fault
    cleared its frame pays no data cycles (dcpa of cpa: ``cleared``).
    Returns (next record, clock, and the added accesses, writes, L1 hits, L2
    hits, walks, walk cycles, user cycles, faults whose frame was cleared,
    faults onto a pre-zeroed frame, accesses charged no data cycles, and the
    cache-hot range [hot_lo, hot_hi) the last fault left)."""
    n = len(words)
    pg_state = rg.pg_state
    accesses = writes = l1_hits = l2_hits = walks = walk_cycles = user_cycles = 0
    n_cleared = n_prezeroed = hot_accesses = 0
    lat_cleared = P[P_FAULT_BASE_4K] + P[P_ZERO_4K]
    while i < n and clock < limit:
        w = words[np.uint64(i)]
        addr = np.int64(w >> PAGE_SHIFT) << PAGE_SHIFT
        cnt = np.int64(args[np.uint64(i)])
        if ((w & KIND_MASK) != ACCESS or addr < vlo or addr >= vhi
                or (cnt > 1 and clock + cnt * cpa > limit)):
            break
        r = addr >> HUGE_SHIFT
        slot = slot_table[np.uint64(rb + r)]
        p = slot * PAGES_PER_HUGE + ((addr >> PAGE_SHIFT) & HUGE_PAGE_MASK)
        wbit = np.int64(w >> WRITE_SHIFT) & 1
        whole = vlo <= (r << HUGE_SHIFT) and ((r + 1) << HUGE_SHIFT) <= vhi
        if (pg_state[np.uint64(p)] != 0 or rg.huge[slot] != 0
                or not plain_4k(P, rg, slot, wbit != 0, whole)):
            break
        pop = rg.mapped[slot] + 1 - (0 if zero_pop else rg.zpages[slot])
        if trigger > 0 and pop >= trigger and rg.trig[slot] == 0:
            break
        f, z = physmem.alloc_frame(ph, G)
        if f < 0:
            break
        map_private_4k(ph, rg, slot, p, f)
        lat = lat_cleared
        a = cpa - dcpa       # the page was just cleared: its lines are in the cache
        if z:
            lat = P[P_FAULT_BASE_4K]
            n_prezeroed += 1
            a = cpa
            hot_lo = hot_hi = 0
        else:
            n_cleared += 1
            hot_accesses += cnt
            hot_lo, hot_hi = addr, addr + PAGE_SIZE
        # a page never mapped has no translation: both TLB levels miss
        cyc, d1, d2, dw, dwc = tlbmod.tlb_access(tlb.l1s_tag, tlb.l1h_tag, tlb.l2_tag, False,
                                                 addr >> PAGE_SHIFT, cnt, a,
                                                 P[P_WALK_4K], P[P_WALK_2M], P[P_L2_HIT])
        l1_hits += d1
        l2_hits += d2
        walks += dw
        walk_cycles += dwc
        writes += cnt * wbit
        mark_accessed(pg_state, p, PG_MAPPED | PG_TOUCHED, wbit)
        accesses += cnt
        user_cycles += cyc
        clock += cyc + lat
        i += 1
        if G[G_FREE_FRAMES] < G[G_WMARK]:
            break                   # the caller returns ST_WMARK
    return (i, clock, accesses, writes, l1_hits, l2_hits, walks, walk_cycles, user_cycles,
            n_cleared, n_prezeroed, hot_accesses, hot_lo, hot_hi)


@kernel(inline="always")
def count_touch_run(C, P, n_cleared, n_prezeroed):
    """Add a touch_run's faults to the counters fault() keeps per fault;
    returns their latency in cycles."""
    nf = n_cleared + n_prezeroed
    C[C_RSS_PAGES] += nf
    C[C_FAULTS_4K] += nf
    C[C_FAULTS_PREZEROED] += n_prezeroed
    C[C_ZERO_CYCLES] += n_cleared * P[P_ZERO_4K]
    return nf * P[P_FAULT_BASE_4K] + n_cleared * P[P_ZERO_4K]
