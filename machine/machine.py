"""The simulated machine: physical memory, processes, page tables, TLBs, clock.

``Machine`` owns the state and offers the kernel mechanisms a policy drives
(``promote_region``, ``split_region``, ``release_zero_pages``,
``break_reservation``, ``zero_free_block``, ``clear_accessed``...).  It
decides nothing: the policy attached to it does.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from machine import engine, pagetable as pt, physmem
from machine.constants import (BLK_HUGE, BLK_RESERVED, C_BLOAT_PAGES, C_CLOCK, C_COLLAPSE_CYCLES,
                               C_HIST_LAT, C_HUGE, C_LAST_VMA, C_NVMA, C_RSS_PAGES, G_FREE_FRAMES,
                               G_RESV_BROKEN, G_TOTAL_FRAMES, L_FREE_DIRTY, HIST_BINS, N_COUNTERS, N_PARAMS,
                               P_CPU_HZ, P_FAULT_MODE, P_POP_TRIGGER, P_PREFER_ZEROED,
                               P_ZEROPAGE_ON_READ, PAGES_PER_HUGE, PG_MAPPED, PG_ZEROPAGE)
from machine.params import MachineParams
from machine.tlb import TLB, new_tlb

HUGE = 1 << 21


@dataclass
class Vma:
    start: int
    end: int


@dataclass
class Process:
    """One simulated process: its VMAs, region slots, TLB and counters."""
    pid: int
    name: str
    start_cycles: int = 0
    vmas: list = field(default_factory=list)          # sorted list of Vma
    region_slot: dict = field(default_factory=dict)   # region index (vaddr >> 21) -> slot
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
        return self.arrays.C

    def regions_in_order(self) -> list[int]:
        """Slots of this process's live regions, low to high virtual address."""
        return [self.region_slot[r] for r in sorted(self.region_slot)]


