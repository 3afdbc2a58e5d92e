"""report.claims: the safe expression evaluator, verdicts and the CLI."""
import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from report import InputError
from report.claims import (Expr, ExprError, NotMeasured, check, load_claims, main as claims_main,
                           parse_claim)

REPO = Path(__file__).resolve().parent.parent

TABLE = pd.DataFrame({
    "policy": ["linux-4k", "linux-thp", "ingens", "ingens"],
    "workload": ["buf", "buf", "a", "b"],
    "faults": [2621440, 5120, 100, 200],
    "zeroing_share": [0.25, 0.97, float("nan"), 0.5],
    "runtime_s": [4.0, 1.0, 2.0, 0.0],
})


@pytest.mark.parametrize("expr, value", [
    ("row('linux-4k').faults / row('linux-thp').faults", 512.0),
    ("row('linux-thp').zeroing_share", 0.97),
    ('row("linux-4k").runtime_s - 2 * row("linux-thp").runtime_s', 2.0),
    ("-(1 + 2) * 3 / 4", -2.25),
    ("row('ingens', workload='b').faults", 200.0),
    ("row(workload='a').faults + 1e2", 200.0),
    ("max(row('linux-4k').runtime_s, 7) + min(1, 2, 3) + abs(-1.5)", 9.5),
    ("1 - row('linux-thp').runtime_s / row('linux-4k').runtime_s", 0.75),
])
def test_expressions_evaluate(expr, value):
    assert Expr(expr).evaluate(TABLE) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("expr", [
    "__import__('os').system('true')",
    "row('linux-4k').__class__",
    "row('linux-4k')._private",
    "open('/etc/passwd')",
    "eval('1')",
    "faults",
    "row('linux-4k')",
    "row('linux-4k').faults.real",
    "row('linux-4k')['faults']",
    "row(policy)",
    "row('a', 'b').faults",
    "row('a', x=y).faults",
    "2 ** 10",
    "1; 2",
    "lambda: 1",
    "[1, 2]",
    "'text'",
    "1 +",
    "(1",
    "",
    "x" * 600,
    "row('a').faults if 1 else 2",
    "1 < 2",
])
def test_unsafe_or_invalid_expressions_are_rejected(expr):
    with pytest.raises(ExprError):
        Expr(expr)


def test_non_string_expression_is_rejected():
    with pytest.raises(ExprError):
        Expr(42)


@pytest.mark.parametrize("expr, why", [
    ("row('freebsd').faults", "no row('freebsd')"),
    ("row('linux-4k').nope", "no column 'nope'"),
    ("row('ingens').faults", "2 rows"),
    ("row('ingens', workload='a').zeroing_share", "not a number"),
    ("row('linux-4k').faults / row('ingens', workload='b').runtime_s", "division by zero"),
    ("row('linux-4k', nope='x').faults", "no column 'nope'"),
])
def test_missing_data_is_not_measured(expr, why):
    with pytest.raises(NotMeasured, match=re.escape(why)):
        Expr(expr).evaluate(TABLE, "t")


def claim(**kw):
    c = {"id": "c", "source": "Table 1", "statement": "s", "paper_value": 100,
         "our_value": {"table": "table1", "expr": "row('linux-thp').faults"},
         "tolerance": 0.1, "partly_tolerance": 0.5}
    c.update(kw)
    return c


def write_tables(d: Path):
    d.mkdir(parents=True, exist_ok=True)
    TABLE.to_csv(d / "table1.csv", index=False)
    return d


def verdicts(tmp_path, claims):
    tables = write_tables(tmp_path / "tables")
    df = check([parse_claim(c, "test") for c in claims], tables)
    return df.set_index("id")


def test_verdicts_follow_the_tolerances(tmp_path):
    v = verdicts(tmp_path, [
        claim(id="inside", paper_value=5000),      # 5120 vs 5000: 2.4% -> reproduced
        claim(id="edge", paper_value=5120 / 1.1, tolerance=0.1),   # 10% exactly
        claim(id="partly", paper_value=4000),      # 28% -> partly
        claim(id="outside", paper_value=512),      # 900% -> not reproduced
        claim(id="no-partly", paper_value=4000, partly_tolerance=0.1),
        claim(id="missing-table", our_value={"table": "fig_bloat",
                                             "expr": "row('linux-thp').peak_bloat_gb"}),
        claim(id="missing-row", our_value={"table": "table1", "expr": "row('hawkeye-g').faults"}),
    ])
    assert v.loc["inside", "verdict"] == "reproduced"
    assert v.loc["inside", "our_value"] == 5120
    assert v.loc["inside", "rel_error"] == pytest.approx(0.024)
    assert v.loc["edge", "verdict"] == "reproduced"
    assert v.loc["partly", "verdict"] == "partly"
    assert v.loc["partly", "rel_error"] == pytest.approx(0.28)
    assert v.loc["outside", "verdict"] == "not reproduced"
    assert v.loc["outside", "rel_error"] == pytest.approx(9.0)
    assert v.loc["no-partly", "verdict"] == "not reproduced"
    assert v.loc["missing-table", "verdict"] == "not measured"
    assert "fig_bloat" in v.loc["missing-table", "reason"]
    assert pd.isna(v.loc["missing-table", "our_value"])
    assert v.loc["missing-row", "verdict"] == "not measured"
    assert "hawkeye-g" in v.loc["missing-row", "reason"]
    assert list(v.reset_index().columns) == ["id", "source", "statement", "paper_value",
                                             "our_value", "rel_error", "verdict", "reason"]


