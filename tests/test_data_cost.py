"""The data-access cost: each access pays its LLC misses x the DRAM latency
(machine/engine.py, CYCLES records), counted in user cycles (Table 2's C3)
and in data_cycles, never in walk cycles."""
import numpy as np
import pytest

from machine.constants import P_FAST_PATH

from sim.testing import A, run, small_spec
from workloads.trace import CYCLES, KIND_MASK, MISS_SCALE, TraceReader, TraceWriter

# default profile: 2.3 GHz, 80 ns DRAM -> 184 cycles a miss; 80-cycle 4 KiB walks
DRAM = 184
WALK = 80


def _summary(body, policy="linux-4k", fast=True, **spec_options):
    """body's one-process summary row under policy (small_spec with
    spec_options), with the fast path on or off."""
    spec = small_spec(policy, **spec_options)
    assert round(spec["machine"]["costs"]["dram_latency_ns"] * spec["machine"]["cpu_ghz"]) == DRAM
    assert spec["machine"]["costs"]["walk_cycles_4k"] == WALK
    sim = run(spec, [body], run_sim=False)
    sim.m.P[P_FAST_PATH] = int(fast)
    sim.run()
    return sim.summary().iloc[0]


def one_page(w):
    """1,000 writes to page A at miss rate 0.5, after faults on A and then B:
    A's lines left the cache when B's fault cleared B, so the 1,000 pay their
    data cycles (A's first write and B's, each on the page its fault had just
    cleared, pay none: fault.cleared)."""
    w.cycles(10, 0.5)
    w.mmap(A, 2 * 4096)
    w.access([A], True)
    w.access([A + 4096], True)
    w.access([A], True, counts=[1000])


def test_exact_cycles_one_page():
    s = _summary(one_page)
    # user = 2 x 10 (on just-cleared pages) + 1000 x (10 compute + 0.5 x 184 data)
    # + two 80-cycle walks (A and B; A's 1000 hit the L1: another set than B's)
    assert s["user_cycles"] == 2 * 10 + 1000 * (10 + 92) + 2 * WALK == 102_180
    assert s["data_cycles"] == 1000 * 92
    assert s["walk_cycles"] == 2 * WALK
    assert s["mmu_overhead"] == pytest.approx(160 / 102_180)


def two_rates(w):
    w.cycles(10, 0.5)
    w.mmap(A, 3 * 4096)
    w.access([A], True)
    w.access([A + 2 * 4096], True)           # clears another page: A is no longer hot
    w.access([A], True, counts=[1000])
    w.cycles(20, 0.0)                       # data cost off again: only compute
    w.access([A + 4096], True, counts=[500])


@pytest.mark.parametrize("fast", [True, False])
def test_rate_changes_mid_trace(fast):
    s = _summary(two_rates, fast=fast)
    # three pages: three faults, three walks; the third page's 500 pay 20 cycles
    assert s["data_cycles"] == 92_000
    assert s["user_cycles"] == 2 * 10 + 1000 * 102 + 500 * 20 + 3 * WALK
    assert s["walk_cycles"] == 3 * WALK


def test_zero_rate_is_todays_cost():
    def body(w):
        w.cycles(10)
        w.mmap(A, 4096)
        w.access([A], True, counts=[1000])
    s = _summary(body)
    assert s["data_cycles"] == 0
    assert s["user_cycles"] == 1000 * 10 + WALK


def test_trace_carries_misses_in_millionths(tmp_path):
    p = tmp_path / "t.trace"
    with TraceWriter(p, {"workload": "test"}) as w:
        w.cycles(7, 0.25)
    words = np.concatenate([c["word"] for c in TraceReader(p).chunks()])
    cyc = words[(words & np.uint64(KIND_MASK)) == CYCLES]
    assert (int(cyc[0]) >> 12) == MISS_SCALE // 4
    with TraceWriter(tmp_path / "u.trace", {"workload": "test"}) as w:
        with pytest.raises(ValueError, match="llc_misses_per_access"):
            w.cycles(7, 1.5)


def test_lackey_import_carries_the_miss_rate(tmp_path):
    from workloads.lackey import Lackey
    src = tmp_path / "in.txt"
    src.write_text(" S 7ff000398,8\n L 7ff000398,8\n")
    out = tmp_path / "out.trace"
    Lackey({"path": str(src), "cycles_per_access": 3, "llc_misses_per_access": 0.125}).write(out)
    recs = np.concatenate(list(TraceReader(out).chunks()))
    cyc = recs[(recs["word"] & np.uint64(KIND_MASK)) == CYCLES]
    assert len(cyc) == 1 and int(cyc["arg"][0]) == 3
    assert int(cyc["word"][0]) >> 12 == MISS_SCALE // 8


@pytest.mark.parametrize("fast", [True, False])
def test_access_cycles_are_the_least_an_access_takes(fast):
    """machine.costs.access_cycles (a host profile's measured cost of the replay's own
    access) is the least compute an access is charged: 15 lifts the first 1,002
    accesses' 10 compute cycles to 15 and leaves the last 500's 20; data cycles are
    added on top and unchanged."""
    spec = small_spec("linux-4k")
    spec["machine"]["costs"]["access_cycles"] = 15
    sim = run(spec, [two_rates], run_sim=False)
    sim.m.P[P_FAST_PATH] = int(fast)
    sim.run()
    s = sim.summary().iloc[0]
    assert s["user_cycles"] == 2 * 15 + 1000 * (15 + 92) + 500 * 20 + 3 * WALK
    assert s["data_cycles"] == 92_000
