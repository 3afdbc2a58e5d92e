"""The mechanism API: every query and action a policy may use on the machine.

Policies decide; the machine acts.  A policy never reads or writes the
machine's arrays (page tables ``rg``, physical memory ``ph``, counters ``G``
and ``C``): it calls the methods below, named as the kernels name the same
operation.  ``Machine`` (machine.machine) inherits them; they use its
``rg``, ``ph``, ``G``, ``P``, ``procs``, ``params``, ``thread_cycles`` and
``events``.

=====================================  ==========================================
kernel                                 here
=====================================  ==========================================
khugepaged_scan_pmd's counters         ``pte_summary(slot)``: none_or_zero,
(mm/khugepaged.c)                      referenced, writable PTEs of a region
hugepage_vma_check                     ``region_eligible(slot)``
collapse_huge_page (khugepaged)        ``promote_region(slot, thread, ...)``
pmap_promote_pde (FreeBSD amd64)       ``promote_in_place(slot, thread, ...)``
split_huge_page                        ``split_region(slot, ...)``
vm_reserv partpopq head (vm_reserv.c)  ``partpopq_head()``
vm_reserv_break / _reclaim_inactive    ``break_reservation(slot)``
vm_reserv_level_iffullpop              ``reservation_full(slot)``
vm_reserv partpopq, timestamps         ``partpopq()``, ``change_stamp()``
vm_reserv_from_page                    ``reservation_block(slot)``
Quicksilver prepopulation (vm_reserv.c ``fill_reservation(slot)``
vm_reserv_prepopulate, vm_fault.c
syncpromo)
Quicksilver vm_reserv_evict_inactive   ``evict_reservation(slot, thread)``
(vm_page_reclaim_run)
HawkEye remove.c zero sub-page scan    ``zero_subpages(slots)``,
                                       ``release_zero_pages(slot, ...)``
deferred split list, thp_underused     ``huge_pages_by_age()``,
(Linux >= 6.12 mm/huge_memory.c)       ``zero_subpage_mask(slot)``,
                                       ``release_zero_pages(..., to_zero_page=True)``
HawkEye asynczero.c                    ``free_dirty_blocks()``, ``zero_free_block()``
compact_zone / migrate_pages           ``compact(thread)`` (a kernel thread's
(mm/compaction.c, mm/migrate.c)        compaction), ``direct_compact(pr)`` (in a
                                       fault: __alloc_pages_direct_compact),
                                       ``promote_region(..., compact=True)``
                                       (khugepaged/defrag)
page_idle / test_and_clear_young       ``clear_accessed(slots)``,
                                       ``accessed_counts(slots)``,
                                       ``idle_page_counts(slots)``
kthread CPU time                       ``charge``, ``charge_ns``, ``charge_us``
in-fault work on the faulting task     ``charge_process(pr, cycles)``,
                                       ``extend_trigger_fault(pr, cycles, zero)``
=====================================  ==========================================

Every promotion and split is recorded as one row of ``Machine.events`` (the
rows of events.csv): ``time_s``, ``process``, ``event`` (``collapse``,
``promote_in_place`` or ``split``), ``region`` (virtual base address, hex),
``reason`` (given by the caller: which thread or hook, and why).  The time is
the caller's ``now_s``, or the owning process's clock when none is given.
``Machine.munmap`` and ``Machine.madvise_dontneed`` record the splits of
huge regions they unmap in part (reason ``munmap`` or ``madvise``; the
compiled replay hands over every madvise record that would split one).
"""
from __future__ import annotations

import bisect
import math
from typing import NamedTuple

import numpy as np

from hpsim.units import (HUGE_SHIFT, HUGE_SIZE, PAGES_PER_HUGE, cycles_from_ns,
                         cycles_from_us)
