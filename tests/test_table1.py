"""The paper's Table 1 at small scale: the buffer touch under linux-4k and linux-thp."""
import pytest

from sim.testing import run, small_spec
from workloads.buffer_touch import BufferTouch


def touch(size_mib):
    wl = BufferTouch({"size_gib": size_mib / 1024})
    return lambda w: wl.generate(w)


@pytest.fixture(scope="module")
def table():
    out = {}
    for pol in ("linux-4k", "linux-thp"):
        out[pol] = run(small_spec(pol, memory_mib=512, sample_interval_s=0.01),
                       [touch(256)]).summary().iloc[0]
    return out


def test_fault_counts_are_one_per_page_and_one_per_region(table):
    assert table["linux-4k"].faults == 256 * 256
    assert table["linux-thp"].faults == 128
    assert table["linux-4k"].faults / table["linux-thp"].faults == 512


def test_latencies_follow_the_calibrated_zeroing_shares(table):
    k4, k2 = table["linux-4k"], table["linux-thp"]
    assert k4.zeroing_time_s / k4.fault_time_s == pytest.approx(0.25)
    assert k2.zeroing_time_s / k2.fault_time_s == pytest.approx(0.97, abs=0.005)
    assert k2.mean_fault_latency_us / k4.mean_fault_latency_us == pytest.approx(132, rel=0.01)


def test_huge_pages_make_the_touch_about_4x_faster(table):
    speedup = table["linux-4k"].runtime_s / table["linux-thp"].runtime_s
    assert 3.5 < speedup < 4.5
