"""linux-thp: Linux 4.3 transparent huge pages, ``enabled=always``.

Paper §2 / hawkeye-facts.md §4.1 (mm/huge_memory.c at Linux 4.3):

- Fault: when the 2 MiB-aligned range lies inside the VMA and the PMD is
  empty, allocate a 2 MiB block and zero it synchronously (clear_huge_page);
  if no block is free, fall back to 4 KiB.  A read fault there maps the
  shared huge zero page instead (``use_zero_page``, default 1 since 3.8); a
  later write allocates and clears a 2 MiB page, or splits the zero PMD and
  copies one 4 KiB page when no block is free (do_huge_pmd_wp_page).
- khugepaged: wakes every ``scan_sleep_millisecs`` (10000), examines
  ``pages_to_scan`` PTEs' worth (4096 = 8 regions) per pass, mm_slots
  round-robin and each mm from low to high virtual address, resuming where it
  stopped.  A region is collapsed when its empty-or-zero PTEs are at most
  ``max_ptes_none`` (511), at least one PTE is young (referenced) and at least
  one is writable (a private page).  After a failed huge allocation it sleeps
  ``alloc_sleep_millisecs`` (60000).
- Compaction: ``defrag`` (sysfs transparent_hugepage/defrag, 4.3 default
  ``always``): a huge fault that finds no free block compacts directly
  (alloc_hugepage_gfpmask keeps __GFP_WAIT, so __alloc_pages_slowpath calls
  __alloc_pages_direct_compact), retries, then falls back to 4 KiB; ``madvise``
  does so only in MADV_HUGEPAGE areas (no trace has one: as ``never``).
  ``khugepaged.defrag`` (khugepaged/defrag, default 1): khugepaged's huge
  allocation compacts too, charged to khugepaged.

The scan, the collapse test and the scan's CPU charge are ``policies.khugepaged``.
"""
from __future__ import annotations

from machine.constants import FAULT_BASE, FAULT_HUGE
from policies.base import KernelThread, Policy, register
from policies.khugepaged import AddressOrderScan, charge_scan, scan_pmd


@register("linux-thp")
class LinuxTHP(Policy):
    """Huge pages at fault (synchronous zeroing) and khugepaged's
    address-order collapse (see the module docstring)."""
    fault_mode = FAULT_HUGE
    prefer_zeroed = False   # Linux 4.3 has no pre-zeroed pool
    # options: config/config.yaml policies.linux-thp, declared in config/schema.yaml

    def __init__(self, machine, params):
        super().__init__(machine, params)
        self.fault_mode = FAULT_HUGE if self.p["fault_huge"] else FAULT_BASE
        self.defrag_fault = self.p["defrag"] == "always"
        # transparent_hugepage/use_zero_page: kept with fault_huge false as
        # well (as HawkEye's code keeps the read path when it disables the
        # fault-time allocation)
        self.huge_zero_page = self.p["use_zero_page"]
        self.scan = AddressOrderScan(machine)
        self.collapsed = 0
        self.alloc_failures = 0

    def collapse_ok(self, slot: int):
        """khugepaged_scan_pmd with Linux's three tests (a ``ScanResult``)."""
        return scan_pmd(self.m, slot, self.p["khugepaged"]["max_ptes_none"])

    def on_mmap(self, proc, vma):
        self.scan.enter(proc.pid)   # khugepaged_enter at VMA creation

    def khugepaged(self, now_s: float) -> float:
        """One khugepaged pass (khugepaged_do_scan), then its sleep:
        ``alloc_sleep_millisecs`` after a failed huge allocation
        (khugepaged_alloc_sleep), else ``scan_sleep_millisecs``."""
        k = self.p["khugepaged"]
        examined, collapsed, failed = self.scan.do_scan(
            k["pages_to_scan"], self.collapse_ok,
            lambda slot: self.m.promote_region(slot, "khugepaged", now_s=now_s,
                                               reason="khugepaged: address-order scan",
                                               compact=k["defrag"]))
        self.collapsed += collapsed
        charge_scan(self.m, "khugepaged", examined, k["scan_cost_ns_per_pte"])
        if failed:
            self.alloc_failures += 1
            return k["alloc_sleep_millisecs"] / 1000
        return k["scan_sleep_millisecs"] / 1000

    def threads(self):
        k = self.p["khugepaged"]
        if not k["enabled"]:
            return []
        return [KernelThread("khugepaged", self.khugepaged, k["scan_sleep_millisecs"] / 1000)]

    def counters(self):
        return {"khugepaged_collapsed": self.collapsed,
                "khugepaged_alloc_failures": self.alloc_failures}