from machine import compaction, pagetable as pt, physmem
from machine.engine import latency_bin
from machine.constants import (BLK_HUGE, BLK_RESERVED, C_CLOCK, C_COLLAPSE_CYCLES,
                               C_COMPACT_MIGRATED, C_COMPACT_PENDING, C_COMPACT_STALL,
                               C_FAULT_CYCLES, C_TLB_INVALIDATIONS, C_TRIG_LAT, C_ZERO_CYCLES,
                               G_STAMP, G_FREE_FRAMES, HUGE_PMD, G_RESV_BROKEN, G_TOTAL_FRAMES,
                               G_WMARK, L_FREE_DIRTY,
                               PG_ACCESSED, PG_MAPPED, PG_WRITTEN, PG_ZEROPAGE)
from machine.results import ScanResult


class PteSummary(NamedTuple):
    """khugepaged_scan_pmd's counters over a region's 512 PTEs."""
    none_or_zero: int   # PTEs empty or mapping the shared zero page
    referenced: int     # PTEs with the accessed (young) bit set
    writable: int       # PTEs mapping a private (writable) frame


class IdleCounts(NamedTuple):
    """Per region (arrays aligned with the slots asked for): what an idle-page
    scan (Ingens ``osa_hpage_scand``) reads before it clears the bits."""
    huge: np.ndarray         # bool: mapped by one 2 MiB PTE
    private: np.ndarray      # int: private frames mapped
    idle: np.ndarray         # int: private frames whose accessed bit is clear
    referenced: np.ndarray   # int: PTEs whose accessed bit is set


