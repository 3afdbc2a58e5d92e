"""The machine's invariants over random operation sequences (hypothesis).

After every step: frames are conserved (free + used = total), no frame is
mapped twice, every huge mapping is 2 MiB aligned virtually and physically,
RSS and huge-page counters agree with the page tables, and the TLB holds no
translation that was invalidated.  Separately: fault counts match the pages
touched.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hpsim.units import MIB
from machine.constants import (C_FAULTS_2M, C_FAULTS_4K, FAULT_BASE, FAULT_HUGE,
                               FAULT_RESERVE, ST_NOMEM, ST_SEGV)
from machine.machine import Machine
from machine.params import MachineParams
from sim.testing import access, default_config

BASE = 0x40000000


def small_machine(memory_mib=16, mode=FAULT_HUGE, fragmentation=0.0, tenant=0.0):
    cfg = default_config()
    cfg["machine"]["memory_gib"] = memory_mib / 1024
    m = Machine(MachineParams.from_config(cfg["machine"], {"fragmentation": fragmentation,
                                                           "tenant_fraction": tenant}), seed=3)
    m.P[0] = mode  # P_FAULT_MODE
    return m


op = st.one_of(
    st.tuples(st.just("access"), st.integers(0, 3 * 512 - 1), st.booleans()),
    st.tuples(st.just("madvise"), st.integers(0, 3 * 512 - 1), st.integers(1, 600)),
    st.tuples(st.just("promote"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("split"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("release"), st.integers(0, 2), st.integers(1, 512)),
    st.tuples(st.just("prezero"), st.just(0), st.just(0)),
    st.tuples(st.just("break"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("remap"), st.integers(0, 2), st.just(0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from([FAULT_BASE, FAULT_HUGE, FAULT_RESERVE]),
       frag=st.sampled_from([0.0, 0.5]), ops=st.lists(op, min_size=1, max_size=40))
def test_invariants_hold_after_every_step(mode, frag, ops):
    m = small_machine(memory_mib=12, mode=mode, fragmentation=frag)
    pr = m.add_process("p")
    # three regions; the middle one is only half inside the VMA's tail on purpose
    m.mmap(pr, BASE, 6 * MIB)
    m.check_invariants()
    for kind, a, b in ops:
        slot = pr.region_slot.get((BASE >> 21) + a) if kind != "access" else None
        if kind == "access":
            stt = access(m, pr, BASE + a * 4096, b)
            assert stt != ST_SEGV
        elif kind == "madvise":
            n = min(b, 3 * 512 - a)
            m.munmap_pages = None
            from machine import engine
            engine.unmap_range(m.ph, m.G, m.rg, m.P, pr.arrays, pr.tlb, BASE + a * 4096, n)
        elif kind == "promote" and slot is not None:
            m.promote_region(slot, "test", prefer_zeroed=b)
        elif kind == "split" and slot is not None:
            m.split_region(slot)
        elif kind == "release" and slot is not None and m.rg.huge[slot]:
            m.release_zero_pages(slot, b)
        elif kind == "prezero":
            m.zero_free_block()
        elif kind == "break" and slot is not None:
            m.break_reservation(slot)
        elif kind == "remap":
            lo = BASE + 2 * MIB * a
            m.munmap(pr, lo, 2 * MIB)
            m.mmap(pr, lo, 2 * MIB)
        m.check_invariants()


@settings(max_examples=30, deadline=None)
@given(pages=st.lists(st.integers(0, 8 * 512 - 1), min_size=1, max_size=300))
def test_4k_fault_count_equals_distinct_pages_written(pages):
    m = small_machine(memory_mib=64, mode=FAULT_BASE)
    pr = m.add_process("p")
    m.mmap(pr, BASE, 16 * MIB)
    for p in pages:
        assert access(m, pr, BASE + p * 4096, True) != ST_NOMEM
    assert pr.C[C_FAULTS_4K] == len(set(pages))
    assert pr.C[C_FAULTS_2M] == 0
    m.check_invariants()


@settings(max_examples=30, deadline=None)
@given(pages=st.lists(st.integers(0, 8 * 512 - 1), min_size=1, max_size=300))
def test_huge_fault_count_equals_distinct_regions_touched(pages):
    m = small_machine(memory_mib=64, mode=FAULT_HUGE)
    pr = m.add_process("p")
    m.mmap(pr, BASE, 16 * MIB)
    for p in pages:
        access(m, pr, BASE + p * 4096, True)
    assert pr.C[C_FAULTS_2M] == len({p // 512 for p in pages})
    assert pr.C[C_FAULTS_4K] == 0
    m.check_invariants()


def test_out_of_memory_is_reported_not_crashed():
    m = small_machine(memory_mib=4, mode=FAULT_BASE)
    pr = m.add_process("p")
    m.mmap(pr, BASE, 8 * MIB)
    statuses = [access(m, pr, BASE + p * 4096, True) for p in range(2 * 512 + 1)]
    assert statuses[-1] == ST_NOMEM
    assert statuses[:1024].count(ST_NOMEM) == 0
    m.check_invariants()


def test_unaligned_vma_edges_never_get_huge_pages():
    m = small_machine(memory_mib=64, mode=FAULT_HUGE)
    pr = m.add_process("p")
    m.mmap(pr, BASE + 4096, 4 * MIB)  # regions 0 and 2 are partly outside the VMA
    for p in range(1, 3 * 512):
        access(m, pr, BASE + p * 4096, True)
    assert pr.C[C_FAULTS_2M] == 1          # only the middle region is whole
    assert pr.C[C_FAULTS_4K] == 511 + 1    # region 0 (511 pages) + first page of region 2
    m.check_invariants()


@pytest.mark.parametrize("mode", [FAULT_BASE, FAULT_HUGE])
def test_fragmentation_blocks_huge_faults(mode):
    m = small_machine(memory_mib=64, mode=mode, fragmentation=1.0)
    pr = m.add_process("p")
    m.mmap(pr, BASE, 8 * MIB)
    for p in range(0, 4 * 512, 512):
        access(m, pr, BASE + p * 4096, True)
    assert pr.C[C_FAULTS_2M] == 0
    assert pr.C[C_FAULTS_4K] == 4
    assert m.free_huge_blocks() == 0