class Machine:
    def __init__(self, params: MachineParams, seed: int = 0):
        self.params = params
        self.ph, self.G = physmem.new_phys(params.n_blocks)
        self.pressure = physmem.apply_pressure(
            self.ph, self.G, params.tenant_fraction, params.fragmentation,
            np.random.default_rng([seed, 0x5EED]))
        self.rg = pt.new_regions(1024)
        self.n_slots = 0
        self.P = np.zeros(N_PARAMS, np.int64)
        params.fill(self.P)
        self.procs: list[Process] = []
        self.thread_cycles: dict[str, int] = {}
        self.events: list[dict] = []   # notable events (oom, segv, ...) for the results

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
        self.rg.vaddr[s0:s1] = np.asarray(regions, np.int64) << 21
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
        need = sum((v.end - 1 >> 21) - (v.start >> 21) + 1 for v in pr.vmas)
        table = a.slot_table
        used = getattr(pr, "_table_used", 0)
        rebuild = used + sum((v.end - 1 >> 21) - (v.start >> 21) + 1 for v in changed) > len(table)
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
                r0, r1 = v.start >> 21, (v.end - 1) >> 21
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
        fresh = [r for r in range(start >> 21, ((end - 1) >> 21) + 1)
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
        cost = engine.unmap_range(self.ph, self.G, self.rg, self.P, pr.arrays, pr.tlb,
                                  start, length >> 12)
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
        r0, r1 = start >> 21, (end - 1) >> 21
        for r in range(r0, r1 + 1):
            if r in pr.region_slot and not (
                    (r == r0 or r == r1)
                    and any(v.start < (r + 1) << 21 and v.end > r << 21 for v in new)):
                s = pr.region_slot.pop(r)
                if self.rg.block[s] >= 0:   # an empty reservation left behind
                    self.break_reservation(s)
                self.rg.valid[s] = 0
        self._sync_vmas(pr, changed)
        self.policy_hook("on_munmap", pr, start, end)
        return int(cost)

    # --- policy plumbing ----------------------------------------------------
    policy = None

    def attach(self, policy) -> None:
        self.policy = policy
        self.P[P_FAULT_MODE] = policy.fault_mode
        self.P[P_PREFER_ZEROED] = int(policy.prefer_zeroed)
        self.P[P_POP_TRIGGER] = int(policy.population_trigger)
        if policy.zero_page_on_read is not None:
            self.P[P_ZEROPAGE_ON_READ] = int(policy.zero_page_on_read)

    def policy_hook(self, name: str, *args):
        if self.policy is not None:
            return getattr(self.policy, name)(*args)
        return None

    def set_fault_mode(self, mode: int) -> None:
        """Policies that adapt (Ingens FMFI) switch the fault path at run time."""
        self.P[P_FAULT_MODE] = mode

    # --- mechanisms policies drive -----------------------------------------
    def region_eligible(self, slot: int) -> bool:
        """The region's whole 2 MiB lies inside one VMA (THP eligibility)."""
        if not self.rg.valid[slot]:
            return False
        pr = self.procs[self.rg.pid[slot]]
        base = int(self.rg.vaddr[slot])
        k = bisect.bisect_right(pr.vma_starts, base) - 1
        return k >= 0 and pr.vmas[k].end >= base + HUGE

    def free_huge_blocks(self) -> int:
        return int(physmem.free_blocks(self.ph))

    def promote_region(self, slot: int, thread: str, prefer_zeroed: bool = False) -> str:
        """Collapse a 4 KiB-mapped region into a fresh 2 MiB block.

        Returns "ok", "nomem" (no free block) or "invalid" (gone or huge).
        The copy and zeroing cost is charged to ``thread``.
        """
        rg = self.rg
        if not rg.valid[slot] or rg.huge[slot]:
            return "invalid"
        if self.reservation_full(slot):
            self.promote_in_place(slot, thread)
            return "ok"
        blk, zeroed = physmem.alloc_block(self.ph, self.G, prefer_zeroed, slot, BLK_HUGE)
        if blk < 0:
            return "nomem"
        # the new block's frames are counted as used; collapse frees the old ones
        pr = self.procs[rg.pid[slot]]
        rsv = rg.block[slot]
        cyc = pt.collapse_region(self.ph, self.G, rg, self.P, pr.C, pr.tlb, slot, blk, zeroed)
        if rsv >= 0 and self.ph.blk_state[rsv] == BLK_RESERVED:
            physmem.release_reservation(self.ph, self.G, rsv)
        self.charge(thread, cyc, pr)
        return "ok"

    def reservation_full(self, slot: int) -> bool:
        """The region is a live 4 KiB-mapped region inside one VMA whose 512
        pages are all private and page i is frame i of the region's own
        reservation (popcnt == 512): it can be promoted in place."""
        rg, ph = self.rg, self.ph
        b = int(rg.block[slot])
        if (b < 0 or rg.huge[slot] or not rg.valid[slot]
                or ph.blk_state[b] != BLK_RESERVED or ph.blk_owner[b] != slot
                or rg.mapped[slot] - rg.zpages[slot] != PAGES_PER_HUGE):
            return False
        frames = rg.pg_frame[slot * PAGES_PER_HUGE:(slot + 1) * PAGES_PER_HUGE]
        return (bool((frames == b * PAGES_PER_HUGE + np.arange(PAGES_PER_HUGE)).all())
                and self.region_eligible(slot))

    def promote_in_place(self, slot: int, thread: str) -> None:
        """Promote a full reservation (``reservation_full``): only the mapping
        changes.  The cost is charged to ``thread``."""
        pr = self.procs[self.rg.pid[slot]]
        cyc = pt.promote_in_place(self.ph, self.G, self.rg, self.P, pr.C, pr.tlb, slot)
        self.charge(thread, cyc, pr)

    def split_region(self, slot: int) -> None:
        if self.rg.valid[slot] and self.rg.huge[slot]:
            pr = self.procs[self.rg.pid[slot]]
            pt.split_region(self.ph, self.rg, pr.C, pr.tlb, slot)

    def release_zero_pages(self, slot: int, max_pages: int = PAGES_PER_HUGE):
        """Split a huge region and unmap its zero-filled pages.
        Returns (released, zero_scanned, nonzero_scanned)."""
        pr = self.procs[self.rg.pid[slot]]
        return pt.release_zero_pages(self.ph, self.G, self.rg, pr.C, pr.tlb, slot, max_pages)

    def break_reservation(self, slot: int) -> None:
        b = int(self.rg.block[slot])
        if b < 0 or self.ph.blk_state[b] != BLK_RESERVED:
            return
        physmem.release_reservation(self.ph, self.G, b)
        self.rg.block[slot] = -1
        self.G[G_RESV_BROKEN] += 1

    def zero_free_block(self) -> int:
        """Zero the first dirty free block (pre-zeroing). Returns it or -1."""
        ph = self.ph
        b = int(ph.lst[L_FREE_DIRTY, 0])
        if b < 0:
            return -1
        physmem.mark_block_zeroed(ph, b)
        return b

    def clear_accessed(self, slots) -> None:
        for s in slots:
            pt.clear_accessed(self.rg, int(s))

    def accessed_counts(self, slots) -> np.ndarray:
        return pt.accessed_counts(self.rg, np.asarray(slots, np.int64))

    def charge(self, thread: str, cycles: int, pr: Process | None = None) -> None:
        """Account CPU time of a background kernel thread."""
        self.thread_cycles[thread] = self.thread_cycles.get(thread, 0) + int(cycles)
        if pr is not None:
            pr.C[C_COLLAPSE_CYCLES] += int(cycles)

    # --- machine-wide state --------------------------------------------------
    @property
    def free_frames(self) -> int:
        return int(self.G[G_FREE_FRAMES])

    @property
    def total_frames(self) -> int:
        return int(self.G[G_TOTAL_FRAMES])

    def free_fraction(self) -> float:
        return self.free_frames / self.total_frames

    def fmfi(self) -> float:
        """Free-memory fragmentation index at order 9: 1 - (free memory in
        free 2 MiB blocks) / (free memory)."""
        free = self.free_frames
        return 0.0 if free == 0 else 1.0 - self.free_huge_blocks() * PAGES_PER_HUGE / free

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
        for s in np.flatnonzero(rg.huge[:n]):
            b = rg.block[s]
            assert self.ph.blk_state[b] == BLK_HUGE and self.ph.blk_owner[b] == s
            assert rg.vaddr[s] % HUGE == 0
            assert (fr[s * 512:(s + 1) * 512] == b * 512 + np.arange(512)).all(), \
                "huge mapping not physically aligned"
        for pr in self.procs:
            self.check_tlb(pr)
            slots = np.array(list(pr.region_slot.values()), np.int64)
            if len(slots):
                assert (rg.pid[slots] == pr.pid).all()
                rss = int(private.reshape(-1, 512)[slots].sum())
                assert pr.C[C_RSS_PAGES] == rss, f"RSS {pr.C[C_RSS_PAGES]} != {rss}"
                assert pr.C[C_HUGE] == int(rg.huge[slots].sum())
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
                    slot = pr.region_slot.get(vpn >> 9)
                    assert slot is not None and not self.rg.huge[slot], \
                        f"stale 4 KiB translation for page {vpn:#x} in {name}"
                    st = self.rg.pg_state[slot * PAGES_PER_HUGE + (vpn & 511)]
                    assert st & PG_MAPPED, f"TLB maps unmapped page {vpn:#x} in {name}"


__all__ = ["Machine", "Process", "Vma", "P_CPU_HZ"]
