"""The machine's invariants per policy, policy code included (issue #11 item 9).

For every registered policy (``policies.REGISTRY``), hypothesis writes random
traces for one or two processes (mmap/munmap of a few regions, some of them
not 2 MiB aligned, reads and writes, madvise(DONTNEED), remap = munmap then
mmap again, sleeps and busy loops long enough for the policy's background
threads to run), picks random pressure (fragmentation, tenant_fraction,
memory size) and random policy switches, and runs them through the real run
layer (``sim.simulate.Simulation``).  ``Machine.check_invariants`` (frames
conserved, no frame mapped twice, huge mappings aligned, RSS and huge-page
counters agree with the page tables, no stale TLB entry) runs after every
piece of a step: each process's advance, each trace event it hands over,
each policy hook (population trigger, memory shortage) and each background
thread pass.  The background threads wake every 0.2..1 s of simulated time
(``FAST``) instead of every 10..120 s.

Two profiles: the short one (``test_invariants_per_policy``, a few dozen
examples per policy) runs in CI; the long one (``test_invariants_per_policy_long``,
marked ``long``, ``HPSIM_LONG_EXAMPLES`` examples per policy, default 10,000)
runs with ``python -m pytest -m long tests/test_policy_invariants.py``.

Coverage is asserted by deterministic scenarios below: each policy's own
mechanism acts (khugepaged collapse, Ingens's collapse, HawkEye's promotion
under hawkeye-pmu and hawkeye-g, its bloat-recovery split, FreeBSD's
promotion in place), with the invariants checked throughout.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from hpsim.units import HUGE_SIZE, PAGE_SIZE, PAGES_PER_HUGE
from hpsim.options import merge
from machine.constants import G_FREE_FRAMES
from policies import REGISTRY
from sim.testing import A, HZ, run, small_spec

N_REGIONS = 4                            # each process's address window: 4 regions at A
N_PAGES = N_REGIONS * PAGES_PER_HUGE
CYCLES = 1000                            # compute cycles per access
THRASH_CYCLES = 2000                     # ... in a "thrash" (80-cycle walks: 3.8 % overhead)
# A one-page VMA in a region of its own, read as the trace's last access: a
# trace never ends with a sleep (the run stops when no process runs, so the
# background threads would not run during a final sleep).
LAST_PAGE = A + (N_REGIONS + 1) * HUGE_SIZE

_HAWKEYE_FAST = {
    "prezero": {"sleep_ms": 300, "blocks_per_wake": 2},
    "bloat_recovery": {"period_s": 0.5},
    "access_map": {"period_s": 0.5, "window_s": 0.2, "code_sleep_s": 0.3},
    "promotion": {"scan_sleep_millisecs": 300},
}
FAST = {   # short periods: each background thread runs several times per trace
    "linux-4k": {},
    "linux-thp": {"khugepaged": {"scan_sleep_millisecs": 300, "alloc_sleep_millisecs": 600}},
    "linux-6.12": {"khugepaged": {"scan_sleep_millisecs": 300, "alloc_sleep_millisecs": 600}},
    "freebsd": {},
    "ingens": {"khugepaged": {"scan_sleep_millisecs": 300, "alloc_sleep_millisecs": 600},
               "scand": {"scan_sleep_millisecs": 200}},
    "hawkeye-g": _HAWKEYE_FAST,
    "hawkeye-pmu": {**_HAWKEYE_FAST, "pmu": {"interval_s": 0.5, "window_s": 0.2}},
    "quicksilver": {"wakeup_s": 0.3, "inactive_thre_ms": 600},
}

_hawkeye_switches = {
    "fault_huge": st.booleans(),
    "prezero": st.fixed_dictionaries({"enabled": st.booleans(),
                                      "start_zeroed_fraction": st.sampled_from([0.0, 0.5])}),
    "bloat_recovery": st.fixed_dictionaries({
        "trigger_free_pct": st.sampled_from([15, 60, 100]),
        "min_zero_pages": st.sampled_from([1, 256]),
        "on_shortage": st.booleans()}),
    "access_map": st.fixed_dictionaries({"sampling": st.sampled_from(["paper", "code"]),
                                         "buckets": st.sampled_from(["paper", "code"])}),
    "promotion": st.fixed_dictionaries({"max_ptes_none": st.sampled_from([0, 256, 511])}),
}
SWITCHES = {   # random policy options (paper-vs-code switches, thresholds)
    "linux-4k": st.just({}),
    "linux-thp": st.fixed_dictionaries({
        "fault_huge": st.booleans(),
        "khugepaged": st.fixed_dictionaries({"max_ptes_none": st.sampled_from([0, 256, 511])})}),
    "linux-6.12": st.fixed_dictionaries({
        "fault_huge": st.booleans(), "defrag": st.sampled_from(["always", "madvise"]),
        "khugepaged": st.fixed_dictionaries({"max_ptes_none": st.sampled_from([0, 256, 409, 511])}),
        "shrinker": st.sampled_from([   # (low, high) watermarks: kernel's, mid, always below
            {"watermark_low_pct": 0.167, "watermark_high_pct": 0.267},
            {"watermark_low_pct": 50, "watermark_high_pct": 60},
            {"watermark_low_pct": 100, "watermark_high_pct": 100, "shrink_underused": False},
            {"watermark_low_pct": 100, "watermark_high_pct": 100}])}),
    "freebsd": st.fixed_dictionaries({"pg_ps_enabled": st.booleans()}),
    "quicksilver": st.fixed_dictionaries({
        "variant": st.sampled_from(["sync-0", "sync-64", "async-64", "async-256"]),
        "enable_compact": st.booleans(), "migrate_budget": st.sampled_from([0, 16, 262144])}),
    "ingens": st.fixed_dictionaries({
        "util_threshold": st.sampled_from([0, 50, 90]), "fairness": st.booleans(),
        "fairness_skip_exhausted": st.booleans(), "adaptive_fmfi": st.booleans(),
        "khugepaged": st.fixed_dictionaries({"max_ptes_none": st.sampled_from([0, 256, 511])})}),
    "hawkeye-g": st.fixed_dictionaries(_hawkeye_switches),
    "hawkeye-pmu": st.fixed_dictionaries({**_hawkeye_switches, "pmu": st.fixed_dictionaries({
        "smoothing": st.sampled_from(["paper", "code"]),
        "stop_below_pct": st.sampled_from([0, 2]),
        "min_pending": st.sampled_from([0, 1, 8])})}),
}


def policy_params(policy: str, switches: dict) -> dict:
    """FAST periods with ``switches`` merged over them; a bloat-recovery
    target never below its trigger (the policy's cross-option check)."""
    p = merge(FAST[policy], switches)
    b = p.get("bloat_recovery")
    if b is not None and "trigger_free_pct" in b:
        b["target_free_pct"] = min(100, b["trigger_free_pct"] + 15)
    return p


# --- traces ------------------------------------------------------------------------
# An operation names pages of the process's 4-region window (page numbers
# 0..N_PAGES-1 above A); the trace writer below keeps track of what is
# mapped, so that every access lies inside a VMA and mmap never overlaps one.
_start = st.one_of(st.integers(0, N_REGIONS - 1).map(lambda r: r * PAGES_PER_HUGE),
                   st.integers(0, N_PAGES - 1))
_length = st.one_of(st.sampled_from([PAGES_PER_HUGE, 2 * PAGES_PER_HUGE, N_PAGES]),
                    st.integers(1, PAGES_PER_HUGE))
_seconds = st.sampled_from([0.2, 0.5, 1.0, 2.0])
op = st.one_of(
    st.tuples(st.just("mmap"), _start, _length),
    st.tuples(st.just("munmap"), _start, _length),
    st.tuples(st.just("madvise"), _start, _length),
    st.tuples(st.just("remap"), _start, _length),
    st.tuples(st.just("access"), _start, _length, st.sampled_from([1, 1, 7, 64]),
              st.booleans()),
    st.tuples(st.just("loop"), _start, _length, _seconds, st.booleans()),
    st.tuples(st.just("thrash"), _start, _length, st.sampled_from([0.05, 0.3]), st.booleans()),
    st.tuples(st.just("sleep"), _seconds),
)
process_ops = st.lists(op, min_size=1, max_size=12)


def _runs(mask: np.ndarray, first: int):
    """(start, end) page numbers of the runs of True in mask, offset by first."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return [(first + int(a), first + int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _addr(page: int) -> int:
    return A + page * PAGE_SIZE


def trace_body(ops):
    """A trace-writing function (``sim.testing.run``) for one process's ops:
    the process first maps its whole window, then follows ``ops``."""
    def body(w):
        mapped = np.zeros(N_PAGES, bool)
        pauses = {}
        w.mmap(LAST_PAGE, PAGE_SIZE)
        w.cycles(CYCLES)
        for o in (("mmap", 0, N_PAGES), *ops):
            kind = o[0]
            if kind == "sleep":       # the program sleeps; background threads go on
                name = f"sleep{len(pauses)}"
                pauses[name] = o[1]
                w.phase(name)
                continue
            lo, hi = o[1], min(o[1] + o[2], N_PAGES)
            sel = mapped[lo:hi]
            if kind in ("munmap", "remap") and sel.any():
                w.munmap(_addr(lo), (hi - lo) * PAGE_SIZE)   # holes included, as Linux allows
                mapped[lo:hi] = False
            if kind in ("mmap", "remap"):
                for a, b in _runs(~mapped[lo:hi], lo):
                    w.mmap(_addr(a), (b - a) * PAGE_SIZE)
                mapped[lo:hi] = True
            elif kind == "madvise":
                for a, b in _runs(sel, lo):
                    w.madvise_dontneed(_addr(a), (b - a) * PAGE_SIZE)
            elif kind in ("access", "loop", "thrash"):
                pg = np.arange(lo, hi, o[3] if kind == "access" else 1)
                pg = pg[mapped[pg]]
                if len(pg) == 0:
                    continue
                addrs = A + pg.astype(np.uint64) * PAGE_SIZE
                if kind == "access":
                    w.access(addrs, o[4])
                elif kind == "loop":  # 4 rounds over the pages, spread over o[3] seconds
                    per = max(1, int(o[3] * HZ / (4 * len(pg) * CYCLES)))
                    w.access(np.tile(addrs, 4), o[4], counts=np.full(4 * len(pg), per))
                else:                 # rounds of single accesses for o[3] seconds: TLB misses
                    w.cycles(THRASH_CYCLES)
                    rounds = max(1, int(o[3] * HZ / (len(pg) * (THRASH_CYCLES + 80))))
                    w.access(np.tile(addrs, rounds), o[4])
                    w.cycles(CYCLES)
        w.access([LAST_PAGE], False)
        w.close({"pauses": pauses})
    return body


# --- checking after every step ----------------------------------------------------------

def checked(sim):
    """Make ``sim`` call ``check_invariants`` after each process's advance,
    each trace event, each policy hook the run layer calls and each
    background-thread pass (wrapping the instances' methods; the run layer
    itself is unchanged).  Returns sim."""
    m = sim.m

    def after(f):
        def g(*args):
            out = f(*args)
            m.check_invariants()
            return out
        return g

    sim.advance = after(sim.advance)
    sim.event = after(sim.event)
    sim.policy.on_trigger = after(sim.policy.on_trigger)
    sim.policy.on_memory_shortage = after(sim.policy.on_memory_shortage)
    for t in sim.threads:
        t.run = after(t.run)
    return sim


def simulate(policy, switches, pressure, memory_mib, all_ops, second_start_s=0.0):
    """Build the run, check the invariants at the start, during and at the end."""
    spec = small_spec(policy, memory_mib=memory_mib,
                      policy_params=policy_params(policy, switches), **pressure)
    starts = [0.0, second_start_s][:len(all_ops)]
    sim = run(spec, [trace_body(o) for o in all_ops], starts=starts, run_sim=False)
    checked(sim)
    sim.m.check_invariants()
    sim.run()
    sim.m.check_invariants()
    return sim


def mechanisms(sim) -> set[str]:
    """The kinds of mapping change and kill that happened, as "event by
    who" (collapse, promote_in_place, split, oom; who = the reason's first
    word: khugepaged, ingens, hawkeye-pmu, bloat_recovery, madvise, ...)."""
    return {e["event"] + (f" by {e['reason'].split(':')[0]}" if e.get("reason") else "")
            for e in sim.m.events}


POLICIES = sorted(REGISTRY)


def _case(policy):
    return st.fixed_dictionaries({
        "switches": SWITCHES[policy],
        "pressure": st.fixed_dictionaries({
            "fragmentation": st.sampled_from([0.0, 0.25, 1.0]),
            "tenant_fraction": st.sampled_from([0.0, 0.5])}),
        "memory_mib": st.sampled_from([8, 12, 24]),
        "all_ops": st.lists(process_ops, min_size=1, max_size=2),
        "second_start_s": st.sampled_from([0.0, 0.3]),
    })


def check_policy(data, policy):
    sim = simulate(policy, **data.draw(_case(policy)))
    for name in sorted(mechanisms(sim)):
        event(f"{policy}: {name}")   # shown by --hypothesis-show-statistics


def test_every_registered_policy_has_fast_options_and_switches():
    assert set(FAST) == set(REGISTRY) == set(SWITCHES)


@pytest.mark.parametrize("where", ["thread", "event", "advance"])
def test_a_broken_invariant_is_caught_where_it_breaks(where):
    # lose one free frame in a khugepaged pass, in the trace's munmap or in
    # a process's advance: the check right after it fails (so the checks do run)
    spec = small_spec("linux-thp", policy_params=FAST["linux-thp"])
    sim = run(spec, [trace_body([("sleep", 1.0), ("munmap", 0, 1)])], run_sim=False)
    m = sim.m

    def lose_a_frame(f):
        def g(*args):
            out = f(*args)
            m.G[G_FREE_FRAMES] -= 1
            return out
        return g

    if where == "thread":
        sim.threads[0].work = lose_a_frame(sim.threads[0].work)
    elif where == "event":
        m.munmap = lose_a_frame(m.munmap)
    else:
        sim.advance = lose_a_frame(sim.advance)
    checked(sim)
    with pytest.raises(AssertionError, match="frames not conserved"):
        sim.run()
    # khugepaged wakes every 0.3 s: caught in its first pass, after its
    # passes at 0.3, 0.6 and 0.9 s (the munmap comes after the 1 s sleep),
    # or in the first step before any pass
    assert sim.threads[0].passes == {"thread": 1, "event": 3, "advance": 0}[where]


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_invariants_per_policy(policy, data):
    check_policy(data, policy)


@pytest.mark.long
@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=int(os.environ.get("HPSIM_LONG_EXAMPLES", 10_000)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_invariants_per_policy_long(policy, data):
    check_policy(data, policy)


# --- coverage: each policy's own mechanism acts, invariants checked throughout ---------

NO_PRESSURE = {"fragmentation": 0.0, "tenant_fraction": 0.0}
WARM_ALL = [("access", 0, N_PAGES, 1, True)] + [("thrash", 0, N_PAGES, 0.3, True)] * 3


def scenario(policy, switches, ops, memory_mib=64):
    """One process running ``ops`` on an unpressured machine; returns
    (mapping changes as (event, region number, reason), the policy's counters)."""
    sim = simulate(policy, switches, NO_PRESSURE, memory_mib, [ops])
    changes = [(e["event"], (int(e["region"], 16) - A) // HUGE_SIZE, e["reason"])
               for e in sim.m.events]
    return changes, sim.policy.counters()


def test_linux_thp_khugepaged_collapses_a_region_with_one_written_page():
    # 4 KiB faults only; max_ptes_none 511: one young writable PTE is enough
    changes, n = scenario("linux-thp", {"fault_huge": False},
                          [("access", 0, 1, 1, True), ("sleep", 1.0)])
    assert changes == [("collapse", 0, "khugepaged: address-order scan")]
    assert n["khugepaged_collapsed"] == 1


def test_ingens_promotes_a_region_at_90_percent_from_its_worklist():
    # the 460th page (90 % of 512) queues the region; khugepaged serves the queue
    changes, n = scenario("ingens", {}, [("access", 0, 460, 1, True), ("sleep", 1.0)])
    assert changes == [("collapse", 0, "ingens: worklist")]
    assert (n["ingens_worklist_added"], n["ingens_worklist_promoted"]) == (1, 1)
    changes, n = scenario("ingens", {}, [("access", 0, 459, 1, True), ("sleep", 1.0)])
    assert changes == [] and n["ingens_worklist_added"] == 0


def test_freebsd_promotes_a_full_reservation_in_place():
    changes, n = scenario("freebsd", {}, [("access", 0, PAGES_PER_HUGE, 1, True)])
    assert changes == [("promote_in_place", 0,
                        "pmap_promote_pde: reservation fully populated")]
    assert n["freebsd_promoted"] == 1
    changes, n = scenario("freebsd", {}, [("access", 0, PAGES_PER_HUGE - 1, 1, True)])
    assert changes == [] and n["freebsd_promoted"] == 0


def test_quicksilver_prepares_and_evicts():
    # sync-64: the 64th page promotes in the fault; async-64: the thread's pass
    changes, n = scenario("quicksilver", {"variant": "sync-64"}, [("access", 0, 64, 1, True)])
    assert changes == [("promote_in_place", 0, "quicksilver sync: popcnt reached 64")]
    assert n["qs_sync_promoted"] == 1
    changes, n = scenario("quicksilver", {"variant": "async-64"},
                          [("access", 0, 64, 1, True), ("sleep", 1.0)])
    assert changes == [("promote_in_place", 0, "quicksilver async: popcnt >= 64")]
    assert n["qs_async_promoted"] == 1
    # an inactive reservation is evicted under fragmentation (free target frames)
    sim = simulate("quicksilver", {}, {"fragmentation": 0.5, "tenant_fraction": 0.0}, 64,
                   [[("access", 0, 10, 1, True), ("sleep", 2.0)]])
    assert sim.policy.counters()["qs_evicted"] == 1


def test_hawkeye_pmu_promotion_path_is_reached():
    # 4 KiB faults; thrashing 2048 pages (more than the 1024-entry L2 TLB) at
    # 2000 cycles an access: 80-cycle walks, a measured overhead of 3 % (above
    # stop_below_pct = 2).  With min_pending 2 the process (4 pending) is the
    # pass's target (ohp_get_target_mm), and the pass promotes for it until
    # its budget of 8 or its candidates run out: all 4 regions.
    changes, n = scenario("hawkeye-pmu", {"fault_huge": False, "pmu": {"min_pending": 2}},
                          WARM_ALL + [("sleep", 1.0)])
    assert changes == [("collapse", r, "hawkeye-pmu: bucket 4, mmu overhead 3%")
                       for r in range(4)]
    assert n["hawkeye_promotions"] == 4 and n["hawkeye_regions_registered"] == 4


def test_hawkeye_g_promotes_every_warm_region():
    changes, n = scenario("hawkeye-g", {"fault_huge": False}, WARM_ALL + [("sleep", 1.0)])
    assert changes == [("collapse", r, "hawkeye-g: bucket 4") for r in range(N_REGIONS)]
    assert n["hawkeye_promotions"] == N_REGIONS


def test_linux_612_shrinker_splits_underused_huge_pages():
    # one written page per huge page (511 zero > 409); kswapd always below its
    # low watermark (100%): every huge page split, its zero pages remapped
    changes, n = scenario("linux-6.12", {"shrinker": {"watermark_low_pct": 100,
                                                      "watermark_high_pct": 100}},
                          [("access", 0, N_PAGES, PAGES_PER_HUGE, True), ("sleep", 1.0)])
    assert changes == [("split", r, "thp_shrinker: underused") for r in range(N_REGIONS)]
    assert n["thp_underused_split_page"] == N_REGIONS
    assert n["thp_shrinker_pages_released"] == N_REGIONS * (PAGES_PER_HUGE - 1)


@pytest.mark.parametrize("policy", ["hawkeye-pmu", "hawkeye-g"])
def test_hawkeye_bloat_recovery_splits_huge_pages_with_zero_sub_pages(policy):
    # one written page per 2 MiB huge page: 511 zero sub-pages each released
    changes, n = scenario(policy, {"bloat_recovery": {"trigger_free_pct": 100}},
                          [("access", 0, N_PAGES, PAGES_PER_HUGE, True), ("sleep", 1.0)])
    assert changes == [("split", r, "bloat_recovery: zero sub-pages") for r in range(N_REGIONS)]
    assert n["hawkeye_bloat_regions_split"] == N_REGIONS
    assert n["hawkeye_bloat_pages_released"] == N_REGIONS * (PAGES_PER_HUGE - 1)
