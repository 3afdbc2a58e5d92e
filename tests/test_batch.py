"""sim.batch: all policies of a run in one process write, for each policy,
the same bytes as ``python -m sim.simulate`` run for that policy alone."""
from __future__ import annotations

import csv
import json
import weakref

import pytest

from hpsim.units import MIB
from policies import REGISTRY
from sim import batch, budget, simulate
from sim.testing import A, compute, pages, small_spec, write_trace

TABLES = simulate.TABLES
POLICIES = sorted(REGISTRY)


def p0(w):
    """Process 0: writes 4 MiB (1024 pages), computes, frees half, reads
    every other page."""
    w.phase("load")
    w.mmap(A, 4 * MIB)
    w.access(pages(0, 1024), True)
    w.phase("run")
    compute(w, 0.02)
    w.madvise_dontneed(A + 2 * MIB, 2 * MIB)
    w.access(pages(0, 512, step=2), False)


def p1(w):
    """Process 1: writes 2 MiB (512 pages), computes."""
    w.mmap(A, 2 * MIB)
    w.access(pages(0, 512), True)
    compute(w, 0.01)


def _traces(tmp_path):
    """Two processes: p0, and p1 starting later (``_run_spec``)."""
    return [str(write_trace(tmp_path / "p0.trace", p0)), str(write_trace(tmp_path / "p1.trace", p1))]


def _run_spec(policies):
    one = small_spec("linux-4k", memory_mib=64, sample_interval_s=0.002)
    del one["policy"]
    one["processes"] = [{"name": "p0", "start_s": 0.0}, {"name": "p1", "start_s": 0.005}]
    one["labels"] = {"experiment": "t", "workload": "w"}
    one["policies"] = [{"name": p, "params": small_spec(p)["policy"]["params"]}
                       for p in policies]
    return one


def _tight_mb(traces) -> float:
    """A budget 1 byte short of the machine's estimate plus the decoded
    traces: the simulations fit, the cache beside them does not."""
    spec = batch.policy_specs(_run_spec(["linux-4k"]))[0]
    readers = [batch.TraceReader(t) for t in traces]
    need = budget.estimate([r.trailer["peak_mapped_bytes"] for r in readers],
                           simulate.machine_params(spec).n_blocks)
    return (need + batch.TraceCache.nbytes(readers) - 1) / MIB


def run_singles(tmp, spec: dict, traces: list[str]) -> None:
    """Each policy of the run ``spec`` alone, by sim.simulate's command line,
    its tables into tmp/<policy>/."""
    spec = dict(spec)
    for pol in spec.pop("policies"):
        argv = ["--spec", json.dumps({**spec, "policy": pol}), "--out-dir", str(tmp / pol["name"]),
                "--quiet"]
        for t in traces:
            argv += ["--trace", t]
        assert simulate.main(argv) == 0


@pytest.fixture(scope="module")
def singles(tmp_path_factory):
    """Each policy run alone by sim.simulate's command line."""
    tmp = tmp_path_factory.mktemp("single")
    run_singles(tmp, _run_spec(POLICIES), _traces(tmp))
    return tmp


@pytest.mark.parametrize("mem_mb", [4000, None, "tight"])
def test_one_process_writes_the_tables_of_single_policy_runs(tmp_path, singles, mem_mb):
    """4000 MiB and the host's memory keep the decoded traces for the next
    policies; a tight budget leaves no room for them beside the machine's
    estimate, so each policy decodes the traces again.  Same bytes either way."""
    traces = _traces(tmp_path)
    if mem_mb == "tight":
        mem_mb = _tight_mb(traces)
    argv = ["--spec", json.dumps(_run_spec(POLICIES)), "--out-dir", str(tmp_path / "run"),
            "--quiet"] + (["--mem-mb", str(mem_mb)] if mem_mb else [])
    for t in traces:
        argv += ["--trace", t]
    assert batch.main(argv) == 0
    for pol in POLICIES:
        for name in TABLES:
            assert (tmp_path / "run" / pol / name).read_bytes() == \
                (singles / pol / name).read_bytes(), (pol, name)


