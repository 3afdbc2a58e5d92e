"""The compiled VMA view (Machine._splice): VMA arrays and the per-VMA
slot-table segments stay exact over any sequence of mmap and munmap, with
segments grown in place, shared after a split, copied and laid out afresh.
Checked against the Python VMA list and region_slot (Machine.check_vmas) and
through the compiled lookup (engine.find_vma, engine.slot_of)."""
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from hpsim.units import HUGE_SHIFT, MIB, PAGE_SIZE
from machine import engine
from machine.constants import C_NVMA
from machine.machine import MIN_SLOT_TABLE, Machine
from machine.params import MachineParams
from sim.testing import default_config

BASE = 0x40000000
SPAN_PAGES = 8 * 512          # the operations stay within 8 regions


def machine():
    cfg = default_config()
    cfg["machine"]["memory_gib"] = 16 / 1024
    return Machine(MachineParams.from_config(cfg["machine"], {}), seed=1)


def overlaps(pr, lo, hi):
    return any(v.start < hi and v.end > lo for v in pr.vmas)


def check_lookup(pr):
    """Every page of the span: find_vma and slot_of agree with the VMA list
    and region_slot."""
    a = pr.arrays
    for page in range(0, SPAN_PAGES, 37):
        addr = BASE + page * PAGE_SIZE
        k = engine.find_vma(a, a.C[C_NVMA], addr)
        inside = [i for i, v in enumerate(pr.vmas) if v.start <= addr < v.end]
        assert k == (inside[0] if inside else -1)
        if k >= 0:
            assert engine.slot_of(a, k, addr) == pr.region_slot[addr >> HUGE_SHIFT]


UNIT = 128                    # pages (512 KiB): ranges often meet, merge and share regions
op = st.tuples(st.sampled_from(["mmap", "munmap", "fill"]),
               st.integers(0, SPAN_PAGES // UNIT - 1), st.integers(1, 12))


def gap(pr, addr):
    """The unmapped range around addr, within the span (None if mapped)."""
    if overlaps(pr, addr, addr + 1):
        return None
    lo = max([v.end for v in pr.vmas if v.end <= addr], default=BASE)
    hi = min([v.start for v in pr.vmas if v.start > addr], default=BASE + SPAN_PAGES * PAGE_SIZE)
    return lo, hi


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=30), small=st.booleans())
def test_vma_view_exact_after_every_step(ops, small):
    # small: tables with no spare room, laid out afresh at almost every step
    with mock.patch("machine.machine.MIN_SLOT_TABLE", 0 if small else MIN_SLOT_TABLE):
        steps(ops)


def steps(ops):
    m = machine()
    pr = m.add_process("p")
    for kind, u, nu in ops:
        page, n = u * UNIT, min(nu * UNIT, SPAN_PAGES - u * UNIT)
        lo, hi = BASE + page * PAGE_SIZE, BASE + (page + n) * PAGE_SIZE
        if kind == "fill":            # the whole gap: merges with both neighbours
            g = gap(pr, lo)
            if g is None:
                continue
            m.mmap(pr, g[0], g[1] - g[0])
        elif kind == "mmap":
            if overlaps(pr, lo, hi):
                continue
            m.mmap(pr, lo, hi - lo)
        else:
            m.munmap(pr, lo, hi - lo)
        m.check_vmas(pr)
        check_lookup(pr)
        live = {r for v in pr.vmas
                for r in range(v.start >> HUGE_SHIFT, ((v.end - 1) >> HUGE_SHIFT) + 1)}
        assert set(pr.region_slot) == live, "a region no VMA touches kept its slot"


def test_heap_growing_down_one_chunk_at_a_time_reuses_its_segment():
    """jemalloc's chunks mapped top-down merge into one VMA: its segment grows
    in place while its room lasts, so the table is laid out afresh only
    O(log n) times, and the slot of every region stays exact."""
    m = machine()
    pr = m.add_process("p")
    top = BASE + 4096 * MIB
    tables = set()
    for i in range(1, 1001):
        m.mmap(pr, top - i * 2 * MIB, 2 * MIB)
        tables.add(id(pr.arrays.slot_table))
    assert len(pr.vmas) == 1
    assert pr.vmas[0].start == top - 1000 * 2 * MIB and pr.vmas[0].end == top
    m.check_vmas(pr)
    assert len(tables) <= 12
    assert pr.table_used <= 8 * 1000
    # a hole in the middle splits it; both halves keep the shared segment
    m.munmap(pr, top - 500 * 2 * MIB, 2 * MIB)
    assert len(pr.vmas) == 2 and pr.vmas[0].base == pr.vmas[1].base
    m.check_vmas(pr)
    m.mmap(pr, top - 500 * 2 * MIB, 2 * MIB)        # and the hole is filled again
    assert len(pr.vmas) == 1
    m.check_vmas(pr)
    assert np.unique(list(pr.region_slot.values())).size == 1000
