"""The simulated machine: physical memory, processes, page tables, TLBs, clock.

``Machine`` owns the state: processes and their address spaces (mmap,
munmap), the policy plumbing, and the invariant checks.  The mechanisms a
policy drives (``promote_region``, ``split_region``, ``release_zero_pages``,
``break_reservation``, ``zero_free_block``, ``clear_accessed``, ``charge``...)
are its ``machine.mechanisms.Mechanisms`` half, the one interface policies
use.  It decides nothing: the policy attached to it does.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from hpsim.units import (HPAGE_PMD_ORDER, HUGE_PAGE_MASK, HUGE_SHIFT, HUGE_SIZE, PAGE_SHIFT,
                         PAGES_PER_HUGE)
from machine import compaction, engine, pagetable as pt, physmem
from machine.constants import (BLK_HUGE, C_BLOAT_PAGES, C_CLOCK, C_HIST_LAT, C_HUGE, C_LAST_VMA,
                               C_MADVISED_PAGES, C_NVMA, C_RSS_PAGES, C_USER_CYCLES,
                               C_WALK_CYCLES, HIST_BINS, HUGE_PMD, N_COUNTERS, N_PARAMS, P_CPU_HZ,
                               P_DEFRAG, P_FAULT_MODE, P_HUGE_ZERO_PAGE, P_POP_COUNTS_ZERO,
                               P_POP_TRIGGER, P_PREFER_ZEROED, P_ZEROPAGE_ON_READ,
                               PG_MAPPED, PG_ZEROPAGE)
from machine.mechanisms import Mechanisms
from machine.params import MachineParams
from machine.tlb import TLB, new_tlb


MIN_SLOT_TABLE = 1024    # entries: a process's first slot table (Machine.add_process) and least
SLOT_DTYPE = np.int32    # slot-table entries: slots < 2^31 / 512 (pagetable.new_regions checks)


@dataclass
class Vma:
    start: int
    end: int
    # its slot-table segment: slot_table[base + r] is the slot of region r
    # (vaddr >> HUGE_SHIFT) for each region the VMA touches; [lo, hi) is the
    # room of the table the segment may grow into (Machine._splice)
    base: int = 0
    lo: int = 0
    hi: int = 0


def _nregions(v: Vma) -> int:
    """2 MiB regions v touches."""
    return ((v.end - 1) >> HUGE_SHIFT) - (v.start >> HUGE_SHIFT) + 1


def _fill(pr, table: np.ndarray, v: Vma, sources: list[Vma], src_table: np.ndarray) -> None:
    """table[v.base + r] = the slot of region r, for each region r of v:
    copied from the segments (in src_table) of the sources that cover it,
    else looked up in pr.region_slot (regions just mapped)."""
    r, r1 = v.start >> HUGE_SHIFT, (v.end - 1) >> HUGE_SHIFT
    for s in sorted(sources, key=lambda s: s.start):
        a, b = max(r, s.start >> HUGE_SHIFT), min(r1, (s.end - 1) >> HUGE_SHIFT)
        if a > b:
            continue
        if a > r:
            table[v.base + r:v.base + a] = [pr.region_slot[x] for x in range(r, a)]
        if not (s.base == v.base and src_table is table):    # else already there
            table[v.base + a:v.base + b + 1] = src_table[s.base + a:s.base + b + 1]
        r = b + 1
    if r <= r1:
        table[v.base + r:v.base + r1 + 1] = [pr.region_slot[x] for x in range(r, r1 + 1)]


def _touches(pr, r: int) -> bool:
    """Some VMA of pr overlaps region r."""
    k = bisect.bisect_left(pr.vma_starts, (r + 1) << HUGE_SHIFT) - 1
    return k >= 0 and pr.vmas[k].end > r << HUGE_SHIFT


def _counter(index: int, doc: str) -> property:
    """A read-only int property of a process's counter ``C[index]``."""
    return property(lambda pr: int(pr.arrays.C[index]), doc=doc)


