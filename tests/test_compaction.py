"""Compaction (machine/compaction.py and its users) on hand-made memory.

Layout used by most tests (a 16 MiB machine, 4 KiB faults, no pressure):
writing pages 0..599 of one process fills block 0 (page k in frame k) and
puts pages 512..599 in frames 512..599 of block 1 (88 used); unmapping
pages 0..99 then leaves block 0 with 412 used frames and 100 free ones
(frames 0..99).  Block 1 is the cheapest to empty (88 moves).
"""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from hpsim.units import MIB, PAGES_PER_HUGE
from machine import tlb as tlbmod
from machine.constants import (BLK_FREE, C_COMPACT_MIGRATED, C_COMPACT_STALL, C_FAULT_CYCLES, C_FAULTS_2M,
                               C_RSS_PAGES, FAULT_BASE, FAULT_HUGE, FP_MOVABLE, FP_UNMOVABLE,
                               G_FREE_FRAMES, L_FREE_DIRTY, P_DEFRAG, P_FAULT_BASE_2M,
                               P_FAULT_MODE, P_MIGRATE_4K, P_ZERO_2M, PG_ACCESSED, ST_COMPACT,
                               ST_END, ST_NOMEM)
from machine.machine import Machine
from machine.params import MachineParams
from sim.testing import A, access, compute, default_config, pages, run, small_spec

BASE = 0x40000000


def machine(memory_mib=16, mode=FAULT_BASE, **pressure):
    cfg = default_config()
    cfg["machine"]["memory_gib"] = memory_mib / 1024
    m = Machine(MachineParams.from_config(
        cfg["machine"], {"fragmentation": 0.0, "tenant_fraction": 0.0, **pressure}), seed=3)
    m.P[P_FAULT_MODE] = mode
    return m


def layout(unmapped=100):
    """The module docstring's layout; returns (machine, process)."""
    m = machine()
    pr = m.add_process("p")
    m.mmap(pr, BASE, 4 * MIB)
    for p in range(600):
        assert access(m, pr, BASE + p * 4096, True) == ST_END
    m.madvise_dontneed(pr, BASE, unmapped * 4096)
    return m, pr


def frames_of(m, pr, first, n):
    slot = pr.region_slot[BASE >> 21]
    return m.rg.pg_frame[slot * PAGES_PER_HUGE + first: slot * PAGES_PER_HUGE + first + n].copy()


def unmovable_page_at(m, f):
    """Put an unmovable kernel page in frame f (as apply_pressure does)."""
    b = f // PAGES_PER_HUGE
    m.ph.frame_used[f] = 1
    m.ph.frame_page[f] = FP_UNMOVABLE
    m.ph.blk_used[b] += 1
    m.ph.blk_unmov[b] = 1
    m.G[G_FREE_FRAMES] -= 1


def test_layout_is_as_described():
    m, pr = layout()
    assert list(m.ph.blk_used[:3]) == [412, 88, 0]
    assert (frames_of(m, pr, 512, 88) == np.arange(512, 600)).all()
    assert m.compaction_moves() == 88


def test_compaction_moves_exactly_the_pages_of_the_cheapest_block():
    m, pr = layout()
    before = frames_of(m, pr, 100, 412)
    rss = pr.C[C_RSS_PAGES]
    free = m.free_frames
    assert m.compact("t") == 1
    # pages 512..599 went to block 0's free frames 0..87, in the allocator's order
    assert (frames_of(m, pr, 512, 88) == np.arange(88)).all()
    assert (frames_of(m, pr, 100, 412) == before).all()       # no other page moved
    assert list(m.ph.blk_used[:2]) == [500, 0]
    assert m.ph.blk_state[1] == BLK_FREE and m.ph.blk_list[1] == L_FREE_DIRTY
    assert m.free_huge_blocks() == 8 - 1                       # blocks 1..7
    assert pr.C[C_RSS_PAGES] == rss and m.free_frames == free
    assert m.thread_cycles["t"] == 88 * m.P[P_MIGRATE_4K]
    assert m.compact_stats["compact_migrated"] == 88
    m.check_invariants()


