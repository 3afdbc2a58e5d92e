"""khugepaged: the collapse test, the address-order scan and its CPU charge.

One module, as Linux has one ``mm/khugepaged.c`` (at Linux 4.3 this code is
in ``mm/huge_memory.c``).  Used by linux-thp (as is), ingens (its worklist
and fairness choice around the same scan, the collapse test without the
writable check and with its utilisation threshold) and HawkEye (its
promotion thread picks regions in access-coverage order and then applies the
same collapse test and charge).

==========================================  ==========================================
Linux                                        here
==========================================  ==========================================
``khugepaged_scan``: the mm_slot list in     ``AddressOrderScan``: ``mm_slots`` (pids in
``khugepaged_enter`` order and the cursor    ``enter`` order), ``mm_index``, ``address``
(``mm_slot``, ``address``)                   (a region index)
``khugepaged_do_scan``: up to                ``AddressOrderScan.do_scan(budget, ...)``
``pages_to_scan`` PTEs per pass; stops
after a failed huge allocation
``khugepaged_scan_mm_slot``: one mm from     ``scan_mm(m, pid, address, budget, ...)``
the cursor in address order, +512 per PMD    (also used by Ingens's per-mm cursors)
``khugepaged_scan_pmd``: ``none_or_zero``    ``scan_pmd(m, slot, max_ptes_none, ...)``
<= ``max_ptes_none``, one writable PTE,      returns a ``ScanResult``
one referenced PTE
``collapse_huge_page``                       ``Machine.promote_region``
==========================================  ==========================================

The scan's CPU time is ``scan_cost_ns_per_pte`` per PTE of every region
examined (``charge_scan``); the collapse's copy and zeroing are charged by
the machine.
"""
from __future__ import annotations

import bisect
from typing import Callable, NamedTuple

from hpsim.units import PAGES_PER_HUGE
from machine.results import ScanResult


def scan_pmd(m, slot: int, max_ptes_none: int, *, writable: bool = True,
             min_populated: int = 0, count_zero_page: bool = False,
             young: bool = False) -> ScanResult:
    """khugepaged_scan_pmd's verdict on one 4 KiB-mapped region.

    SCAN_EXCEED_NONE_PTE when more than ``max_ptes_none`` PTEs are empty or
    map the zero page; SCAN_LOW_UTILIZATION when fewer than ``min_populated``
    pages are populated (Ingens; 0 = no such test; ``count_zero_page``:
    zero-page PTEs count, as in Ingens's population map); SCAN_PAGE_RO when
    ``writable`` is asked and no PTE maps a private page (Ingens comments
    that test out: ``writable=False``); SCAN_NO_REFERENCED_PAGE when no PTE
    is young and ``young`` (a page-young flag kept by an access scanner) is
    false; else SCAN_SUCCEED.  Checked in that order, as Linux (and ingens.diff) do.
    """
    s = m.pte_summary(slot)
    if s.none_or_zero > max_ptes_none:
        return ScanResult.SCAN_EXCEED_NONE_PTE
    if min_populated and m.populated(slot, count_zero_page) < min_populated:
        return ScanResult.SCAN_LOW_UTILIZATION
    if writable and s.writable == 0:
        return ScanResult.SCAN_PAGE_RO
    if s.referenced == 0 and not young:
        return ScanResult.SCAN_NO_REFERENCED_PAGE
    return ScanResult.SCAN_SUCCEED


def charge_scan(m, thread: str, regions: int, ns_per_pte: float) -> None:
    """Charge ``thread`` for reading the 512 PTEs of ``regions`` regions at
    ``ns_per_pte`` nanoseconds each."""
    m.charge_ns(thread, regions * PAGES_PER_HUGE * ns_per_pte)


