"""Results of the machine's huge-page mechanisms, named as Linux names them.

Linux's khugepaged reports why a region was or was not collapsed with
``enum scan_result`` (mm/khugepaged.c, and the ``SCAN_STATUS`` strings of
include/trace/events/huge_memory.h).  The machine's promotion mechanism and
the collapse test of ``policies.khugepaged`` return the same kind of value,
so a policy reads ``ScanResult.SCAN_ALLOC_HUGE_PAGE_FAIL`` where it used to
read the string ``"nomem"``.  Each member's value is the kernel's trace
string; ``str(result)`` gives it (it is the ``reason`` column of events.csv
for refused promotions).
"""
from __future__ import annotations

import enum


class ScanResult(enum.Enum):
    """Outcome of a collapse test or of a promotion attempt.

    Members keep the Linux names (``enum scan_result``); the one model-only
    member, ``SCAN_LOW_UTILIZATION``, is Ingens's "does not promote
    under-utilized region" test (ingens.diff, ``khugepaged_scan_pmd``).
    """

    SCAN_SUCCEED = "succeeded"
    SCAN_FAIL = "failed"
    SCAN_PMD_NULL = "pmd_null"                   # the region is gone (unmapped)
    SCAN_PMD_MAPPED = "page_pmd_mapped"          # already mapped by one 2 MiB PTE
    SCAN_VMA_CHECK = "vma_check_failed"          # the 2 MiB range is not inside one VMA
    SCAN_EXCEED_NONE_PTE = "exceed_none_pte"     # more empty-or-zero PTEs than max_ptes_none
    SCAN_PAGE_RO = "no_writable_page"            # no writable (private) PTE
    SCAN_NO_REFERENCED_PAGE = "no_referenced_page"   # no young PTE (Linux 4.5 name)
    SCAN_LOW_UTILIZATION = "low_utilization"     # Ingens: population below util_threshold
    SCAN_ALLOC_HUGE_PAGE_FAIL = "alloc_huge_page_failed"   # no free 2 MiB block

    def __str__(self) -> str:
        return self.value

    @property
    def ok(self) -> bool:
        """True for SCAN_SUCCEED."""
        return self is ScanResult.SCAN_SUCCEED


__all__ = ["ScanResult"]
