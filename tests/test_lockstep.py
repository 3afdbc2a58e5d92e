"""sim.lockstep: a run's policies replaying its traces side by side, each
decoded once, write the bytes each policy writes alone; the decoded window
stays bounded; a failing policy or a corrupt chunk stops the run with its
error and writes nothing."""
from __future__ import annotations

import threading

import pytest

from hpsim.units import MIB
from policies import REGISTRY
from sim import batch, lockstep, simulate
from sim.testing import small_spec
from tests.test_batch import p0, p1, run_singles
from workloads.trace import TraceFormatError, TraceReader, TraceWriter

TABLES = simulate.TABLES
POLICIES = sorted(REGISTRY)
CHUNK = 64          # records per chunk: the small trace spans dozens of chunks


def _trace(path) -> str:
    """test_batch's process 0 (1024 + 512 access records and the rest), 64
    records to a chunk."""
    with TraceWriter(path, {"workload": "test"}, chunk_records=CHUNK) as w:
        p0(w)
    return str(path)


def _second(path) -> str:
    """test_batch's process 1, 64 records to a chunk."""
    with TraceWriter(path, {"workload": "test"}, chunk_records=CHUNK) as w:
        p1(w)
    return str(path)


def _spec(policies, processes=1):
    one = small_spec("linux-4k", memory_mib=64, sample_interval_s=0.002)
    del one["policy"]
    one["labels"] = {"experiment": "t", "workload": "w"}
    if processes == 2:
        one["processes"] = [{"name": "p0", "start_s": 0.0}, {"name": "p1", "start_s": 0.005}]
    one["policies"] = [{"name": p, "params": small_spec(p)["policy"]["params"]}
                       for p in policies]
    return one


def _traces(tmp, processes: int) -> list[str]:
    return [_trace(tmp / "t.trace")] + ([_second(tmp / "u.trace")] if processes == 2 else [])


@pytest.fixture(scope="module", params=[1, 2], ids=["one-trace", "two-traces"])
def singles(request, tmp_path_factory):
    """Each policy run alone by sim.simulate's command line, on one trace or
    two (two processes); returns (folder, processes)."""
    tmp = tmp_path_factory.mktemp("single")
    run_singles(tmp, _spec(POLICIES, request.param), _traces(tmp, request.param))
    return tmp, request.param


@pytest.fixture
def forced(monkeypatch):
    """simulate_all takes the lockstep path whatever the budget."""
    monkeypatch.setattr(batch, "cache_fits", lambda *a: 0)
    monkeypatch.setattr(batch, "lockstep_fits", lambda *a: True)


def _bounded(fn, *args, **kw):
    """fn(*args, **kw) in a thread, failing the test instead of hanging if
    the lockstep deadlocks; returns fn's result or raises its error."""
    out = {}

    def body():
        try:
            out["value"] = fn(*args, **kw)
        except BaseException as e:    # noqa: BLE001 - handed to the test
            out["error"] = e
    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(120)
    assert not t.is_alive(), "the lockstep did not finish within 120 s"
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.mark.parametrize("window", [1, 2, 8])
def test_side_by_side_writes_the_tables_of_single_policy_runs(tmp_path, singles, forced,
                                                               monkeypatch, window):
    monkeypatch.setattr(lockstep, "WINDOW", window)
    ref, processes = singles
    traces = _traces(tmp_path, processes)
    assert all(TraceReader(t).n_chunks > 5 for t in traces)
    done = _bounded(batch.simulate_all, _spec(POLICIES, processes), traces, tmp_path / "run",
                    progress=False)
    assert list(done) == POLICIES and len(set(done.values())) == 1   # same traces, every access
    for pol in POLICIES:
        for name in TABLES:
            assert (tmp_path / "run" / pol / name).read_bytes() == \
                (ref / pol / name).read_bytes(), (pol, name)


def test_the_trace_is_decoded_once_and_the_window_stays_bounded(tmp_path, forced, monkeypatch):
    monkeypatch.setattr(lockstep, "WINDOW", 2)
    trace = _trace(tmp_path / "t.trace")
    calls, held = [], []
    real_columns, real_drop = batch.TraceReader.columns, lockstep._Trace.drop

    def counting(self, **kw):
        calls.append(str(self.path))
        yield from real_columns(self, **kw)

    def watching(self):
        real_drop(self)
        held.append(len(self.chunks))
    monkeypatch.setattr(batch.TraceReader, "columns", counting)
    monkeypatch.setattr(lockstep._Trace, "drop", watching)
    _bounded(batch.simulate_all, _spec(["linux-4k", "linux-thp", "hawkeye-g"]), [trace],
             tmp_path / "run", progress=False)
    assert calls == [trace]
    # the window (2) beyond the slowest policy's next chunk, and the chunk it is on
    assert held and max(held) <= 3


