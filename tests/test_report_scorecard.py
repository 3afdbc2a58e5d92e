"""report.scorecard: HawkEye's run time against the fastest other policy, per setting."""
import contextlib
import io

import pandas as pd
import pytest

from report import InputError
from report.render.build import scorecard_findings
from report.scorecard import COLUMNS, main as scorecard_main, outcome, read_tables, scorecard

NAN = float("nan")


def tables() -> dict[str, pd.DataFrame]:
    """One setting per experiment, with run times exact in binary floating point.

    fig_promotion (no oom column): hawkeye-pmu 1 s, hawkeye-g 1.5 s, best other linux-thp
    1.5 s -> gains 0.5 (win) and 0 (tie).  fig_bloat: linux-thp ran out of memory (left out),
    linux-4k 4 s, hawkeye-pmu 8 s -> -0.5 (loss); no hawkeye-g run.  fig_fairness: process a
    2 s under linux-4k, 1 s under hawkeye-pmu -> 1.0 (win); the 'all' row is not a setting.
    sweep: hawkeye-pmu ran out of memory (no row), hawkeye-g ties linux-4k at 2 s."""
    return {
        "table1": pd.DataFrame({"policy": ["linux-4k"], "runtime_s": [9.0]}),
        "fig_promotion": pd.DataFrame({
            "workload": ["graph500"] * 5,
            "policy": ["linux-4k", "linux-thp", "ingens", "hawkeye-pmu", "hawkeye-g"],
            "runtime_s": [2.0, 1.5, 1.625, 1.0, 1.5]}),
        "fig_bloat": pd.DataFrame({"policy": ["linux-4k", "linux-thp", "hawkeye-pmu"],
                                   "runtime_s": [4.0, 1.0, 8.0], "oom": [0, 1, 0]}),
        "fig_fairness": pd.DataFrame({"policy": ["linux-4k", "linux-4k", "hawkeye-pmu",
                                                 "hawkeye-pmu"],
                                      "process": ["a", "all", "a", "all"],
                                      "runtime_s": [2.0, 2.0, 1.0, 1.0], "oom": [0] * 4}),
        "sweep": pd.DataFrame({"workload": ["redis"] * 3, "variant": ["redis_f90_t60"] * 3,
                               "fragmentation": [0.9] * 3, "tenant_fraction": [0.6] * 3,
                               "policy": ["linux-4k", "hawkeye-pmu", "hawkeye-g"],
                               "runtime_s": [2.0, 1.5, 2.0], "oom": [0, 1, 0]}),
    }


def test_scorecard_rows_and_values():
    df = scorecard(tables())
    assert list(df.columns) == COLUMNS
    got = [tuple(r) for r in df[["policy", "experiment", "setting", "best_other_policy",
                                 "gain", "outcome"]].itertuples(index=False)]
    assert got == [
        ("hawkeye-pmu", "fig_promotion", "graph500, promotion only", "linux-thp", 0.5, "win"),
        ("hawkeye-pmu", "fig_bloat", "Redis bloat test", "linux-4k", -0.5, "loss"),
        ("hawkeye-pmu", "fig_fairness", "a co-running", "linux-4k", 1.0, "win"),
        ("hawkeye-g", "fig_promotion", "graph500, promotion only", "linux-thp", 0.0, "tie"),
        ("hawkeye-g", "sweep", "redis at 90% fragmentation, 40% free", "linux-4k", 0.0, "tie"),
    ]
    assert list(df["runtime_s"]) == [1.0, 8.0, 1.0, 1.5, 2.0]
    assert list(df["best_other_runtime_s"]) == [1.5, 4.0, 2.0, 1.5, 2.0]


def test_outcome_thresholds():
    assert [outcome(g) for g in (0.006, 0.005, -0.005, -0.006)] == ["win", "tie", "tie", "loss"]
    assert outcome(NAN) == ""


def test_findings_sentence_from_the_table():
    text = scorecard_findings(scorecard(tables()))[0]
    assert ("HawkEye-PMU ran faster than every other policy in 2 of 3 settings, within 0.5% "
            "of the fastest in 0 and slower in 1; its largest win: 100.0% faster than Linux "
            "4 KiB, the fastest other policy (a co-running); its largest loss: 100.0% slower "
            "than Linux 4 KiB (Redis bloat test).") in text
    assert "HawkEye-G ran faster than every other policy in 0 of 2 settings" in text
    assert scorecard_findings(None) == []
    assert scorecard_findings(scorecard({"table1": tables()["table1"]})) == []


def test_cli_writes_the_table_and_names_a_missing_input(tmp_path):
    for name, df in tables().items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    out = tmp_path / "out" / "scorecard.csv"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert scorecard_main(["--out", str(out), *sorted(map(str, tmp_path.glob("*.csv")))]) == 0
    assert len(pd.read_csv(out)) == 5 and "5 setting(s) from 5 table(s)" in err.getvalue()
    with contextlib.redirect_stderr(err):
        assert scorecard_main(["--out", str(out), str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in err.getvalue().strip().splitlines()[-1]


def test_a_table_without_a_policy_column_is_rejected(tmp_path):
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "sweep.csv", index=False)
    with pytest.raises(InputError, match=r"sweep.csv: missing column\(s\) policy"):
        read_tables([tmp_path / "sweep.csv"])