def test_a_calibrated_claim_is_not_a_finding(tmp_path):
    why = "the costs are chosen from this number"
    v = verdicts(tmp_path, [
        claim(id="match", paper_value=5000, calibrated=why),     # 2.4%: within tolerance
        claim(id="miss", paper_value=4000, calibrated=why),      # 28%: the calibration missed
        claim(id="plain", paper_value=5000),
    ])
    assert v.loc["match", "verdict"] == "calibrated"
    assert v.loc["match", "reason"].endswith(f"a calibration input: {why}")
    assert v.loc["miss", "verdict"] == "partly" and "missed" in v.loc["miss", "reason"]
    assert v.loc["plain", "verdict"] == "reproduced"


def test_a_claim_holds_only_if_its_mechanism_acted(tmp_path):
    """table1's TABLE: linux-4k faults 2,621,440, linux-thp 5,120 (ratio 512)."""
    def mech(expr):
        return {"statement": "the mechanism", "expr": expr}
    v = verdicts(tmp_path, [
        claim(id="acted", paper_value=5000, mechanism=mech("row('linux-thp').faults")),
        claim(id="idle", paper_value=5000, mechanism=mech("row('linux-thp').faults - 5120")),
        claim(id="partly-idle", paper_value=4000, mechanism=mech("0 * row('linux-4k').faults")),
        claim(id="miss-anyway", paper_value=512, mechanism=mech("row('linux-thp').faults")),
        claim(id="unreadable", paper_value=5000, mechanism=mech("row('linux-thp').nothing")),
    ])
    assert v.loc["acted", "verdict"] == "reproduced"
    assert v.loc["acted", "reason"].endswith("mechanism acted: the mechanism (5120)")
    assert v.loc["idle", "verdict"] == "not reproduced"
    assert "not for the paper's reason: the mechanism did not happen" in v.loc["idle", "reason"]
    assert v.loc["partly-idle", "verdict"] == "not reproduced"
    assert v.loc["miss-anyway", "verdict"] == "not reproduced"
    assert "mechanism" not in v.loc["miss-anyway", "reason"]
    assert v.loc["unreadable", "verdict"] == "not measured"
    with pytest.raises(InputError, match="mechanism must be a mapping"):
        parse_claim(claim(id="bad", mechanism={"expr": "1"}), "test")
    with pytest.raises(InputError, match="mechanism.expr"):
        parse_claim(claim(id="bad", mechanism=mech("import os")), "test")


def test_ranges_and_bounds(tmp_path):
    share = {"table": "table1", "expr": "row('linux-thp').zeroing_share"}   # 0.97
    v = verdicts(tmp_path, [
        claim(id="in-range", paper_value=0.95, paper_range=[0.9, 1.0], our_value=share),
        claim(id="near-range", paper_value=0.8, paper_range=[0.7, 0.9], our_value=share),
        claim(id="far-range", paper_value=0.3, paper_range=[0.2, 0.4], our_value=share),
        claim(id="at-most-ok", paper_value=1.0, compare="at_most", our_value=share),
        claim(id="at-most-bad", paper_value=0.5, compare="at_most", our_value=share),
        claim(id="at-least-ok", paper_value=0.5, compare="at_least", our_value=share),
        claim(id="at-least-short", paper_value=1.5, compare="at_least", our_value=share),
        claim(id="at-least-bad", paper_value=2.0, compare="at_least", our_value=share),
    ])
    assert v.loc["in-range", "verdict"] == "reproduced" and v.loc["in-range", "rel_error"] == 0
    assert v.loc["near-range", "verdict"] == "reproduced"          # 7.8% past 0.9
    assert v.loc["near-range", "rel_error"] == pytest.approx(0.07 / 0.9)
    assert v.loc["far-range", "verdict"] == "not reproduced"
    assert v.loc["at-most-ok", "verdict"] == "reproduced"
    assert v.loc["at-most-bad", "verdict"] == "not reproduced"
    assert v.loc["at-least-ok", "verdict"] == "reproduced"
    assert v.loc["at-least-short", "verdict"] == "partly"          # 35% short of 1.5
    assert v.loc["at-least-short", "rel_error"] == pytest.approx((0.97 - 1.5) / 1.5)
    assert v.loc["at-least-bad", "verdict"] == "not reproduced"    # 51.5% short of 2
    assert v.loc["at-least-bad", "rel_error"] == pytest.approx(-0.515)


