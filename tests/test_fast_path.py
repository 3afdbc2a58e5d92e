"""The replay loop's fast path (``engine.fast_run``) changes no result.

replay hands runs of accesses to mapped pages to a separate compiled
function and keeps faults, events and time-limit splits in its general
path.  Every result table must be byte-identical with the fast path off
(``P_FAST_PATH = 0``), under every policy, on traces that mix first
touches, re-accesses, long repeat runs crossing sample points, zero-page
reads, madvise and munmap.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from machine.constants import C_FAST_RECORDS, P_FAST_PATH
from sim.simulate import Simulation
from sim.testing import MIB, small_spec, write_trace
from policies import REGISTRY

A = 0x40000000
B = A + 64 * MIB + 5 * 4096          # a second VMA, not 2 MiB aligned


def body_from(ops):
    def body(w):
        w.cycles(50)
        w.mmap(A, 16 * MIB)
        w.mmap(B, 6 * MIB)
        for kind, page, write, count in ops:
            base, npages = (A, 4096) if page % 3 else (B, 1536)
            addr = base + (page % npages) * 4096
            if kind == "madvise":
                w.madvise_dontneed(addr - addr % (64 * 4096), 64 * 4096)
            else:
                w.access([addr], write, counts=[count])
        w.munmap(A + 4 * MIB, 4 * MIB)
        w.access(A + np.arange(0, 1024, dtype=np.uint64) * 4096, True)
        w.munmap(A, 4 * MIB)
        w.munmap(A + 8 * MIB, 8 * MIB)
        w.munmap(B, 6 * MIB)
    return body


def tables(spec, trace, fast):
    sim = Simulation(spec, [str(trace)], progress=False)
    sim.m.P[P_FAST_PATH] = int(fast)
    sim.run()
    if not fast:
        assert sim.m.procs[0].C[C_FAST_RECORDS] == 0
    return {"fast_records": int(sim.m.procs[0].C[C_FAST_RECORDS]) if fast else None,
            "summary": sim.summary().to_csv(), "events": sim.events_table().to_csv(),
            "threads": sim.threads_table().to_csv(), "hist": sim.hist_table().to_csv(),
            "timeseries": str(sim.rows)}


op = st.tuples(st.sampled_from(["access"] * 12 + ["madvise"]),
               st.integers(0, 3 * 4096), st.booleans(),
               st.sampled_from([1, 1, 1, 2, 7, 40_000]))
# runs of re-accesses to a few hot pages, so that the fast path takes long runs
hot = st.lists(st.tuples(st.just("access"), st.integers(0, 40), st.booleans(),
                         st.just(1)), min_size=50, max_size=200)


@pytest.mark.parametrize("policy", sorted(REGISTRY))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(op.map(lambda o: [o]), hot), min_size=1, max_size=12))
def test_fast_path_changes_no_table(tmp_path_factory, policy, ops):
    ops = [o for group in ops for o in group]
    trace = write_trace(tmp_path_factory.mktemp("t") / "p.trace", body_from(ops))
    spec = small_spec(policy, memory_mib=64, sample_interval_s=0.0005)
    on, off = tables(spec, trace, True), tables(spec, trace, False)
    del on["fast_records"], off["fast_records"]
    assert on == off


def test_fast_path_takes_the_common_case(tmp_path):
    """The switch is live: with it on, all but a few of 1.6M re-accesses to
    16 mapped pages go through fast_run; with it off, none (so the comparison
    above compares two different code paths)."""
    def body(w):
        w.cycles(10)
        w.mmap(A, 2 * MIB)
        pages = np.tile(np.arange(16, dtype=np.uint64), 100_000)
        w.access(A + pages * 4096, False)
    trace = write_trace(tmp_path / "p.trace", body)
    spec = small_spec("linux-4k", memory_mib=64)
    on, off = tables(spec, trace, True), tables(spec, trace, False)
    assert on["fast_records"] > 1_590_000
    del on["fast_records"], off["fast_records"]
    assert on == off
    assert "1600000" in on["summary"]
