"""HawkEye's promotion thread: khugepaged running ``ohp_scan_mm``.

Public code (apanwariisc/HawkEye ``mm/huge_memory.c``): ``khugepaged``
picks a target once per pass (``ohp_get_target_mm`` for the PMU variants;
none for the global round-robin one, and no pass at all when a PMU variant
finds no target), then ``khugepaged_promote_mm`` calls ``ohp_scan_mm``,
which takes candidate addresses one at a time (``get_ohp_mm_addr`` from
that one target's access_map, highest bin first, bin 0 included; or
``get_ohp_global_kaddr`` across all processes) and runs Linux's
``khugepaged_scan_pmd`` + collapse on each, until ``pages_to_scan`` pages
were promoted (4096 / 512 = 8 promotions) or ``failed`` reaches 100, or the
target has no candidate left:

- a gone or ineligible region: ``failed += 1`` (here the region is dropped;
  the code puts it back with ``ohp_putback_kaddr``);
- the collapse test refuses it: back to the tail of bin 0 with its weight
  kept (``ohp_putback_kaddr``), ``failed += 1``;
- the huge-page allocation fails: the same, ``failed += 100`` (so the pass
  ends);
- promoted: ``progress += 512``.

The collapse test and the scan's CPU charge are ``policies.khugepaged``'s
(``scan_pmd`` with Linux's three tests; ``charge_scan`` per region taken).
Promotions take pre-zeroed blocks first.  ``alloc_sleep_millisecs`` is 0
in the code, so the next pass always comes after ``scan_sleep_millisecs``.
"""
from __future__ import annotations

from typing import Callable

from hpsim.units import PAGES_PER_HUGE
from machine.results import ScanResult
from policies.khugepaged import charge_scan, scan_pmd

MAX_FAILED = 100          # code: a promotion pass stops at failed >= 100
ALLOC_FAIL_PENALTY = 100  # code: failed += 100 on a huge-page allocation failure


class Promotion:
    """The promotion thread (``khugepaged``) of both HawkEye variants.

    ``begin_pass()`` is the variant's choice of target, made once per pass:
    None (no pass: nothing to promote), or a callable that pops the pass's
    next candidate and returns ``(pid, slot, reason)`` or None when there is
    none.
    ``maps`` (pid -> AccessMap) receives the regions put back.
    All promotions are logged in ``log`` as (time_s, process name, region vaddr).
    """

    name = "khugepaged"

    def __init__(self, machine, maps: dict, cfg: dict,
                 begin_pass: Callable[[], Callable[[], tuple[int, int, str] | None] | None]):
        self.m = machine
        self.maps = maps
        self.cfg = cfg
        self.begin_pass = begin_pass
        self.log: list[tuple[float, str, int]] = []
        self.alloc_failures = 0
        self.collapse_failures = 0

    def collapse_ok(self, slot: int) -> ScanResult:
        """khugepaged_scan_pmd as in Linux 4.3 (max_ptes_none, writable, referenced)."""
        return scan_pmd(self.m, slot, self.cfg["max_ptes_none"])

    def ohp_scan_mm(self, now_s: float) -> float:
        """One pass (``khugepaged_promote_mm`` -> ``ohp_scan_mm``); returns the
        seconds to sleep (``scan_sleep_millisecs``)."""
        m, k = self.m, self.cfg
        progress = failed = examined = 0
        pick_next = self.begin_pass()
        while pick_next is not None and progress < k["pages_to_scan"] and failed < MAX_FAILED:
            pick = pick_next()
            if pick is None:
                break
            pid, slot, reason = pick
            am = self.maps[pid]
            examined += 1
            if not m.region_valid(slot) or m.region_huge(slot) or not m.region_eligible(slot):
                am.drop_taken(slot)
                failed += 1                      # invalid: dropped
                continue
            region = m.region_index(slot)
            if not self.collapse_ok(slot).ok:
                am.putback(slot, region)         # ohp_putback_kaddr: tail of bin 0
                self.collapse_failures += 1
                failed += 1
                continue
            res = m.promote_region(slot, self.name, prefer_zeroed=True, now_s=now_s,
                                   reason=reason, compact=k["defrag"])
            if res.ok:
                am.drop_taken(slot)
                progress += PAGES_PER_HUGE
                self.log.append((now_s, m.procs[pid].name, m.region_vaddr(slot)))
            elif res is ScanResult.SCAN_ALLOC_HUGE_PAGE_FAIL:
                am.putback(slot, region)
                self.alloc_failures += 1
                failed += ALLOC_FAIL_PENALTY
            else:
                am.drop_taken(slot)
                failed += 1
        charge_scan(m, self.name, examined, k["scan_cost_ns_per_pte"])
        return k["scan_sleep_millisecs"] / 1000


__all__ = ["Promotion", "MAX_FAILED", "ALLOC_FAIL_PENALTY"]
