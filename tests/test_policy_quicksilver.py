"""quicksilver (threshold preparation, sync and async, eviction of inactive
reservations) on small hand-made traces, exact counts, on a 64 MiB machine
(32 blocks of 2 MiB) with the default profile's costs: a 4 KiB fault is
1.2 us + 0.4 us of zeroing, 0.4 us per 4 KiB page cleared, 2 us per
promotion in place."""
import pytest

from machine.constants import BLK_BASE, BLK_FREE, BLK_HUGE, BLK_RESERVED
from policies.base import check_params
from sim.testing import A, MIB, compute, pages, run, small_spec

FAULT_4K_US = 1.6        # fault_base_4k_us + zero_4k_us
ZERO_4K_US = 0.4
PROMOTE_US = 2.0


def spec(variant, **kw):
    return small_spec("quicksilver", policy_params={"variant": variant}, **kw)


def slot_of(sim, addr, pid=0):
    return sim.m.procs[pid].region_slot[addr >> 21]


def promotions(sim):
    return [e for e in sim.m.events if e["event"] == "promote_in_place"]


@pytest.mark.parametrize("touched", [63, 64])
def test_sync_64_promotes_at_the_64th_page(touched):
    """sync-64: the fault that brings the reservation's popcnt to 64 fills the
    other 448 pages from the reservation, clears them and maps 2 MiB; the 63rd
    does not.  The bulk clearing is part of that fault's latency."""
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, touched), True)
        compute(w, 0.5)
    sim = run(spec("sync-64"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.faults_4k == touched and s.reservations == 1
    if touched == 63:
        assert s.final_huge_pages == 0 and s.qs_sync_promoted == 0 and promotions(sim) == []
        assert s.fault_time_s == pytest.approx(63 * FAULT_4K_US * 1e-6)
        assert s.peak_bloat_bytes == 0
        return
    assert s.final_huge_pages == 1 and s.qs_sync_promoted == 1 and s.qs_prepared_pages == 448
    assert sim.m.ph.blk_state[sim.m.rg.block[slot_of(sim, A)]] == BLK_HUGE
    assert len(promotions(sim)) == 1
    # 448 pages the program never touched are resident: bloat
    assert s.peak_bloat_bytes == 448 * 4096 and s.peak_rss_bytes == 512 * 4096
    promoting = FAULT_4K_US + 448 * ZERO_4K_US + PROMOTE_US          # 182.8 us
    assert s.fault_time_s == pytest.approx((63 * FAULT_4K_US + promoting) * 1e-6)
    assert s.p99_fault_latency_us == pytest.approx(promoting, rel=0.01)  # histogram bin


def test_sync_0_promotes_at_the_first_fault():
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(5, 1), True)
        compute(w, 0.1)
    sim = run(spec("sync-0"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.faults_4k == 1 and s.final_huge_pages == 1 and s.qs_prepared_pages == 511
    assert s.fault_time_s == pytest.approx((FAULT_4K_US + 511 * ZERO_4K_US + PROMOTE_US) * 1e-6)


@pytest.mark.parametrize("variant,threshold", [("async-64", 64), ("async-256", 256)])
def test_async_promotes_after_the_thread_has_zeroed(variant, threshold):
    """async: every fault, the one reaching the threshold included, costs a
    4 KiB fault; the asyncpromo thread's pass at 1 s queues the reservation
    and promotes it when it has cleared the missing pages at zero_4k_us each.
    One page below the threshold nothing happens."""
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, touched), True)
        compute(w, 2.5)
    for touched in (threshold - 1, threshold):
        sim = run(spec(variant), [body])
        sim.m.check_invariants()
        s = sim.summary().iloc[0]
        assert s.faults_4k == touched
        assert s.fault_time_s == pytest.approx(touched * FAULT_4K_US * 1e-6)
        assert s.p99_fault_latency_us == pytest.approx(FAULT_4K_US, rel=0.01)
        if touched < threshold:
            assert s.final_huge_pages == 0 and s.qs_async_queued == 0
            continue
        assert s.final_huge_pages == 1 and s.qs_async_promoted == 1
        (ev,) = promotions(sim)
        assert ev["time_s"] == pytest.approx(1.0 + (512 - threshold) * ZERO_4K_US * 1e-6)
        thread = sim.threads_table().set_index("thread").loc["asyncpromo"]
        assert thread.cpu_s == pytest.approx(((512 - threshold) * ZERO_4K_US + PROMOTE_US)
                                             * 1e-6, rel=1e-3)


def test_async_thread_zeroes_reservations_one_after_another():
    """Two eligible reservations found in one pass: the second is done when
    the first's clearing and its own are, most recently changed first."""
    def body(w):
        w.mmap(A, 8 * MIB)
        w.access(pages(0, 64), True)           # region 0
        w.access(pages(512, 100), True)        # region 1: changed last
        compute(w, 1.5)
    sim = run(spec("async-64"), [body])
    sim.m.check_invariants()
    ev = promotions(sim)
    assert [e["region"] for e in ev] == [hex(A + 2 * MIB), hex(A)]
    t1 = 1.0 + 412 * ZERO_4K_US * 1e-6
    assert ev[0]["time_s"] == pytest.approx(t1)
    assert ev[1]["time_s"] == pytest.approx(t1 + 448 * ZERO_4K_US * 1e-6)


@pytest.mark.parametrize("until_s,evicted", [(5.5, False), (6.5, True)])
def test_inactive_reservation_is_evicted_under_fragmentation(until_s, evicted):
    """Frag-50: 16 of the 32 blocks hold an unmovable page (their free frames
    are compaction targets).  A reservation populated with 10 pages at t = 0
    and never changed again is inactive (inactive_thre 5 s); the pass that
    first sees a stamp taken more than 5 s earlier (t = 7 s: the pass at 1 s)
    migrates its 10 pages away and frees its block.  Before, it is kept.  (The
    run's last step ends at the thread's next wake-up: a 5.5 s trace sees the
    passes up to 6 s, a 6.5 s one up to 7 s.)"""
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 10), True)
        compute(w, until_s)          # page 0 again: the population does not change
    sim = run(spec("sync-64", fragmentation=0.5), [body])
    m = sim.m
    m.check_invariants()
    s = sim.summary().iloc[0]
    slot = slot_of(sim, A)
    assert s.qs_evict_failed == 0
    if not evicted:
        assert s.qs_evicted == 0 and m.ph.blk_state[m.rg.block[slot]] == BLK_RESERVED
        return
    assert s.qs_evicted == 1 and s.qs_evict_migrated == 10
    assert m.rg.block[slot] == -1 and m.populated(slot) == 10
    frames = m.rg.pg_frame[slot * 512:slot * 512 + 10] // 512
    assert all(m.ph.blk_state[b] == BLK_BASE and m.ph.blk_unmov[b] for b in frames)
    thread = sim.threads_table().set_index("thread").loc["asyncpromo"]
    assert thread.cpu_s == pytest.approx(10 * 2.2e-6, rel=1e-3)   # migrate_4k_us each


