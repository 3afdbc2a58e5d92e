"""Native replay on the host kernel (host/): exact fault counts on tiny
hand-made traces, the tables' columns, honest refusal, the machine profile,
and calibration held apart from validation."""
from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from hpsim import options
from hpsim.units import MIB, PAGE_SIZE
from host import calibrate, kernel, native, replay
from sim.testing import pages, small_spec, write_trace

# A 2 MiB-aligned base far from where the loader and libraries map
# (MAP_FIXED_NOREPLACE at the trace's own addresses).
B = 0x500000000000


def _skip_reason(policy: str) -> str | None:
    why = kernel.unavailable(policy)
    if why:
        return why
    try:
        native.binary()
    except native.NativeUnavailable as e:
        return str(e)
    return None


needs_linux = pytest.mark.skipif(_skip_reason("host-4k") is not None,
                                 reason=f"no native replay here: {_skip_reason('host-4k')}")
needs_thp = pytest.mark.skipif(_skip_reason("host-thp") is not None,
                               reason=f"kernel lacks THP for MADV_HUGEPAGE: "
                                      f"{_skip_reason('host-thp')}")


def _small_trace(w):
    """64 pages mapped: 10 written, 5 read, 2 of those written later (COW of
    the zero page), repeats that must not fault again; then 4 pages dropped
    with MADV_DONTNEED and written again; then unmapped, mapped anew and 3
    pages written."""
    w.mmap(B, 64 * PAGE_SIZE)
    w.phase("first")
    w.access(pages(0, 10, base=B), True, counts=np.full(10, 3))
    w.access(pages(20, 5, base=B), False)
    w.phase("second")
    w.access(pages(20, 2, base=B), True)
    w.access(pages(0, 10, base=B), False, counts=np.full(10, 2))
    w.madvise_dontneed(B, 4 * PAGE_SIZE)
    w.access(pages(0, 4, base=B), True)
    w.munmap(B, 64 * PAGE_SIZE)
    w.mmap(B, 64 * PAGE_SIZE)
    w.access(pages(40, 3, base=B), True)
    w.munmap(B, 64 * PAGE_SIZE)


@needs_linux
def test_4k_fault_counts_exact(tmp_path):
    t = write_trace(tmp_path / "small.trace", _small_trace)
    s = replay.run(t, "host-4k", tmp_path / "out", repeat=2, sample_s=0.001).iloc[0]
    # one fault per page first touched (10 + 5 reads + 4 after DONTNEED + 3 after
    # re-mmap) and one per first write to a page read before (2)
    assert s["faults"] == 24
    assert s["faults_instrumented"] == 24
    assert s["faults_4k"] == 17 and s["faults_zeropage"] == 5 and s["faults_cow"] == 2
    assert s["faults_2m"] == 0
    assert s["stray_faults"] == 0
    assert s["accesses"] == 30 + 5 + 2 + 20 + 4 + 3 and s["writes"] == 30 + 2 + 4 + 3
    assert s["repeats"] == 2 and not s["not_measured"]
    assert s["fault_time_s"] > 0 and s["runtime_s"] > 0
    ph = pd.read_csv(tmp_path / "out" / "phases.csv")
    assert list(ph["phase"]) == ["first", "second"]
    assert list(ph["faults"]) == [15, 9]
    hist = pd.read_csv(tmp_path / "out" / "fault_hist.csv")
    assert hist["count"].sum() == 24


def test_what_an_access_stands_for_comes_from_the_generator():
    # Redis emits one access per 64-byte line; the others (and hand-made traces) words
    assert replay.access_bytes({"workload": "redis"}) == 64
    assert replay.access_bytes({"workload": "graph500"}) == 8
    assert replay.access_bytes({"workload": "test"}) == 8


@needs_linux
def test_line_accesses_fault_exactly_too(tmp_path):
    """A trace whose accesses are 64-byte lines (a Redis header): the same fault
    counts; its records' accesses go to consecutive lines."""
    t = write_trace(tmp_path / "lines.trace", _small_trace, header={"workload": "redis"})
    s = replay.run(t, "host-4k", tmp_path / "out", repeat=1, sample_s=0.001).iloc[0]
    assert (s["faults"], s["faults_4k"], s["faults_cow"]) == (24, 17, 2)


