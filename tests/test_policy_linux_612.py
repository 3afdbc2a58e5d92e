"""linux-6.12 (Linux THP with the THP shrinker) on small hand-made traces:
exact expectations.

The machine: 128 MiB with 70% held by other tenants, so 19 blocks are free
and 19 huge faults fill memory (free 0 < the low watermark, 0.167% of
32768 frames = 54.7, i.e. < 55 frames); kswapd wakes at the fault that crosses
it, the 19th huge fault (mm/page_alloc.c wakeup_kswapd), and runs there.
"""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from hpsim.units import HUGE_SIZE, PAGE_SIZE, PAGES_PER_HUGE
from machine.constants import C_RSS_PAGES
from policies import check_params
from policies.linux_612 import thp_underused
from sim.testing import A, compute, run, small_spec

N = 19                                  # free 2 MiB blocks of the machine below
PRESSURE = {"memory_mib": 128, "tenant_fraction": 0.7}
WALK_ALL = {"shrinker": {"watermark_high_pct": 100}}   # kswapd never reaches its goal


def writer(written, seconds=2.0, extra_regions=0):
    """Map len(written) + extra_regions regions; write the first written[r]
    pages of region r (a huge fault at its first page), then one page of
    each extra region; then compute for ``seconds``."""
    n = len(written) + extra_regions

    def body(w):
        w.mmap(A, n * HUGE_SIZE)
        for r, k in enumerate(written):
            w.access(A + r * HUGE_SIZE + np.arange(k, dtype=np.uint64) * PAGE_SIZE, True)
        for r in range(len(written), n):
            w.access([A + r * HUGE_SIZE], True)
        compute(w, seconds)
    return body


# region 0: 511 zero sub-pages, region 1: 410 (> 409), region 2: 409 (not > 409),
# regions 3..18 written whole
WRITTEN = [1, 102, 103] + [PAGES_PER_HUGE] * (N - 3)