def test_a_failing_policy_stops_the_others_and_writes_nothing(tmp_path, forced, monkeypatch):
    trace = _trace(tmp_path / "t.trace")
    real_run = batch.Simulation.run

    def run(self):
        if self.policy.name == "linux-thp":
            raise RuntimeError("boom")
        real_run(self)
    monkeypatch.setattr(batch.Simulation, "run", run)
    with pytest.raises(RuntimeError, match="boom"):
        _bounded(batch.simulate_all, _spec(["linux-4k", "linux-thp", "ingens"]), [trace],
                 tmp_path / "run", progress=False)
    assert not list((tmp_path / "run").rglob("*.csv"))


def test_a_corrupt_chunk_is_the_runs_error_and_writes_nothing(tmp_path, forced):
    trace = _trace(tmp_path / "t.trace")
    data = bytearray(open(trace, "rb").read())
    k = data.index(b"CHNK", len(data) // 2)       # a chunk in the second half
    data[k + 16 + 3] ^= 0xFF                       # inside its compressed payload
    open(trace, "wb").write(bytes(data))
    with pytest.raises(TraceFormatError, match="chunk"):
        _bounded(batch.simulate_all, _spec(["linux-4k", "linux-thp"]), [trace],
                 tmp_path / "run", progress=False)
    assert not list((tmp_path / "run").rglob("*.csv"))


def test_lockstep_fits_one_trace_several_policies_within_the_budget(tmp_path):
    trace = _trace(tmp_path / "t.trace")
    specs = batch.policy_specs(_spec(["linux-4k", "linux-thp"]))
    reader = TraceReader(trace)
    need = 2 * batch.budget.estimate([reader.trailer["peak_mapped_bytes"]],
                                     simulate.machine_params(specs[0]).n_blocks)
    enough = (need + lockstep.bytes_held([reader])) / MIB
    assert batch.lockstep_fits(specs, [trace], enough)
    assert not batch.lockstep_fits(specs, [trace], enough - 1 / MIB)
    assert not batch.lockstep_fits(specs[:1], [trace], 4000)          # one policy
    # two traces: two windows, and each machine's page tables for both
    assert not batch.lockstep_fits(specs, [trace, trace], enough)


def test_policies_waiting_ahead_on_different_traces_get_unstuck(tmp_path):
    """Policy 0 reads trace 0 to its end before trace 1, policy 1 the other
    way round: with a window of one chunk each soon waits ahead of the other
    on the trace the other has not started, every decoder held.  The run
    gives a trace a chunk beyond its window then, and a policy a stream of
    its own once that is used up; both read every chunk of both traces, in
    order."""
    paths = [_trace(tmp_path / "t.trace"), _second(tmp_path / "u.trace")]
    want = [[(w.copy(), a.copy()) for w, a in TraceReader(p).columns()] for p in paths]
    ls = lockstep.Lockstep(paths, 2, window=1)
    curs = [[ls.cursor(p) for p in paths] for _ in range(2)]
    got = [[[], []], [[], []]]

    def reader(k: int, order: list[int]):
        def job():
            for t in order:
                while curs[k][t].next_chunk():
                    got[k][t].append((curs[k][t].words.copy(), curs[k][t].args.copy()))
        return job
    _bounded(lockstep.run_all, ls, [reader(0, [0, 1]), reader(1, [1, 0])])
    for k in range(2):
        for t in range(2):
            assert len(got[k][t]) == len(want[t]) > 3
            for (w, a), (ww, aa) in zip(got[k][t], want[t]):
                assert (w == ww).all() and (a == aa).all()
    # first a chunk beyond the window (one, the window's size), then a stream of its own
    assert [tr.extra for tr in ls.traces] in ([1, 0], [0, 1], [1, 1])
    assert sum(len(tr.private) for tr in ls.traces) >= 1
    assert all(not tr.chunks for tr in ls.traces)      # everything dropped at the end
    grown, own = sum(tr.extra for tr in ls.traces), sum(len(tr.private) for tr in ls.traces)
    assert ls.summary() == ("lockstep: 2 trace(s) decoded once for 2 policies; windows grown "
                            f"by {grown} chunk(s), {own} trace stream(s) decoded by a policy "
                            "for itself")


def test_a_cursor_asked_out_of_order_is_refused(tmp_path):
    paths = [_trace(tmp_path / "t.trace"), _second(tmp_path / "u.trace")]
    ls = lockstep.Lockstep(paths, 1)
    with pytest.raises(ValueError, match="expected"):
        ls.cursor(paths[1])                # policy 0's first cursor is trace 0's
    ls.cursor(paths[0])
    ls.cursor(paths[1])
    with pytest.raises(ValueError, match="1 policies"):
        ls.cursor(paths[0])                # a second policy of a run of one