@needs_linux
def test_4k_touch_one_fault_per_page(tmp_path):
    """A buffer touch (random page order): exactly one fault per page."""
    n = 3000
    order = np.random.default_rng(1).permutation(n).astype(np.uint64)

    def body(w):
        w.mmap(B, n * PAGE_SIZE)
        w.access(B + order * np.uint64(PAGE_SIZE), True)
        w.munmap(B, n * PAGE_SIZE)
    t = write_trace(tmp_path / "touch.trace", body)
    res = replay.replay_once(t, "host-4k", 0.0, instrument=False)
    assert res["T"][3] == n
    res = replay.replay_once(t, "host-4k", 0.0, instrument=True)
    assert res["T"][3] == n and res["T"][5] == 0


@needs_linux
def test_warm_up_takes_the_runs_faults_without_its_cycles(tmp_path):
    """The warm-up (TOUCH_ONLY) takes the timed run's faults, 24 on
    _small_trace (zero-page reads, their COW writes, the faults after
    DONTNEED and after a new mmap), and counts every access, repeats
    included, without replaying them."""
    def body(w):
        w.cycles(10_000_000)            # 30 s of spinning if the warm-up spun them
        _small_trace(w)
    t = write_trace(tmp_path / "small.trace", body)
    T = replay.replay_once(t, "host-4k", 0.0, instrument=replay.TOUCH_ONLY)["T"]
    assert T[3] == 24
    assert T[1] == 30 + 5 + 2 + 20 + 4 + 3


def test_address_span_covers_every_mapping(tmp_path):
    t = write_trace(tmp_path / "small.trace", _small_trace)
    assert replay.address_span(t) == (B, B + 64 * PAGE_SIZE)

    def two(w):
        w.mmap(B + (5 << 30), 3 * PAGE_SIZE)
        w.mmap(B, 2 * PAGE_SIZE)
        w.access(pages(0, 1, base=B), True)
    assert replay.address_span(write_trace(tmp_path / "two.trace", two)) == \
        (B, B + (5 << 30) + 3 * PAGE_SIZE)


W = 0x7F0000000000      # the workloads' own heap base, amid the child's libraries' range


@needs_linux
def test_mappings_far_apart_at_the_workloads_addresses_fault_exactly(tmp_path):
    """Shifted into the child's reserved window: two VMAs 5 GiB apart at the
    workloads' addresses (where ASLR may put the replayer's libraries), one
    unmapped and mapped again: one fault per page first written."""
    def body(w):
        w.mmap(W, 16 * PAGE_SIZE)
        w.mmap(W + (5 << 30), 16 * PAGE_SIZE)
        w.access(pages(0, 16, base=W), True)
        w.access(pages(0, 7, base=W + (5 << 30)), True)
        w.munmap(W, 16 * PAGE_SIZE)
        w.mmap(W, 16 * PAGE_SIZE)
        w.access(pages(0, 3, base=W), True)
    t = write_trace(tmp_path / "far.trace", body)
    for _ in range(5):      # a fresh child, a fresh layout, each time
        assert replay.replay_once(t, "host-4k", 0.0, instrument=False)["T"][3] == 16 + 7 + 3


def test_a_child_whose_mapping_met_its_own_is_run_again(tmp_path, monkeypatch):
    calls = []

    def child(*a):
        calls.append(a)
        if len(calls) < replay.ADDRESS_ATTEMPTS:
            raise replay._AddressInUse("native: mmap at the trace's address: in use")
        return {"T": [1]}
    monkeypatch.setattr(replay, "_replay_child", child)
    assert replay.replay_once("t.trace", "host-4k", 0.0, span=(1, 2)) == {"T": [1]}
    assert len(calls) == replay.ADDRESS_ATTEMPTS

    def always(*a):
        calls.append(a)
        raise replay._AddressInUse("native: mmap at the trace's address: in use")
    calls.clear()
    monkeypatch.setattr(replay, "_replay_child", always)
    with pytest.raises(RuntimeError, match=f"failed {replay.ADDRESS_ATTEMPTS} times"):
        replay.replay_once("t.trace", "host-4k", 0.0, span=(1, 2))


@needs_thp
def test_thp_one_huge_fault_per_region(tmp_path):
    """host-thp: a write to each of 3 empty 2 MiB regions takes one huge fault
    each (free huge blocks permitting: the test needs 6 MiB of them), and the
    rest of each region is then mapped."""
    def body(w):
        w.mmap(B, 6 * MIB)
        for r in range(3):
            w.access(pages(r * 512, 512, base=B), True)
        w.phase("free")             # a sample of AnonHugePages before the munmap
        w.munmap(B, 6 * MIB)
    t = write_trace(tmp_path / "thp.trace", body)
    res = replay.replay_once(t, "host-thp", 0.0, instrument=True)
    if res["T"][5] < 3:
        pytest.skip(f"host had no free 2 MiB blocks ({res['T'][5]} of 3 faults huge)")
    assert res["T"][3] == 3 and res["T"][5] == 3
    assert res["T"][10] == 6 * 1024     # peak AnonHugePages, KiB (sampled at the phase)