def test_the_tables_hold_the_traces_exact_fault_counts(singles):
    """p0: 1024 write faults, then reads of every other page, 256 of them in
    the 2 MiB given back by madvise: zero-page faults (linux-4k) or one
    huge-zero-page fault (linux-thp, whose 2 writes faults were 2 MiB)."""
    rows = {}
    for pol in ("linux-4k", "linux-thp"):
        with open(singles / pol / "summary.csv") as f:
            rows[pol] = {r["process"]: r for r in csv.DictReader(f)}
    kinds = ("faults", "faults_4k", "faults_zeropage", "faults_2m", "faults_huge_zero")
    got = {pol: {p: tuple(int(r[k]) for k in kinds) for p, r in rows[pol].items()}
           for pol in rows}
    assert got["linux-4k"] == {"p0": (1280, 1024, 256, 0, 0), "p1": (512, 512, 0, 0, 0)}
    assert got["linux-thp"] == {"p0": (3, 0, 0, 2, 1), "p1": (1, 0, 0, 1, 0)}


def test_traces_are_decoded_once_when_they_fit_else_once_per_policy(tmp_path, monkeypatch):
    traces = _traces(tmp_path)
    calls = []
    real = batch.TraceReader.columns

    def counting(self, **kw):    # counts the decodings begun, not the generators made
        calls.append(str(self.path))
        yield from real(self, **kw)
    monkeypatch.setattr(batch.TraceReader, "columns", counting)
    spec = _run_spec(["linux-4k", "linux-thp", "hawkeye-g"])
    batch.simulate_all(spec, traces, tmp_path / "a", mem_mb=4000, progress=False)
    assert sorted(calls) == sorted(traces)                # each trace once
    calls.clear()
    batch.simulate_all(spec, traces, tmp_path / "b", mem_mb=_tight_mb(traces), progress=False)
    assert sorted(calls) == sorted(traces * 3)            # each trace once per policy


def test_cache_fits_counts_12_bytes_per_record(tmp_path):
    traces = _traces(tmp_path)
    spec = batch.policy_specs(_run_spec(["linux-4k"]))[0]
    records = sum(batch.TraceReader(t).trailer["n_records"] for t in traces)
    assert batch.cache_fits(spec, traces, 4000) == 12 * records
    assert batch.cache_fits(spec, traces, _tight_mb(traces) + 1 / MIB) == 12 * records
    assert batch.cache_fits(spec, traces, _tight_mb(traces)) == 0


def test_a_policys_machine_is_freed_before_the_next_one_starts(tmp_path, monkeypatch):
    """The run's memory is the largest policy's, not the sum."""
    alive_at_start = []
    made = []

    class Tracked(batch.Simulation):
        def __init__(self, *args, **kw):
            alive_at_start.append(sum(r() is not None for r in made))
            super().__init__(*args, **kw)
            made.append(weakref.ref(self.m))
    monkeypatch.setattr(batch, "Simulation", Tracked)
    batch.simulate_all(_run_spec(["linux-4k", "linux-thp", "ingens"]), _traces(tmp_path),
                       tmp_path / "o", mem_mb=4000, progress=False)
    assert alive_at_start == [0, 0, 0]


@pytest.mark.parametrize("change, needle", [
    (lambda s: s.pop("policies"), "'policies' list"),
    (lambda s: s.update(policies=[]), "'policies' list"),
    (lambda s: s.update(policy={"name": "linux-4k"}), "no 'policy' key"),
    (lambda s: s["policies"].append(dict(s["policies"][0])), "['linux-4k'] listed more than once"),
    (lambda s: s["policies"].append({"name": "linux-8k"}), "linux-8k"),
])
def test_a_bad_run_spec_is_one_error_line(tmp_path, capsys, change, needle):
    spec = _run_spec(["linux-4k"])
    change(spec)
    argv = ["--spec", json.dumps(spec), "--out-dir", str(tmp_path / "o"), "--quiet"]
    for t in _traces(tmp_path):
        argv += ["--trace", t]
    assert batch.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and needle in err.strip().splitlines()[-1]
    assert not (tmp_path / "o").exists()     # refused before any policy ran


def test_an_error_in_a_later_policy_leaves_no_table_of_the_earlier_ones(tmp_path, capsys):
    """linux-4k runs to its end, then linux-thp's options are refused."""
    spec = _run_spec(["linux-4k", "linux-thp"])
    spec["policies"][1]["params"]["khugepaged"]["pages_to_scan"] = -5
    argv = ["--spec", json.dumps(spec), "--out-dir", str(tmp_path / "o")]
    for t in _traces(tmp_path):
        argv += ["--trace", t]
    assert batch.main(argv) == 2
    err = capsys.readouterr().err
    assert "done linux-4k" in err and "pages_to_scan" in err.strip().splitlines()[-1]
    assert not [p for p in (tmp_path / "o").rglob("*") if p.is_file()]
