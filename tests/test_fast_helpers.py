"""Compiled helpers that replace per-page Python work, against plain
references: compaction's source choice (``pick_block``), its early-stopping
count of target frames (``free_target_frames``), the shootdowns of the
moved pages in each owner's TLB (``shoot_down_moved``), and the accessed-bit
scans of many regions (``pagetable.clear_accessed_slots``, ``idle_counts``)."""
import numpy as np
from hypothesis import given, settings, strategies as st

from hpsim.units import MIB, PAGES_PER_HUGE
from machine import compaction, pagetable as pt, physmem
from machine.constants import (BLK_BASE, BLK_FREE, BLK_HUGE, C_TLB_INVALIDATIONS, FAULT_BASE,
                               L_PARTIAL, OWNER_NONE, OWNER_TENANT, P_FAULT_MODE, PG_ACCESSED,
                               PG_MAPPED, PG_ZEROPAGE, ST_END)
from machine.machine import Machine
from machine.params import MachineParams
from sim.testing import access, default_config

BASE = 0x40000000


def reference_pick(ph):
    """The docstring's rule in numpy: fewest used frames, lowest index."""
    ok = ((ph.blk_state == BLK_BASE) & (ph.blk_unmov == 0) & (ph.blk_owner != OWNER_TENANT)
          & (ph.blk_used > 0))
    if not ok.any():
        return -1
    used = np.where(ok, ph.blk_used, PAGES_PER_HUGE + 1)
    return int(np.argmin(used))      # argmin: the first of the minima


block = st.tuples(st.integers(0, PAGES_PER_HUGE), st.sampled_from([BLK_BASE, BLK_FREE, BLK_HUGE]),
                  st.booleans(), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(block, min_size=1, max_size=40))
def test_pick_block_is_the_fewest_used_lowest_index_eligible_block(blocks):
    ph, _ = physmem.new_phys(len(blocks))
    for b, (used, state, unmov, tenant) in enumerate(blocks):
        ph.blk_used[b], ph.blk_state[b], ph.blk_unmov[b] = used, state, unmov
        ph.blk_owner[b] = OWNER_TENANT if tenant else OWNER_NONE
    best, used = compaction.pick_block(ph)
    assert best == reference_pick(ph)
    if best >= 0:
        assert used == ph.blk_used[best]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, PAGES_PER_HUGE - 1), min_size=0, max_size=12),
       st.integers(-1, 11), st.integers(0, 6 * PAGES_PER_HUGE))
def test_free_target_frames_reaches_need_exactly_when_all_partial_blocks_do(used, src, need):
    ph, _ = physmem.new_phys(12)
    for b, u in enumerate(used):         # blocks 0..len-1 on the partial list, in order
        physmem.list_remove(ph, b)
        ph.blk_state[b], ph.blk_used[b] = BLK_BASE, u
        physmem.list_push_tail(ph, L_PARTIAL, b)
    total = sum(PAGES_PER_HUGE - u for b, u in enumerate(used) if b != src)
    n = compaction.free_target_frames(ph, src, need)
    assert (n >= need) == (total >= need)
    assert n <= total


def test_shoot_down_moved_flushes_each_owners_moved_pages_in_its_own_tlb_only():
    # b's pages 400..499 in frames 0..99, a's pages 0..411 in frames 100..511;
    # then b's pages 0..39 and a's 412..441 in block 1 (70 used); a's pages
    # 0..99 unmapped: block 0 has 100 free frames and block 1 is emptied.
    # b keeps translations of the same virtual pages as a's moved ones
    # (400..499 in its own address space): they must stay.
    cfg = default_config()
    cfg["machine"]["memory_gib"] = 16 / 1024
    m = Machine(MachineParams.from_config(cfg["machine"],
                                          {"fragmentation": 0.0, "tenant_fraction": 0.0}), seed=3)
    m.P[P_FAULT_MODE] = FAULT_BASE
    a, b = m.add_process("a"), m.add_process("b")
    m.mmap(a, BASE, 4 * MIB)
    m.mmap(b, BASE, 4 * MIB)
    for pr, first, n in ((b, 400, 100), (a, 0, 412), (b, 0, 40), (a, 412, 30)):
        for p in range(first, first + n):
            assert access(m, pr, BASE + p * 4096, True) == ST_END
    m.madvise_dontneed(a, BASE, 100 * 4096)
    assert m.compaction_moves() == 70

    def cached(pr, pages):
        """TLB entries (L1 4 KiB + L2) holding these pages' translations."""
        t = pr.tlb
        vpns = [(BASE >> 12) + p for p in pages]
        return sum(int((t.l1s_tag[v % t.l1s_tag.shape[0]] == v << 1).sum())
                   + int((t.l2_tag[v % t.l2_tag.shape[0]] == v << 1).sum()) for v in vpns)
    moved_a, moved_b = range(412, 442), range(40)
    stay_a, stay_b = range(100, 412), range(400, 500)
    expect_a, expect_b = cached(a, moved_a), cached(b, moved_b)
    keep_a, keep_b = cached(a, stay_a), cached(b, stay_b)
    assert expect_a > 0 and expect_b > 0 and keep_a > 0 and cached(b, moved_a) > 0
    inv_a, inv_b = int(a.C[C_TLB_INVALIDATIONS]), int(b.C[C_TLB_INVALIDATIONS])
    assert m.compact("t") == 1
    assert a.C[C_TLB_INVALIDATIONS] - inv_a == expect_a
    assert b.C[C_TLB_INVALIDATIONS] - inv_b == expect_b
    assert cached(a, moved_a) == 0 and cached(b, moved_b) == 0
    assert cached(a, stay_a) == keep_a and cached(b, stay_b) == keep_b
    m.check_invariants()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(0, 7), min_size=1, max_size=6))
def test_idle_counts_and_clear_accessed_slots_match_numpy(seed, slot_list):
    rg = pt.new_regions(8)
    rg.pg_state[:] = np.random.default_rng(seed).integers(0, 256, 8 * PAGES_PER_HUGE)
    slots = np.array(slot_list, np.int64)
    st_ = rg.pg_state.reshape(-1, PAGES_PER_HUGE)[slots]
    acc = (st_ & PG_ACCESSED) != 0
    private = ((st_ & PG_MAPPED) != 0) & ((st_ & PG_ZEROPAGE) == 0)
    got = np.full((3, len(slots)), -1, np.int64)
    pt.idle_counts(rg, slots, got)
    assert got.tolist() == [private.sum(axis=1).tolist(),
                                         (private & ~acc).sum(axis=1).tolist(),
                                         acc.sum(axis=1).tolist()]
    want = rg.pg_state.copy().reshape(-1, PAGES_PER_HUGE)
    want[slots] &= 0xFF ^ PG_ACCESSED
    pt.clear_accessed_slots(rg, slots)
    assert (rg.pg_state == want.reshape(-1)).all()