def test_eviction_fails_without_target_frames():
    """Unfragmented: no partly used block has free frames to migrate into,
    so the eviction fails and the reservation stays (a limit of the model:
    FreeBSD's vm_page_reclaim_run would take pages from the buddy allocator)."""
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 10), True)
        compute(w, 7.5)
    sim = run(spec("sync-64"), [body])
    s = sim.summary().iloc[0]
    assert s.qs_evicted == 0 and s.qs_evict_failed >= 1
    b = sim.m.rg.block[slot_of(sim, A)]
    assert sim.m.ph.blk_state[b] == BLK_RESERVED and sim.m.ph.blk_state[b] != BLK_FREE


def test_compaction_switch_and_options():
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 10), True)
        compute(w, 7.5)
    sim = run(small_spec("quicksilver", policy_params={"enable_compact": False},
                         fragmentation=0.5), [body])
    s = sim.summary().iloc[0]
    assert s.qs_evicted == 0 and s.qs_evict_failed == 0
    with pytest.raises(ValueError, match="variant"):
        check_params("quicksilver", {"variant": "async-0"})
    with pytest.raises(ValueError, match="pop_threshold"):
        check_params("quicksilver", {"variants": {"sync-0": {"preparation": "sync",
                                                             "pop_threshold": 513}}})