@dataclass
class Process:
    """One simulated process: its VMAs, region slots, TLB and counters."""
    pid: int
    name: str
    start_cycles: int = 0
    vmas: list = field(default_factory=list)          # sorted list of Vma
    region_slot: dict = field(default_factory=dict)   # region index (vaddr >> HUGE_SHIFT) -> slot
    # region_slot's keys in ascending order, kept by mmap/munmap (scans in
    # address order read it instead of sorting every region at every pass)
    region_keys: list = field(default_factory=list)
    arrays: engine.ProcArrays | None = None
    tlb: TLB | None = None
    running: bool = True
    oom: bool = False
    exit_cycles: int | None = None
    phase: str = ""
    mmu_overhead_pct: float = 0.0   # last value a profiler reported (policies may set it)
    vma_starts: list = field(default_factory=list)   # sorted VMA starts (bisect)
    table_used: int = 0   # entries of arrays.slot_table handed to segments (Machine._splice)

    @property
    def C(self) -> np.ndarray:
        """The process's int64 counter array (``C_*`` indices; machine-internal)."""
        return self.arrays.C

    # counters a policy may read (a profiler, a scanner), named as they are measured
    clock_cycles = _counter(C_CLOCK, "The process's clock (cycles: user time + fault handling).")
    rss_pages = _counter(C_RSS_PAGES, "Private 4 KiB frames mapped (a huge page counts 512).")
    walk_cycles = _counter(C_WALK_CYCLES, "Page-walk cycles so far (paper Table 2's C1 + C2).")
    user_cycles = _counter(C_USER_CYCLES, "Unhalted user cycles so far (paper Table 2's C3).")

    def regions_in_order(self) -> list[int]:
        """Slots of this process's live regions, low to high virtual address."""
        return [self.region_slot[r] for r in self.region_keys]


