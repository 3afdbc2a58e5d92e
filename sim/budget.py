"""Host-memory budget of a simulation: refuse work that would run away before
it starts, with the estimate, and stop a run that runs away anyway.

What a simulation holds on the host grows with three things (everything
else is small and fixed):

- the region table (``machine.pagetable.Regions``): one slot per 2 MiB region
  a process ever mapped, with a byte of state and an 8-byte frame number per
  4 KiB page; it grows by doubling, so a table and its copy coexist while it
  grows (hence ``GROWTH``);
- physical memory (``machine.physmem``): a few arrays per 2 MiB block;
- the time series kept until the run ends: one row per process per sample.

The per-slot and per-block sizes are measured from the machine's own arrays
(``slot_bytes``, ``block_bytes``), not assumed.  The budget is the job's
``--mem-mb`` (the workflow passes the rule's ``resources.mem_mb``) or, without
it, the host's physical memory.
"""
from __future__ import annotations

import functools
import os
import sys

from hpsim.units import HUGE_SIZE, MIB
from machine import pagetable, physmem

GROWTH = 3             # a doubling table: old + new (2x) arrays during a grow
STALL_STEPS = 1000     # scheduling steps without any clock progress before a run is stopped


@functools.cache
def slot_bytes() -> int:
    """Host bytes of one region-table slot (all of ``Regions``' arrays)."""
    return sum(a.nbytes for a in pagetable.new_regions(1))


@functools.cache
def block_bytes() -> int:
    """Host bytes per 2 MiB block of simulated physical memory."""
    ph, _ = physmem.new_phys(1)
    return sum(a.nbytes for a in ph)


def table_bytes(n_slots: int) -> int:
    """Host bytes of a region table of ``n_slots`` slots while it grows."""
    return GROWTH * n_slots * slot_bytes()


def host_bytes() -> int:
    """The host's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def budget_bytes(mem_mb: float | None) -> int:
    """The budget: ``mem_mb`` MiB if given, else the host's physical memory."""
    return int(mem_mb * MIB) if mem_mb else host_bytes()


def estimate(peak_mapped: list[int], n_blocks: int) -> int:
    """Host bytes a run needs at least: region slots for each process's peak
    mapped bytes (``peak_mapped``, from the traces' trailers; sparse mappings
    need more), as a growing table, plus physical memory's blocks."""
    regions = sum(-(-int(b) // HUGE_SIZE) + 1 for b in peak_mapped)
    return table_bytes(regions) + n_blocks * block_bytes()


def row_bytes(row: dict) -> int:
    """Host bytes one time-series row takes (the dict and its values), measured."""
    return sys.getsizeof(row) + sum(sys.getsizeof(v) for v in row.values())


def gib(n: float) -> str:
    return f"{n / (1 << 30):.2f} GiB"
