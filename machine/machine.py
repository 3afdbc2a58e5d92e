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


@dataclass
class Vma:
    start: int
    end: int


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
    arrays: engine.ProcArrays | None = None
    tlb: TLB | None = None
    running: bool = True
    oom: bool = False
    exit_cycles: int | None = None
    phase: str = ""
    mmu_overhead_pct: float = 0.0   # last value a profiler reported (policies may set it)
    vma_starts: list = field(default_factory=list)   # sorted VMA starts (bisect)

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
        return [self.region_slot[r] for r in sorted(self.region_slot)]


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
                                      np.zeros(16, np.int64), np.zeros(1024, np.int64), C,
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

    def _sync_vmas(self, pr: Process, changed: list[Vma]) -> None:
        """Rebuild the compiled view of pr's VMA list.  Slot-table segments of
        changed VMAs are appended (cheap); the table is compacted when mostly
        garbage."""
        a = pr.arrays
        n = len(pr.vmas)
        cap = len(a.vma_start)
        if n > cap:
            cap = max(n, 2 * cap)
        vs = np.zeros(cap, np.int64)
        ve = np.zeros(cap, np.int64)
        vr = np.zeros(cap, np.int64)
        need = sum((v.end - 1 >> HUGE_SHIFT) - (v.start >> HUGE_SHIFT) + 1 for v in pr.vmas)
        table = a.slot_table
        used = getattr(pr, "_table_used", 0)
        rebuild = used + sum((v.end - 1 >> HUGE_SHIFT) - (v.start >> HUGE_SHIFT) + 1
                             for v in changed) > len(table)
        if rebuild:
            table = np.zeros(max(2 * need, 1024), np.int64)
            used = 0
        old = getattr(pr, "_rbase", {})
        rbase = {}
        for k, v in enumerate(pr.vmas):
            key = (v.start, v.end)
            if not rebuild and key in old and v not in changed:
                rbase[key] = old[key]
            else:
                r0, r1 = v.start >> HUGE_SHIFT, (v.end - 1) >> HUGE_SHIFT
                table[used:used + r1 - r0 + 1] = [pr.region_slot[r] for r in range(r0, r1 + 1)]
                rbase[key] = used
                used += r1 - r0 + 1
            vs[k], ve[k], vr[k] = v.start, v.end, rbase[key]
        pr._rbase = rbase
        pr._table_used = used
        pr.vma_starts = [v.start for v in pr.vmas]
        a.C[C_NVMA] = n
        a.C[C_LAST_VMA] = -1
        pr.arrays = engine.ProcArrays(vs, ve, vr, table, a.C, a.hist)

    def mmap(self, pr: Process, addr: int, length: int) -> None:
        start, end = addr, addr + length
        starts = [v.start for v in pr.vmas]
        k = bisect.bisect_right(starts, start)
        if (k > 0 and pr.vmas[k - 1].end > start) or (k < len(pr.vmas)
                                                      and pr.vmas[k].start < end):
            raise ValueError(f"process {pr.name}: mmap [{start:#x}, {end:#x}) overlaps a VMA")
        fresh = [r for r in range(start >> HUGE_SHIFT, ((end - 1) >> HUGE_SHIFT) + 1)
                 if r not in pr.region_slot]
        pr.region_slot.update(zip(fresh, self._new_slots(pr.pid, fresh)))
        v = Vma(start, end)
        # merge with adjacent anonymous VMAs, as Linux's vma_merge does
        if k > 0 and pr.vmas[k - 1].end == start:
            v.start = pr.vmas[k - 1].start
            pr.vmas.pop(k - 1)
            k -= 1
        if k < len(pr.vmas) and pr.vmas[k].start == end:
            v.end = pr.vmas[k].end
            pr.vmas.pop(k)
        pr.vmas.insert(k, v)
        self._sync_vmas(pr, [v])
        self.policy_hook("on_mmap", pr, v)

    def munmap(self, pr: Process, addr: int, length: int) -> int:
        """Unmap [addr, addr+length): free frames, shrink or split VMAs, drop
        regions no VMA covers any more.  Returns the cycles it cost."""
        start, end = addr, addr + length
        cost = self._zap(pr, start, length, "munmap")
        new, changed = [], []
        for v in pr.vmas:
            if v.end <= start or v.start >= end:
                new.append(v)
                continue
            if v.start < start:
                a = Vma(v.start, start)
                new.append(a)
                changed.append(a)
            if v.end > end:
                b = Vma(end, v.end)
                new.append(b)
                changed.append(b)
        pr.vmas = new
        # regions of the range no remaining VMA touches: only the two at the
        # range's ends can still be shared with a VMA outside it
        r0, r1 = start >> HUGE_SHIFT, (end - 1) >> HUGE_SHIFT
        for r in range(r0, r1 + 1):
            if r in pr.region_slot and not (
                    (r == r0 or r == r1)
                    and any(v.start < (r + 1) << HUGE_SHIFT and v.end > r << HUGE_SHIFT
                            for v in new)):
                s = pr.region_slot.pop(r)
                if self.rg.block[s] >= 0:   # an empty reservation left behind
                    self.break_reservation(s)
                self.rg.valid[s] = 0
        self._sync_vmas(pr, changed)
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
            slots = np.array(list(pr.region_slot.values()), np.int64)
            if len(slots):
                assert (rg.pid[slots] == pr.pid).all()
                rss = int(private.reshape(-1, PAGES_PER_HUGE)[slots].sum())
                assert pr.C[C_RSS_PAGES] == rss, f"RSS {pr.C[C_RSS_PAGES]} != {rss}"
                assert pr.C[C_HUGE] == int((rg.huge[slots] == HUGE_PMD).sum())
            assert pr.C[C_BLOAT_PAGES] >= 0


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
