"""HawkEye's bloat recovery thread.

Paper (hawkeye-facts.md §3.1): under high memory pressure a thread scans huge
pages for zero-filled 4 KiB sub-pages, splits those huge pages and maps the
zero sub-pages to the shared zero page (a later read maps the zero page, a
later write faults in a fresh page); processes are scanned in increasing
MMU-overhead order, the least huge-page-sensitive first [K-SUM]; the cost is
proportional to the bloat (a zero page is read whole, a used page only up to
its first non-zero byte).

Public code (§3.2, hawkeye_modules/bloat_recovery/remove.c): a pass at start,
then every 120 s, if free < 15 % of managed memory, target = 30 % of managed -
free; walk the huge regions at 2 MiB steps, byte-scan every sub-page, zap each
all-zero one (the whole huge page, then test the target); stop once the
target is reached.  The paper runs it "under high memory pressure": with
``wake_on_pressure`` (default) the thread is also woken, between its periods,
at the fault that takes free memory below the trigger (``trigger_frames`` is
its watermark: the page allocator's wakeup_kswapd).  No per-huge-page
threshold: any zero sub-page is reclaimed (``min_zero_pages`` = 1); the
paper speaks of "many" zero sub-pages without a number.

Cost charged to this thread per huge region visited: every sub-page is
scanned, a zero one in full (4 KiB), a non-zero one up to its first non-zero
byte (``nonzero_scan_bytes``, 9.11 B mean measured by the paper's detect.c
[K-SUM]), at ``scan_gb_per_s``; plus ``split_us`` per split and the
machine's ``free_4k_us`` per page released.
"""
from __future__ import annotations

import numpy as np

from hpsim.units import PAGE_SIZE, PAGES_PER_HUGE, cycles_from_us


def scan_bytes(zero_pages, nonzero_pages, nonzero_scan_bytes: float):
    """Bytes a zero-page scan reads: a zero sub-page whole (4 KiB), a non-zero
    one up to its first non-zero byte (``nonzero_scan_bytes`` on average).
    Also Linux's thp_underused and try_to_map_unused_to_zeropage (memchr_inv)."""
    return zero_pages * PAGE_SIZE + nonzero_pages * nonzero_scan_bytes


def cycle_costs(m, scan_gb_per_s: float, split_us: float) -> tuple[float, int, int]:
    """At ``m``'s clock: (cycles per byte scanned at ``scan_gb_per_s`` GB/s,
    cycles per split of ``split_us`` µs, cycles per 4 KiB page freed:
    the machine's ``free_4k_us``)."""
    p = m.params
    return (p.cpu_hz / (scan_gb_per_s * 1e9), cycles_from_us(split_us, p.cpu_hz),
            cycles_from_us(p.costs["free_4k_us"], p.cpu_hz))


class BloatRecovery:
    """The bloat-recovery kthread (remove.c); ``work`` is one wake-up."""

    name = "bloat_recovery"

    def __init__(self, machine, cfg: dict, overhead_of):
        self.m = machine
        self.cfg = cfg
        self.overhead_of = overhead_of     # pid -> MMU overhead used for the scan order
        self.split_slots: set[int] = set()  # regions this thread split
        self.passes_triggered = 0
        self.pages_released = 0
        self.regions_split = 0
        self.bytes_scanned = 0.0
        self.last_order: list[tuple[int, float]] = []   # (pid, overhead) of the last pass
        self._was_low = False               # free memory below the trigger at the last check

    def recover(self, now_s: float) -> int:
        """One pass of remove.c's loop: below ``trigger_free_pct`` free memory,
        walk the processes' huge regions (lowest MMU overhead first, each in
        address order), split those with zero sub-pages and release them,
        until ``target_free_pct`` is free.  Returns the pages released."""
        m, c = self.m, self.cfg
        if not self.below_trigger():
            return 0
        self.passes_triggered += 1
        goal = m.watermark_frames(c["target_free_pct"])
        cyc_per_byte, split_cyc, free_cyc = cycle_costs(m, c["scan_gb_per_s"], c["split_us"])
        cycles = 0.0
        released_total = 0
        order = sorted((pr for pr in m.procs if pr.region_slot),
                       key=lambda pr: (self.overhead_of(pr.pid), pr.pid))
        self.last_order = [(pr.pid, self.overhead_of(pr.pid)) for pr in order]
        for pr in order:
            if m.free_frames >= goal:
                break
            slots = np.asarray(pr.regions_in_order(), np.int64)
            slots = slots[m.huge_mask(slots)]
            if not len(slots):
                continue
            zeros = m.zero_subpages(slots)
            for s, z in zip(slots.tolist(), zeros.tolist()):
                if m.free_frames >= goal:
                    break
                scanned = scan_bytes(z, PAGES_PER_HUGE - z, c["nonzero_scan_bytes"])
                self.bytes_scanned += scanned
                cycles += scanned * cyc_per_byte
                if z < c["min_zero_pages"]:
                    continue
                # remove_zero_pages zaps every zero sub-page of the huge page;
                # the goal is tested after it (remove.c remove_bloat)
                rel, _, _ = m.release_zero_pages(s, PAGES_PER_HUGE, now_s,
                                                 "bloat_recovery: zero sub-pages")
                self.split_slots.add(s)
                self.regions_split += 1
                released_total += rel
                cycles += split_cyc + rel * free_cyc
        self.pages_released += released_total
        m.charge(self.name, int(cycles))
        # the pass's own release counts as a rise above the trigger: the next
        # fall below it is a new crossing (a watermark re-armed)
        self._was_low = self.below_trigger()
        return released_total

    def trigger_frames(self) -> int:
        """Free 4 KiB frames below which recovery is due: ``trigger_free_pct``
        of all memory (remove.c count_pages_to_free: free < 15% of managed)."""
        return self.m.watermark_frames(self.cfg["trigger_free_pct"])

    def below_trigger(self) -> bool:
        """Free memory is below ``trigger_free_pct`` of all memory."""
        return self.m.free_frames < self.trigger_frames()

    def pressure(self) -> bool:
        """Free memory has just fallen below ``trigger_free_pct`` (the
        crossing, not every step below it: a watermark wake-up)."""
        low = self.below_trigger()
        crossed = low and not self._was_low
        self._was_low = low
        return crossed

    def work(self, now_s: float) -> float:
        """One wake-up: a pass, then sleep ``period_s``."""
        self.recover(now_s)
        return self.cfg["period_s"]
