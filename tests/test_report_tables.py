"""report.tables: the table1 builder on runs with known numbers, and its CLI."""
import contextlib
import io
import subprocess
import sys

import pandas as pd
import pytest

from report import InputError
from report.tables import TABLE1_COLUMNS, TABLES, hist_quantile, main as tables_main, table1
from tests.test_report_fixtures import (make_table1_runs, runs_in, summaries, summary_row,
                                        write_run)


def read(path):
    return pd.read_csv(path).set_index("policy")


def test_table1_values_and_ratios_are_exact(tmp_path):
    runs = make_table1_runs(tmp_path / "runs")
    out = tmp_path / "t" / "table1.csv"
    r = subprocess.run([sys.executable, "-m", "report.tables", "table1", "--out", str(out),
                        *summaries(runs)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "wrote 2 row(s)" in r.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == TABLE1_COLUMNS
    t = df.set_index("policy")
    k4, k2 = t.loc["linux-4k"], t.loc["linux-thp"]
    assert (k4.faults, k4.faults_4k, k4.faults_2m) == (1024, 1024, 0)
    assert (k2.faults, k2.faults_4k, k2.faults_2m) == (8, 0, 8)
    assert k4.fault_time_s == 0.25 and k2.fault_time_s == 0.125
    assert k4.mean_fault_latency_us == 244.140625 and k2.mean_fault_latency_us == 15625.0
    assert (k4.p50_fault_latency_us, k4.p99_fault_latency_us) == (240.0, 250.0)
    assert k4.zeroing_share == 0.25 and k2.zeroing_share == 0.75
    assert k4.runtime_s == 2.0 and k2.runtime_s == 0.5
    assert (k4.fault_ratio, k4.latency_ratio, k4.speedup) == (1.0, 1.0, 1.0)
    assert k2.fault_ratio == 128.0
    assert k2.latency_ratio == 64.0
    assert k2.speedup == 4.0
    assert not list(out.parent.glob("*.part"))  # atomic write left no temp file


def test_policies_are_in_paper_order_then_alphabetical(tmp_path):
    extra = {p: dict(faults=10, faults_4k=10, fault_time_s=0.5, runtime_s=1.0)
             for p in ("zz-custom", "hawkeye-g", "ingens", "aa-custom", "freebsd", "hawkeye-pmu")}
    df = table1(runs_in(make_table1_runs(tmp_path, extra)))
    assert list(df["policy"]) == ["linux-4k", "linux-thp", "freebsd", "ingens", "hawkeye-pmu",
                                  "hawkeye-g", "aa-custom", "zz-custom"]
    assert df.set_index("policy").loc["ingens", "speedup"] == 2.0


def test_processes_of_a_run_are_added_up(tmp_path):
    rows = [summary_row("linux-4k", "a", faults=100, faults_4k=100, fault_time_s=0.5,
                        zeroing_time_s=0.125, runtime_s=3.0),
            summary_row("linux-4k", "b", faults=300, faults_4k=300, fault_time_s=1.5,
                        zeroing_time_s=0.375, runtime_s=5.0)]
    # combined histogram: 300 faults at 4 us, 100 at 6 us -> median 4, p99 6
    write_run(tmp_path, "linux-4k", rows, hist=[("a", 6.0, 100), ("b", 4.0, 300)])
    t = table1(runs_in(tmp_path)).set_index("policy").loc["linux-4k"]
    assert t.faults == 400 and t.fault_time_s == 2.0 and t.mean_fault_latency_us == 5000.0
    assert t.zeroing_share == 0.25 and t.runtime_s == 5.0
    assert (t.p50_fault_latency_us, t.p99_fault_latency_us) == (4.0, 6.0)


def test_hist_quantile_matches_the_simulators_rule():
    assert hist_quantile([3.0, 1.0, 2.0], [1, 1, 2], 0.5) == 2.0
    assert hist_quantile([1.0, 2.0], [99, 1], 0.99) == 1.0
    assert hist_quantile([1.0, 2.0], [98, 2], 0.99) == 2.0
    assert hist_quantile([], [], 0.5) == 0.0


def test_without_baseline_the_ratios_are_empty(tmp_path):
    write_run(tmp_path, "linux-thp", [summary_row("linux-thp", faults=8, fault_time_s=0.1)])
    df = table1(runs_in(tmp_path))
    assert df[["fault_ratio", "latency_ratio", "speedup"]].isna().all().all()


@pytest.mark.parametrize("case", ["missing_summary", "missing_column", "no_rows",
                                  "no_policy_label", "two_runs_of_a_policy"])
def test_bad_inputs_fail_naming_the_input(tmp_path, case):
    runs = make_table1_runs(tmp_path / "runs")
    listed = summaries(runs)
    p4k = runs / "linux-4k" / "summary.csv"
    if case == "missing_summary":
        (runs / "linux-thp" / "summary.csv").unlink()
    if case == "missing_column":
        pd.read_csv(p4k).drop(columns=["zeroing_time_s"]).to_csv(p4k, index=False)
    if case == "no_rows":
        pd.read_csv(p4k).iloc[0:0].to_csv(p4k, index=False)
    if case == "no_policy_label":
        pd.read_csv(p4k).drop(columns=["policy"]).to_csv(p4k, index=False)
    if case == "two_runs_of_a_policy":
        copy = tmp_path / "copy" / "summary.csv"
        copy.parent.mkdir()
        copy.write_bytes(p4k.read_bytes())
        listed.append(str(copy))
    out = tmp_path / "table1.csv"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = tables_main(["table1", "--out", str(out), *listed])
    assert rc == 2
    last = err.getvalue().strip().splitlines()[-1]
    assert last.startswith("error: ")
    expect = {"missing_summary": [str(runs / "linux-thp" / "summary.csv")],
              "missing_column": [str(p4k), "zeroing_time_s"],
              "no_rows": [str(p4k), "no rows"],
              "no_policy_label": [str(p4k), "'policy' label"],
              "two_runs_of_a_policy": [str(p4k), str(tmp_path / "copy" / "summary.csv"),
                                       "'linux-4k'"]}[case]
    for e in expect:
        assert e in last, (e, last)
    assert not out.exists()


def test_only_the_given_runs_are_read(tmp_path):
    runs = make_table1_runs(tmp_path / "runs", {"ingens": dict(faults=10, runtime_s=1.0)})
    listed = [s for s in summaries(runs) if "ingens" not in s]
    out = tmp_path / "table1.csv"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert tables_main(["table1", "--out", str(out), *listed]) == 0
    assert list(pd.read_csv(out)["policy"]) == ["linux-4k", "linux-thp"]
    assert "reading 2 run(s)" in err.getvalue()


def test_unknown_experiment_is_rejected(tmp_path):
    assert "table1" in TABLES
    with pytest.raises(InputError, match="unknown experiment 'nope'"):
        from report.tables import build
        build("nope", summaries(make_table1_runs(tmp_path)))
