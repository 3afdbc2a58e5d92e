"""freebsd (reservations, promotion on full population, LRU reclaim) on small
hand-made traces, exact counts, on a 64 MiB machine (32 blocks of 2 MiB)."""
import numpy as np
import pytest

from machine.constants import BLK_BASE, BLK_HUGE, BLK_RESERVED
from sim.testing import A, HZ, MIB, compute, pages, run, small_spec
from policies.base import check_params





def slot_of(sim, addr, pid=0):
    return sim.m.procs[pid].region_slot[addr >> 21]


@pytest.mark.parametrize("touched", [511, 512])
def test_promotes_only_when_all_512_pages_are_populated(touched):
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, touched), True)
        compute(w, 2)
    sim = run(small_spec("freebsd"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.faults_4k == touched and s.faults_2m == 0 and s.faults_zeropage == 0
    assert s.reservations == 1 and s.reservations_broken == 0
    assert s.final_huge_pages == (1 if touched == 512 else 0)
    assert s.reservations_promoted == s.promotions == s.freebsd_promoted == s.final_huge_pages
    assert s.peak_bloat_bytes == 0
    # promotion in place: the region's frames are the reservation's block, now huge
    b = sim.m.rg.block[slot_of(sim, A)]
    assert sim.m.ph.blk_state[b] == (BLK_HUGE if touched == 512 else BLK_RESERVED)
    # the in-place promotion (promote_inplace_us = 2 us) is paid inside the fault
    assert s.fault_time_s == pytest.approx(touched * 1.6e-6)


def test_reads_take_private_pages_and_sparse_regions_never_bloat():
    """No zero page on FreeBSD: reads fault private pages too.  Touching every
    other page of 4 regions reserves 4 blocks, promotes none, and never
    maps a page the program did not touch."""
    def body(w):
        w.mmap(A, 8 * MIB)
        w.access(pages(0, 1024, 2), False)
        compute(w, 2)
    sim = run(small_spec("freebsd"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.faults_4k == 1024 and s.faults_zeropage == 0
    assert s.reservations == 4 and s.final_huge_pages == 0
    assert s.peak_bloat_bytes == 0 and s.peak_rss_bytes == 1024 * 4096


def test_partial_vma_region_is_not_reserved_nor_promoted():
    """A region not wholly inside one VMA gets no reservation (4 KiB frames
    from the buddy allocator) and is never promoted."""
    def body(w):
        w.mmap(A + 4096, 2 * MIB - 4096)
        w.access(pages(1, 511), True)
        compute(w, 1, addr=A + 4096)
    sim = run(small_spec("freebsd"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.reservations == 0 and s.faults_4k == 511 and s.final_huge_pages == 0


def test_shortage_breaks_the_least_recently_changed_reservation():
    """32 regions get one page each: 32 reservations fill the 32 blocks, in
    region order.  Region 0 then gets a second page, so region 1 becomes the
    least recently changed.  The first page of region 32 finds no free frame:
    region 1's reservation is broken (its page stays, its 511 free frames go
    back) and the new page is taken from that block."""
    def body(w):
        w.mmap(A, 66 * MIB)
        w.access(pages(0, 32, 512), True)
        w.access(pages(1, 1), True)                  # region 0 changes again
        w.access(pages(32 * 512, 1), True)           # region 32: no free block
        compute(w, 1)
    sim = run(small_spec("freebsd"), [body])
    m = sim.m
    m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.reservations == 32 and s.reservations_broken == 1 and s.freebsd_reclaimed == 1
    assert s.faults_4k == 34 and s.oom == 0
    r1 = slot_of(sim, A + 2 * MIB)
    assert m.rg.block[r1] == -1                      # region 1 lost its reservation
    for r in [0] + list(range(2, 32)):               # every other one kept it
        assert m.ph.blk_state[m.rg.block[slot_of(sim, A + r * 2 * MIB)]] == BLK_RESERVED
    old_block = m.rg.pg_frame[r1 * 512] // 512       # region 1's page stayed in place
    assert m.ph.blk_state[old_block] == BLK_BASE and m.ph.blk_used[old_block] == 2
    r32 = slot_of(sim, A + 64 * MIB)
    assert m.rg.block[r32] == -1                     # no reservation for region 32
    assert m.rg.pg_frame[r32 * 512] // 512 == old_block


def test_shortage_with_every_reservation_full_is_out_of_memory():
    """All 32 blocks fully populated and promoted: nothing to reclaim, so the
    next fault kills the process (oom) and its memory is freed."""
    def body(w):
        w.mmap(A, 66 * MIB)
        w.access(pages(0, 32 * 512), True)
        w.access(pages(32 * 512, 1), True)
        compute(w, 1)
    sim = run(small_spec("freebsd"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.reservations_promoted == 32 and s.reservations_broken == 0
    assert s.oom == 1 and sim.m.free_frames == sim.m.total_frames


def test_region_emptied_by_madvise_is_promoted_again_when_refilled():
    """Region 0 is promoted, then emptied by MADV_DONTNEED (the huge page is
    freed whole).  An mmap elsewhere gives the policy a hook, which re-arms
    the region's population trigger (the machine fires it once); refilled,
    the region gets a new reservation and is promoted again."""
    def body(w):
        w.mmap(A, 2 * MIB)
        w.access(pages(0, 512), True)
        w.madvise_dontneed(A, 2 * MIB)
        w.mmap(A + 8 * MIB, 2 * MIB)
        w.access(pages(0, 512), True)
        compute(w, 1)
    sim = run(small_spec("freebsd"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.faults_4k == 1024 and s.reservations == 2 and s.reservations_promoted == 2
    assert s.final_huge_pages == 1 and s.peak_bloat_bytes == 0


def test_split_region_refilled_is_not_promoted_in_place():
    """A promoted region loses its last page to munmap: the huge mapping is
    split and the block becomes ordinary 4 KiB frames.  Mapped and touched
    again, that page gets a frame of a new reservation (a machine limitation,
    see the module docstring), so the full region is not one reservation and
    must not be promoted in place."""
    def body(w):
        w.mmap(A, 2 * MIB)
        w.access(pages(0, 512), True)
        w.munmap(A + 2 * MIB - 4096, 4096)
        w.mmap(A + 2 * MIB - 4096, 4096)
        w.access(pages(511, 1), True)
        compute(w, 1)
    sim = run(small_spec("freebsd"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.splits == 1 and s.reservations_promoted == 1 and s.final_huge_pages == 0
    assert s.freebsd_not_promotable == 1 and s.faults_4k == 513


def test_pg_ps_disabled_reserves_but_never_promotes():
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 1024), True)
        compute(w, 1)
    sim = run(small_spec("freebsd", policy_params={"pg_ps_enabled": False}), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.reservations == 2 and s.final_huge_pages == 0 and s.promotions == 0


def test_options_are_validated_by_key():
    with pytest.raises(ValueError, match="pg_ps_enabled"):
        check_params("freebsd", {"pg_ps_enabled": "yes"})
    with pytest.raises(ValueError, match="unknown option"):
        check_params("freebsd", {"max_ptes_none": 3})
