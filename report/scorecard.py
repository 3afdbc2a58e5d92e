"""Where HawkEye wins and loses: its run time against the fastest other policy, per setting.

    python -m report.scorecard --out results/tables/scorecard.csv results/tables/fig_bloat.csv ...

A table built from the experiment tables (not from runs): every setting in which
they give run times (each ``fig_promotion`` grid point, the Redis bloat test,
each co-running process of ``fig_fairness``, each ``sweep`` grid point), for
HawkEye-PMU and HawkEye-G, the run time against that of the fastest
non-HawkEye policy in the same setting.  Runs that ran out of memory are left
out.  Other tables given (e.g. table1, overhead) are ignored.  Columns and units
are listed in report/README.md; report.render writes the abstract's "where
HawkEye wins and loses" from it and claims may check it.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from report import atomic_write_csv, cli, log
from report.runs import read_csv

NAME = "scorecard"     # results/tables/scorecard.csv: not an experiment's table
HAWKEYE = ("hawkeye-pmu", "hawkeye-g")
TIE = 0.005     # |gain| up to this is a tie (0.5%)
COLUMNS = ["policy", "experiment", "setting", "runtime_s", "best_other_policy",
           "best_other_runtime_s", "gain", "outcome"]


def _num(row, col) -> float:
    """A numeric cell (NaN if the column is missing or the cell is not a number)."""
    try:
        v = float(row[col])
    except (KeyError, TypeError, ValueError):
        return float("nan")
    return v


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.0f}%"


def outcome(gain: float) -> str:
    """win (HawkEye faster by more than TIE), tie, loss; empty for an undefined gain."""
    if math.isnan(gain):
        return ""
    return "win" if gain > TIE else "loss" if gain < -TIE else "tie"


def settings(tables: dict[str, pd.DataFrame]) -> list[tuple[str, str, pd.DataFrame]]:
    """(experiment, setting name, rows of every policy in that setting), in report order."""
    out = []

    def groups(df, col):
        return [(v, df[df[col].astype(str) == v]) for v in dict.fromkeys(df[col].astype(str))]

    df = tables.get("fig_promotion")
    if df is not None and "workload" in df.columns:
        out += [("fig_promotion", f"{wl}, promotion only", sub) for wl, sub in groups(df, "workload")]
    if "fig_bloat" in tables:
        out.append(("fig_bloat", "Redis bloat test", tables["fig_bloat"]))
    df = tables.get("fig_fairness")
    if df is not None and "process" in df.columns:
        out += [("fig_fairness", f"{proc} co-running", sub)
                for proc, sub in groups(df, "process") if proc != "all"]
    df = tables.get("sweep")
    if df is not None and "variant" in df.columns:
        for v, sub in groups(df, "variant"):
            r0 = sub.iloc[0]
            name = (f"{r0.get('workload', v)} at {_pct(_num(r0, 'fragmentation'))} fragmentation, "
                    f"{_pct(1 - _num(r0, 'tenant_fraction'))} free")
            out.append(("sweep", name, sub))
    return out


def scorecard(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per HawkEye policy and setting: gain = fastest other policy's run time /
    HawkEye's - 1 (positive: HawkEye faster; NaN if HawkEye's run time is 0).  A run
    counts if its run time is a number and it did not run out of memory (a table without
    an ``oom`` column has no out-of-memory runs)."""
    rows = []
    for hk in HAWKEYE:
        for exp, name, sub in settings(tables):
            rt = {}
            for _, r in sub.iterrows():
                t, oom = _num(r, "runtime_s"), _num(r, "oom") if "oom" in sub.columns else 0.0
                if not math.isnan(t) and not oom:
                    rt[str(r["policy"])] = t
            others = {p: t for p, t in rt.items() if p not in HAWKEYE}
            if hk not in rt or not others:
                continue
            best = min(others, key=lambda p: (others[p], p))
            gain = others[best] / rt[hk] - 1 if rt[hk] else float("nan")
            rows.append({"policy": hk, "experiment": exp, "setting": name, "runtime_s": rt[hk],
                         "best_other_policy": best, "best_other_runtime_s": others[best],
                         "gain": gain, "outcome": outcome(gain)})
    return pd.DataFrame(rows, columns=COLUMNS)


def read_tables(paths) -> dict[str, pd.DataFrame]:
    """{table name (file stem): DataFrame} of the given experiment tables (each must have a
    ``policy`` column; InputError naming the file otherwise)."""
    return {Path(p).stem: read_csv(p, ["policy"]) for p in paths}


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.scorecard", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="CSV file to write")
    ap.add_argument("tables", nargs="*", metavar="TABLE",
                    help="experiment tables (results/tables/<experiment>.csv)")
    a = ap.parse_args(argv)
    df = scorecard(read_tables(a.tables))
    atomic_write_csv(a.out, df)
    log(f"scorecard: {len(df)} setting(s) from {len(a.tables)} table(s); wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
