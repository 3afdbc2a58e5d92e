"""The compiled per-access loop: TLB lookup, page walk, fault path.

``replay`` consumes one chunk of a process's trace until the chunk ends, the
process clock reaches a time limit (a background thread is due), or a record
needs Python (mmap, munmap, phase marker, a madvise that splits a huge page,
a policy trigger, memory exhausted).
It never makes a policy decision: the policy's choices arrive as parameters
(``P_FAULT_MODE``, ``P_PREFER_ZEROED``, ``P_POP_TRIGGER``, ...).

Cost model per access (cycles): compute (set by the workload) + data
(the workload's LLC misses per access x the DRAM latency, both from the
trace's CYCLES record and ``P_DRAM_LATENCY``; none for an access to the page
the process's last fault cleared, whose lines are in the cache:
``fault.cleared``), the compute at least the
machine's ``P_ACCESS_CYCLES`` (0 unless a host profile measured it; all
folded into the per-access constant ``cpa`` at each CYCLES record, so the
loops pay nothing for them) + an L2 TLB hit penalty or
a page walk on a miss + the fault latency when the page is not mapped
(``machine.fault``).  A walk's own cache misses are part of the walk
cycles, not of the data cost.

Speed (``python -m sim.bench``): the common case, a run of accesses to
mapped pages, goes to ``fast_run``, a small function of its own whose loop
keeps every value in a register (inside ``replay``, next to the inlined
fault path, LLVM spilled most of them to the stack: 35 -> 21 ns per random
access to a mapped page).  ``replay`` keeps the rest, one record at a time:
faults, events, runs of repeats that cross a time limit.  ``P_FAST_PATH =
0`` switches the fast path off; the results are the same
(``tests/test_fast_path.py``).  Within a run, a record on the page (or 2 MiB
mapping) of the previous one skips the TLB lookup: under LRU it would hit
way 0 of its L1 set and change nothing.  Runs of first-touch faults on the
plain 4 KiB path (a buffer being filled) go to ``fault.touch_run`` the same
way, one call per run.  The fault path (``machine.fault``) is inlined into ``replay`` (a
call passes ~250 scalars, one per field of every array of the machine, and
cost more than the fault itself); TLB sets are updated without
data-dependent branches (``tlb.touch``); the page state of the access 16
records ahead is prefetched (random traces over GiBs miss the cache there);
counters live in locals and are flushed once per call.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from machine.jit import kernel, prefetch

from hpsim.units import (HPAGE_PMD_ORDER, HUGE_PAGE_MASK, HUGE_SHIFT, HUGE_SIZE, PAGE_SHIFT,
                         PAGE_SIZE)
from machine import tlb as tlbmod
from machine.constants import (BLK_RESERVED, C_ACCESSES, C_BLOAT_PAGES, C_CLOCK, C_COMPACT_PENDING,
                               C_CYCLES_PER_ACCESS, C_DATA_CPA, C_DATA_CYCLES, C_FAST_RECORDS,
                               C_FAULT_CYCLES, C_FREE_CYCLES, C_HIST_BIN, C_HIST_LAT, C_HOT_HI,
                               C_HOT_LO, C_L1_HITS,
                               C_L2_HITS, C_LAST_VMA, C_MADVISED_PAGES, C_NVMA, C_REPEAT_DONE,
                               C_SEGV_ADDR, C_TRIG_LAT, C_TRIG_SLOT, C_USER_CYCLES, C_WALKS,
                               C_WALK_CYCLES, C_WRITES, G_FREE_FRAMES, G_WMARK, HIST_BINS,
                               HIST_MIN_NS, HIST_RATIO, PAGES_PER_HUGE,
                               PG_MAPPED, PG_ZEROPAGE, P_ACCESS_CYCLES, P_CPU_HZ, P_DRAM_LATENCY,
                               P_FAST_PATH, P_FAULT_BASE_4K, P_FREE_2M, P_FREE_4K, P_L2_HIT,
                               P_POP_COUNTS_ZERO,
                               P_POP_TRIGGER, P_WALK_2M, P_WALK_4K, P_ZERO_4K, ST_COMPACT, ST_END,
                               ST_EVENT, ST_NOMEM, ST_SEGV, ST_TIME, ST_TRIGGER, ST_WMARK)
from machine.fault import count_touch_run, fault, touch_run
from machine.pagetable import mark_accessed, zap_range
from machine.tlb import tlb_access
from workloads.trace import ACCESS, CYCLES, KIND_MASK, MADV_DONTNEED, MISS_SCALE, WRITE_BIT

# A process's address-space arrays, as the kernel sees them.
ProcArrays = namedtuple("ProcArrays", [
    "vma_start", "vma_end",  # int64, sorted by start; C[C_NVMA] are in use
    "vma_rbase",             # int64: index into slot_table of the VMA's first region
    "slot_table",            # int32 (machine.SLOT_DTYPE): region slot per (VMA, region) pair
    "C",                     # int64 counters (C_*)
    "hist",                  # int64 fault-latency histogram
])

_LOG_RATIO = math.log(HIST_RATIO)


def _bit(flag: int) -> int:
    """Position of a one-bit flag (replay shifts flags instead of branching)."""
    assert flag > 0 and flag & (flag - 1) == 0, flag
    return flag.bit_length() - 1


_WRITE_SHIFT, _ZEROPAGE_SHIFT = _bit(WRITE_BIT), _bit(PG_ZEROPAGE)
SWEEP_MIN_PAGES = 256   # unmap ranges from this size scan the TLB once (~1100 entries)
PREFETCH_AHEAD = 16   # records; tuned on random traces over GiBs
FAST_MIN_RUN = 32     # a fast-path run shorter than this ...
FAST_BACKOFF = 64     # ... leaves the next this many records to the general path
FAST_RECHECK = 8      # records the general path takes after one the fast path would not
FAST, TOUCH = 1, 2    # next_path's answers


@kernel
def find_vma(pa, nvma, addr):
    """Index of the VMA containing addr, or -1 (binary search)."""
    lo, hi = 0, nvma - 1
    k = -1
    while lo <= hi:
        mid = (lo + hi) >> 1
        if pa.vma_start[mid] <= addr:
            k = mid
            lo = mid + 1
        else:
            hi = mid - 1
    if k >= 0 and addr < pa.vma_end[k]:
        return k
    return -1


@kernel(inline="always")
def U(i):
    """An index known to be >= 0, as unsigned: numba then skips the
    negative-index fix-up (3 instructions per access of the hot loop)."""
    return np.uint64(i)


@kernel(inline="always")
def slot_of(pa, k, addr):
    return pa.slot_table[pa.vma_rbase[k] + (addr >> HUGE_SHIFT) - (pa.vma_start[k] >> HUGE_SHIFT)]


@kernel
def latency_bin(P, lat):
    """Histogram bin of a fault latency in cycles (log-spaced bins)."""
    ns = lat * 1e9 / P[P_CPU_HZ]
    b = 0
    if ns > HIST_MIN_NS:
        b = int(math.log(ns / HIST_MIN_NS) / _LOG_RATIO)
        if b >= HIST_BINS:
            b = HIST_BINS - 1
    return b


@kernel(inline="always")
def huge_at(rg, pa, nvma, addr):
    """addr lies in a VMA, in a region mapped by one 2 MiB PTE."""
    k = find_vma(pa, nvma, addr)
    return k >= 0 and rg.huge[slot_of(pa, k, addr)] == 1


@kernel
def splits_huge(rg, pa, start, npages):
    """Would unmap_range(start, npages) split a huge mapping, i.e. cover part
    of a huge region?  Only the regions at the two ends of the range can be
    covered in part (a huge region lies whole inside one VMA)."""
    if npages <= 0:
        return False
    nvma = pa.C[C_NVMA]
    end = start + npages * PAGE_SIZE
    first_partial = ((start & (HUGE_SIZE - 1)) != 0
                     or end < ((start >> HUGE_SHIFT) + 1) << HUGE_SHIFT)
    if first_partial and huge_at(rg, pa, nvma, start):
        return True
    return (end & (HUGE_SIZE - 1)) != 0 and huge_at(rg, pa, nvma, end - PAGE_SIZE)


@kernel
def unmap_range(ph, G, rg, P, pa, tlb, start, npages):
    """Zap every mapped page in [start, start + npages * 4 KiB) that lies in a
    VMA (munmap and madvise DONTNEED).  Returns the cycles it cost."""
    C = pa.C
    end = start + npages * PAGE_SIZE
    addr = start
    cost = 0
    nvma = C[C_NVMA]
    # A big range is shot down with one scan of the TLB after the zap instead
    # of one lookup per page: the same entries go (the TLB only holds
    # translations of mapped pages, and every mapped page in a VMA inside the
    # range is zapped), the others keep their recency order.
    sweep = npages >= SWEEP_MIN_PAGES
    while addr < end:
        rend = ((addr >> HUGE_SHIFT) + 1) << HUGE_SHIFT
        stop = min(end, rend)
        k = find_vma(pa, nvma, addr)
        if k >= 0:
            stop = min(stop, pa.vma_end[k])
            slot = slot_of(pa, k, addr)
            i0 = (addr >> PAGE_SHIFT) & HUGE_PAGE_MASK
            i1 = i0 + ((stop - addr) >> PAGE_SHIFT)
            whole_huge = rg.huge[slot] == 1 and i0 == 0 and i1 == PAGES_PER_HUGE
            freed = zap_range(ph, G, rg, C, tlb, slot, i0, i1, not sweep)
            cost += P[P_FREE_2M] if whole_huge else freed * P[P_FREE_4K]
        else:
            # skip to the next VMA start inside the range, if any
            nxt = end
            for j in range(nvma):
                if pa.vma_start[j] > addr:
                    nxt = pa.vma_start[j]
                    break
            stop = min(max(nxt, addr + PAGE_SIZE), end)
        addr = stop
    if sweep:
        tlbmod.invalidate_range_4k(tlb, start >> PAGE_SHIFT, end >> PAGE_SHIFT)
    C[C_FREE_CYCLES] += cost
    return cost


@kernel(inline="always")
def prefetch_ahead(words, i, pg_state, slot_table, vlo, vhi, rb):
    """The page state of a later access is likely a cache miss on a big
    footprint: start fetching it now (only inside the current VMA, where its
    slot-table index is known to be valid)."""
    if i + PREFETCH_AHEAD < len(words):
        fa = np.int64(words[U(i + PREFETCH_AHEAD)] >> PAGE_SHIFT) << PAGE_SHIFT
        if vlo <= fa and fa < vhi:
            prefetch(pg_state, slot_table[U(rb + (fa >> HUGE_SHIFT))] * PAGES_PER_HUGE
                     + ((fa >> PAGE_SHIFT) & HUGE_PAGE_MASK))


@kernel(inline="always")
def faults(st, huge, wbit):
    """An access to a page of state st faults: not mapped, or a write to the
    shared zero page (copy-on-write; the huge zero page's pages carry
    PG_ZEROPAGE too).  Every page of a huge mapping is mapped, so huge (kept
    for the callers) needs no test."""
    return (st & PG_MAPPED) == 0 or (wbit & (st >> _ZEROPAGE_SHIFT)) != 0


@kernel(inline="always")
def next_path(words, i, pg_state, rhuge, slot_table, vlo, vhi, rb):
    """Which run function takes record i: FAST (fast_run), an access to a
    mapped page of the cached VMA, not a write to the zero page; TOUCH
    (fault.touch_run), an access to a never-mapped page of it; else 0.
    (Checked before the call, so that a record neither takes does not pay
    for it.)"""
    if i >= len(words):
        return 0
    w = words[U(i)]
    addr = np.int64(w >> PAGE_SHIFT) << PAGE_SHIFT
    if (w & KIND_MASK) != ACCESS or addr < vlo or addr >= vhi:
        return 0
    slot = slot_table[U(rb + (addr >> HUGE_SHIFT))]
    st = np.int64(pg_state[U(slot * PAGES_PER_HUGE + ((addr >> PAGE_SHIFT) & HUGE_PAGE_MASK))])
    if st == 0:
        return TOUCH
    return 0 if faults(st, rhuge[U(slot)] != 0, np.int64(w >> _WRITE_SHIFT) & 1) else FAST


@kernel
def fast_run(words, args, i, limit, clock, cpa, hot_lo, hot_len, vlo, vhi, rb, pg_state,
             rhuge, slot_table, l1s, l1h, l2, walk_4k, walk_2m, l2_hit):
    """replay's common case: from record i, accesses to mapped pages of the
    VMA [vlo, vhi) (no fault, no event, no run of repeats that crosses the
    time limit), outside the cache-hot range [hot_lo, hot_lo + hot_len)
    (whose records, which pay no data cycles, the general path takes: a
    compare here costs less than their accounting; hot_len, unsigned, is 0
    when the range is empty or accesses have no data cost).  Returns (next
    record, clock, and the added accesses, writes, L1 hits, L2 hits, walks,
    walk cycles, user cycles, bloat)."""
    n = len(words)
    accesses = writes = l1_hits = l2_hits = walks = walk_cycles = user_cycles = 0
    bloat_delta = 0
    # TLB tag of the previous record of this run: a record with the same tag
    # (same 4 KiB page, or same 2 MiB mapping) would find it in way 0 of its
    # L1 set, a hit that changes nothing under LRU, so the lookup is skipped
    # (nothing between two records of a run touches the TLB).  Tags are >= 0.
    last_t = np.int64(-1)
    while i < n and clock < limit:
        w = words[U(i)]
        addr = np.int64(w >> PAGE_SHIFT) << PAGE_SHIFT
        cnt = np.int64(args[U(i)])
        if ((w & KIND_MASK) != ACCESS or addr < vlo or addr >= vhi
                or (cnt > 1 and clock + cnt * cpa > limit)
                or np.uint64(addr - hot_lo) < hot_len):
            break
        r = addr >> HUGE_SHIFT
        slot = slot_table[U(rb + r)]
        p = slot * PAGES_PER_HUGE + ((addr >> PAGE_SHIFT) & HUGE_PAGE_MASK)
        st = np.int64(pg_state[U(p)])
        huge = rhuge[U(slot)] != 0
        wbit = np.int64(w >> _WRITE_SHIFT) & 1
        if faults(st, huge, wbit):
            break        # the general path's
        prefetch_ahead(words, i, pg_state, slot_table, vlo, vhi, rb)
        vpn = addr >> PAGE_SHIFT
        t = tlbmod.tag_2m(vpn >> HPAGE_PMD_ORDER) if huge else tlbmod.tag_4k(vpn)
        if t == last_t:
            cyc = cnt * cpa      # tlb_access's L1 hit, without the lookup
            l1_hits += cnt
        else:
            cyc, d1, d2, dw, dwc = tlb_access(l1s, l1h, l2, huge, vpn, cnt, cpa,
                                              walk_4k, walk_2m, l2_hit)
            l1_hits += d1
            l2_hits += d2
            walks += dw
            walk_cycles += dwc
            last_t = t
        writes += cnt * wbit
        bloat_delta -= mark_accessed(pg_state, p, st, wbit)
        accesses += cnt
        user_cycles += cyc
        clock += cyc
        i += 1
    return (i, clock, accesses, writes, l1_hits, l2_hits, walks, walk_cycles, user_cycles,
            bloat_delta)


@kernel
def replay(words, args, i, limit, ph, G, rg, P, pa, tlb):
    """Run records [i, len) of one process.  Returns (next record, status)."""
    C = pa.C
    hist = pa.hist
    n = len(words)
    cpa = C[C_CYCLES_PER_ACCESS]       # compute + data cycles per access
    dcpa = C[C_DATA_CPA]               # its data part (C_DATA_CYCLES, flushed per change)
    acc_mark = np.int64(0)             # accesses (hot ones aside) already in C_DATA_CYCLES
    hot_lo, hot_hi = C[C_HOT_LO], C[C_HOT_HI]   # cache-hot range (fault.cleared)
    hot_accesses = np.int64(0)         # accesses to it: no data cycles
    nvma = C[C_NVMA]
    trigger = P[P_POP_TRIGGER]
    zero_pop = P[P_POP_COUNTS_ZERO] != 0   # zero-page PTEs count as populated
    l1s, l1h, l2 = tlb.l1s_tag, tlb.l1h_tag, tlb.l2_tag
    pg_state = rg.pg_state
    rhuge = rg.huge
    vma_start, vma_end, vma_rbase = pa.vma_start, pa.vma_end, pa.vma_rbase
    slot_table = pa.slot_table
    walk_4k, walk_2m, l2_hit = P[P_WALK_4K], P[P_WALK_2M], P[P_L2_HIT]
    # The current VMA's bounds and slot-table base live in locals: VMAs do not
    # change inside replay, and reloading them after every uint8 store (which
    # may alias, for all LLVM knows) costs.
    last = C[C_LAST_VMA]
    vlo, vhi, rb = np.int64(1), np.int64(0), np.int64(0)   # empty: no VMA cached
    if last >= 0 and last < nvma:
        vlo, vhi = vma_start[last], vma_end[last]
        rb = vma_rbase[last] - (vlo >> HUGE_SHIFT)
    # hot counters live in locals (stores to C would alias every array);
    # counters only ever added to are flushed as deltas at the end
    clock = C[C_CLOCK]
    repeat_done = C[C_REPEAT_DONE]
    accesses = writes = l1_hits = l2_hits = walks = walk_cycles = user_cycles = 0
    bloat_delta = fault_cycles = 0
    ml0, mb0 = C[C_HIST_LAT], C[C_HIST_BIN]     # latency -> bin memo (-1: empty)
    ml1 = ml2 = ml3 = mb1 = mb2 = mb3 = np.int64(-1)
    status = ST_END
    skip_fast = fast_records = 0
    fast = P[P_FAST_PATH] != 0
    while i < n:
        # --- fast path: runs of accesses to mapped pages of the cached VMA,
        # in a function of its own so that its loop keeps every value in a
        # register (inside this big function, LLVM spilled most of them);
        # it stops at the first record that needs the general path below.
        # A call costs about as much as a few accesses: after a short run
        # (faults every few records, as in a first touch of random pages) the
        # general path takes the next FAST_BACKOFF records itself.
        if skip_fast > 0:
            skip_fast -= 1
        elif fast and repeat_done == 0 and clock < limit:
            path = next_path(words, i, pg_state, rhuge, slot_table, vlo, vhi, rb)
            if path != FAST:
                skip_fast = FAST_RECHECK   # e.g. a fault: more are likely to follow
                # a run of first touches (a buffer being filled): one call
                if path == TOUCH and C[C_COMPACT_PENDING] == 0:
                    i0 = i
                    (i, clock, d_acc, d_wr, d1, d2, dw, dwc, duc, n_clr, n_pz, d_hot,
                     hot_lo, hot_hi) = touch_run(
                        words, args, i, limit, clock, cpa, dcpa, hot_lo, hot_hi, vlo, vhi, rb,
                        ph, G, rg, P, slot_table, tlb, trigger, zero_pop)
                    if i > i0:
                        accesses += d_acc
                        hot_accesses += d_hot
                        writes += d_wr
                        l1_hits += d1
                        l2_hits += d2
                        walks += dw
                        walk_cycles += dwc
                        user_cycles += duc
                        fault_cycles += count_touch_run(C, P, n_clr, n_pz)
                        if n_clr > 0:
                            hist[latency_bin(P, P[P_FAULT_BASE_4K] + P[P_ZERO_4K])] += n_clr
                        if n_pz > 0:
                            hist[latency_bin(P, P[P_FAULT_BASE_4K])] += n_pz
                        if G[G_FREE_FRAMES] < G[G_WMARK]:
                            status = ST_WMARK    # touch_run stopped after that fault
                            break
                        skip_fast = 0
                        continue
            else:
                i0 = i
                # (without a data cost the hot range changes nothing: fast_run
                # may take its records too, and without the test)
                (i, clock, d_acc, d_wr, d1, d2, dw, dwc, duc, dbl) = fast_run(
                    words, args, i, limit, clock, cpa, hot_lo,
                    np.uint64(max(hot_hi - hot_lo, 0) if dcpa > 0 else 0), vlo, vhi, rb,
                    pg_state, rhuge, slot_table, l1s, l1h, l2, walk_4k, walk_2m, l2_hit)
                accesses += d_acc
                writes += d_wr
                l1_hits += d1
                l2_hits += d2
                walks += dw
                walk_cycles += dwc
                user_cycles += duc
                bloat_delta += dbl
                fast_records += i - i0
                if i - i0 < FAST_MIN_RUN:
                    skip_fast = FAST_BACKOFF
        if i >= n:
            break
        # --- general path: one record ---
        if clock >= limit:
            status = ST_TIME
            break
        w = words[U(i)]
        kind = w & KIND_MASK
        if kind != ACCESS:
            if kind == CYCLES:
                # data cost: LLC misses per access (millionths, in the word's
                # address field) x DRAM latency, rounded to whole cycles
                C[C_DATA_CYCLES] += (accesses - hot_accesses - acc_mark) * dcpa
                acc_mark = accesses - hot_accesses
                dcpa = ((np.int64(w >> PAGE_SHIFT) * P[P_DRAM_LATENCY] + MISS_SCALE // 2)
                        // MISS_SCALE)
                # an access takes at least P_ACCESS_CYCLES (0 unless a host
                # profile measured its replay loop): fewer compute cycles hide
                # behind the loop's own instructions, more hide them
                cpa = max(np.int64(args[i]), P[P_ACCESS_CYCLES]) + dcpa
                C[C_CYCLES_PER_ACCESS] = cpa
                C[C_DATA_CPA] = dcpa
                i += 1
                continue
            if kind == MADV_DONTNEED:
                addr = np.int64(w >> PAGE_SHIFT) << PAGE_SHIFT
                if splits_huge(rg, pa, addr, np.int64(args[i])):
                    status = ST_EVENT    # Machine.madvise_dontneed records the split
                    break
                C[C_MADVISED_PAGES] += args[i]
                clock += unmap_range(ph, G, rg, P, pa, tlb, addr, np.int64(args[i]))
                i += 1
                continue
            status = ST_EVENT
            break
        addr = np.int64(w >> PAGE_SHIFT) << PAGE_SHIFT
        wbit = np.int64(w >> _WRITE_SHIFT) & 1     # the write flag as 0/1 (no branch)
        cnt = np.int64(args[U(i)]) - repeat_done
        partial = False
        if cnt > 1 and cpa > 0 and clock + cnt * cpa > limit:
            # a long run of repeats crosses the time limit: replay only up to
            # it, so background threads wake on time
            k = max(np.int64(1), (limit - clock + cpa - 1) // cpa)
            if k < cnt:
                cnt = k
                partial = True
        if not (vlo <= addr and addr < vhi):
            last = find_vma(pa, nvma, addr)
            if last < 0:
                C[C_SEGV_ADDR] = addr
                status = ST_SEGV
                break
            vlo, vhi = vma_start[last], vma_end[last]
            rb = vma_rbase[last] - (vlo >> HUGE_SHIFT)
        prefetch_ahead(words, i, pg_state, slot_table, vlo, vhi, rb)
        r = addr >> HUGE_SHIFT
        slot = slot_table[U(rb + r)]
        pi = (addr >> PAGE_SHIFT) & HUGE_PAGE_MASK
        p = slot * PAGES_PER_HUGE + pi
        st = np.int64(pg_state[U(p)])
        huge = rhuge[U(slot)] != 0
        lat = 0
        fired = False
        if faults(st, huge, wbit):
            whole = vlo <= (r << HUGE_SHIFT) and ((r + 1) << HUGE_SHIFT) <= vhi
            lat = fault(ph, G, rg, P, C, tlb, slot, pi, wbit != 0, whole)
            hot_lo, hot_hi = C[C_HOT_LO], C[C_HOT_HI]
            if lat < 0:
                status = ST_NOMEM if lat == -1 else ST_COMPACT
                break
            fault_cycles += lat
            # fault latencies take few distinct values (4 KiB, zero page,
            # 2 MiB, pre-zeroed...), often interleaved: memoise the bins of
            # the last four (a log costs more than the rest of a fault)
            if lat == ml0:
                hb = mb0
            elif lat == ml1:
                hb = mb1
            elif lat == ml2:
                hb = mb2
            elif lat == ml3:
                hb = mb3
            else:
                hb = latency_bin(P, lat)
                ml3, mb3, ml2, mb2, ml1, mb1 = ml2, mb2, ml1, mb1, ml0, mb0
                ml0, mb0 = lat, hb
            hist[hb] += 1
            huge = rhuge[slot] != 0
            st = np.int64(pg_state[p])
            pop = rg.mapped[slot] if zero_pop else rg.mapped[slot] - rg.zpages[slot]
            fired = trigger > 0 and not huge and pop >= trigger and rg.trig[slot] == 0
        # --- TLB: L1 of the page size, then the shared L2 ---
        hot = hot_lo <= addr and addr < hot_hi
        hot_accesses += cnt if hot else 0
        cyc, d1, d2, dw, dwc = tlb_access(l1s, l1h, l2, huge, addr >> PAGE_SHIFT, cnt,
                                          cpa - dcpa if hot else cpa,
                                          walk_4k, walk_2m, l2_hit)
        l1_hits += d1
        l2_hits += d2
        walks += dw
        walk_cycles += dwc
        # --- accessed / dirty / content ---
        writes += cnt * wbit
        bloat_delta -= mark_accessed(pg_state, p, st, wbit)
        accesses += cnt
        user_cycles += cyc
        clock += cyc + lat
        if partial:
            repeat_done += cnt
        else:
            repeat_done = 0
            i += 1
        if fired:
            rg.trig[slot] = 1
            C[C_TRIG_SLOT] = slot
            C[C_TRIG_LAT] = lat
            status = ST_TRIGGER
            break
        if lat > 0 and G[G_FREE_FRAMES] < G[G_WMARK]:
            status = ST_WMARK
            break
    C[C_CLOCK] = clock
    C[C_REPEAT_DONE] = repeat_done
    C[C_FAST_RECORDS] += fast_records
    C[C_ACCESSES] += accesses
    C[C_WRITES] += writes
    C[C_L1_HITS] += l1_hits
    C[C_L2_HITS] += l2_hits
    C[C_WALKS] += walks
    C[C_WALK_CYCLES] += walk_cycles
    C[C_USER_CYCLES] += user_cycles
    C[C_DATA_CYCLES] += (accesses - hot_accesses - acc_mark) * dcpa
    C[C_HOT_LO] = hot_lo
    C[C_HOT_HI] = hot_hi
    C[C_BLOAT_PAGES] += bloat_delta
    C[C_FAULT_CYCLES] += fault_cycles
    C[C_LAST_VMA] = last
    C[C_HIST_LAT] = ml0
    C[C_HIST_BIN] = mb0
    return i, status


def hist_edges_us() -> np.ndarray:
    """Lower edges of the fault-latency histogram bins, in microseconds."""
    return HIST_MIN_NS * HIST_RATIO ** np.arange(HIST_BINS) / 1000.0


__all__ = ["ProcArrays", "replay", "fault", "unmap_range", "splits_huge", "find_vma", "slot_of",
           "hist_edges_us", "BLK_RESERVED"]
