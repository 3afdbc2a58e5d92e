"""Units and page geometry: the one home of every size and time conversion.

x86-64 page geometry (Intel SDM Vol. 3A §4.5: 4 KiB pages, 2 MiB pages
mapped by a PDE), binary size units, and cycle/time conversions at a clock
rate in Hz.  Plain module-level integers, so numba folds them into constants.
Imports nothing: every package (workloads, machine, policies, sim, report)
may use it.
"""
from __future__ import annotations

PAGE_SHIFT = 12                          # log2 of the base page size
PAGE_SIZE = 1 << PAGE_SHIFT              # bytes in a 4 KiB page
HUGE_SHIFT = 21                          # log2 of the huge page size
HUGE_SIZE = 1 << HUGE_SHIFT              # bytes in a 2 MiB page
HPAGE_PMD_ORDER = HUGE_SHIFT - PAGE_SHIFT  # 9: page number >> this = 2 MiB region number
PAGES_PER_HUGE = 1 << HPAGE_PMD_ORDER     # 512 PTEs under one PMD
HUGE_PAGE_MASK = PAGES_PER_HUGE - 1      # page index within its 2 MiB region

# Highest virtual address + 1 a trace may use: the lower canonical half of a
# 64-bit address space (bit 63 clear; x86-64 user space, 47-bit with 4-level
# and 56-bit with 5-level paging, lies inside it).  The machine keeps
# addresses in int64, so nothing above fits.
ADDRESS_LIMIT = 1 << 63

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30


def page_of(addr: int) -> int:
    """4 KiB page number (virtual or physical) of a byte address."""
    return addr >> PAGE_SHIFT


def region_of(addr: int) -> int:
    """2 MiB region number of a byte address."""
    return addr >> HUGE_SHIFT


def cycles_from_us(us: float, hz: float) -> float:
    """Cycles taken by ``us`` microseconds at ``hz`` cycles per second."""
    return us * 1e-6 * hz


def cycles_from_ns(ns: float, hz: float) -> float:
    """Cycles taken by ``ns`` nanoseconds at ``hz`` cycles per second."""
    return ns * 1e-9 * hz


def seconds_from_cycles(cycles: float, hz: float) -> float:
    """Seconds taken by ``cycles`` at ``hz`` cycles per second."""
    return cycles / hz