@needs_thp
def test_thp_4k_faults_are_seen_one_by_one(tmp_path):
    """host-thp, a VMA too small for a huge page (64 pages): 40 pages written,
    then 10 of them again and 5 read.  The instrumented run takes a first
    access slower than FAULT_NS for a fault (no system call between faults);
    the span-end count agrees: 40 faults, none huge, none stray."""
    def body(w):
        w.mmap(B, 64 * PAGE_SIZE)
        w.access(pages(0, 40, base=B), True)
        w.access(pages(0, 10, base=B), True)
        w.access(pages(0, 5, base=B), False)
        w.munmap(B, 64 * PAGE_SIZE)
    t = write_trace(tmp_path / "small_thp.trace", body)
    T = replay.replay_once(t, "host-thp", 0.0, instrument=True)["T"]
    assert T[3] == 40 and T[5] == 0
    assert T[7] == 0                      # stray: every fault seen at its access
    assert T[4] > 40 * 500                # fault time, ns: each fault takes microseconds


@needs_linux
def test_tables_have_the_simulators_columns(tmp_path):
    """Every column of a simulated run's summary.csv and timeseries.csv is in
    the native run's, so table builders read both."""
    from sim.testing import run as sim_run
    sim = sim_run(small_spec("linux-4k", sample_interval_s=0.001), [_small_trace])
    t = write_trace(tmp_path / "small.trace", _small_trace)
    replay.run(t, "host-4k", tmp_path / "out", repeat=1, sample_s=0.0005)
    native_cols = set(pd.read_csv(tmp_path / "out" / "summary.csv").columns)
    sim_cols = set(sim.summary().columns)
    assert sim_cols - native_cols - set(sim.policy.counters()) == set()
    ts = pd.read_csv(tmp_path / "out" / "timeseries.csv")
    assert set(pd.DataFrame(sim.rows).columns) - set(ts.columns) == set()
    assert (ts["rss_bytes"] >= 0).all()
    # the simulator counts the same faults as the kernel on this trace
    assert int(sim.summary().iloc[0]["faults"]) == 24


def test_refused_run_writes_not_measured_row(tmp_path):
    t = write_trace(tmp_path / "small.trace", _small_trace)
    s = replay.run(t, "host-4k", tmp_path / "out", repeat=3, max_bytes=4096).iloc[0]
    assert "cap" in s["not_measured"] or "not Linux" in s["not_measured"]
    assert s["repeats"] == 0
    assert (tmp_path / "out" / "timeseries.csv").exists()


def test_unavailable_reasons():
    assert "never" in kernel.unavailable("host-thp", {"enabled": "never"})
    assert "absent" in kernel.unavailable("host-thp", {})
    with pytest.raises(ValueError):
        kernel.unavailable("linux-thp")


