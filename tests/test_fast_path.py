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
        w.cycles(50, 0.5)      # a data cost, so that the cache-hot range (fault.cleared) shows
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


def _assert_same_tables_either_path(tmp_path_factory, policy, groups):
    """The groups of ops, flattened, as one trace: the tables with the fast path on and
    off are equal (fast_records aside, which counts the fast path's own records)."""
    ops = [o for group in groups for o in group]
    trace = write_trace(tmp_path_factory.mktemp("t") / "p.trace", body_from(ops))
    spec = small_spec(policy, memory_mib=64, sample_interval_s=0.0005)
    on, off = tables(spec, trace, True), tables(spec, trace, False)
    del on["fast_records"], off["fast_records"]
    assert on == off


@pytest.mark.parametrize("policy", sorted(REGISTRY))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(op.map(lambda o: [o]), hot), min_size=1, max_size=12))
def test_fast_path_changes_no_table(tmp_path_factory, policy, ops):
    _assert_same_tables_either_path(tmp_path_factory, policy, ops)


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


# runs of records on one page with a random read/write mix (the trace writer
# merges only identical consecutive words, so a run alternates kinds), and
# runs over consecutive pages (one 2 MiB mapping under THP)
same_page = st.tuples(st.integers(0, 3 * 4096), st.lists(
    st.tuples(st.booleans(), st.sampled_from([1, 1, 3])), min_size=2, max_size=60)).map(
    lambda a: [("access", a[0], wr, c) for wr, c in a[1]])
consecutive = st.tuples(st.integers(0, 3 * 4096), st.lists(st.booleans(), min_size=2,
                                                           max_size=80)).map(
    lambda a: [("access", a[0] + 3 * k, wr, 1) for k, wr in enumerate(a[1])])


@pytest.mark.parametrize("policy", sorted(REGISTRY))
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(same_page, consecutive, hot), min_size=1, max_size=8))
def test_same_page_runs_change_no_table(tmp_path_factory, policy, ops):
    """fast_run skips the TLB lookup of a record on the page (or 2 MiB
    mapping) of the previous one: the tables are those of the general path,
    which always looks up."""
    _assert_same_tables_either_path(tmp_path_factory, policy, ops)


@pytest.mark.parametrize("fast", [True, False])
def test_same_page_run_counts(tmp_path, fast):
    """Exact counters of a read/write mix on one page of a huge mapping:
    one fault maps 2 MiB (one walk); 300 records alternate a read of 2 and a
    write of 1 on page 5, then page 5 is read once more and page 6 once.
    Every record after the fault hits the 2 MiB L1; page 5 ends accessed,
    touched and written (the writes came after reads of the same page),
    page 6 only accessed and touched, page 7 untouched."""
    from machine.constants import (C_ACCESSES, C_L1_HITS, C_L2_HITS, C_WALKS, C_WRITES,
                                   PG_ACCESSED, PG_MAPPED, PG_TOUCHED, PG_WRITTEN)

    def body(w):
        w.cycles(10)
        w.mmap(A, 2 * MIB)
        w.access([A], True)
        for k in range(150):
            w.access([A + 5 * 4096], False, counts=[2])
            w.access([A + 5 * 4096], True)
        w.access([A + 5 * 4096, A + 6 * 4096], False)
    trace = write_trace(tmp_path / "p.trace", body)
    sim = Simulation(small_spec("linux-thp", memory_mib=64), [str(trace)], progress=False)
    sim.m.P[P_FAST_PATH] = int(fast)
    sim.run()
    C = sim.m.procs[0].C
    assert (C[C_ACCESSES], C[C_WRITES]) == (1 + 450 + 2, 1 + 150)
    assert (C[C_L1_HITS], C[C_L2_HITS], C[C_WALKS]) == (452, 0, 1)
    assert (C[C_FAST_RECORDS] > 250) == fast
    st5, st6, st7 = (int(sim.m.rg.pg_state[k]) for k in (5, 6, 7))
    assert st5 == PG_MAPPED | PG_ACCESSED | PG_TOUCHED | PG_WRITTEN
    assert st6 == PG_MAPPED | PG_ACCESSED | PG_TOUCHED
    assert st7 == PG_MAPPED


# runs of first touches: consecutive or strided new pages, read or written
touch_run = st.tuples(st.integers(0, 3 * 4096), st.sampled_from([1, 2, 5]),
                      st.integers(2, 700), st.sampled_from([True, False, None])).map(
    lambda a: [("access", a[0] + a[1] * k, (k % 3 == 0) if a[3] is None else a[3], 1)
               for k in range(a[2])])


@pytest.mark.parametrize("policy", sorted(REGISTRY))
@pytest.mark.parametrize("memory_mib", [64, 6])
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(touch_run, same_page, op.map(lambda o: [o])), min_size=1,
                    max_size=6))
def test_touch_runs_change_no_table(tmp_path_factory, policy, memory_mib, ops):
    """fault.touch_run takes runs of first-touch faults on the plain 4 KiB
    path in one call: the tables are those of the general path's one fault
    per record, with every policy (huge pages, zero pages, reservations,
    population triggers) and with memory too small for the trace (6 MiB:
    reclaim and OOM paths)."""
    ops = [o for group in ops for o in group]
    trace = write_trace(tmp_path_factory.mktemp("t") / "p.trace", body_from(ops))
    spec = small_spec(policy, memory_mib=memory_mib, sample_interval_s=0.0005)
    on, off = tables(spec, trace, True), tables(spec, trace, False)
    del on["fast_records"], off["fast_records"]
    assert on == off


@pytest.mark.parametrize("fast", [True, False])
def test_touch_run_counts(tmp_path, fast):
    """Exact counters of 1000 first-touch writes and 24 first-touch reads
    under 4 KiB pages on a machine whose frames are all dirty: 1000 cleared
    4 KiB faults (base + clearing latency, one histogram bin), 24 zero-page
    faults, one walk per page, RSS of the written pages only."""
    from machine.constants import (C_ACCESSES, C_FAULTS_4K, C_FAULTS_PREZEROED,
                                   C_FAULTS_ZEROPAGE, C_L1_HITS, C_RSS_PAGES, C_WALKS,
                                   C_WRITES, C_ZERO_CYCLES, P_ZERO_4K)

    def body(w):
        w.cycles(10)
        w.mmap(A, 8 * MIB)
        w.access(A + np.arange(1000, dtype=np.uint64) * 4096, True)
        w.access(A + np.arange(1000, 1024, dtype=np.uint64) * 4096, False)
    trace = write_trace(tmp_path / "p.trace", body)
    sim = Simulation(small_spec("linux-4k", memory_mib=64), [str(trace)], progress=False)
    sim.m.P[P_FAST_PATH] = int(fast)
    sim.run()
    C = sim.m.procs[0].C
    assert (C[C_ACCESSES], C[C_WRITES], C[C_L1_HITS], C[C_WALKS]) == (1024, 1000, 0, 1024)
    assert (C[C_FAULTS_4K], C[C_FAULTS_PREZEROED], C[C_FAULTS_ZEROPAGE]) == (1000, 0, 24)
    assert C[C_RSS_PAGES] == 1000 and C[C_ZERO_CYCLES] == 1000 * sim.m.P[P_ZERO_4K]
    assert sorted(int(x) for x in sim.m.procs[0].arrays.hist if x) == [24, 1000]
    assert sim.m.check_invariants() is None
