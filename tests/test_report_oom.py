"""Runs that ran out of memory are never reported as whole (issue #11): the tables flag
them, claims that read them are not measured, and the report marks them."""
import math

import pandas as pd
import pytest
import yaml

from hpsim.units import MIB
from report.claims import OOM_REASON, check, parse_claim
from report.figures import draw_all
from report.render.common import oom_note
from report.tables import fig_fairness, fig_promotion, overhead, sweep, table1
from tests.test_report_fixtures import (RUNS, make_fairness_runs, make_overhead_runs,
                                        make_promotion_runs, make_sweep_runs, make_table1_runs,
                                        runs_in, summaries)
from tests.test_report_render import REPO, pdf_text, render, squash

INGENS = dict(faults=1024, faults_4k=1024, fault_time_s=0.25, zeroing_time_s=0.0625,
              p50_fault_latency_us=240.0, p99_fault_latency_us=250.0, runtime_s=1.0)


def oom_table1(root, policy="linux-thp", t=0.375):
    """table1 of linux-4k, linux-thp and ingens, where ``policy``'s run was killed at t s."""
    runs = {**RUNS, "ingens": INGENS}
    make_table1_runs(root / "runs", {"ingens": INGENS,
                                     policy: {**runs[policy], "oom": 1, "oom_time_s": t}})
    tables = root / "tables"
    tables.mkdir()
    df = table1(runs_in(root / "runs"))
    df.to_csv(tables / "table1.csv", index=False)
    return df, tables


def claim(expr, paper, table="table1", **kw):
    return parse_claim({"id": "c", "source": "Table 1", "statement": "s", "paper_value": paper,
                        "our_value": {"table": table, "expr": expr}, "tolerance": 0.05, **kw},
                       "test")


def test_table1_flags_only_the_row_of_the_run_that_ran_out_of_memory(tmp_path):
    df, _ = oom_table1(tmp_path)
    assert list(df["policy"]) == ["linux-4k", "linux-thp", "ingens"]
    assert list(df["oom"]) == [0, 1, 0]
    assert df["oom_time_s"].iloc[1] == 0.375
    assert math.isnan(df["oom_time_s"].iloc[0]) and math.isnan(df["oom_time_s"].iloc[2])
    assert list(df["oom_process"]) == ["", "buffer", ""]
    assert df["speedup"].iloc[1] == 4.0     # the numbers stay: they are what happened