class Mechanisms:
    """The policy-facing half of ``Machine`` (see the module docstring)."""

    # --- regions -------------------------------------------------------------
    def region_valid(self, slot: int) -> bool:
        """The region still exists (slots are never reused)."""
        return bool(self.rg.valid[slot])

    def region_huge(self, slot: int) -> bool:
        """The region is mapped by one 2 MiB PTE (pmd_trans_huge), the huge
        zero page's included (khugepaged, HawkEye's and Ingens's scans skip it)."""
        return bool(self.rg.huge[slot])

    def region_owner(self, slot: int) -> int:
        """pid of the process the region belongs to."""
        return int(self.rg.pid[slot])

    def region_vaddr(self, slot: int) -> int:
        """Virtual base address of the region (bytes, 2 MiB aligned)."""
        return int(self.rg.vaddr[slot])

    def region_index(self, slot: int) -> int:
        """Region number of the slot: its virtual base >> HUGE_SHIFT."""
        return int(self.rg.vaddr[slot]) >> HUGE_SHIFT

    def region_eligible(self, slot: int) -> bool:
        """The region's whole 2 MiB lies inside one VMA (THP eligibility,
        Linux hugepage_vma_check / the aligned-range test of do_huge_pmd_anonymous_page)."""
        if not self.rg.valid[slot]:
            return False
        pr = self.procs[self.rg.pid[slot]]
        base = int(self.rg.vaddr[slot])
        k = bisect.bisect_right(pr.vma_starts, base) - 1
        return k >= 0 and pr.vmas[k].end >= base + HUGE_SIZE

    def huge_mask(self, slots) -> np.ndarray:
        """bool per slot: mapped by one 2 MiB PTE."""
        return self.rg.huge[np.asarray(slots, np.int64)] != 0

    def base_mask(self, slots) -> np.ndarray:
        """bool per slot: the region still exists and is mapped by 4 KiB PTEs
        (a promotion candidate can still be promoted)."""
        a = np.asarray(slots, np.int64)
        return (self.rg.valid[a] != 0) & (self.rg.huge[a] == 0)

    def populated(self, slot: int, count_zero_page: bool = False) -> int:
        """Private 4 KiB frames mapped in the region (FreeBSD's popcnt), or
        with ``count_zero_page`` every present PTE, the shared zero page's too
        (the weight of Ingens's population map: its do_anonymous_page sets the
        bit after ``setpte:``, which the zero-page read path also reaches)."""
        if count_zero_page:
            return int(self.rg.mapped[slot])
        return int(self.rg.mapped[slot] - self.rg.zpages[slot])

    def pte_summary(self, slot: int) -> PteSummary:
        """The counters khugepaged_scan_pmd gathers over the region's PTEs."""
        rg = self.rg
        private = self.populated(slot)
        st = rg.pg_state[slot * PAGES_PER_HUGE:(slot + 1) * PAGES_PER_HUGE]
        return PteSummary(PAGES_PER_HUGE - private, int(np.count_nonzero(st & PG_ACCESSED)),
                          private)

    def zero_subpages(self, slots) -> np.ndarray:
        """Per region: resident private 4 KiB sub-pages whose content is zero
        (HawkEye remove.c's byte scan finds them; 512 for a huge zero
        mapping, whose page remove.c's follow_page returns too), int64 array
        aligned with slots."""
        return pt.zero_page_counts(self.rg, np.asarray(slots, np.int64))

    def zero_subpage_mask(self, slot: int) -> np.ndarray:
        """bool array of 512, page order: sub-page i of the region is a resident
        private page whose content is zero (never written), as a byte scan of
        it (Linux thp_underused's memchr_inv) finds it."""
        st = self.rg.pg_state[slot * PAGES_PER_HUGE:(slot + 1) * PAGES_PER_HUGE]
        return (((st & PG_MAPPED) != 0) & ((st & PG_ZEROPAGE) == 0)
                & ((st & PG_WRITTEN) == 0))

    def huge_pages_by_age(self) -> tuple[np.ndarray, np.ndarray]:
        """Every region mapped by a 2 MiB page (the huge zero page excluded),
        oldest first: the order in which Linux >= 6.12 queues THPs on the
        deferred split list (deferred_split_folio at fault and at collapse,
        list_add_tail).  Returns (slots, ids), int64 arrays: ``ids`` are the
        pages' allocation stamps, unique per huge page ever mapped, so a
        region split and collapsed again has a new id."""
        rg = self.rg
        slots = np.flatnonzero((rg.valid != 0) & (rg.huge == HUGE_PMD))
        ids = self.ph.blk_stamp[rg.block[slots]]
        order = np.argsort(ids, kind="stable")
        return slots[order].astype(np.int64), ids[order].astype(np.int64)

    # --- accessed bits ---------------------------------------------------------
    def clear_accessed(self, slots) -> None:
        """Clear the accessed bits of the regions' PTEs (test_and_clear_young)."""
        pt.clear_accessed_slots(self.rg, np.asarray(slots, np.int64))

    def accessed_counts(self, slots) -> np.ndarray:
        """Per region: PTEs with the accessed bit set (int64 array)."""
        return pt.accessed_counts(self.rg, np.asarray(slots, np.int64))

    def idle_page_counts(self, slots) -> IdleCounts:
        """Per region: huge or not, private frames, idle private frames, and
        accessed PTEs (Ingens's idle page tracking walk)."""
        a = np.asarray(slots, np.int64)
        out = np.empty((3, len(a)), np.int64)
        pt.idle_counts(self.rg, a, out)
        return IdleCounts(self.rg.huge[a] != 0, out[0], out[1], out[2])

    # --- promotion and split ------------------------------------------------------
    def promote_region(self, slot: int, thread: str, prefer_zeroed: bool = False,
                       now_s: float | None = None, reason: str = "",
                       compact: bool = False) -> ScanResult:
        """Collapse a 4 KiB-mapped region into a fresh 2 MiB block
        (collapse_huge_page), or promote it in place when it is a full
        reservation.  The copy and zeroing cost is charged to ``thread``.
        ``compact``: when no block is free, compact once (charged to
        ``thread``) and retry, as khugepaged's allocation does with
        ``khugepaged/defrag`` = 1 (khugepaged_alloc_page's gfp mask
        allows direct compaction).

        Returns SCAN_SUCCEED, SCAN_ALLOC_HUGE_PAGE_FAIL (no free block),
        SCAN_PMD_NULL (the region is gone) or SCAN_PMD_MAPPED (already huge).
        """
        rg = self.rg
        if not rg.valid[slot]:
            return ScanResult.SCAN_PMD_NULL
        if rg.huge[slot]:
            return ScanResult.SCAN_PMD_MAPPED
        if self.reservation_full(slot):
            self.promote_in_place(slot, thread, now_s, reason)
            return ScanResult.SCAN_SUCCEED
        blk, zeroed = physmem.alloc_block(self.ph, self.G, prefer_zeroed, slot, BLK_HUGE)
        if blk < 0 and compact and self.compact(thread) >= 0:
            blk, zeroed = physmem.alloc_block(self.ph, self.G, prefer_zeroed, slot, BLK_HUGE)
        if blk < 0:
            return ScanResult.SCAN_ALLOC_HUGE_PAGE_FAIL
        # the new block's frames are counted as used; collapse frees the old ones
        pr = self.procs[rg.pid[slot]]
        rsv = rg.block[slot]
        cyc = pt.collapse_region(self.ph, self.G, rg, self.P, pr.C, pr.tlb, slot, blk, zeroed)
        if rsv >= 0 and self.ph.blk_state[rsv] == BLK_RESERVED:
            physmem.release_reservation(self.ph, self.G, rsv)
        self.charge(thread, cyc, pr)
        self._record("collapse", slot, now_s, reason or thread)
        return ScanResult.SCAN_SUCCEED

    def promote_in_place(self, slot: int, thread: str, now_s: float | None = None,
                         reason: str = "") -> None:
        """Promote a full reservation (``reservation_full``): only the mapping
        changes (FreeBSD pmap_promote_pde).  The cost is charged to ``thread``."""
        pr = self.procs[self.rg.pid[slot]]
        cyc = pt.promote_in_place(self.ph, self.G, self.rg, self.P, pr.C, pr.tlb, slot)
        self.charge(thread, cyc, pr)
        self._record("promote_in_place", slot, now_s, reason or thread)

    def split_region(self, slot: int, now_s: float | None = None, reason: str = "") -> None:
        """Replace a huge mapping by 512 4 KiB PTEs onto the same frames
        (split_huge_page).  Nothing happens to a gone or 4 KiB-mapped region."""
        if self.rg.valid[slot] and self.rg.huge[slot]:
            pr = self.procs[self.rg.pid[slot]]
            was_page = self.rg.huge[slot] == HUGE_PMD
            pt.split_region(self.ph, self.rg, pr.C, pr.tlb, slot)
            if was_page:     # a huge zero mapping is no huge page: no split event
                self._record("split", slot, now_s, reason)

    def release_zero_pages(self, slot: int, max_pages: int = PAGES_PER_HUGE,
                           now_s: float | None = None, reason: str = "",
                           to_zero_page: bool = False):
        """Split a huge region and unmap up to ``max_pages`` of its zero-filled
        pages (HawkEye remove.c), or with ``to_zero_page`` remap them to the
        shared zero page (Linux >= 6.12 split_huge_page: remap_page with
        RMP_USE_SHARED_ZEROPAGE, mm/migrate.c try_to_map_unused_to_zeropage).
        Returns (released, zero_scanned, nonzero_scanned)."""
        was_huge = self.rg.huge[slot] == HUGE_PMD
        pr = self.procs[self.rg.pid[slot]]
        out = pt.release_zero_pages(self.ph, self.G, self.rg, pr.C, pr.tlb, slot, max_pages,
                                    to_zero_page)
        if was_huge:
            self._record("split", slot, now_s, reason)
        return out

    def _record(self, kind: str, slot: int, now_s: float | None, reason: str) -> None:
        """Append one promotion/split row to ``events`` (see the module docstring)."""
        pr = self.procs[self.rg.pid[slot]]
        t = float(pr.C[C_CLOCK]) / self.params.cpu_hz if now_s is None else float(now_s)
        self.events.append({"time_s": t, "process": pr.name, "event": kind,
                            "region": f"{int(self.rg.vaddr[slot]):#x}", "reason": reason})

    # --- reservations (FreeBSD vm_reserv.c) ----------------------------------------
    def reservation_full(self, slot: int) -> bool:
        """The region is a live 4 KiB-mapped region inside one VMA whose 512
        pages are all private and page i is frame i of the region's own
        reservation (popcnt == 512): it can be promoted in place."""
        rg, ph = self.rg, self.ph
        b = int(rg.block[slot])
        if (b < 0 or rg.huge[slot] or not rg.valid[slot]
                or ph.blk_state[b] != BLK_RESERVED or ph.blk_owner[b] != slot
                or self.populated(slot) != PAGES_PER_HUGE):
            return False
        frames = rg.pg_frame[slot * PAGES_PER_HUGE:(slot + 1) * PAGES_PER_HUGE]
        return (bool((frames == b * PAGES_PER_HUGE + np.arange(PAGES_PER_HUGE)).all())
                and self.region_eligible(slot))

    def partpopq_head(self) -> int:
        """Region slot of the partially populated reservation changed least
        recently (the head of vm_reserv.c's ``partpopq``), or -1 if none."""
        slots, _ = self.partpopq()
        return int(slots[0]) if len(slots) else -1

    def break_reservation(self, slot: int) -> None:
        """Break the region's reservation (vm_reserv_break): its free frames go
        back to the allocator, its used ones stay as 4 KiB frames."""
        b = int(self.rg.block[slot])
        if b < 0 or self.ph.blk_state[b] != BLK_RESERVED:
            return
        physmem.release_reservation(self.ph, self.G, b)
        self.rg.block[slot] = -1
        self.G[G_RESV_BROKEN] += 1

    def reservation_block(self, slot: int) -> int:
        """The block of the region's own reservation (vm_reserv_from_page), or
        -1 when it has none (never made, broken, freed, or promoted)."""
        b = int(self.rg.block[slot])
        if b < 0 or self.ph.blk_state[b] != BLK_RESERVED or self.ph.blk_owner[b] != slot:
            return -1
        return b

    def partpopq(self) -> tuple[np.ndarray, np.ndarray]:
        """vm_reserv.c's ``partpopq``: the region slots of the partially
        populated reservations, least recently changed first, and the change
        stamp of each (int64 arrays; a stamp is ``change_stamp()``'s value at
        the reservation's last populate or depopulate)."""
        ph = self.ph
        cand = np.flatnonzero((ph.blk_state == BLK_RESERVED) & (ph.blk_used < PAGES_PER_HUGE))
        stamps = ph.blk_stamp[cand]
        order = np.argsort(stamps, kind="stable")
        return ph.blk_owner[cand[order]].astype(np.int64), stamps[order].astype(np.int64)

    def change_stamp(self) -> int:
        """The machine's change counter: every frame taken from or returned to
        a block advances it (a clock of population changes; a policy maps it
        to time by reading it at known times)."""
        return int(self.G[G_STAMP])

    def fill_reservation(self, slot: int) -> tuple[int, int]:
        """Quicksilver's all-at-once preparation: map every unmapped page of a
        4 KiB-mapped region onto its frame in the region's own reservation
        (vm_reserv_prepopulate; vm_fault.c's sync promotion), so that the
        reservation is full and ``promote_in_place`` may follow.  No cost is
        charged here (the caller charges the zeroing to whoever does it).
        Returns (pages mapped, pages of them to clear), or (-1, 0) and
        nothing changes when the region is gone, huge, outside one VMA, maps
        a zero page or has no reservation of its own (vm_page_alloc with
        VM_ALLOC_RESERVONLY fails then)."""
        rg, ph = self.rg, self.ph
        b = self.reservation_block(slot)
        if (b < 0 or not rg.valid[slot] or rg.huge[slot] or rg.zpages[slot]
                or ph.blk_used[b] != self.populated(slot) or not self.region_eligible(slot)):
            return -1, 0
        pr = self.procs[rg.pid[slot]]
        filled, cleared = pt.fill_reservation(ph, self.G, rg, pr.C, slot)
        return int(filled), int(cleared)

    def evict_reservation(self, slot: int, thread: str) -> int:
        """Quicksilver's eviction of an inactive reservation
        (vm_reserv_evict_inactive -> vm_page_reclaim_run over its 512
        frames): its used frames migrate to free frames of other partially
        used blocks (``machine.compaction.migrate_block``: PTEs updated,
        accessed bits cleared, TLB entries shot down), the emptied block goes
        back whole to the free list, the region keeps 4 KiB pages and no
        reservation.  ``thread`` is charged the migration.  Returns the pages
        migrated, or -1 (no reservation of its own, or too few target frames
        elsewhere: vm_page_reclaim_run fails; nothing changed)."""
        rg, ph = self.rg, self.ph
        b = self.reservation_block(slot)
        if b < 0 or compaction.free_target_frames(ph, b, int(ph.blk_used[b])) < ph.blk_used[b]:
            return -1
        # freeing every page of a reservation frees it (vm_reserv_depopulate
        # reaches popcnt 0), it is not "broken": G_RESV_BROKEN stays
        physmem.release_reservation(ph, self.G, b)
        rg.block[slot] = -1
        _, migrated, cyc = self._compact_once(src=b)
        self.charge(thread, cyc)
        return migrated

    # --- free memory -------------------------------------------------------------------
    @property
    def free_frames(self) -> int:
        """Free 4 KiB frames, machine-wide."""
        return int(self.G[G_FREE_FRAMES])

    @property
    def total_frames(self) -> int:
        """All 4 KiB frames of the machine."""
        return int(self.G[G_TOTAL_FRAMES])

    def watermark_frames(self, pct: float) -> int:
        """Free 4 KiB frames below which free memory is under ``pct`` % of all
        memory: ``free < pct / 100 * total`` exactly when ``free <`` this."""
        return math.ceil(pct / 100 * self.total_frames)

    def arm_watermark(self, frames: int) -> None:
        """Arm the allocator's watermark: replay stops with ``ST_WMARK`` after
        the fault that takes the free frames below ``frames`` (4 KiB frames;
        < 0 disarms).  The stop lets a thread waiting for that watermark run
        at the crossing, as the page allocator wakes kswapd at the allocation
        that crosses the low watermark (mm/page_alloc.c ``wakeup_kswapd``),
        rather than at the end of a scheduling step."""
        self.G[G_WMARK] = int(frames)

    def free_fraction(self) -> float:
        return self.free_frames / self.total_frames

    def free_huge_blocks(self) -> int:
        """Wholly free 2 MiB blocks (zeroed and dirty)."""
        return int(physmem.free_blocks(self.ph))

    def fmfi(self) -> float:
        """Free-memory fragmentation index at order 9: 1 - (free memory in
        free 2 MiB blocks) / (free memory)."""
        free = self.free_frames
        return 0.0 if free == 0 else 1.0 - self.free_huge_blocks() * PAGES_PER_HUGE / free

    def free_dirty_blocks(self) -> int:
        """Free 2 MiB blocks not yet zeroed (what a pre-zeroing thread may zero)."""
        return int(self.ph.lst[L_FREE_DIRTY, 2])

    def zero_free_block(self) -> int:
        """Zero the first dirty free block (pre-zeroing). Returns it or -1."""
        b = int(self.ph.lst[L_FREE_DIRTY, 0])
        if b < 0:
            return -1
        physmem.mark_block_zeroed(self.ph, b)
        return b

    # --- compaction (machine.compaction) ------------------------------------------
    def _compact_once(self, src: int = -1) -> tuple[int, int, int]:
        """One compaction with its TLB shootdowns (try_to_unmap flushes each
        moved page's translation in its owner's TLB), of the block
        compaction picks, or with ``src`` of that BASE block (the caller
        checked the target frames).  Updates ``compact_stats``.  Returns
        (block or -1, pages migrated, cycles)."""
        if src < 0:
            blk, migrated, n, cyc = compaction.compact_block(self.ph, self.G, self.rg, self.P,
                                                              self._moved)
        else:
            blk, migrated, n, cyc = compaction.migrate_block(self.ph, self.G, self.rg, self.P,
                                                              self._moved, src)
        if n:
            for pr in self.procs:     # each owner's TLB; 0 removed for the others
                pr.C[C_TLB_INVALIDATIONS] += compaction.shoot_down_moved(
                    pr.tlb, self.rg, self._moved, n, pr.pid)
        st = self.compact_stats
        st["compact_success" if blk >= 0 else "compact_fail"] += 1
        st["compact_migrated"] += int(migrated)
        return int(blk), int(migrated), int(cyc)

    def compaction_moves(self) -> int:
        """Pages the next compaction would migrate (the used frames of the
        block it would empty), or -1 when no block is eligible."""
        blk, used = compaction.pick_block(self.ph)
        return int(used) if blk >= 0 else -1

    def compact(self, thread: str) -> int:
        """Compact once for an order-9 request of the kernel thread
        ``thread`` (khugepaged's allocation, Ingens's compaction daemon),
        which is charged the migration cost.  Returns the block made free,
        or -1 (no block without an unmovable page can be emptied, or the
        partial blocks lack free frames; nothing changed)."""
        blk, _, cyc = self._compact_once()
        self.charge(thread, cyc)
        return blk

    def direct_compact(self, pr) -> int:
        """Direct compaction in ``pr``'s huge fault (replay stopped with
        ST_COMPACT): compact once; the retried fault adds the cost to its
        latency and does not compact again (Linux 4.3
        ``__alloc_pages_direct_compact``; vmstat ``compact_stall``).
        Returns the block made free, or -1."""
        blk, migrated, cyc = self._compact_once()
        self.compact_stats["compact_stall"] += 1
        pr.C[C_COMPACT_STALL] += 1
        pr.C[C_COMPACT_MIGRATED] += migrated
        pr.C[C_COMPACT_PENDING] = 1 + cyc
        return blk

    # --- CPU accounting --------------------------------------------------------------
    def charge(self, thread: str, cycles: float, pr=None) -> None:
        """Account ``cycles`` (truncated to an integer) of CPU time to the
        background kernel thread ``thread``; with ``pr``, also to that
        process's collapse cycles."""
        self.thread_cycles[thread] = self.thread_cycles.get(thread, 0) + int(cycles)
        if pr is not None:
            pr.C[C_COLLAPSE_CYCLES] += int(cycles)

    def charge_ns(self, thread: str, ns: float) -> None:
        """``charge`` a duration in nanoseconds (converted at the machine's clock)."""
        self.charge(thread, cycles_from_ns(ns, self.params.cpu_hz))

    def charge_us(self, thread: str, us: float) -> None:
        """``charge`` a duration in microseconds (converted at the machine's clock)."""
        self.charge(thread, cycles_from_us(us, self.params.cpu_hz))

    def charge_process(self, pr, cycles: int) -> None:
        """Add ``cycles`` to a process's clock: kernel work done inside its
        fault (e.g. FreeBSD's promotion in pmap_enter)."""
        pr.C[C_CLOCK] += int(cycles)

    def extend_trigger_fault(self, pr, cycles: int, zero_cycles: int = 0) -> None:
        """Work done inside the fault that just fired the population trigger
        (``on_trigger``), counted as part of that fault: ``cycles`` (of which
        ``zero_cycles`` clearing pages) are added to the process's clock, its
        fault and zeroing cycles, and the fault moves to the latency
        histogram's bin of its longer latency (e.g. Quicksilver's
        synchronous all-at-once preparation in vm_fault)."""
        c = int(cycles)
        lat = int(pr.C[C_TRIG_LAT])
        pr.C[C_CLOCK] += c
        pr.C[C_FAULT_CYCLES] += c
        pr.C[C_ZERO_CYCLES] += int(zero_cycles)
        h = pr.arrays.hist
        h[latency_bin(self.P, lat)] -= 1
        h[latency_bin(self.P, lat + c)] += 1
        pr.C[C_TRIG_LAT] = lat + c


__all__ = ["Mechanisms", "PteSummary", "IdleCounts", "ScanResult"]
