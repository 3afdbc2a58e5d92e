"""One CLI convention: every entry point reports bad input as one line
``error: ...`` on stderr with exit status 2, including a bad trace found only
mid-run, and leaves no output behind."""
from __future__ import annotations

import json

import pytest

from hpsim.units import MIB
from sim import simulate
from sim.testing import A, small_spec, write_trace
from workloads import generate, lackey, tracecheck


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err), err
    return errors[0]


def test_simulate_reports_a_trace_error_found_mid_run(tmp_path, capsys):
    # valid header, one good access, then an access outside every VMA
    def body(w):
        w.mmap(A, 2 * MIB)
        w.access([A], True)
        w.access([A + 64 * MIB], True)
    trace = write_trace(tmp_path / "bad.trace", body)
    out = tmp_path / "out"
    rc = simulate.main(["--spec", json.dumps(small_spec("linux-4k")), "--trace", str(trace),
                        "--out-dir", str(out), "--quiet"])
    assert rc == 2
    line = _one_error_line(capsys)
    assert "bad.trace: record 2" in line and "outside every mapped VMA" in line
    assert not out.exists() or not any(out.iterdir())   # nothing half-written


@pytest.mark.parametrize("argv, needle", [
    (["--spec", "{not json", "--trace", "t", "--out-dir", "o"], "--spec is not JSON"),
    (["--spec", '{"policy": {"name": "linux-4k"}}', "--trace", "t", "--out-dir", "o"],
     "missing key(s) ['machine']"),
])
def test_simulate_bad_spec(argv, needle, capsys):
    assert simulate.main(argv) == 2
    assert needle in _one_error_line(capsys)


def test_simulate_missing_trace(tmp_path, capsys):
    rc = simulate.main(["--spec", json.dumps(small_spec("linux-4k")),
                        "--trace", str(tmp_path / "none.trace"), "--out-dir", str(tmp_path)])
    assert rc == 2 and "none.trace" in _one_error_line(capsys)


@pytest.mark.parametrize("spec, needle", [
    ("[1]", "JSON object with a 'kind' key"),
    ('{"kind": "nope"}', "unknown workload kind 'nope'"),
    ('{"kind": "buffer_touch", "extra": 1}', "unknown key(s) ['extra']"),
])
def test_generate_bad_spec(tmp_path, spec, needle, capsys):
    out = tmp_path / "x.trace"
    assert generate.main(["--spec", spec, "--out", str(out)]) == 2
    assert needle in _one_error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_lackey_missing_input(tmp_path, capsys):
    assert lackey.main([str(tmp_path / "none.lackey"), str(tmp_path / "o.trace")]) == 2
    assert "none.lackey" in _one_error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_tracecheck_usage_and_bad_file(tmp_path, capsys):
    assert tracecheck.main([]) == 2
    assert "usage" in _one_error_line(capsys)
    bad = tmp_path / "bad.trace"
    bad.write_bytes(b"not a trace")
    assert tracecheck.main([str(bad)]) == 2
    assert "bad.trace" in _one_error_line(capsys)


@pytest.mark.parametrize("module, argv, needle", [
    ("report.tables", ["table1", "--out", "{tmp}/t.csv", "{tmp}/none/summary.csv"],
     "missing input file"),
    ("report.tables", ["nope", "--out", "{tmp}/t.csv", "{tmp}/none/summary.csv"],
     "unknown experiment 'nope'"),
    ("report.figures", ["table1", "--out-dir", "{tmp}/f", "{tmp}/none/summary.csv"],
     "missing input file"),
    ("report.claims", ["--claims", "{tmp}/none.yaml", "--tables", "{tmp}", "--out", "{tmp}/c.csv"],
     "claims file not found"),
])
def test_report_entry_points_report_bad_input_as_one_error_line(tmp_path, capsys, module, argv,
                                                                 needle):
    import importlib
    main = importlib.import_module(module).main
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    assert needle in _one_error_line(capsys)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]   # nothing written


def test_a_hand_written_spec_gives_only_the_options_that_differ(tmp_path):
    """machine, pressure and policy.params are merged over the default profile's
    sections and the policy's block in config/config.yaml."""
    def body(w):
        w.mmap(A, 4 * MIB)
        w.access([A], True)
    trace = write_trace(tmp_path / "t.trace", body)
    spec = {**small_spec("linux-thp"), "policy": {"name": "linux-thp",
                                                  "params": {"fault_huge": False}}}
    sim = simulate.Simulation(spec, [str(trace)], progress=False)
    assert sim.policy.p["khugepaged"]["max_ptes_none"] == 511        # from the default profile
    sim.run()
    assert sim.summary().iloc[0].faults_4k == 1                      # fault_huge: false
    spec["policy"] = {"name": "linux-8k", "params": {}}
    with pytest.raises(ValueError, match="unknown policy 'linux-8k'"):
        simulate.Simulation(spec, [str(trace)], progress=False)
    # machine and pressure likewise: a spec written before migrate_4k_us and
    # dram_latency_ns existed (case 07's) takes them from the default profile
    spec["policy"] = {"name": "linux-thp", "params": {}}
    spec["machine"] = {**spec["machine"], "costs": {
        k: v for k, v in spec["machine"]["costs"].items()
        if k not in ("migrate_4k_us", "dram_latency_ns")}}
    spec["pressure"] = {"fragmentation": 0.0}
    sim = simulate.Simulation(spec, [str(trace)], progress=False)
    assert sim.params.costs["migrate_4k_us"] == 2.2                 # config.yaml's value
    assert sim.params.movable_pages == 256


def test_report_tables_as_a_program_knows_tables_registered_in_other_modules(tmp_path):
    """`python -m report.tables mmu_overhead` runs as __main__, a second copy of the
    module; mmu_overhead registers into report.tables, so the program must use that copy's
    registry (it answered "unknown experiment 'mmu_overhead'")."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "report.tables", "mmu_overhead", "--out",
                        str(tmp_path / "t.csv"), str(tmp_path / "none" / "summary.csv")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "missing input file" in r.stderr and "unknown experiment" not in r.stderr