class Machine(Mechanisms):
    """The machine's state (see the module docstring); policies use only
    the ``Mechanisms`` methods and ``set_fault_mode``."""

    def __init__(self, params: MachineParams, seed: int = 0):
        self.params = params
        self.ph, self.G = physmem.new_phys(params.n_blocks)
        self.pressure = physmem.apply_pressure(
            self.ph, self.G, params.tenant_fraction, params.fragmentation,
            np.random.default_rng([seed, 0x5EED]), params.movable_fragmentation,
            params.movable_pages)
        self.rg = pt.new_regions(1024)
        self.n_slots = 0
        self.P = np.zeros(N_PARAMS, np.int64)
        params.fill(self.P)
        self.procs: list[Process] = []
        self.thread_cycles: dict[str, int] = {}
        self.events: list[dict] = []   # notable events (oom, segv, ...) for the results
        # machine-wide compaction counters (/proc/vmstat names) and the page
        # buffer machine.compaction fills
        self.compact_stats = dict.fromkeys(
            ("compact_stall", "compact_fail", "compact_success", "compact_migrated"), 0)
        self._moved = compaction.new_moved_buffer()

    # --- processes and address spaces -------------------------------------
    def add_process(self, name: str, start_s: float = 0.0) -> Process:
        p = self.params
        pr = Process(pid=len(self.procs), name=name,
                     start_cycles=int(round(start_s * p.cpu_hz)))
        C = np.zeros(N_COUNTERS, np.int64)
        C[C_CLOCK] = pr.start_cycles
        C[C_LAST_VMA] = -1
        C[C_HIST_LAT] = -1
        pr.arrays = engine.ProcArrays(np.zeros(16, np.int64), np.zeros(16, np.int64),
                                      np.zeros(16, np.int64),
                                      np.zeros(MIN_SLOT_TABLE, SLOT_DTYPE), C,
                                      np.zeros(HIST_BINS, np.int64))
        pr.tlb = new_tlb(*p.tlb_geometry)
        self.procs.append(pr)
        return pr

    def _new_slots(self, pid: int, regions: list[int]) -> range:
        """Slots for new regions, numbered in the order given.  All at once:
        a big mmap grows the region table once, not once per doubling."""
        s0, s1 = self.n_slots, self.n_slots + len(regions)
        if s1 > len(self.rg.pid):
            self.rg = pt.grow_regions(self.rg, max(s1, 2 * len(self.rg.pid)))
        self.n_slots = s1
        self.rg.pid[s0:s1] = pid
        self.rg.vaddr[s0:s1] = np.asarray(regions, np.int64) << HUGE_SHIFT
        self.rg.valid[s0:s1] = 1
        return range(s0, s1)

    def _splice(self, pr: Process, k0: int, k1: int, new: list[Vma]) -> None:
        """Replace VMAs [k0, k1) of pr by new (sorted, within their span) and
        update the compiled view: the VMA arrays are shifted in place, and
        each new VMA's slot-table segment is the one of the old VMA it
        overlaps most, grown in place when its room allows (a heap that
        grows one mapping at a time), else copied to fresh room twice its
        size.  So an mmap or munmap costs O(regions added) amortised, not
        O(all regions or VMAs) (issue 12: quadratic on Redis's 27K chunks)."""
        old = pr.vmas[k0:k1]
        table = pr.arrays.slot_table
        room = sum(2 * _nregions(v) + 2 for v in new)
        if pr.table_used + room > len(table):
            table = self._relayout(pr, room)
        for v in new:
            self._place(pr, table, v, old)
        a = pr.arrays
        n_old = len(pr.vmas)
        n = n_old - (k1 - k0) + len(new)
        vs, ve, vr = a.vma_start, a.vma_end, a.vma_rbase
        if n > len(vs):
            cap = max(n, 2 * len(vs))
            vs, ve, vr = (np.concatenate([x, np.zeros(cap - len(x), np.int64)])
                          for x in (vs, ve, vr))
        j = k0 + len(new)
        for x in (vs, ve, vr):       # the tail moves (numpy copes with the overlap)
            x[j:n] = x[k1:n_old]
        for i, v in enumerate(new):
            vs[k0 + i], ve[k0 + i], vr[k0 + i] = v.start, v.end, v.base + (v.start >> HUGE_SHIFT)
        pr.vmas[k0:k1] = new
        pr.vma_starts[k0:k1] = [v.start for v in new]
        a.C[C_NVMA] = n
        a.C[C_LAST_VMA] = -1
        pr.arrays = engine.ProcArrays(vs, ve, vr, table, a.C, a.hist)

    def _place(self, pr: Process, table: np.ndarray, v: Vma, sources: list[Vma]) -> None:
        """Give v a segment of table (v.base, v.lo, v.hi) holding the slot of
        each region it touches, reusing the segment of the source VMA it
        overlaps most when v fits that segment's room."""
        r0, r1 = v.start >> HUGE_SHIFT, (v.end - 1) >> HUGE_SHIFT
        best, most = None, 0
        for s in sources:
            o = min(r1, (s.end - 1) >> HUGE_SHIFT) - max(r0, s.start >> HUGE_SHIFT) + 1
            if o > most:
                best, most = s, o
        if best is not None and best.lo <= best.base + r0 and best.base + r1 < best.hi:
            v.base, v.lo, v.hi = best.base, best.lo, best.hi
        else:
            v.lo, v.hi = pr.table_used, pr.table_used + 2 * _nregions(v) + 2
            v.base = v.lo + _nregions(v) // 2 + 1 - r0
            pr.table_used = v.hi
        _fill(pr, table, v, sources, pr.arrays.slot_table)

    def _relayout(self, pr: Process, room: int) -> np.ndarray:
        """A new slot table holding every VMA's segment afresh (with room to
        grow) and room more entries free; the old one is garbage."""
        need = sum(2 * _nregions(v) + 2 for v in pr.vmas) + room
        table = np.zeros(max(2 * need, MIN_SLOT_TABLE), SLOT_DTYPE)
        used = 0
        for v in pr.vmas:
            r0, r1 = v.start >> HUGE_SHIFT, (v.end - 1) >> HUGE_SHIFT
            lo, hi = used, used + 2 * _nregions(v) + 2
            base = lo + _nregions(v) // 2 + 1 - r0
            table[base + r0:base + r1 + 1] = pr.arrays.slot_table[v.base + r0:v.base + r1 + 1]
            v.base, v.lo, v.hi = base, lo, hi
            used = hi
        pr.table_used = used
        for k, v in enumerate(pr.vmas):
            pr.arrays.vma_rbase[k] = v.base + (v.start >> HUGE_SHIFT)
        pr.arrays = pr.arrays._replace(slot_table=table)
        return table

    def mmap(self, pr: Process, addr: int, length: int) -> None:
        start, end = addr, addr + length
        k = bisect.bisect_right(pr.vma_starts, start)
        if (k > 0 and pr.vmas[k - 1].end > start) or (k < len(pr.vmas)
                                                      and pr.vmas[k].start < end):
            raise ValueError(f"process {pr.name}: mmap [{start:#x}, {end:#x}) overlaps a VMA")
        fresh = [r for r in range(start >> HUGE_SHIFT, ((end - 1) >> HUGE_SHIFT) + 1)
                 if r not in pr.region_slot]
        pr.region_slot.update(zip(fresh, self._new_slots(pr.pid, fresh)))
        if fresh:     # ascending; merged into the keys between its first and last
            keys = pr.region_keys
            lo, hi = bisect.bisect_left(keys, fresh[0]), bisect.bisect_right(keys, fresh[-1])
            keys[lo:hi] = sorted(keys[lo:hi] + fresh)
        # merge with adjacent anonymous VMAs, as Linux's vma_merge does
        k0 = k - 1 if k > 0 and pr.vmas[k - 1].end == start else k
        k1 = k + 1 if k < len(pr.vmas) and pr.vmas[k].start == end else k
        v = Vma(pr.vmas[k0].start if k0 < k else start, pr.vmas[k].end if k1 > k else end)
        self._splice(pr, k0, k1, [v])
        self.policy_hook("on_mmap", pr, v)

    def munmap(self, pr: Process, addr: int, length: int) -> int:
        """Unmap [addr, addr+length): free frames, shrink or split VMAs, drop
        regions no VMA covers any more.  Returns the cycles it cost."""
        start, end = addr, addr + length
        cost = self._zap(pr, start, length, "munmap")
        k0 = bisect.bisect_right(pr.vma_starts, start) - 1
        if k0 < 0 or pr.vmas[k0].end <= start:
            k0 += 1
        k1 = bisect.bisect_left(pr.vma_starts, end)
        pieces = []
        for v in pr.vmas[k0:k1]:
            if v.start < start:
                pieces.append(Vma(v.start, start))
            if v.end > end:
                pieces.append(Vma(end, v.end))
        self._splice(pr, k0, k1, pieces)
        # regions of the range no remaining VMA touches: only the two at the
        # range's ends can still be shared with a VMA outside it
        r0, r1 = start >> HUGE_SHIFT, (end - 1) >> HUGE_SHIFT
        for r in range(r0, r1 + 1):
            if r in pr.region_slot and not ((r == r0 or r == r1) and _touches(pr, r)):
                s = pr.region_slot.pop(r)
                if self.rg.block[s] >= 0:   # an empty reservation left behind
                    self.break_reservation(s)
                self.rg.valid[s] = 0
        keys = pr.region_keys
        lo, hi = bisect.bisect_left(keys, r0), bisect.bisect_right(keys, r1)
        keys[lo:hi] = [r for r in keys[lo:hi] if r in pr.region_slot]
        self.policy_hook("on_munmap", pr, start, end)
        return cost

    def madvise_dontneed(self, pr: Process, addr: int, length: int) -> int:
        """madvise(MADV_DONTNEED) of [addr, addr+length): zap the pages, keep
        the VMAs.  The compiled replay does this itself, except when the range
        covers part of a huge region: it hands that record over so that the
        split is recorded.  Returns the cycles it cost (the caller adds them
        to the process clock)."""
        pr.C[C_MADVISED_PAGES] += length >> PAGE_SHIFT
        return self._zap(pr, addr, length, "madvise")

    def _zap(self, pr: Process, start: int, length: int, reason: str) -> int:
        """engine.unmap_range on [start, start+length), recording a ``split``
        event for each huge region it covered in part (zap_pmd_range splits
        those).  Returns the cycles it cost."""
        r0, r1 = start >> HUGE_SHIFT, (start + length - 1) >> HUGE_SHIFT
        huge = [s for s in (pr.region_slot.get(r) for r in range(r0, r1 + 1))
                if s is not None and self.rg.huge[s] == HUGE_PMD]
        cost = engine.unmap_range(self.ph, self.G, self.rg, self.P, pr.arrays, pr.tlb,
                                  start, length >> PAGE_SHIFT)
        for s in huge:
            if not self.rg.huge[s] and self.rg.mapped[s] > 0:
                self._record("split", s, None, reason)
        return int(cost)

    # --- policy plumbing ----------------------------------------------------
    policy = None

    def attach(self, policy) -> None:
        self.policy = policy
        self.P[P_FAULT_MODE] = policy.fault_mode
        self.P[P_PREFER_ZEROED] = int(policy.prefer_zeroed)
        self.P[P_POP_TRIGGER] = int(policy.population_trigger)
        self.P[P_POP_COUNTS_ZERO] = int(policy.population_counts_zero_page)
        self.P[P_DEFRAG] = int(policy.defrag_fault)
        if policy.zero_page_on_read is not None:
            self.P[P_ZEROPAGE_ON_READ] = int(policy.zero_page_on_read)
        self.set_huge_zero_page(policy.huge_zero_page)

    def policy_hook(self, name: str, *args):
        if self.policy is not None:
            return getattr(self.policy, name)(*args)
        return None

    def set_huge_zero_page(self, on: bool) -> None:
        """A read fault in an empty huge-eligible region maps the shared huge
        zero page (THP ``use_zero_page``; policies that switch the fault path
        at run time switch this too)."""
        self.P[P_HUGE_ZERO_PAGE] = int(on)

    def set_fault_mode(self, mode: int) -> None:
        """Policies that adapt (Ingens FMFI) switch the fault path at run time."""
        self.P[P_FAULT_MODE] = mode

    def kill(self, pr: Process, reason: str) -> None:
        """Out of memory (or a fatal trace error): the process ends and its
        memory is freed; the event is recorded, the simulation goes on."""
        for v in list(pr.vmas):
            self.munmap(pr, v.start, v.end - v.start)
        pr.running = False
        pr.oom = reason == "oom"
        pr.exit_cycles = int(pr.C[C_CLOCK])
        self.events.append({"time_s": pr.exit_cycles / self.params.cpu_hz, "process": pr.name,
                            "event": reason})

    # --- checks ----------------------------------------------------------------
    def check_invariants(self) -> None:
        """Raise AssertionError if any machine invariant is broken."""
        physmem.check_invariants(self.ph, self.G)
        rg = self.rg
        n = self.n_slots
        st = rg.pg_state[:n * PAGES_PER_HUGE]
        fr = rg.pg_frame[:n * PAGES_PER_HUGE]
        private = (st & PG_MAPPED != 0) & (st & PG_ZEROPAGE == 0)
        frames = fr[private]
        assert (frames >= 0).all(), "a private PTE without a frame"
        assert len(np.unique(frames)) == len(frames), "a frame is mapped twice"
        assert self.ph.frame_used[frames].all(), "a mapped frame is marked free"
        pages = np.flatnonzero(private)
        assert (self.ph.frame_page[frames] == pages).all(), "reverse map disagrees with a PTE"
        assert (self.ph.frame_page >= 0).sum() == len(frames), "reverse map names an unmapped page"
        for s in np.flatnonzero(rg.huge[:n] == HUGE_PMD):
            b = rg.block[s]
            assert self.ph.blk_state[b] == BLK_HUGE and self.ph.blk_owner[b] == s
            assert rg.vaddr[s] % HUGE_SIZE == 0
            assert (fr[s * PAGES_PER_HUGE:(s + 1) * PAGES_PER_HUGE]
                    == b * PAGES_PER_HUGE + np.arange(PAGES_PER_HUGE)).all(), \
                "huge mapping not physically aligned"
        for pr in self.procs:
            self.check_tlb(pr)
            self.check_vmas(pr)
            slots = np.array(list(pr.region_slot.values()), np.int64)
            if len(slots):
                assert (rg.pid[slots] == pr.pid).all()
                rss = int(private.reshape(-1, PAGES_PER_HUGE)[slots].sum())
                assert pr.C[C_RSS_PAGES] == rss, f"RSS {pr.C[C_RSS_PAGES]} != {rss}"
                assert pr.C[C_HUGE] == int((rg.huge[slots] == HUGE_PMD).sum())
            assert pr.C[C_BLOAT_PAGES] >= 0


    def check_vmas(self, pr: Process) -> None:
        """The compiled VMA view agrees with pr.vmas, and the slot table
        names region_slot's slot for every region of every VMA."""
        a, n = pr.arrays, len(pr.vmas)
        assert a.C[C_NVMA] == n and pr.vma_starts == [v.start for v in pr.vmas]
        assert pr.region_keys == sorted(pr.region_slot), "region_keys is stale"
        assert all(v.start < v.end for v in pr.vmas)
        assert all(u.end <= v.start for u, v in zip(pr.vmas, pr.vmas[1:])), "VMAs overlap"
        for k, v in enumerate(pr.vmas):
            assert (a.vma_start[k], a.vma_end[k]) == (v.start, v.end)
            r0, r1 = v.start >> HUGE_SHIFT, (v.end - 1) >> HUGE_SHIFT
            got = a.slot_table[a.vma_rbase[k]:a.vma_rbase[k] + r1 - r0 + 1].tolist()
            assert got == [pr.region_slot[r] for r in range(r0, r1 + 1)], "slot table is stale"

    def check_tlb(self, pr: Process) -> None:
        """Every cached translation must match a live mapping of its size:
        the TLB never returns a translation invalidated earlier."""
        for name in pr.tlb._fields:
            tags = getattr(pr.tlb, name)
            for t in tags[tags >= 0]:
                t = int(t)
                if t & 1:
                    r = t >> 1
                    slot = pr.region_slot.get(r)
                    assert slot is not None and self.rg.huge[slot], \
                        f"stale 2 MiB translation for region {r:#x} in {name}"
                else:
                    vpn = t >> 1
                    slot = pr.region_slot.get(vpn >> HPAGE_PMD_ORDER)
                    assert slot is not None and not self.rg.huge[slot], \
                        f"stale 4 KiB translation for page {vpn:#x} in {name}"
                    st = self.rg.pg_state[slot * PAGES_PER_HUGE + (vpn & HUGE_PAGE_MASK)]
                    assert st & PG_MAPPED, f"TLB maps unmapped page {vpn:#x} in {name}"


__all__ = ["Machine", "Process", "Vma", "P_CPU_HZ"]