def test_memory_refusal_uses_available_memory():
    avail = kernel.mem_available_bytes()
    if avail == 0:
        pytest.skip("no /proc/meminfo")
    assert kernel.memory_refusal(avail // 4, 0.5) is None
    assert "MemAvailable" in kernel.memory_refusal(avail, 0.5)


def test_profile_is_a_valid_machine_section():
    """The profile calibrate writes merges over config.yaml's machine section
    and passes the schema; unmeasured keys stay comments."""
    values = {k: (1.5, "measured") for k in calibrate.ORDER}
    values["walk_cycles_4k"] = (120, "measured")
    values["l2_hit_cycles"] = (3, "measured")
    values["access_cycles"] = (21, "measured")
    values["walk_cycles_2m"] = (None, "not measured: reason")
    text = calibrate.profile_text(values)
    prof = yaml.safe_load(text)
    assert "# walk_cycles_2m: keeps" in text
    cfg = options.default_config()
    machine = options.merge(cfg["machine"], prof["machine"])
    assert machine["costs"]["walk_cycles_2m"] == cfg["machine"]["costs"]["walk_cycles_2m"]
    assert machine["costs"]["fault_base_2m_us"] == 1.5
    schema = options.load_schema()
    assert options.schema_errors(schema, schema["$defs"]["machine"], machine, "machine") == []


def test_calibration_and_validation_traces_are_disjoint():
    """No trace replayed by host.calibrate is one the validation experiment
    checks, in any profile."""
    from pathlib import Path
    cfg = options.default_config()
    root = Path(options.CONFIG).parent
    profiles = [cfg] + [options.merge(copy.deepcopy(cfg), yaml.safe_load(open(root / f)))
                        for f in ("paper.yaml", "test.yaml")]
    calib = [(w["kind"], sorted(w["params"].items()))
             for w in calibrate.CALIBRATION_WORKLOADS.values()]
    checked = 0
    for prof in profiles:
        exp = prof["experiments"].get("validation")
        if exp is None:
            continue
        for name in exp["sweep"]["workloads"]:
            wl = prof["workloads"][name]
            params = {**calibrate.CALIBRATION_WORKLOADS["calib_touch"]["params"],
                      **wl.get("params", {})} if wl["kind"] == "buffer_touch" else wl["params"]
            assert (wl["kind"], sorted(params.items())) not in calib, name
            if wl["kind"] == "buffer_touch":
                assert wl["params"]["size_gib"] != \
                    calibrate.CALIBRATION_WORKLOADS["calib_touch"]["params"]["size_gib"], name
            checked += 1
    assert checked > 0


def test_validation_table_errors_and_tolerances():
    """report.validation: error = simulated / measured - 1, tolerance exact for
    4 KiB faults, 1% for THP faults, max(15%, spread) for times; a native run
    that could not be made gives 'not measured' rows."""
    from report.validation import build
    base = {"experiment": "validation", "workload": "t", "variant": "t_f0_t0"}
    sims = pd.DataFrame([
        {**base, "policy": "linux-4k", "faults": 100, "fault_time_s": 1.2, "runtime_s": 2.0},
        {**base, "policy": "linux-thp", "faults": 2, "faults_2m": 2, "fault_time_s": 0.5,
         "runtime_s": 1.0}])
    native = pd.DataFrame([
        {**base, "policy": "host-4k", "faults": 100, "faults_min": 100, "faults_max": 100,
         "fault_time_s": 1.0, "fault_time_s_min": 0.95, "fault_time_s_max": 1.05,
         "runtime_s": 2.0, "runtime_s_min": 1.0, "runtime_s_max": 3.0, "not_measured": ""},
        {**base, "policy": "host-thp", "not_measured": "THP enabled=never"}])
    t = build([sims, native]).set_index(["policy", "quantity"])
    assert t.loc[("linux-4k", "faults"), "error"] == 0 and t.loc[("linux-4k", "faults"), "within"]
    assert t.loc[("linux-4k", "faults"), "tolerance"] == 0
    assert t.loc[("linux-4k", "fault_time_s"), "error"] == pytest.approx(0.2)
    assert t.loc[("linux-4k", "fault_time_s"), "tolerance"] == 0.15   # spread 10% < 15%
    assert not t.loc[("linux-4k", "fault_time_s"), "within"]
    assert t.loc[("linux-4k", "runtime_s"), "tolerance"] == pytest.approx(1.0)   # its spread
    assert t.loc[("linux-4k", "runtime_s"), "within"]
    thp = t.loc["linux-thp"]
    assert list(thp.index) == ["faults", "faults_2m", "fault_time_s", "runtime_s"]
    assert (thp["note"] == "not measured: THP enabled=never").all()


def test_an_instrumentation_estimate_larger_than_the_run_is_not_a_run_time():
    """native.c subtracts its instrumentation's time in unsigned arithmetic:
    a wrapped value (seen on buffer touches) is NaN, not 18 billion s."""
    assert replay.instrumented_runtime_ns(123_456) == 123_456
    assert math.isnan(replay.instrumented_runtime_ns(2**64 - 5_000))


@pytest.mark.parametrize("argv, needle", [
    (["--labels", "[1]"], "--labels [1]: must be a JSON object"),
    (["--max-gib", "-1"], "--max-gib -1: must be a finite number > 0"),
    (["--max-gib", "inf"], "--max-gib inf: must be a finite number > 0"),
    (["--max-share", "nan"], "--max-share nan: must be a finite number in (0, 1]"),
    (["--sample-interval-s", "0"], "--sample-interval-s 0: must be a finite number > 0"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, argv, needle):
    t = write_trace(tmp_path / "small.trace", _small_trace)
    out = tmp_path / "out"
    rc = replay.main(["--trace", str(t), "--policy", "host-4k", "--repeat", "1", "--quiet",
                      "--out-dir", str(out), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    line, = [line for line in err.splitlines() if line.startswith("error: ")]
    assert line.startswith(f"error: {needle}")
    assert not out.exists()


def test_a_bad_trace_or_out_dir_is_refused_before_any_replay(tmp_path, capsys, monkeypatch):
    t = write_trace(tmp_path / "small.trace", _small_trace)
    monkeypatch.setattr(replay, "run", lambda *a, **k: pytest.fail("replayed"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    for argv, needle in (
            (["--trace", str(tmp_path), "--out-dir", str(tmp_path / "o")],
             f"--trace {tmp_path}: a directory, not a trace file"),
            (["--trace", str(t), "--out-dir", str(blocker / "o")],
             f"--out-dir {blocker / 'o'}: {blocker} is not a writable directory")):
        rc = replay.main([*argv, "--policy", "host-4k", "--quiet"])
        line, = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error: ")]
        assert rc == 2 and line == f"error: {needle}"


@needs_linux
def test_an_access_outside_every_mapping_is_a_one_line_error(tmp_path, capsys):
    def body(w):
        w.mmap(B, 2 * MIB)
        w.access([B], True)
        w.access([B + 64 * MIB], True)      # the simulator's "outside every mapped VMA"
    t = write_trace(tmp_path / "outside.trace", body)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="killed by SIGSEGV"):   # still a RuntimeError
        replay.replay_once(t, "host-4k", 0.0, instrument=False)
    rc = replay.main(["--trace", str(t), "--policy", "host-4k", "--repeat", "1", "--quiet",
                      "--out-dir", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    line, = [line for line in err.splitlines() if line.startswith("error: ")]
    assert "killed by SIGSEGV" in line and "workloads.tracecheck" in line
    assert not out.exists()


@needs_linux
def test_a_trace_with_pauses_is_replayed_with_a_warning(tmp_path, capsys):
    from workloads.trace import TraceWriter
    t = tmp_path / "paused.trace"
    w = TraceWriter(t, {"workload": "test"})
    _small_trace(w)
    w.close({"pauses": {"pause": 2.0}})
    s = replay.run(t, "host-4k", tmp_path / "out", repeat=1, progress=False).iloc[0]
    assert "native replay does not pause" in capsys.readouterr().err
    assert s["faults"] == 24 and not s["not_measured"]


def test_calibration_spread_is_never_negative():
    # a difference of two chases can have a negative median (l2_hit_cycles: -0.014
    # cycles, written as "spread -2236.8%" before)
    med, spread = calibrate._stats([-0.02, -0.014, 0.3])
    assert med == -0.014 and spread == pytest.approx(0.32 / 0.014)


def test_help_states_the_defaults(capsys):
    for main in (replay.main, calibrate.main):
        with pytest.raises(SystemExit):
            main(["--help"])
    out = capsys.readouterr().out
    assert "default 5" in out and "default 0.5" in out and "default 2.0" in out
    assert "default config/host.yaml" in out


@needs_linux
def test_tables_name_each_column_once(tmp_path):
    # labels hold "process" (the workflow's do): fault_hist.csv and events.csv had it twice
    t = write_trace(tmp_path / "small.trace", _small_trace)
    replay.run(t, "host-4k", tmp_path / "out", repeat=1, progress=False,
               labels={"variant": "v", "process": "p"})
    for name in ("summary", "repeats", "timeseries", "phases", "fault_hist", "events",
                 "threads"):
        header = (tmp_path / "out" / f"{name}.csv").read_text().splitlines()[0].split(",")
        assert len(header) == len(set(header)), (name, header)
    assert set(pd.read_csv(tmp_path / "out" / "fault_hist.csv")["process"]) == {"p"}


def test_calibration_counts_huge_faults_over_all_faults():
    # 96 faults, all huge, 4 of them descheduled (not timed): no "were huge" message,
    # which compared the timed huge faults with all faults
    T = [0, 0, 0, 96, 0, 96, 0, 0, 0, 0, 0, 0, 0]
    C = [1, 1.0, 4, 0, 0.0, 92, 1.7e7]
    assert calibrate.huge_shortfall({"T": T, "C": [C]}) is None
    T[5] = 90
    assert calibrate.huge_shortfall({"T": T, "C": [C]}) == \
        "90 of 96 faults were huge (no free block?)"