@pytest.mark.parametrize("bad, message", [
    ({"our_value": {"table": "table1", "expr": "__import__('os')"}}, "our_value.expr"),
    ({"our_value": {"table": "../etc/passwd", "expr": "1"}}, "our_value.table"),
    ({"tolerance": 0.6, "partly_tolerance": 0.5}, "tolerance"),
    ({"paper_value": 0}, "non-zero"),
    ({"paper_value": "many"}, "paper_value"),
    ({"compare": "roughly"}, "compare"),
    ({"paper_range": [2, 1]}, "paper_range"),
    ({"extra_key": 1}, "unknown key"),
    ({"statement": ""}, "statement"),
])
def test_invalid_claims_are_rejected(bad, message):
    with pytest.raises(InputError, match=message):
        parse_claim(claim(**bad), "claims.yaml: claim 1")


def run_cli(*args, in_process=True):
    """The CLI in a subprocess, or (faster) its main() in this process."""
    args = [str(a) for a in args]
    if not in_process:
        return subprocess.run([sys.executable, "-m", "report.claims", *args],
                              capture_output=True, text=True)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = claims_main(args)
    return subprocess.CompletedProcess(args, rc, "", err.getvalue())


def test_cli_writes_claims_csv(tmp_path):
    tables = write_tables(tmp_path / "tables")
    cfile = tmp_path / "claims.yaml"
    cfile.write_text(yaml.safe_dump({"claims": [claim(id="a", paper_value=5120),
                                                claim(id="b", paper_value=1)]}))
    out = tmp_path / "out" / "claims.csv"
    r = run_cli("--claims", cfile, "--tables", tables, "--out", out, in_process=False)
    assert r.returncode == 0, r.stderr
    assert "1 reproduced" in r.stderr and "1 not reproduced" in r.stderr
    df = pd.read_csv(out)
    assert list(df["verdict"]) == ["reproduced", "not reproduced"]


def test_cli_fails_on_unsafe_claim_naming_it(tmp_path):
    write_tables(tmp_path / "tables")
    cfile = tmp_path / "claims.yaml"
    cfile.write_text(yaml.safe_dump({"claims": [claim(id="evil", our_value={
        "table": "table1", "expr": "__import__('os').system('touch pwned')"})]}))
    r = run_cli("--claims", cfile, "--tables", tmp_path / "tables", "--out", tmp_path / "c.csv")
    assert r.returncode == 2
    assert "evil" in r.stderr and "our_value.expr" in r.stderr
    assert not (tmp_path / "c.csv").exists() and not Path("pwned").exists()


def test_cli_fails_on_missing_inputs(tmp_path):
    r = run_cli("--claims", tmp_path / "none.yaml", "--tables", tmp_path, "--out", tmp_path / "c")
    assert r.returncode == 2 and "none.yaml" in r.stderr
    cfile = tmp_path / "claims.yaml"
    cfile.write_text(yaml.safe_dump({"claims": [claim()]}))
    r = run_cli("--claims", cfile, "--tables", tmp_path / "nodir", "--out", tmp_path / "c")
    assert r.returncode == 2 and "nodir" in r.stderr
    cfile.write_text(yaml.safe_dump({"claims": [claim(), claim()]}))
    r = run_cli("--claims", cfile, "--tables", tmp_path, "--out", tmp_path / "c")
    assert r.returncode == 2 and "duplicate claim id" in r.stderr


def test_shipped_claims_parse_and_cover_table1():
    claims = {c.id: c for c in load_claims(REPO / "config" / "claims.yaml")}
    t1 = {k: c.paper_value for k, c in claims.items() if c.source == "Table 1"}
    assert t1["T1-fault-ratio"] == 512 and t1["T1-latency-ratio"] == 133
    assert t1["T1-speedup"] == 4
    assert t1["T1-zeroing-4k"] == 0.25 and t1["T1-zeroing-2m"] == 0.97
    tables = {c.table for c in claims.values()}
    assert {"table1", "fig_bloat", "fig_promotion", "overhead", "fig_fairness"} <= tables


def test_shipped_claims_on_the_paper_numbers_are_reproduced(tmp_path):
    """A table1 with the paper's own numbers reproduces every Table 1 claim it covers."""
    d = tmp_path / "tables"
    d.mkdir()
    pd.DataFrame({"policy": ["linux-4k", "linux-thp"], "faults": [2621440, 5120],
                  "zeroing_share": [0.25, 0.97], "latency_ratio": [1.0, 133.0],
                  "speedup": [1.0, 4.0]}).to_csv(d / "table1.csv", index=False)
    v = check(load_claims(REPO / "config" / "claims.yaml"), d).set_index("id")
    for cid in ("T1-fault-ratio", "T1-speedup"):
        assert v.loc[cid, "verdict"] == "reproduced", (cid, v.loc[cid, "reason"])
    for cid in ("T1-latency-ratio", "T1-zeroing-4k", "T1-zeroing-2m"):   # calibration inputs
        assert v.loc[cid, "verdict"] == "calibrated", (cid, v.loc[cid, "reason"])
        assert "a calibration input" in v.loc[cid, "reason"]
    assert v.loc["T1-ingens-faults", "verdict"] == "not measured"
    assert v.loc["F1-bloat-linux", "verdict"] == "not measured"