def test_migration_clears_the_accessed_bit_and_the_tlb_entry_of_moved_pages_only():
    m, pr = layout()
    slot = pr.region_slot[BASE >> 21]
    # pages 590..599 (moved) and 300..309 (staying) were just touched: cached, accessed
    for p in list(range(590, 600)) + list(range(300, 310)):
        access(m, pr, BASE + p * 4096, False)
        assert tlbmod.contains(pr.tlb, BASE + p * 4096, False)
    m.compact("t")
    st = m.rg.pg_state[slot * PAGES_PER_HUGE: slot * PAGES_PER_HUGE + 1024]
    for p in range(590, 600):
        assert not tlbmod.contains(pr.tlb, BASE + p * 4096, False)
        assert not st[p] & PG_ACCESSED          # remove_migration_pte: pte_mkold
    for p in range(300, 310):
        assert tlbmod.contains(pr.tlb, BASE + p * 4096, False)
        assert st[p] & PG_ACCESSED
    m.check_invariants()


def test_a_block_with_an_unmovable_page_is_never_chosen():
    m, pr = layout()
    unmovable_page_at(m, 512 + 500)             # block 1 now also holds an unmovable page
    assert m.compaction_moves() == 412           # block 0 is the only candidate
    assert m.compact("t") == 0
    # pages 100..511 went to block 1's free frames 600..1011 (offset 500 is taken)
    assert (frames_of(m, pr, 100, 412) == np.arange(600, 1012)).all()
    assert (frames_of(m, pr, 512, 88) == np.arange(512, 600)).all()
    assert m.ph.frame_page[1012] == FP_UNMOVABLE
    m.check_invariants()


def test_compaction_fails_when_every_candidate_holds_an_unmovable_page():
    m, pr = layout()
    unmovable_page_at(m, 512 + 500)
    unmovable_page_at(m, 50)                    # a free frame of block 0
    snap = (m.ph.frame_page.copy(), m.rg.pg_frame.copy(), m.ph.blk_used.copy())
    assert m.compaction_moves() == -1
    assert m.compact("t") == -1
    assert (m.ph.frame_page == snap[0]).all() and (m.rg.pg_frame == snap[1]).all()
    assert (m.ph.blk_used == snap[2]).all()
    assert m.thread_cycles["t"] == 0 and m.compact_stats["compact_fail"] == 1
    m.check_invariants()


def test_compaction_fails_when_other_blocks_lack_free_frames():
    m, pr = layout(unmapped=50)     # block 0: 50 free frames < 88 pages of block 1
    snap = m.rg.pg_frame.copy()
    assert m.compact("t") == -1
    assert (m.rg.pg_frame == snap).all() and list(m.ph.blk_used[:2]) == [462, 88]
    m.check_invariants()


def test_movable_pages_of_another_user_move_and_cost_the_same():
    m = machine(memory_mib=8, movable_fragmentation=1.0, movable_pages=3)
    assert m.pressure["movable_blocks"] == 4 and (m.ph.blk_used == 3).all()
    assert m.compact("t") == 0                  # all tie at 3 moves: the lowest block
    assert list(m.ph.blk_used) == [0, 6, 3, 3]
    assert (m.ph.frame_page == FP_MOVABLE).sum() == 12
    assert m.thread_cycles["t"] == 3 * m.P[P_MIGRATE_4K]
    m.check_invariants()


def test_direct_compaction_in_the_fault_path():
    m = machine(memory_mib=8, mode=FAULT_HUGE, movable_fragmentation=1.0, movable_pages=3)
    m.P[P_DEFRAG] = 1
    pr = m.add_process("p")
    m.mmap(pr, BASE, 2 * MIB)
    assert access(m, pr, BASE, True) == ST_COMPACT       # no free block: ask for compaction
    assert m.direct_compact(pr) == 0
    assert access(m, pr, BASE, True) == ST_END           # the retry gets block 0
    assert pr.C[C_FAULTS_2M] == 1 and pr.C[C_COMPACT_STALL] == 1
    assert pr.C[C_COMPACT_MIGRATED] == 3
    lat = m.P[P_FAULT_BASE_2M] + m.P[P_ZERO_2M] + 3 * m.P[P_MIGRATE_4K]
    assert pr.C[C_FAULT_CYCLES] == lat
    m.check_invariants()


def _thp_run(defrag, fault_huge=True, khugepaged_defrag=True, seconds=0.0):
    def body(w):
        w.mmap(A, 8 * MIB)
        w.access(pages(0, 2048), True)
        if seconds:
            compute(w, seconds, addr=A)
    params = {"defrag": defrag, "fault_huge": fault_huge,
              "khugepaged": {"defrag": khugepaged_defrag}}
    sim = run(small_spec("linux-thp", memory_mib=64, policy_params=params,
                         movable_fragmentation=1.0, movable_pages=1), [body])
    sim.m.check_invariants()
    return sim, sim.summary().iloc[0]


