"""HawkEye details as the public code does them (apanwariisc/HawkEye 9b5a9776,
mm/huge_memory.c khugepaged / khugepaged_promote_mm / ohp_scan_mm, mm/ohp.c
ohp_get_target_mm / ohp_putback_kaddr / ohp_adjust_mm_bins): exact
expectations on small hand-made traces.
"""
import numpy as np

from policies.hawkeye.access_map import AccessMap, bucket_of, ema
from sim.testing import run, small_spec
from test_policy_hawkeye import hot_high_cold_low, log_regions, params, sweeper

NO_FAULT_HUGE = {"fault_huge": False}


# --- 1. ohp_get_target_mm once per pass, khugepaged_promote_mm up to 8 for it ----------

def test_the_target_gets_the_whole_pass():
    """p1 (6% MMU overhead) and p0 (2%), 12 warm regions each.  Pass 1
    (t = 1 s): ohp_get_target_mm picks p1 once and ohp_scan_mm promotes 8 of
    its regions (progress 8 x 512 = pages_to_scan 4096), although p1 has
    fewer than min_pending = 8 pending regions after its 5th promotion (the
    target is not re-picked within a pass).  Pass 2: p1 has 4 pending (< 8,
    not a target), p0 gets 8."""
    bodies = [sweeper(12, 200, 0.25, 3000), sweeper(12, 200, 0.25, 1200)]
    sim = run(small_spec("hawkeye-pmu", policy_params=params("hawkeye-pmu", NO_FAULT_HUGE)),
              bodies)
    assert [p.mmu_overhead_pct for p in sim.m.procs] == [2, 6]
    assert [(t, p) for t, p, _ in sim.policy.promotion_log] == \
        [(1.0, "p1")] * 8 + [(2.0, "p0")] * 8
    assert [s.final_huge_pages for s in sim.summary().itertuples()] == [8, 8]


def test_a_pass_with_a_larger_budget_stays_with_its_target():
    """pages_to_scan 8192 (16 promotions): pass 1 takes all 12 regions of
    p1, then p1 has no candidate left (OHP_NO_WORK ends the pass); p0 waits
    for pass 2."""
    bodies = [sweeper(12, 200, 0.25, 3000), sweeper(12, 200, 0.25, 1200)]
    extra = {**NO_FAULT_HUGE, "promotion": {"pages_to_scan": 8192}}
    sim = run(small_spec("hawkeye-pmu", policy_params=params("hawkeye-pmu", extra)), bodies)
    assert [(t, p) for t, p, _ in sim.policy.promotion_log] == \
        [(1.0, "p1")] * 12 + [(2.0, "p0")] * 12


# --- 2. ohp_putback_kaddr keeps the weight ------------------------------------------------

def test_putback_goes_to_the_tail_of_bin_0_with_its_weight():
    am = AccessMap(0)
    for s in range(3):
        am.add(s, 100 + s)
    am.update([0, 1, 2], np.array([512, 130, 0]), "paper", 400)
    assert am.weight == {0: 204, 1: 52, 2: 0}
    assert am.pop_head(4) == 0 and 0 not in am
    am.putback(0, 100)                      # the collapse failed
    assert am.where[0] == 0 and list(am.buckets[0]) == [2, 0] and am.weight[0] == 204
    # the next sample (nothing accessed) re-bins it from its weight:
    # 204 -> 122 (bucket 2); 52 -> 31 (bucket 0); it is promoted next
    am.update(am.list_order(), np.array([0, 0, 0]), "paper", 400)
    assert am.weight == {0: 122, 1: 31, 2: 0}
    assert am.highest() == 2 and am.pop_head(2) == 0
    assert (ema(204, 0, 400), bucket_of(122, "paper")) == (122, 2)


def test_regions_put_back_after_an_allocation_failure_keep_their_weight():
    """Every block holds an unmovable page: each promotion pass (t = 1, 2, 3 s)
    pops one region, fails to allocate (failed += 100 ends the pass) and puts
    it back.  The one sample (at 0.2 s) gave every region 200 accessed pages,
    EMA 80; the three put back keep 80 in bin 0 (the model used to reset
    them to 0)."""
    sim = run(small_spec("hawkeye-g", policy_params=params("hawkeye-g", NO_FAULT_HUGE),
                         fragmentation=1.0), [sweeper(4, 200, 0.25, 2000)])
    am = sim.policy.maps[0]
    assert (sim.policy.promotion.alloc_failures, sim.policy.kbin.samples) == (3, 1)
    assert am.weight == {0: 80, 1: 80, 2: 80, 3: 80}
    assert am.where == {0: 0, 1: 0, 2: 0, 3: 1}
    assert list(am.buckets[0]) == [0, 1, 2] and am.taken == {}


# --- 3. ohp_adjust_mm_bins moves every scanned region to the head --------------------------

def test_code_bin_order_is_reverse_scan_order():
    am = AccessMap(0)
    for s in range(4):
        am.add(s, 100 + s)
    assert am.update([0, 1, 2, 3], np.array([512, 0, 512, 0]), "paper", 400, "code") == 2
    assert list(am.buckets[4]) == [2, 0] and list(am.buckets[0]) == [3, 1]
    # scanned again in list order (2, 0, 3, 1), all stay: the order flips
    am.update(am.list_order(), np.array([512, 512, 0, 0]), "paper", 400, "code")
    assert list(am.buckets[6]) == [0, 2] and list(am.buckets[0]) == [1, 3]
    # paper order: only the regions that change bucket move
    pm = AccessMap(0)
    for s in range(4):
        pm.add(s, 100 + s)
    pm.update([0, 1, 2, 3], np.array([512, 0, 512, 0]), "paper", 400, "paper")
    assert list(pm.buckets[4]) == [0, 2] and list(pm.buckets[0]) == [1, 3]


def test_code_bin_order_promotes_the_last_scanned_first():
    """hot_high_cold_low: the hot region 10 in bucket 4, the cold 0..9 in
    bucket 1, scanned 0..9 at 0.2 s.  bin_order code: bucket 1 then holds
    9, 8, ..., 0, so hawkeye-g promotes 10, 9, ..., 3 at 1 s and 2, 1, 0 at
    2 s; paper order: 10, 0, 1, ..."""
    out = {}
    for order in ("paper", "code"):
        extra = {**NO_FAULT_HUGE, "access_map": {"bin_order": order}}
        g = run(small_spec("hawkeye-g", policy_params=params("hawkeye-g", extra)),
                [hot_high_cold_low])
        out[order] = [r for _, r in log_regions(g.policy)]
        assert [t for t, _, _ in g.policy.promotion_log] == [1.0] * 8 + [2.0] * 3
    assert out == {"paper": [10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                   "code": [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]}
