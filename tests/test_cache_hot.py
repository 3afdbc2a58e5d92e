"""The page a fault has just cleared is in the cache (machine.fault.cleared):
accesses to it pay no data cycles until the process's next fault, for a 4 KiB
page, a 2 MiB page and a copy-on-write copy alike; a fault onto a pre-zeroed
frame (cleared earlier with non-temporal stores) or onto the zero page leaves
nothing in the cache.  Exact cycles on hand-made traces, with the fast path on
and off."""
import pytest

from sim.testing import A, MIB, pages
from tests.test_data_cost import DRAM, WALK, _summary

MISS = DRAM // 2     # miss rate 0.5 below


@pytest.mark.parametrize("fast", [True, False])
def test_faulting_record_and_its_page_pay_no_data(fast):
    """A first write, then 999 more to the same page: all on the page the
    fault cleared, so no data cycles."""
    def body(w):
        w.cycles(10, 0.5)
        w.mmap(A, 4096)
        w.access([A], True)
        w.access([A], True, counts=[999])
    s = _summary(body, fast=fast)
    assert s["data_cycles"] == 0
    assert s["user_cycles"] == 1000 * 10 + WALK


@pytest.mark.parametrize("fast", [True, False])
def test_next_fault_ends_it(fast):
    """After a fault on page 1, page 0's 500 reads pay their data cycles; the
    first touches of pages 0 and 1 (each just cleared) pay none."""
    def body(w):
        w.cycles(10, 0.5)
        w.mmap(A, 2 * 4096)
        w.access(pages(0, 2), True)
        w.access([A], False, counts=[500])
    s = _summary(body, fast=fast)
    assert s["data_cycles"] == 500 * MISS
    assert s["user_cycles"] == 2 * 10 + 500 * (10 + MISS) + 2 * WALK


@pytest.mark.parametrize("fast", [True, False])
def test_a_huge_fault_leaves_its_2mib_hot(fast):
    """Under THP the first write clears a 2 MiB page: the 511 other pages of
    it are hot too; a write to the next 2 MiB region clears that one, after
    which the first region's pages pay."""
    def body(w):
        w.cycles(10, 0.5)
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 512), True)              # one huge fault, then 511 hits
        w.access([A + 2 * MIB], True)              # the second region's huge fault
        w.access(pages(0, 100), False)             # the first region again: not hot
    s = _summary(body, policy="linux-thp", fast=fast)
    assert s["faults_2m"] == 2
    assert s["data_cycles"] == 100 * MISS
    assert s["user_cycles"] - s["walk_cycles"] == 513 * 10 + 100 * (10 + MISS)


@pytest.mark.parametrize("fast", [True, False])
def test_a_zero_page_read_is_not_hot_but_its_copy_is(fast):
    """linux-4k maps the zero page on a read fault (nothing cleared: 10 reads
    pay); the write that follows copies on write into a cleared frame (its
    10 writes are hot)."""
    def body(w):
        w.cycles(10, 0.5)
        w.mmap(A, 4096)
        w.access([A], False, counts=[10])
        w.access([A], True, counts=[10])
    s = _summary(body, fast=fast)
    assert (s["faults_zeropage"], s["faults_cow"]) == (1, 1)
    assert s["data_cycles"] == 10 * MISS


@pytest.mark.parametrize("fast", [True, False])
def test_a_prezeroed_frame_is_not_hot(fast):
    """HawkEye with every free block pre-zeroed (non-temporal stores): its
    huge fault clears nothing, so the 512 writes pay their data cycles."""
    def body(w):
        w.cycles(10, 0.5)
        w.mmap(A, 2 * MIB)
        w.access(pages(0, 512), True)
    params = {"prezero": {"start_zeroed_fraction": 1.0}}
    s = _summary(body, policy="hawkeye-pmu", fast=fast, policy_params=params)
    assert (s["faults_2m"], s["faults_prezeroed"]) == (1, 1)
    assert s["data_cycles"] == 512 * MISS