def splits(sim):
    return [((int(e["region"], 16) - A) // HUGE_SIZE, e["reason"])
            for e in sim.m.events if e["event"] == "split"]


def rss_pages(sim):
    return int(sim.m.procs[0].C[C_RSS_PAGES])


# --- thp_underused -----------------------------------------------------------------

def test_thp_underused_stops_where_the_kernel_loop_stops():
    zero = np.ones(PAGES_PER_HUGE, bool)
    # all zero: true at the 410th zero page (num_zero_pages > 409)
    assert thp_underused(zero, 409) == (True, 410, 0)
    # all filled: false at the 103rd filled page (>= 512 - 409)
    assert thp_underused(~zero, 409) == (False, 0, 103)
    # one filled page first, then zeros
    m = zero.copy()
    m[0] = False
    assert thp_underused(m, 409) == (True, 410, 1)
    # exactly 409 zero pages, filled ones last: all 409 zeros read, then 103 filled
    m = zero.copy()
    m[409:] = False
    assert thp_underused(m, 409) == (False, 409, 103)
    # max_ptes_none 0: the first zero page decides
    assert thp_underused(zero, 0) == (True, 1, 0)
    assert thp_underused(~zero, 0) == (False, 0, 512)


def kernel_loop(zero_mask, max_ptes_none):
    """Linux 6.12 thp_underused, line by line (mm/huge_memory.c)."""
    if max_ptes_none == PAGES_PER_HUGE - 1:
        return False, 0, 0
    num_zero = num_filled = 0
    for z in zero_mask:
        if z:
            num_zero += 1
            if num_zero > max_ptes_none:
                return True, num_zero, num_filled
        else:
            num_filled += 1
            if num_filled >= PAGES_PER_HUGE - max_ptes_none:
                return False, num_zero, num_filled
    return False, num_zero, num_filled


@given(st.lists(st.booleans(), min_size=PAGES_PER_HUGE, max_size=PAGES_PER_HUGE),
       st.integers(0, PAGES_PER_HUGE - 1))
def test_thp_underused_is_the_kernel_loop(mask, max_ptes_none):
    assert thp_underused(np.array(mask), max_ptes_none) == kernel_loop(mask, max_ptes_none)


def test_thp_underused_is_false_without_a_scan_at_the_kernel_default_511():
    assert thp_underused(np.ones(PAGES_PER_HUGE, bool), 511) == (False, 0, 0)


# --- the shrinker under pressure ---------------------------------------------------

def test_under_pressure_only_huge_pages_with_more_zero_pages_than_max_ptes_none_are_split():
    # kswapd runs at region 18's huge fault, when region 18 holds its first
    # written page only: it is on the deferred split list (6.12 queues every
    # new THP at fault) and underused, so it is split with regions 0 and 1;
    # its other 511 pages, then written, copy the zero page one by one
    sim = run(small_spec("linux-6.12", policy_params=WALK_ALL, **PRESSURE), [writer(WRITTEN)])
    sim.m.check_invariants()
    assert splits(sim) == [(0, "thp_shrinker: underused"), (1, "thp_shrinker: underused"),
                           (18, "thp_shrinker: underused")]
    c = sim.policy.counters()
    assert (c["thp_shrinker_examined"], c["thp_underused_split_page"]) == (N, 3)
    assert c["thp_shrinker_pages_released"] == 511 + 410 + 511
    assert (c["kswapd_runs"], c["direct_reclaims"]) == (1, 0)
    # RSS falls by exactly the zero sub-pages released and not written again
    assert rss_pages(sim) == N * PAGES_PER_HUGE - 511 - 410
    assert sim.m.free_frames == 511 + 410
    assert [sim.m.populated(s) for s in (0, 1, 2, 18)] == [1, 102, PAGES_PER_HUGE, PAGES_PER_HUGE]
    assert [sim.m.pte_summary(s).none_or_zero for s in range(3)] == [511, 410, 0]
    assert [sim.m.region_huge(s) for s in (0, 1, 2, 18)] == [False, False, True, False]
    s = sim.summary().iloc[0]
    assert s.splits == 3 and s.final_huge_pages == N - 3 and not s.oom
    assert sim.rows[-1]["zero_pages_released"] == 1432


def test_kswapd_stops_at_the_high_watermark():
    # high = ceil(0.267% of 32768) = 88 frames: the oldest THP's 511 pages reach it
    sim = run(small_spec("linux-6.12", **PRESSURE), [writer(WRITTEN)])
    assert math.ceil(0.267 / 100 * sim.m.total_frames) == 88
    assert splits(sim) == [(0, "thp_shrinker: underused")]
    c = sim.policy.counters()
    assert (c["thp_shrinker_examined"], c["thp_underused_split_page"]) == (1, 1)
    assert rss_pages(sim) == N * PAGES_PER_HUGE - 511
    # kswapd's CPU: thp_underused reads page 0 (written: 9.11 B) and 410 zero
    # pages; the remap reads 511 zero pages and page 0 again; 2 us split and
    # 511 x 0.1 us freeing
    th = sim.threads_table().set_index("thread")
    expect = ((410 + 511) * 4096 + 2 * 9.11) / 10e9 + 2e-6 + 511 * 0.1e-6
    assert th.loc["kswapd", "cpu_s"] == pytest.approx(expect, rel=1e-6)


def test_the_oldest_huge_page_is_examined_first():
    # region 1 faults before region 0: kswapd (high watermark 88 frames) splits
    # region 1, the list's head, and stops
    def body(w):
        w.mmap(A, N * HUGE_SIZE)
        w.access([A + HUGE_SIZE], True)
        w.access([A], True)
        w.access(A + np.arange(2, N, dtype=np.uint64) * HUGE_SIZE, True)
        compute(w, 2.0)
    sim = run(small_spec("linux-6.12", **PRESSURE), [body])
    assert splits(sim) == [(1, "thp_shrinker: underused")]


def test_without_pressure_nothing_is_split():
    sim = run(small_spec("linux-6.12", policy_params=WALK_ALL, memory_mib=128), [writer(WRITTEN)])
    c = sim.policy.counters()
    assert splits(sim) == [] and c["kswapd_runs"] == 0 and c["thp_shrinker_examined"] == 0
    assert rss_pages(sim) == N * PAGES_PER_HUGE


def test_at_the_kernel_default_max_ptes_none_nothing_is_split():
    sim = run(small_spec("linux-6.12", policy_params={**WALK_ALL,
                                                      "khugepaged": {"max_ptes_none": 511}},
                         **PRESSURE), [writer(WRITTEN)])
    c = sim.policy.counters()
    # woken at every step below the low watermark; each THP examined once, unread
    assert splits(sim) == [] and c["thp_shrinker_examined"] == N
    assert sim.policy.shrinker.bytes_scanned == 0
    assert rss_pages(sim) == N * PAGES_PER_HUGE


def test_a_huge_page_found_used_leaves_the_list_for_good():
    # low watermark 100%: kswapd wakes at every step; each THP is examined once
    sim = run(small_spec("linux-6.12", policy_params={"shrinker": {
        "watermark_low_pct": 100, "watermark_high_pct": 100}}, **PRESSURE),
        [writer(WRITTEN, seconds=5.0)])
    c = sim.policy.counters()
    assert c["kswapd_runs"] > 1
    assert (c["thp_shrinker_examined"], c["thp_underused_split_page"]) == (N, 2)


def test_direct_reclaim_saves_the_fault_that_linux_thp_loses_to_oom():
    # 19 huge faults fill memory; the 20th region's fault finds no block (defrag
    # madvise: no compaction), falls back to 4 KiB and finds no frame either:
    # direct reclaim splits the oldest THP (511 >= 32 pages) and the fault retries
    # (kswapd off: woken at the 19th fault, it would split the oldest THP first)
    body = writer([1] * N, extra_regions=1)
    no_kswapd = {"shrinker": {"watermark_low_pct": 0}}
    sim = run(small_spec("linux-6.12", policy_params=no_kswapd, **PRESSURE), [body])
    c = sim.policy.counters()
    assert (c["direct_reclaims"], c["thp_underused_split_page"]) == (1, 1)
    assert splits(sim) == [(0, "thp_shrinker: underused")]
    s = sim.summary().iloc[0]
    assert not s.oom and s.faults_4k == 1 and rss_pages(sim) == N * PAGES_PER_HUGE - 511 + 1
    thp = run(small_spec("linux-thp", **PRESSURE), [body]).summary().iloc[0]
    assert thp.oom


def test_a_read_of_a_remapped_page_does_not_fault_a_write_copies_it():
    # region 0 split by the shrinker: page 1 maps the zero page (no fault on a
    # read, RSS unchanged); a write to page 2 copies the zero page (one frame)
    def body(w):
        writer(WRITTEN, seconds=1.5)(w)      # kswapd runs at the 1 s step
        w.access([A + PAGE_SIZE], False)
        w.access([A + 2 * PAGE_SIZE], True)
        compute(w, 0.5)
    sim = run(small_spec("linux-6.12", **PRESSURE), [body])
    s = sim.summary().iloc[0]
    assert (s.faults, s.faults_2m, s.faults_cow, s.faults_zeropage) == (N + 1, N, 1, 0)
    assert rss_pages(sim) == N * PAGES_PER_HUGE - 511 + 1


def test_high_watermark_below_low_is_refused():
    with pytest.raises(ValueError, match="watermark_high_pct must be >= watermark_low_pct"):
        check_params("linux-6.12",
                     {"shrinker": {"watermark_low_pct": 1, "watermark_high_pct": 0.5}})