def test_linux_thp_defrag_always_gets_huge_pages_where_never_falls_back():
    sim, s = _thp_run("always")
    P = sim.m.P
    assert (s.faults_2m, s.faults_4k, s.thp_fallbacks) == (4, 0, 0)
    assert (s.compact_stall, s.compact_migrated) == (4, 4)
    lat = P[P_FAULT_BASE_2M] + P[P_ZERO_2M] + P[P_MIGRATE_4K]
    assert s.fault_time_s == 4 * lat / sim.hz
    _, s = _thp_run("never")
    assert (s.faults_2m, s.faults_4k, s.thp_fallbacks) == (0, 2048, 4)
    assert (s.compact_stall, s.compact_migrated) == (0, 0)


def test_khugepaged_defrag_compacts_for_its_collapse():
    sim, s = _thp_run("never", fault_huge=False, khugepaged_defrag=True, seconds=12)
    # 2048 4 KiB pages fill the partial blocks: no block is free when khugepaged
    # wakes at 10 s; each collapse compacts one block (1 movable page) first
    assert s.promotions == 4 and s.compact_stall == 0
    assert sim.m.compact_stats["compact_success"] == 4
    _, s = _thp_run("never", fault_huge=False, khugepaged_defrag=False, seconds=12)
    assert s.promotions == 0 and s.khugepaged_alloc_failures == 1


op = st.one_of(
    st.tuples(st.just("access"), st.integers(0, 3 * 512 - 1), st.booleans()),
    st.tuples(st.just("madvise"), st.integers(0, 3 * 512 - 1), st.integers(1, 600)),
    st.tuples(st.just("promote"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("split"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("compact"), st.just(0), st.just(0)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from([FAULT_BASE, FAULT_HUGE]), frag=st.sampled_from([0.0, 0.5]),
       movable=st.sampled_from([0.0, 1.0]), ops=st.lists(op, min_size=1, max_size=40))
def test_invariants_hold_under_random_fault_free_compact(mode, frag, movable, ops):
    m = machine(memory_mib=12, mode=mode, fragmentation=frag, movable_fragmentation=movable,
                movable_pages=7)
    m.P[P_DEFRAG] = 1
    pr = m.add_process("p")
    m.mmap(pr, BASE, 6 * MIB)
    for kind, a, b in ops:
        slot = pr.region_slot.get((BASE >> 21) + a)
        if kind == "access":
            st_ = access(m, pr, BASE + a * 4096, b)
            if st_ == ST_COMPACT:
                m.direct_compact(pr)
                assert access(m, pr, BASE + a * 4096, b) in (ST_END, ST_NOMEM)
        elif kind == "madvise":
            m.madvise_dontneed(pr, BASE + a * 4096, min(b, 3 * 512 - a) * 4096)
        elif kind == "promote" and slot is not None:
            m.promote_region(slot, "test", prefer_zeroed=b, compact=True)
        elif kind == "split" and slot is not None:
            m.split_region(slot)
        elif kind == "compact":
            rss = pr.C[C_RSS_PAGES]
            m.compact("test")
            assert pr.C[C_RSS_PAGES] == rss
        m.check_invariants()


def test_ingens_compactd_pass_migrates_at_most_cc_counts_times_cluster_max_pages():
    # 32 blocks with 100 movable pages each; a pass may move 20 * 32 = 640 pages:
    # six blocks (600 pages), the seventh (100 more) does not fit
    def body(w):
        w.mmap(A, 2 * MIB)
        compute(w, 0.15, addr=A)
    sim = run(small_spec("ingens", memory_mib=64,
                         policy_params={"compactd": {"compact_sleep_millisecs": 100}},
                         movable_fragmentation=1.0, movable_pages=100), [body])
    s = sim.summary().iloc[0]
    passes = next(t.passes for t in sim.threads if t.name == "osa_hpage_compactd")
    assert passes >= 1
    assert s.ingens_compactd_blocks == 6 * passes
    assert sim.m.thread_cycles["osa_hpage_compactd"] == 600 * passes * sim.m.P[P_MIGRATE_4K]
    assert sim.m.free_huge_blocks() == 6 * passes
    sim.m.check_invariants()