class MmScan(NamedTuple):
    """What one ``scan_mm`` call did."""
    progress: int     # pages_to_scan budget used (512 per region examined, + the call cost)
    examined: int     # regions examined (THP-eligible)
    collapsed: int    # regions promoted
    failed: bool      # a huge-page allocation failed (stop; retry that region next time)
    address: int      # where the next call on this mm starts (region index)
    reached_end: bool  # the whole mm was scanned (the cursor goes back to 0)


def scan_mm(m, pid: int, address: int, budget: int, test: Callable[[int], ScanResult],
            promote: Callable[[int], ScanResult], *, call_cost: int = 0,
            stop_after_collapse: bool = False) -> MmScan:
    """khugepaged_scan_mm_slot: walk process ``pid``'s regions from region
    index ``address`` upwards.  Regions not wholly inside one VMA are skipped
    at no cost; every other one costs 512 of ``budget``; a 4 KiB-mapped one
    whose ``test`` succeeds is promoted with ``promote``.  Stops when the
    budget is used, a huge-page allocation fails, after the first collapse
    with ``stop_after_collapse`` (Ingens: a collapse ends the call), or at
    the end of the mm.  ``call_cost`` is added once (Ingens's ``progress++``)."""
    pr = m.procs[pid]
    progress, examined, collapsed = call_cost, 0, 0
    keys = pr.region_keys       # ascending region indices (the machine keeps them)
    for r in keys[bisect.bisect_left(keys, address):]:
        slot = pr.region_slot[r]
        if not m.region_eligible(slot):
            continue   # not a whole 2 MiB inside one VMA: skipped, no progress
        progress += PAGES_PER_HUGE
        examined += 1
        if not m.region_huge(slot) and test(slot).ok:
            res = promote(slot)
            if res.ok:
                collapsed += 1
                if stop_after_collapse:
                    return MmScan(progress, examined, collapsed, False, r + 1, False)
            elif res is ScanResult.SCAN_ALLOC_HUGE_PAGE_FAIL:
                return MmScan(progress, examined, collapsed, True, r, False)  # retry r
        if progress >= budget:
            return MmScan(progress, examined, collapsed, False, r + 1, False)
    return MmScan(progress, examined, collapsed, False, 0, True)


class AddressOrderScan:
    """khugepaged_scan: mms round-robin in ``khugepaged_enter`` order, each in
    ascending address order, resuming where the last pass stopped."""

    def __init__(self, machine):
        self.m = machine
        self.mm_slots: list[int] = []    # pids in khugepaged_enter (FIFO) order
        self.mm_index = 0                # khugepaged_scan.mm_slot
        self.address = 0                 # khugepaged_scan.address, as a region index

    def enter(self, pid: int) -> None:
        """khugepaged_enter: register an mm (once)."""
        if pid not in self.mm_slots:
            self.mm_slots.append(pid)

    def do_scan(self, budget: int, test: Callable[[int], ScanResult],
                promote: Callable[[int], ScanResult]) -> tuple[int, int, bool]:
        """One pass (khugepaged_do_scan).  It ends when ``budget`` PTEs were
        examined, a huge allocation failed, or the end of the mm list was
        reached (the next pass starts again from the first mm).  Exited mms
        are dropped first (khugepaged_test_exit / collect_mm_slot).
        Returns (regions examined, collapsed, allocation failed)."""
        m = self.m
        self.mm_slots = [p for p in self.mm_slots if m.procs[p].running]
        progress = examined = collapsed = 0
        if self.mm_index >= len(self.mm_slots):
            self.mm_index, self.address = 0, 0
        while progress < budget and self.mm_index < len(self.mm_slots):
            r = scan_mm(m, self.mm_slots[self.mm_index], self.address, budget - progress,
                        test, promote)
            progress += r.progress
            examined += r.examined
            collapsed += r.collapsed
            self.address = r.address
            if r.failed:
                return examined, collapsed, True
            if r.reached_end:
                self.mm_index += 1         # this mm is done: the next one
        return examined, collapsed, False


__all__ = ["scan_pmd", "charge_scan", "scan_mm", "MmScan", "AddressOrderScan"]
