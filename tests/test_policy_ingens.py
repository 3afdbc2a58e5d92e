"""ingens (90% utilisation worklist, khugepaged, fairness, access scanner,
FMFI switch) on small hand-made traces, exact counts, 64 MiB machine."""
from collections import Counter

import numpy as np
import pytest

from sim.testing import A, HZ, MIB, compute, pages, run, small_spec
from policies.base import check_params
from policies.ingens import util_trigger

B = A + (1 << 30)       # a second process's base




def huge_at(sim, t, process="p0"):
    return [r["huge_pages"] for r in sim.rows
            if r["process"] == process and abs(r["time_s"] - t) < 1e-9][0]


@pytest.mark.parametrize("util,trigger", [(90, 460), (100, 512), (50, 256), (0, 1), (1, 5)])
def test_trigger_is_the_codes_integer_division(util, trigger):
    assert util_trigger(util) == trigger       # (util_threshold * 512) / 100, at least 1


def test_459_pages_stay_4k_and_the_460th_promotes_via_the_worklist():
    """459 written pages: khugepaged's scan at t=10 s examines the region and
    leaves it (under-utilised).  The 460th page at t~12 s puts the region on
    the worklist and wakes khugepaged, which collapses it at once (the
    simulation ends the step at the wake-up): 52 zero-filled pages are bloat."""
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 459), True)
        compute(w, 12)
        w.access(pages(459, 1), True)
        compute(w, 2)
    sim = run(small_spec("ingens"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert huge_at(sim, 12.0) == 0 and huge_at(sim, 13.0) == 1
    assert s.faults_4k == 460 and s.faults_2m == 0 and s.promotions == 1
    assert s.ingens_worklist_added == 1 and s.ingens_worklist_promoted == 1
    assert s.ingens_scan_promoted == 0 and s.final_huge_pages == 1
    assert s.peak_rss_bytes == 512 * 4096 and s.peak_bloat_bytes == 52 * 4096
    log = [(t, via) for t, _, _, via in sim.policy.promotion_log]
    assert len(log) == 1 and log[0][1] == "worklist"
    # 460 faults of 1.6 us + 12 s of compute, then the collapse's copy time
    t_460th = 460 * 1.6e-6 + 12.0
    copy_s = (460 * 0.5 + 52 * 0.4) * 1e-6
    assert log[0][0] == pytest.approx(t_460th + copy_s, abs=2e-5)


def test_fault_count_and_latency_equal_linux_4k_on_a_buffer_touch():
    def body(w):
        w.mmap(A, 16 * MIB)
        w.access(pages(0, 4096), True)
        compute(w, 3)
        w.munmap(A, 16 * MIB)
    cols = ["faults", "faults_4k", "faults_2m", "faults_zeropage", "fault_time_s",
            "mean_fault_latency_us", "p50_fault_latency_us", "p99_fault_latency_us"]
    sims = {p: run(small_spec(p), [body]) for p in ("linux-4k", "ingens")}
    for sim in sims.values():
        sim.m.check_invariants()
    a, b = (sims[p].summary().iloc[0] for p in ("linux-4k", "ingens"))
    assert a[cols].to_dict() == b[cols].to_dict()
    assert b.faults_4k == 4096 and b.mean_fault_latency_us == pytest.approx(1.6)
    assert a.promotions == 0 and b.promotions == 8   # all 8 regions collapsed meanwhile
    assert (sims["ingens"].hist_table()["count"].tolist()
            == sims["linux-4k"].hist_table()["count"].tolist())


def test_worklist_entries_are_promoted_right_after_their_trigger():
    """20 regions reach the threshold one after another: each trigger wakes
    khugepaged, whose collapse becomes visible once it has copied the region
    (460 x 0.5 us + 52 x 0.4 us); no entry waits for the 10 s scan period."""
    def body(w):
        w.mmap(A, 40 * MIB)
        w.access(pages(0, 20 * 512), True)
        compute(w, 2)
    sim = run(small_spec("ingens"), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.ingens_worklist_added == 20 and s.ingens_worklist_promoted == 20
    assert s.faults_4k == 20 * 512          # the program outruns each collapse
    times = [t for t, _, _, via in sim.policy.promotion_log]
    assert times == sorted(times) and len(set(times)) == 20
    assert times[-1] < 0.05                 # all within the touch, no 10 s sleep
    gaps = np.diff(times)                   # one region's 512 faults apart
    assert np.allclose(gaps, gaps[0], rtol=0.01)


def test_khugepaged_serves_at_most_8_worklist_entries_per_pass():
    """Queue 20 entries at once (direct calls): passes collapse 8, 8, 4 and
    the next pass starts as soon as the previous one's CPU time has elapsed."""
    def body(w):
        w.mmap(A, 40 * MIB)
        w.access(pages(0, 20 * 512), True)
        compute(w, 5)
    spec = small_spec("ingens", policy_params={"util_threshold": 100})
    spec["run"]["max_time_s"] = 0.5
    sim = run(spec, [body], run_sim=False)
    pol = sim.policy
    pol.on_trigger = lambda *a: None         # fill all 20 regions first
    sim.run()
    pr = sim.m.procs[0]
    for r, slot in sorted(pr.region_slot.items()):
        pol.worklist.append((pr.pid, slot))
        pol.queued.add(slot)
    t0 = 1.0
    sleeps = []
    while pol.worklist:
        before = len(pol.promotion_log)
        sleeps.append((pol.khugepaged(t0), len(pol.promotion_log) - before))
        t0 += sleeps[-1][0]
    assert [n for _, n in sleeps] == [8, 8, 4]
    pass_cycles = 8 * 512 * round(0.5e-6 * HZ) + 8 * 512 * 2.0e-9 * HZ
    assert sleeps[0][0] == pytest.approx(pass_cycles / HZ)
    assert sleeps[1][0] == pytest.approx(pass_cycles / HZ)


def _fairness_run(params):
    """p0: 2 regions, p1: 4 regions, 470 written pages each.  Each region is
    populated while its VMA stops one page short of the region (not
    THP-eligible: the trigger does not queue it), then the missing page is
    mapped (the VMAs merge), so only khugepaged's scans can promote it.
    khugepaged and the access scanner both wake every second (scanner first);
    one collapse per pass (pages_to_scan 512)."""
    def proc(base, nreg):
        def body(w):
            for r in range(nreg):
                start = base + r * 4 * MIB
                w.mmap(start, 2 * MIB - 4096)
                w.access(pages(0, 470, base=start), True)
                w.mmap(start + 2 * MIB - 4096, 4096)
            compute(w, 9, addr=base)
        return body
    params = {"khugepaged": {"scan_sleep_millisecs": 1000, "pages_to_scan": 512},
              "scand": {"scan_sleep_millisecs": 1000}, **params}
    sim = run(small_spec("ingens", policy_params=params), [proc(A, 2), proc(B, 4)])
    sim.m.check_invariants()
    return sim


def test_without_fairness_khugepaged_scans_processes_in_order():
    sim = _fairness_run({})
    assert [(t, pid) for t, pid, _, _ in sim.policy.promotion_log] == \
        [(1.0, 0), (2.0, 0), (3.0, 1), (4.0, 1), (5.0, 1), (6.0, 1)]
    assert sim.summary()["ingens_worklist_added"].iloc[0] == 0


def test_fairness_picks_the_process_with_fewest_huge_pages_per_requirement():
    """M = weight * (rss // 512) * 100 / max(1, huge pages), from the access
    scan that just ran, strict '>' over a floor of 1 (ties: first process).
    t=1: M0 = 1*100/1, M1 = 3*100/1 -> p1; t=2: M1 = 300/1 -> p1;
    t=3: M1 = 300/2 -> p1; t=4: M1 = 300/3 = 100 = M0 -> p0 (tie);
    t=5: M0 = 1*100/1 = M1 -> p0; t=6: M0 = 2*100/2 = M1 -> p0, which has
    nothing left: as in the released code p1's last region starves."""
    sim = _fairness_run({"fairness": True})
    log = [(t, pid, via) for t, pid, _, via in sim.policy.promotion_log]
    assert log == [(1.0, 1, "fairness"), (2.0, 1, "fairness"), (3.0, 1, "fairness"),
                   (4.0, 0, "fairness"), (5.0, 0, "fairness")]
    s = sim.summary().set_index("process")
    assert s.loc["p0", "final_huge_pages"] == 2 and s.loc["p1", "final_huge_pages"] == 3
    assert sim.policy.stats[1]["total_bpage_count"] == 470   # one 4 KiB region left


def test_fairness_skip_exhausted_gives_the_last_region_to_the_other_process():
    sim = _fairness_run({"fairness": True, "fairness_skip_exhausted": True})
    assert [pid for _, pid, _, _ in sim.policy.promotion_log] == [1, 1, 1, 0, 0, 1]
    assert [t for t, _, _, _ in sim.policy.promotion_log][-1] == 6.0


def test_fairness_weights_scale_the_metric():
    """Weight 4 for p0: M0 = 4*1*100 = 400 > M1 = 300 at t=1 -> p0 first."""
    sim = _fairness_run({"fairness": True, "process_weights": {"p0": 4}})
    assert [pid for _, pid, _, _ in sim.policy.promotion_log][:2] == [0, 0]


def test_access_scan_counts_idle_pages_and_keeps_regions_referenced():
    """The scanner clears accessed bits every 4 s; region 1, never touched
    again, is all idle at the second scan (t=8 s; page 0 of region 0 maps the
    zero page, not counted), yet khugepaged (t=10 s) still finds it referenced
    (page-young kept) and collapses it."""
    def body(w):
        w.mmap(A, 4 * MIB - 4096)                   # region 1 not whole yet
        w.access(pages(512, 470), True)
        w.mmap(A + 4 * MIB - 4096, 4096)
        compute(w, 11)                               # only page 0 of region 0
    sim = run(small_spec("ingens"), [body])
    sim.m.check_invariants()
    st = sim.policy.stats[0]
    assert st == {"hpage_requirement": 470 // 512, "total_hpage_count": 0,
                  "idle_hpage_count": 0, "total_bpage_count": 470, "idle_bpage_count": 470}
    assert [(t, via) for t, _, _, via in sim.policy.promotion_log] == [(10.0, "scan")]
    # passes at 4, 8 and 12 s (the last after the process ended: it is skipped)
    assert sim.threads_table().set_index("thread").loc["ingens-scand", "passes"] == 3


def test_adaptive_fmfi_faults_huge_on_unfragmented_memory():
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 1024), True)
        compute(w, 1)
    sim = run(small_spec("ingens", policy_params={"adaptive_fmfi": True}), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.faults_2m == 2 and s.faults_4k == 0 and s.final_huge_pages == 2


def test_adaptive_fmfi_faults_4k_on_fragmented_memory():
    """Every block holds an unmovable page (fragmentation 1.0): FMFI = 1."""
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 1024), True)
        compute(w, 1)
    sim = run(small_spec("ingens", policy_params={"adaptive_fmfi": True},
                         fragmentation=1.0), [body])
    sim.m.check_invariants()
    assert sim.m.fmfi() == 1.0
    s = sim.summary().iloc[0]
    assert s.faults_2m == 0 and s.faults_4k == 1024 and s.final_huge_pages == 0


