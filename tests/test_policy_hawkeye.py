"""hawkeye-pmu and hawkeye-g on small hand-made traces: exact expectations.

Times are shortened where a test needs many sampling windows (the options
come from config/config.yaml; tests/test_config.py checks them).
"""
import math

import numpy as np
import pytest

from hpsim.units import HUGE_SIZE, PAGE_SIZE
from machine.constants import FAULT_BASE, PAGES_PER_HUGE
from sim.testing import A, HZ, MIB, compute, run, small_spec
from policies import check_params
from policies.hawkeye.access_map import AccessMap, bucket_of, ema, pending_min_bucket



def region_pages(region: int, n: int, base: int = A) -> np.ndarray:
    """Addresses of the first n pages of region number `region` above base."""
    return base + region * HUGE_SIZE + np.arange(n, dtype=np.uint64) * PAGE_SIZE



def loop(w, addrs, seconds, cycles_per_record, count=10):
    """Touch addrs round and round for about `seconds`; each record is `count`
    accesses of `cycles_per_record / count` cycles (plus its TLB miss)."""
    w.cycles(cycles_per_record // count)
    per_iter = len(addrs) * (cycles_per_record + 80)
    iters = max(1, int(math.ceil(seconds * HZ / per_iter)))
    w.access(np.tile(addrs, iters), True, counts=np.full(len(addrs) * iters, count))


def log_regions(policy, base=A):
    """promotion_log as (process, region number above base)."""
    return [(p, (v - base) // HUGE_SIZE) for _, p, v in policy.promotion_log]


FAST = {   # sampling and profiling windows of 0.2 s, one promotion pass per second
    "access_map": {"period_s": 4, "window_s": 0.2},
    "promotion": {"scan_sleep_millisecs": 1000},
}
FAST_PMU = {**FAST, "pmu": {"interval_s": 4, "window_s": 0.2}}


def params(policy, *extra):
    out = {}
    for e in [FAST_PMU if policy == "hawkeye-pmu" else FAST, *extra]:
        for k, v in e.items():
            out[k] = {**out.get(k, {}), **v} if isinstance(v, dict) else v
    return out


# --- access_map arithmetic --------------------------------------------------------

def test_ema_is_the_codes_integer_formula():
    w, seen = 0, []
    for _ in range(4):
        w = ema(w, 512, 400)
        seen.append(w)
    assert seen == [204, 327, 401, 445]   # (6 w + 4 * 512) // 10 (facts §3.2 rounds to 400, 444)
    assert all(ema(v, n, 400) == (6 * v + 4 * n) // 10
               for v in range(0, 513, 7) for n in range(0, 513, 11))
    assert ema(512, 512, 1000) == 512 and ema(0, 512, 1000) == 512


def test_buckets_paper_linear_and_code_log2():
    assert [bucket_of(w, "paper") for w in (0, 49, 50, 99, 100, 449, 450, 512)] == \
        [0, 0, 1, 1, 2, 8, 9, 9]
    # order_base_2 table of hawkeye-facts §3.2
    table = {0: 0, 1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 8: 3, 9: 4, 16: 4, 17: 5, 32: 5, 33: 6,
             64: 6, 65: 7, 128: 7, 129: 8, 256: 8, 257: 9, 512: 9}
    assert {w: bucket_of(w, "code") for w in table} == table
    assert pending_min_bucket("code") == 2 and bucket_of(3, "code") == 2   # weight >= 3
    assert pending_min_bucket("paper") == 1


def test_regions_that_change_bucket_go_to_its_head():
    am = AccessMap(0)
    for s in range(4):
        am.add(s, 100 + s)
    am.update([0, 1, 2, 3], np.array([512, 0, 512, 0]), "paper", 400)
    assert list(am.buckets[4]) == [0, 2] and list(am.buckets[0]) == [1, 3]
    # slot 1 rises into bucket 4: it goes to the head; 0 and 2 stay where they are
    assert am.list_order() == [0, 2, 1, 3]
    am.update(am.list_order(), np.array([200, 0, 200, 512]), "paper", 400)
    # weights: 0 -> (6*204 + 4*200)//10 = 202 (bucket 4), 2 -> 122 (bucket 2),
    # 1 -> 80 (bucket 1), 3 -> 204 (bucket 4)
    assert am.weight == {0: 202, 1: 80, 2: 122, 3: 204}
    assert list(am.buckets[4]) == [3, 0] and list(am.buckets[2]) == [2]
    assert list(am.buckets[1]) == [1]
    assert am.pop_head(4) == 3 and 3 not in am and am.by_region == {100: 0, 101: 1, 102: 2}


# --- options ------------------------------------------------------------------------

@pytest.mark.parametrize("bad,key", [
    ({"access_map": {"sampling": "both"}}, "access_map.sampling"),
    ({"access_map": {"buckets": "log"}}, "access_map.buckets"),
    ({"access_map": {"period_s": -30}}, "access_map.period_s"),
    ({"access_map": {"window_s": 0}}, "access_map.window_s"),
    ({"access_map": {"ema_alpha": 1.5}}, "access_map.ema_alpha"),
    ({"bloat_recovery": {"trigger_free_pct": 150}}, "bloat_recovery.trigger_free_pct"),
    ({"bloat_recovery": {"target_free_pct": 10}}, "bloat_recovery.target_free_pct"),
    ({"bloat_recovery": {"period_s": -1}}, "bloat_recovery.period_s"),
    ({"prezero": {"sleep_ms": 0}}, "prezero.sleep_ms"),
    ({"promotion": {"scan_sleep_millisecs": -10}}, "promotion.scan_sleep_millisecs"),
    ({"pmu": {"stop_below_pct": 101}}, "pmu.stop_below_pct"),
    ({"pmu": {"smoothing": "ema"}}, "pmu.smoothing"),
    ({"pmu": {"interval_s": -10}}, "pmu.interval_s"),
    ({"fault_huge": "yes"}, "fault_huge"),
])
def test_out_of_range_options_name_their_key(bad, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        check_params("hawkeye-pmu", bad)


def test_hawkeye_g_has_no_pmu_options():
    with pytest.raises(ValueError, match="unknown option"):
        check_params("hawkeye-g", {"pmu": {}})


# --- fault path and pre-zeroing -------------------------------------------------------

def one_write_per_region(n, base=A):
    def body(w):
        w.mmap(base, n * HUGE_SIZE)
        w.access(base + np.arange(n, dtype=np.uint64) * HUGE_SIZE, True)
    return body


@pytest.mark.parametrize("policy", ["hawkeye-pmu", "hawkeye-g"])
def test_huge_fault_on_prezeroed_block_costs_the_base_cost_only(policy):
    """64 MiB = 32 blocks; the pre-zeroing thread zeroes 20 per second from
    t = 0, so at t = 3 s every free block is zeroed: eight 2 MiB faults then
    cost fault_base_2m_us (6.3 us) each instead of 6.3 + 512 x 0.4."""
    sim = run(small_spec(policy), [one_write_per_region(8)], starts=[3.0])
    s = sim.summary().iloc[0]
    assert s.faults_2m == 8 and s.faults_prezeroed == 8 and s.faults_4k == 0
    assert s.mean_fault_latency_us == pytest.approx(6.3, abs=1e-3)
    assert s.zeroing_time_s == 0
    th = sim.threads_table().set_index("thread")
    # 32 blocks zeroed in the background, 512 x 0.4 us each
    assert th.loc["asynczero", "cpu_s"] == pytest.approx(32 * 512 * 0.4e-6, rel=1e-3)
    sim.m.check_invariants()


def test_without_prezeroing_or_at_boot_a_huge_fault_zeroes():
    off = run(small_spec("hawkeye-pmu", policy_params={"prezero": {"enabled": False}}),
              [one_write_per_region(8)], starts=[3.0]).summary().iloc[0]
    assert off.faults_2m == 8 and off.faults_prezeroed == 0
    assert off.mean_fault_latency_us == pytest.approx(6.3 + 512 * 0.4, abs=1e-3)
    thp = run(small_spec("linux-thp"), [one_write_per_region(8)], starts=[3.0])
    assert thp.summary().iloc[0].mean_fault_latency_us == pytest.approx(211.1, abs=1e-3)


def test_fault_huge_false_is_the_public_codes_4k_fault_path():
    sim = run(small_spec("hawkeye-g", policy_params={"fault_huge": False}),
              [one_write_per_region(4)])
    s = sim.summary().iloc[0]
    assert s.faults_2m == 0 and s.faults_4k == 4
    # every region registered at its first 4 KiB fault, in bucket 0
    am = sim.policy.maps[0]
    assert len(am) == 4 and len(am.buckets[0]) == 4
    sim.m.check_invariants()


# --- bloat recovery ---------------------------------------------------------------------

def sparse_writer(n_regions, seconds):
    """One written page per 2 MiB region, then a long computation."""
    def body(w):
        w.mmap(A, n_regions * HUGE_SIZE)
        w.access(A + np.arange(n_regions, dtype=np.uint64) * HUGE_SIZE, True)
        compute(w, seconds)
    return body


PERIODIC = {"bloat_recovery": {"wake_on_pressure": False}}   # remove.c: its period only


def test_bloat_recovery_returns_rss_to_the_written_memory_linux_keeps_bloat():
    """128 MiB, 70% held by other tenants: 19 free blocks.  19 regions with one
    written page each fault huge and fill memory (free 0% < 15%).  On its
    period only (the code), the 120 s pass (the pass at start found free memory)
    releases all 19 x 511 zero pages (free is then 29.6%, still under the 30%
    target): RSS = the 19 written pages.  linux-thp keeps 19 huge pages."""
    n = 19
    out = {}
    for policy in ("hawkeye-pmu", "hawkeye-g", "linux-thp"):
        sim = run(small_spec(policy, memory_mib=128, tenant_fraction=0.7,
                             policy_params=PERIODIC if policy != "linux-thp" else None),
                  [sparse_writer(n, 130)])
        sim.m.check_invariants()
        ts = {round(r["time_s"]): r for r in sim.rows}
        out[policy] = sim
        assert ts[119]["rss_bytes"] == n * HUGE_SIZE       # huge at first fault
        assert ts[0]["free_bytes"] == n * HUGE_SIZE and ts[119]["free_bytes"] == 0
        if policy == "linux-thp":
            assert ts[130]["rss_bytes"] == n * HUGE_SIZE and ts[130]["bloat_bytes"] == n * 511 * PAGE_SIZE
            continue
        written = n * PAGE_SIZE
        assert ts[121]["rss_bytes"] <= 1.05 * written
        assert ts[121]["rss_bytes"] == written and ts[121]["bloat_bytes"] == 0
        c = sim.policy.counters()
        assert c["hawkeye_bloat_passes"] == 1 and c["hawkeye_bloat_regions_split"] == n
        assert c["hawkeye_bloat_pages_released"] == n * 511
        s = sim.summary().iloc[0]
        assert s.splits == n and s.final_huge_pages == 0
        # cost: per region 511 zero pages read whole + 1 page up to byte 9.11,
        # at 10 GB/s, + 2 us split + 511 x 0.1 us freeing
        th = sim.threads_table().set_index("thread")
        per_region = (511 * 4096 + 9.11) / 10e9 + 2e-6 + 511 * 0.1e-6
        assert th.loc["bloat_recovery", "cpu_s"] == pytest.approx(n * per_region, rel=1e-6)


def test_under_pressure_recovery_runs_at_the_fault_that_crosses_the_trigger():
    """The paper's recovery "under high memory pressure", woken as kswapd is,
    by the allocation that crosses its watermark.  128 MiB, 70% held by
    tenants: 19 free blocks (9728 frames).  The trigger is free < 15% of 32768
    frames, i.e. < 4916: the 10th huge fault (free 9728 - 10 x 512 = 4608)
    crosses it, and the pass runs there, in the middle of the first step
    (sample interval 0.5 s).  It splits those 10 huge pages (5110 zero pages;
    free 9718, short of the 30% goal, 9831), and faults 11-19 leave 5110 free
    frames, above the trigger: no second pass, 9 huge pages kept.  (Woken at
    the end of the step, as before, the pass found all 19 and split them.)"""
    n = 19
    sim = run(small_spec("hawkeye-pmu", memory_mib=128, tenant_fraction=0.7,
                         sample_interval_s=0.5), [sparse_writer(n, 10)])
    assert sim.m.watermark_frames(15) == 4916
    c = sim.policy.counters()
    assert c["hawkeye_bloat_passes"] == 1 and c["hawkeye_bloat_regions_split"] == 10
    assert c["hawkeye_bloat_pages_released"] == 10 * 511
    splits = [e for e in sim.m.events if e["event"] == "split"]
    assert len(splits) == 10 and max(e["time_s"] for e in splits) < 0.5
    ts = {r["time_s"]: r for r in sim.rows}
    assert ts[0.5]["rss_bytes"] == 10 * PAGE_SIZE + 9 * HUGE_SIZE
    assert ts[0.5]["free_bytes"] == 5110 * PAGE_SIZE
    sim.m.check_invariants()


def test_recovery_finishes_the_huge_page_it_started():
    """remove.c tests its goal after a whole huge page.  Trigger and target
    15% of 32768 frames = 4916 (ceil), 19 free blocks (9728 frames).  The 10th
    huge fault leaves 4608 free: the pass needs 308 frames and releases all 511
    zero pages of the first huge page (5119 free).  Each later fault takes free
    memory below 4916 again (5119 - 512 = 4607), a new crossing, and its pass
    releases one whole huge page (511, where 309 would reach the goal): 10
    passes, 10 huge pages, 5110 pages, 5110 frames free at the end."""
    spec = small_spec("hawkeye-g", memory_mib=128, tenant_fraction=0.7,
                      policy_params={"bloat_recovery": {"target_free_pct": 15}})
    sim = run(spec, [sparse_writer(19, 10)])
    c = sim.policy.counters()
    assert math.ceil(0.15 * sim.m.total_frames) == 4916
    assert c["hawkeye_bloat_passes"] == 10
    assert c["hawkeye_bloat_regions_split"] == 10 and c["hawkeye_bloat_pages_released"] == 5110
    assert sim.m.free_frames == 5110


def test_bloat_recovery_is_not_triggered_above_15_percent_free():
    sim = run(small_spec("hawkeye-pmu", memory_mib=128), [sparse_writer(19, 130)])
    c = sim.policy.counters()
    assert c["hawkeye_bloat_passes"] == 0 and sim.summary().iloc[0].final_huge_pages == 19


def test_split_regions_are_not_registered_again():
    """After recovery, writing to released pages faults them in at 4 KiB; the
    region does not become a promotion candidate again (code: ohp_enter only
    on an empty PMD)."""
    n = 19

    def body(w):
        w.mmap(A, n * HUGE_SIZE)
        w.access(A + np.arange(n, dtype=np.uint64) * HUGE_SIZE, True)
        compute(w, 125)
        w.access(region_pages(0, 8) + PAGE_SIZE, True)     # 8 released pages of region 0
        compute(w, 5)
    sim = run(small_spec("hawkeye-g", memory_mib=128, tenant_fraction=0.7,
                         policy_params=PERIODIC), [body])
    s = sim.summary().iloc[0]
    assert s.faults_4k == 8 and sim.policy.counters()["hawkeye_regions_registered"] == 0
    assert len(sim.policy.maps[0]) == 0
    sim.m.check_invariants()


def test_bloat_recovery_takes_the_lowest_mmu_overhead_process_first():
    """256 MiB, half held by tenants.  p0 ("H") has 20 huge regions with one
    written page each and a hot loop over 2044 4 KiB pages (TLB misses: MMU
    overhead 2%); p1 ("L") has 32 such regions and only computes (overhead
    measured as the minimum 1%).  Memory is then nearly full; at the 1 s pass
    the target (30% free) is reached inside L's regions, so H keeps all its
    huge pages although it has the lower pid."""
    def heavy(w):
        w.mmap(A, 20 * HUGE_SIZE)
        w.access(A + np.arange(20, dtype=np.uint64) * HUGE_SIZE, True)
        hot = []
        for k in range(4):          # 4 VMAs, none holding a whole 2 MiB region
            base = A + (64 + 2 * k) * HUGE_SIZE + PAGE_SIZE
            w.mmap(base, HUGE_SIZE - PAGE_SIZE)
            hot.append(base + np.arange(511, dtype=np.uint64) * PAGE_SIZE)
        loop(w, np.concatenate(hot), 0.8, 3000)
        compute(w, 1.5)

    light = sparse_writer(32, 2.5)
    spec = small_spec("hawkeye-pmu", memory_mib=256, tenant_fraction=0.5,
                      sample_interval_s=0.5,
                      policy_params={"bloat_recovery": {"period_s": 1, "wake_on_pressure": False},
                                     "pmu": {"interval_s": 0.5, "window_s": 0.2}})
    sim = run(spec, [heavy, light])
    m = sim.m
    m.check_invariants()
    # overheads measured in [0.5, 0.7]: H 80 / 3080 -> 2%, L -> the minimum 1%
    assert sim.policy.bloat.last_order == [(1, 1.0), (0, 2.0)]
    ts = {(r["process"], r["time_s"]): r for r in sim.rows}
    free_before = ts[("p0", 0.5)]["free_bytes"] // PAGE_SIZE
    goal = math.ceil(0.30 * m.total_frames)
    assert free_before < 0.15 * m.total_frames
    released = sim.policy.counters()["hawkeye_bloat_pages_released"]
    # whole huge pages: the goal is tested after each (remove.c)
    assert released == math.ceil((goal - free_before) / 511) * 511
    s = sim.summary().set_index("process")
    assert s.loc["p0", "final_huge_pages"] == 20 and s.loc["p0", "splits"] == 0
    assert s.loc["p1", "splits"] == math.ceil(released / 511)
    assert s.loc["p1", "final_huge_pages"] == 32 - math.ceil(released / 511)


# --- promotion order -----------------------------------------------------------------

def hot_high_cold_low(w):
    """Regions 0..9 (low addresses): 130 pages each; region 10: all 512 pages.
    Touched round and round for 0.3 s (TLB misses: MMU overhead 3%), then compute."""
    w.mmap(A, 11 * HUGE_SIZE)
    addrs = np.concatenate([region_pages(r, 130) for r in range(10)] + [region_pages(10, 512)])
    loop(w, addrs, 0.3, 2000)
    compute(w, 3, addr=A)


@pytest.mark.parametrize("buckets", ["paper", "code"])
def test_hot_high_region_is_promoted_before_cold_low_ones(buckets):
    """At 0.2 s the hot region's weight is 204 (paper bucket 4 / code bin 8),
    the cold ones' 52 (bucket 1 / bin 6).  The first pass (t = 1 s):
    hawkeye-g takes the hot one, then the cold ones in order, 8 in all;
    hawkeye-pmu the same: its process (11 pending) is the pass's target and
    the pass does its 8 promotions for it; at the next pass 3 are pending
    (< 8), so no target; linux-thp collapses regions 0..7."""
    extra = {"fault_huge": False, "access_map": {"buckets": buckets}}
    g = run(small_spec("hawkeye-g", policy_params=params("hawkeye-g", extra)),
            [hot_high_cold_low])
    assert log_regions(g.policy) == [("p0", r) for r in [10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]
    assert [t for t, _, _ in g.policy.promotion_log] == [1.0] * 8 + [2.0] * 3
    pmu = run(small_spec("hawkeye-pmu", policy_params=params("hawkeye-pmu", extra)),
              [hot_high_cold_low])
    assert pmu.m.procs[0].mmu_overhead_pct == 3
    assert log_regions(pmu.policy) == [("p0", r) for r in [10, 0, 1, 2, 3, 4, 5, 6]]
    for sim in (g, pmu):
        sim.m.check_invariants()
        assert sim.summary().iloc[0].promotions == len(sim.policy.promotion_log)

    spec = small_spec("linux-thp", policy_params={"khugepaged": {"scan_sleep_millisecs": 1000}})
    spec["run"]["max_time_s"] = 1.5
    thp = run(spec, [hot_high_cold_low], run_sim=False)
    thp.m.set_fault_mode(FAULT_BASE)      # regions start at 4 KiB, as for HawkEye
    thp.run()
    pr = thp.m.procs[0]
    huge = [r - (A >> 21) for r, s in sorted(pr.region_slot.items()) if thp.m.rg.huge[s]]
    assert huge == list(range(8))
    thp.m.check_invariants()


def sweeper(n_regions, pages_per_region, seconds, cycles_per_record, then=3.0):
    def body(w):
        w.mmap(A, n_regions * HUGE_SIZE)
        # page-major order: every region is covered evenly within each sweep
        idx = np.arange(pages_per_region, dtype=np.uint64)[:, None] * PAGE_SIZE
        addrs = (A + np.arange(n_regions, dtype=np.uint64) * HUGE_SIZE + idx).ravel()
        loop(w, addrs, seconds, cycles_per_record)
        compute(w, then)
    return body


def test_pmu_serves_the_highest_mmu_overhead_process_first():
    """Two processes with 12 regions of 200 accessed pages each; p1's loop
    misses the TLB every 1200 cycles (6%), p0's every 3000 (2%).  The target
    is chosen once per pass (ohp_get_target_mm) and gets the whole pass
    (khugepaged_promote_mm: 4096 / 512 = 8 promotions): pass 1 (t = 1 s) p1
    x8; pass 2, p1 has 4 pending (< 8), so p0 x8; pass 3, neither has 8.
    hawkeye-g, blind to the overhead, alternates."""
    bodies = [sweeper(12, 200, 0.25, 3000), sweeper(12, 200, 0.25, 1200)]
    extra = {"fault_huge": False}
    pmu = run(small_spec("hawkeye-pmu", policy_params=params("hawkeye-pmu", extra)), bodies)
    p0, p1 = pmu.m.procs
    assert (p0.mmu_overhead_pct, p1.mmu_overhead_pct) == (2, 6)
    log = [(t, p) for t, p, _ in pmu.policy.promotion_log]
    assert log == [(1.0, "p1")] * 8 + [(2.0, "p0")] * 8
    assert log_regions(pmu.policy) == [("p1", r) for r in range(8)] + \
        [("p0", r) for r in range(8)]
    pmu.m.check_invariants()

    g = run(small_spec("hawkeye-g", policy_params=params("hawkeye-g", extra)), bodies)
    assert [p for _, p, _ in g.policy.promotion_log[:8]] == ["p0", "p1"] * 4
    g.m.check_invariants()


def test_pmu_stops_below_2_percent_overhead_unless_switched_off():
    body = sweeper(12, 200, 0.25, 10000)       # 80 / 10080: 0.8% -> reported as 1%
    extra = {"fault_huge": False}
    pmu = run(small_spec("hawkeye-pmu", policy_params=params("hawkeye-pmu", extra)), [body])
    assert pmu.m.procs[0].mmu_overhead_pct == 1 and pmu.policy.promotion_log == []
    off = run(small_spec("hawkeye-pmu", policy_params=params(
        "hawkeye-pmu", extra, {"pmu": {"stop_below_pct": 0}})), [body])
    # 12 pending: one pass of 8 promotions; then 4 are pending (< 8)
    assert len(off.policy.promotion_log) == 8


def test_hawkeye_g_round_robins_between_equally_hot_processes():
    """Three processes, four regions each, every page touched in every window:
    all regions land in one bucket; hawkeye-g takes one region per process in
    turn (the served process moves to the list tail), 8 per pass."""
    bodies = [sweeper(4, 512, 0.25, 2000) for _ in range(3)]
    g = run(small_spec("hawkeye-g", policy_params=params("hawkeye-g", {"fault_huge": False})),
            bodies)
    expect = [(1.0, f"p{i % 3}", i // 3) for i in range(8)] + \
             [(2.0, f"p{i % 3}", i // 3) for i in range(8, 12)]
    assert [(t, p, (v - A) // HUGE_SIZE) for t, p, v in g.policy.promotion_log] == expect
    assert all(s.final_huge_pages == 4 for s in g.summary().itertuples())
    g.m.check_invariants()


def test_hawkeye_g_takes_higher_buckets_first_across_processes():
    """p0: 2 regions with all pages hot + 2 with 130 pages; p1: 2 regions with
    130 pages.  Weights at 0.2 s: 204 (bucket 4) and 52 (bucket 1).  Order:
    the two hot regions of p0, then bucket 1 round-robin starting with p1
    (p0 went to the list tail when it was served)."""
    def p0(w):
        w.mmap(A, 4 * HUGE_SIZE)
        addrs = np.concatenate([region_pages(0, 512), region_pages(1, 512),
                                region_pages(2, 130), region_pages(3, 130)])
        loop(w, addrs, 0.25, 2000)
        compute(w, 3)

    def p1(w):
        w.mmap(A, 2 * HUGE_SIZE)
        loop(w, np.concatenate([region_pages(0, 130), region_pages(1, 130)]), 0.25, 2000)
        compute(w, 3)
    g = run(small_spec("hawkeye-g", policy_params=params("hawkeye-g", {"fault_huge": False})),
            [p0, p1])
    assert log_regions(g.policy) == [("p0", 0), ("p0", 1), ("p1", 0), ("p0", 2),
                                     ("p1", 1), ("p0", 3)]
    g.m.check_invariants()


# --- sampling -----------------------------------------------------------------------

def test_code_sampling_takes_processes_one_window_each_then_sleeps():
    """sampling: code — the first round finds no process (t = 0, nothing mapped
    yet) and sleeps 5 s; then p0's window [5, 6], p1's [6, 7], sleep to 12."""
    bodies = [sweeper(2, 512, 0.01, 2000, then=14) for _ in range(2)]
    spec = small_spec("hawkeye-g", policy_params={
        "fault_huge": False, "access_map": {"sampling": "code"}})
    sim = run(spec, bodies, run_sim=False)
    wakes = []
    kbin = next(t for t in sim.threads if t.name == "kbinmanager")
    work = kbin.work

    def spy(now):
        wakes.append(now)
        return work(now)
    kbin.work = spy
    sim.run()
    assert wakes[:6] == [0.0, 5.0, 6.0, 7.0, 12.0, 13.0]
    assert sim.policy.kbin.samples == 4


def test_munmap_drops_candidates():
    def body(w):
        w.mmap(A, 4 * HUGE_SIZE)
        w.access(A + np.arange(4, dtype=np.uint64) * HUGE_SIZE, True)
        w.munmap(A + HUGE_SIZE, HUGE_SIZE + PAGE_SIZE)     # region 1 gone, region 2 no longer whole
        compute(w, 1, addr=A)
    sim = run(small_spec("hawkeye-g", policy_params={"fault_huge": False}), [body])
    am = sim.policy.maps[0]
    assert sorted(am.by_region) == [A >> 21, (A >> 21) + 3]
    sim.m.check_invariants()


def test_pmu_round_robins_between_processes_of_equal_overhead():
    """Equal overheads (3%): the chosen process moves to the list tail, so the
    passes alternate, 8 promotions each; then each has 4 pending (< 8)."""
    bodies = [sweeper(12, 200, 0.25, 2000) for _ in range(2)]
    pmu = run(small_spec("hawkeye-pmu", policy_params=params("hawkeye-pmu",
                                                             {"fault_huge": False})), bodies)
    assert [p.mmu_overhead_pct for p in pmu.m.procs] == [3, 3]
    assert [(t, p) for t, p, _ in pmu.policy.promotion_log] == \
        [(1.0, "p0")] * 8 + [(2.0, "p1")] * 8
    pmu.m.check_invariants()


def test_pmu_code_smoothing_keeps_the_kernels_integer_ema():
    """smoothing: code — weight = (8 old + 2 new) // 10: after one sample p1
    (6%) has weight 1 and p0 (2%) weight 0, so only p1 is ever eligible
    (with the 2% stop switched off, as in the code)."""
    bodies = [sweeper(12, 200, 0.25, 3000), sweeper(12, 200, 0.25, 1200)]
    pmu = run(small_spec("hawkeye-pmu", policy_params=params(
        "hawkeye-pmu", {"fault_huge": False},
        {"pmu": {"smoothing": "code", "stop_below_pct": 0}})), bodies)
    assert pmu.policy.profiler.weight == {0: 0, 1: 1}
    assert [p for _, p, _ in pmu.policy.promotion_log] == ["p1"] * 8


def test_start_zeroed_fraction_models_a_machine_idle_before_the_run():
    spec = small_spec("hawkeye-pmu", policy_params={"prezero": {"start_zeroed_fraction": 1.0}})
    s = run(spec, [one_write_per_region(8)]).summary().iloc[0]
    assert s.faults_2m == 8 and s.faults_prezeroed == 8
    assert s.mean_fault_latency_us == pytest.approx(6.3, abs=1e-3)