def test_a_simulated_out_of_memory_run_is_flagged(tmp_path):
    """A real run: a 16 MiB buffer on an 8 MiB machine is killed; on 64 MiB it is not."""
    from sim.testing import A, pages, run, small_spec
    def body(w):
        w.mmap(A, 16 * MIB)
        w.access(pages(0, 16 * MIB // 4096), True)
    for policy, mib in (("linux-4k", 8), ("linux-thp", 64)):
        spec = small_spec(policy, memory_mib=mib)
        spec["labels"] = {"experiment": "table1", "workload": "buffer"}
        spec["processes"] = [{"name": "buffer", "start_s": 0}]
        run(spec, [body]).write(tmp_path / policy)
    df = table1(runs_in(tmp_path))
    assert list(df["oom"]) == [1, 0]
    assert list(df["oom_process"].fillna("")) == ["buffer", ""]
    assert df["oom_time_s"].iloc[0] > 0 and math.isnan(df["oom_time_s"].iloc[1])
    assert df["oom_time_s"].iloc[0] == df["runtime_s"].iloc[0]   # killed at its end


def test_claims_over_a_run_that_ran_out_of_memory_are_not_measured(tmp_path):
    _, tables = oom_table1(tmp_path)
    out = check([claim("row('linux-thp').speedup", 4),
                 claim("row('ingens').faults / row('linux-4k').faults", 1),
                 claim("row('linux-thp').oom", 1, oom_ok=True)], tables)
    assert list(out["verdict"]) == ["not measured", "reproduced", "reproduced"]
    assert out["reason"].iloc[0] == (f"{OOM_REASON} (table1, linux-thp: process buffer killed "
                                     f"at 0.375 s); its value 4 is not a whole run's")
    assert math.isnan(out["our_value"].iloc[0])
    assert list(out["our_value"].iloc[1:]) == [1.0, 1.0]


def test_a_ratio_reads_its_baselines_run(tmp_path):
    """ingens's speedup is linux-4k's run time / ingens's: linux-4k ran out of memory."""
    _, tables = oom_table1(tmp_path, policy="linux-4k", t=1.5)
    out = check([claim("row('ingens').speedup", 2), claim("row('ingens').faults", 1024),
                 claim("row('linux-thp').zeroing_share", 0.75)], tables)
    assert list(out["verdict"]) == ["not measured", "reproduced", "reproduced"]
    assert out["reason"].iloc[0] == (f"{OOM_REASON} (table1, linux-4k: process buffer killed "
                                     f"at 1.5 s); its value 2 is not a whole run's")


def test_an_undefined_value_of_a_killed_run_names_the_kill(tmp_path):
    _, tables = oom_table1(tmp_path)
    out = check([claim("row('linux-thp').speedup / (row('ingens').faults - 1024)", 1)], tables)
    assert out["verdict"].iloc[0] == "not measured"
    assert out["reason"].iloc[0] == (f"{OOM_REASON} (table1, linux-thp: process buffer killed "
                                     f"at 0.375 s); and division by zero in "
                                     f"row('linux-thp').speedup / (row('ingens').faults - 1024)")


def test_oom_ok_must_be_a_boolean():
    with pytest.raises(Exception, match="oom_ok must be true or false"):
        claim("row('linux-thp').oom", 1, oom_ok="yes")


def test_shipped_claims_about_running_out_of_memory_are_oom_ok():
    spec = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())["claims"]
    assert sorted(c["id"] for c in spec if c.get("oom_ok")) == [
        "F1-bloat-ingens", "F1-bloat-linux", "F1-hawkeye-completes", "F1-hawkeye-g-completes",
        "F1-oom-ingens", "F1-oom-linux"]


def test_sweep_promotion_and_overhead_rows_carry_the_flag(tmp_path):
    sw = sweep(runs_in(make_sweep_runs(tmp_path / "sweep")))
    hit = sw[sw["oom"] == 1]
    assert list(zip(hit["variant"], hit["policy"], hit["oom_time_s"], hit["oom_process"])) == [
        ("redis_f90_t60", "hawkeye-pmu", 1.5, "redis")]
    assert sw["oom_time_s"].isna().sum() == len(sw) - 1
    promo = tmp_path / "promo"
    make_promotion_runs(promo, variants=("graph500_f95_t0",))
    s = pd.read_csv(promo / "graph500_f95_t0" / "linux-thp" / "summary.csv")
    s[["oom", "oom_time_s"]] = [1, 0.75]
    s.to_csv(promo / "graph500_f95_t0" / "linux-thp" / "summary.csv", index=False)
    fp = fig_promotion(runs_in(promo))
    assert list(zip(fp["policy"], fp["oom"])) == [("linux-4k", 0), ("linux-thp", 1),
                                                  ("ingens", 0), ("hawkeye-pmu", 0)]
    tables = tmp_path / "tables"
    tables.mkdir()
    fp.to_csv(tables / "fig_promotion.csv", index=False)
    out = check([claim("row('hawkeye-pmu', workload='graph500').gain_vs_linux_thp", 0.2,
                       table="fig_promotion"),
                 claim("row('hawkeye-pmu', workload='graph500').gain_vs_ingens", 0.28,
                       table="fig_promotion")], tables)
    assert list(out["verdict"]) == ["not measured", "reproduced"]
    assert out["reason"].iloc[0].startswith(f"{OOM_REASON} (fig_promotion, graph500_f95_t0, "
                                            f"linux-thp: process graph500 killed at 0.75 s)")
    ov = overhead(runs_in(make_overhead_runs(tmp_path / "ov")))
    assert ov["oom"].sum() == 0 and ov["oom_process"].fillna("").eq("").all()


def test_a_killed_process_flags_its_row_its_runs_row_and_what_reads_them(tmp_path):
    runs = make_fairness_runs(tmp_path / "runs")
    s = pd.read_csv(runs / "linux-thp" / "summary.csv")
    s.loc[s["process"] == "b", ["oom", "oom_time_s"]] = [1, 0.5]
    s.to_csv(runs / "linux-thp" / "summary.csv", index=False)
    df = fig_fairness(runs_in(runs))
    hit = df[df["oom"] == 1]
    assert list(zip(hit["policy"], hit["process"], hit["oom_time_s"], hit["oom_process"])) == [
        ("linux-thp", "b", 0.5, "b"), ("linux-thp", "all", 0.5, "b")]
    assert oom_note(df) == ("† Ran out of memory: its numbers are those of a partial run, up "
                            "to the kill. Linux THP (2 MiB): process b killed at 0.500 s.")
    tables = tmp_path / "tables"
    tables.mkdir()
    df.to_csv(tables / "fig_fairness.csv", index=False)
    out = check([claim("row('hawkeye-pmu', process='all').speedup", 2, table="fig_fairness"),
                 claim("row('linux-thp', process='a').speedup", 2, table="fig_fairness"),
                 claim("row('linux-thp', process='a').jain_index", 0.5, table="fig_fairness")],
                tables)
    # a's own run time is whole, but Jain's index reads b's speedup too
    assert list(out["verdict"]) == ["reproduced", "reproduced", "not measured"]
    assert out["reason"].iloc[2] == (f"{OOM_REASON} (fig_fairness, linux-thp: process b killed "
                                     f"at 0.5 s); its value 0.8889 is not a whole run's")


def test_the_report_marks_the_run_and_the_claims(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    _, tables = oom_table1(tmp_path)
    draw_all("table1", summaries(tmp_path / "runs"), tmp_path / "figures")
    from report.claims import load_claims
    check(load_claims(REPO / "config" / "claims.yaml"), tables).to_csv(
        tmp_path / "claims.csv", index=False)
    r = render(tmp_path, tables, bench=False, in_process=True)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    note = ("† Ran out of memory: its numbers are those of a partial run, up to the kill. "
            "Linux THP (2 MiB): process buffer killed at 0.375 s.")
    assert "<th class=\"r\">Linux THP (2 MiB) †</th>" in html
    assert f'<p class="table-note">{note}</p>' in html
    # T1-fault-ratio, -latency-ratio, -speedup and -zeroing-2m read linux-thp's row
    assert html.count("not measured †") == 2 * 4     # Table 1's claims table and the claims section
    assert (f"{OOM_REASON} (table1, linux-thp: process buffer killed at 0.375 s); its value 4 "
            f"is not a whole run&#39;s") in html
    assert "(4 because a run they read ran out of memory)" in html
    text = squash(pdf_text(tmp_path / "out" / "report.pdf", tmp_path / "out" / "report.typ"))
    assert squash(note) in text