def test_adaptive_fmfi_switches_to_conservative_when_fmfi_reaches_half():
    """16 of 32 blocks hold one unmovable page: FMFI = 1 - 16*512/16368 =
    0.4995, aggressive: region 0 faults huge.  Now FMFI = 1 - 15*512/15856 =
    0.516; the access scan at t=4 s switches to the deferred mode, so region 1
    (touched at t~5 s) faults in 4 KiB pages and is promoted through the
    worklist at the next sample point (t=6 s)."""
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 512), True)
        compute(w, 5)
        w.access(pages(512, 512), True)
        compute(w, 2)
    sim = run(small_spec("ingens", policy_params={"adaptive_fmfi": True},
                         fragmentation=0.5), [body])
    sim.m.check_invariants()
    s = sim.summary().iloc[0]
    assert s.faults_2m == 1 and s.faults_4k == 512 and s.ingens_fmfi_switches == 1
    log = [(t, via) for t, _, _, via in sim.policy.promotion_log]
    assert len(log) == 1 and log[0][1] == "worklist" and 5.0 < log[0][0] < 5.01
    assert s.final_huge_pages == 2


@pytest.mark.parametrize("params,key", [
    ({"util_threshold": 101}, "util_threshold"),
    ({"util_threshold": -1}, "util_threshold"),
    ({"util_threshold": 90.5}, "util_threshold"),
    ({"khugepaged": {"scan_sleep_millisecs": 0}}, "khugepaged.scan_sleep_millisecs"),
    ({"khugepaged": {"pages_to_scan": -8}}, "khugepaged.pages_to_scan"),
    ({"khugepaged": {"max_ptes_none": 512}}, "khugepaged.max_ptes_none"),
    ({"scand": {"scan_sleep_millisecs": 0}}, "scand.scan_sleep_millisecs"),
    ({"fmfi_threshold": 1.5}, "fmfi_threshold"),
    ({"process_weights": {"p0": -1}}, "process_weights.p0"),
    ({"default_weight": 0.5}, "default_weight"),
    ({"fairness": 1}, "fairness"),
    ({"adaptive_fmfi": True, "scand": {"enabled": False}}, "adaptive_fmfi"),
    ({"deferred_mode": 2}, "unknown option"),
])
def test_options_are_validated_by_key(params, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        check_params("ingens", params)
