"""sim.lockstep: a run's policies replaying one trace side by side, decoded
once, write the bytes each policy writes alone; the decoded window stays
bounded; a failing policy or a corrupt chunk stops the run with its error
and writes nothing."""
from __future__ import annotations

import threading

import pytest

from hpsim.units import MIB
from policies import REGISTRY
from sim import batch, lockstep, simulate
from sim.testing import small_spec
from tests.test_batch import p0, run_singles
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


def _spec(policies):
    one = small_spec("linux-4k", memory_mib=64, sample_interval_s=0.002)
    del one["policy"]
    one["labels"] = {"experiment": "t", "workload": "w"}
    one["policies"] = [{"name": p, "params": small_spec(p)["policy"]["params"]}
                       for p in policies]
    return one


@pytest.fixture(scope="module")
def singles(tmp_path_factory):
    """Each policy run alone by sim.simulate's command line."""
    tmp = tmp_path_factory.mktemp("single")
    run_singles(tmp, _spec(POLICIES), [_trace(tmp / "t.trace")])
    return tmp


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
    trace = _trace(tmp_path / "t.trace")
    assert TraceReader(trace).n_chunks > 20
    done = _bounded(batch.simulate_all, _spec(POLICIES), [trace], tmp_path / "run",
                    progress=False)
    assert list(done) == POLICIES and len(set(done.values())) == 1   # same trace, every access
    for pol in POLICIES:
        for name in TABLES:
            assert (tmp_path / "run" / pol / name).read_bytes() == \
                (singles / pol / name).read_bytes(), (pol, name)


def test_the_trace_is_decoded_once_and_the_window_stays_bounded(tmp_path, forced, monkeypatch):
    monkeypatch.setattr(lockstep, "WINDOW", 2)
    trace = _trace(tmp_path / "t.trace")
    calls, held = [], []
    real_columns, real_drop = batch.TraceReader.columns, lockstep.SharedTrace._drop

    def counting(self, **kw):
        calls.append(str(self.path))
        yield from real_columns(self, **kw)

    def watching(self):
        real_drop(self)
        held.append(len(self.chunks))
    monkeypatch.setattr(batch.TraceReader, "columns", counting)
    monkeypatch.setattr(lockstep.SharedTrace, "_drop", watching)
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
    enough = (need + lockstep.SharedTrace.bytes_held(reader)) / MIB
    assert batch.lockstep_fits(specs, [trace], enough)
    assert not batch.lockstep_fits(specs, [trace], enough - 1 / MIB)
    assert not batch.lockstep_fits(specs[:1], [trace], 4000)          # one policy
    # two traces (processes): each policy's positions in them drift apart
    # differently, so no window bounds the chunks kept (module doc)
    assert not batch.lockstep_fits(specs, [trace, trace], 4000)


def test_a_cursor_for_another_trace_or_one_too_many_is_refused(tmp_path):
    trace = _trace(tmp_path / "t.trace")
    shared = lockstep.SharedTrace(trace, 1)
    with pytest.raises(ValueError, match="the shared trace is"):
        shared.cursor(tmp_path / "other.trace")
    shared.cursor(trace)
    with pytest.raises(ValueError, match="1 consumers"):
        shared.cursor(trace)                  # a second policy of a run of one
