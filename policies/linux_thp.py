"""linux-thp: Linux 4.3 transparent huge pages, ``enabled=always``.

Paper §2 / hawkeye-facts.md §4.1 (mm/huge_memory.c at Linux 4.3):

- Fault: when the 2 MiB-aligned range lies inside the VMA and the PMD is
  empty, allocate a 2 MiB block and zero it synchronously (clear_huge_page);
  if no block is free, fall back to 4 KiB.
- khugepaged: wakes every ``scan_sleep_millisecs`` (10000), examines
  ``pages_to_scan`` PTEs' worth (4096 = 8 regions) per pass, mm_slots
  round-robin and each mm from low to high virtual address, resuming where it
  stopped.  A region is collapsed when its empty-or-zero PTEs are at most
  ``max_ptes_none`` (511), at least one PTE is young (referenced) and at least
  one is writable (a private page).  After a failed huge allocation it sleeps
  ``alloc_sleep_millisecs`` (60000).
"""
from __future__ import annotations

from machine.constants import FAULT_BASE, FAULT_HUGE, PAGES_PER_HUGE, PG_ACCESSED
from policies.base import KernelThread, Policy, register


class AddressOrderScanner:
    """khugepaged's walk: mms round-robin, each in ascending address order,
    ``pages_to_scan`` PTEs per pass, resuming where the last pass stopped.

    ``collapse_ok(slot)`` decides whether a region qualifies; the scanner is
    shared by linux-thp and ingens, which differ only in that test.
    """

    def __init__(self, machine, pages_to_scan: int, collapse_ok):
        self.m = machine
        self.pages_to_scan = pages_to_scan
        self.collapse_ok = collapse_ok
        self.mm_slots: list[int] = []    # pids in khugepaged_enter (FIFO) order
        self.mm_index = 0                # khugepaged_scan.mm_slot
        self.address = 0                 # khugepaged_scan.address, as a region index

    def enter(self, pid: int) -> None:
        if pid not in self.mm_slots:
            self.mm_slots.append(pid)

    def scan(self, thread: str, prefer_zeroed: bool = False) -> tuple[int, int, bool]:
        """One pass (khugepaged_do_scan).  It ends when ``pages_to_scan`` PTEs
        were examined, a huge allocation failed, or the end of the mm list was
        reached (the next pass starts again from the first mm).
        Returns (regions examined, collapsed, allocation failed)."""
        m = self.m
        self.mm_slots = [p for p in self.mm_slots if m.procs[p].running]
        progress = examined = collapsed = 0
        failed = False
        if self.mm_index >= len(self.mm_slots):
            self.mm_index, self.address = 0, 0
        while progress < self.pages_to_scan and self.mm_index < len(self.mm_slots):
            pr = m.procs[self.mm_slots[self.mm_index]]
            for r in sorted(r for r in pr.region_slot if r >= self.address):
                slot = pr.region_slot[r]
                self.address = r + 1
                if not m.region_eligible(slot):
                    continue   # not a whole 2 MiB inside one VMA: skipped, no progress
                progress += PAGES_PER_HUGE
                examined += 1
                if not m.rg.huge[slot] and self.collapse_ok(slot):
                    res = m.promote_region(slot, thread, prefer_zeroed)
                    if res == "ok":
                        collapsed += 1
                    elif res == "nomem":
                        failed = True
                        self.address = r   # retry this region next time
                        break
                if progress >= self.pages_to_scan:
                    break
            else:
                self.mm_index += 1         # this mm is done: the next one
                self.address = 0
            if failed:
                break
        return examined, collapsed, failed


def region_pte_counts(m, slot: int) -> tuple[int, bool, bool]:
    """(empty-or-zero PTEs, any young PTE, any writable PTE) of a region."""
    rg = m.rg
    private = int(rg.mapped[slot] - rg.zpages[slot])
    st = rg.pg_state[slot * PAGES_PER_HUGE:(slot + 1) * PAGES_PER_HUGE]
    young = bool((st & PG_ACCESSED).any())
    return PAGES_PER_HUGE - private, young, private > 0


@register("linux-thp")
class LinuxTHP(Policy):
    fault_mode = FAULT_HUGE
    prefer_zeroed = False   # Linux 4.3 has no pre-zeroed pool
    duration_keys = ("khugepaged.scan_sleep_millisecs", "khugepaged.alloc_sleep_millisecs")
    defaults = {
        # true: Linux (huge page at fault).  false: a variant in which huge pages
        # come only from khugepaged, used to compare promotion order alone.
        "fault_huge": True,
        "khugepaged": {
            "enabled": True,
            "scan_sleep_millisecs": 10000,   # mm/huge_memory.c default
            "alloc_sleep_millisecs": 60000,  # mm/huge_memory.c default
            "pages_to_scan": 4096,           # HPAGE_PMD_NR * 8
            "max_ptes_none": 511,            # HPAGE_PMD_NR - 1
            "scan_cost_ns_per_pte": 2.0,     # estimate: reading one PTE and its page
        },
    }

    def validate(self):
        if not isinstance(self.p["fault_huge"], bool):
            raise ValueError("policies.linux-thp.fault_huge must be true or false")
        k = self.p["khugepaged"]
        if not 0 <= k["max_ptes_none"] <= 511:
            raise ValueError("policies.linux-thp.khugepaged.max_ptes_none must be in 0..511")
        for key in ("scan_sleep_millisecs", "alloc_sleep_millisecs", "pages_to_scan"):
            if k[key] <= 0:
                raise ValueError(f"policies.linux-thp.khugepaged.{key} must be > 0")

    def __init__(self, machine, params):
        super().__init__(machine, params)
        self.fault_mode = FAULT_HUGE if self.p["fault_huge"] else FAULT_BASE
        k = self.p["khugepaged"]
        self.scanner = AddressOrderScanner(machine, k["pages_to_scan"], self.collapse_ok)
        self.collapsed = 0
        self.alloc_failures = 0

    def collapse_ok(self, slot: int) -> bool:
        none, young, writable = region_pte_counts(self.m, slot)
        return none <= self.p["khugepaged"]["max_ptes_none"] and young and writable

    def on_mmap(self, proc, vma):
        self.scanner.enter(proc.pid)   # khugepaged_enter at VMA creation

    def khugepaged(self, now_s: float) -> float:
        k = self.p["khugepaged"]
        examined, collapsed, failed = self.scanner.scan("khugepaged")
        self.collapsed += collapsed
        self.m.charge("khugepaged", examined * PAGES_PER_HUGE * k["scan_cost_ns_per_pte"]
                      * 1e-9 * self.m.params.cpu_hz)
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
