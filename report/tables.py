"""Experiment tables: one builder per experiment, each reading that experiment's runs.

    python -m report.tables table1 --runs results/runs/table1 --out results/tables/table1.csv

A run directory holds one sub-directory per policy, each with the CSVs written
by ``python -m machine.simulate`` (summary.csv, timeseries.csv, events.csv,
threads.csv, fault_hist.csv).  A builder is registered with ``@table(NAME)``
and gets the experiment's run directory; it returns a DataFrame with one row
per policy, ordered by ``report.style.order_policies``.  Columns and units of
every table are listed in report/README.md.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from report import InputError, atomic_write_csv, cli, log, require_dir, warn
from report.style import order_policies

BASELINE = "linux-4k"

TABLES: dict[str, Callable[[Path], pd.DataFrame]] = {}


def table(name: str):
    """Register a table builder ``f(runs_dir) -> DataFrame`` under an experiment name."""
    def deco(f):
        TABLES[name] = f
        return f
    return deco


# --- reading runs -----------------------------------------------------------

def read_csv(path, required=()) -> pd.DataFrame:
    """Read a CSV, failing with a message that names the file and missing columns."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"missing input file: {path}")
    try:
        df = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {e}") from e
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    return df


def policy_dirs(runs_dir) -> dict[str, Path]:
    """The policy sub-directories of an experiment's run directory, in table order."""
    runs = require_dir(runs_dir, "run directory")
    dirs = {d.name: d for d in runs.iterdir() if d.is_dir() and not d.name.startswith(".")}
    if not dirs:
        raise InputError(f"{runs}: no policy sub-directories (expected {runs}/<policy>/summary.csv)")
    return {p: dirs[p] for p in order_policies(dirs)}


def load_runs(runs_dir, filename: str, required=()) -> dict[str, pd.DataFrame]:
    """Read ``<runs>/<policy>/<filename>`` for every policy; every one must exist."""
    out = {}
    for policy, d in policy_dirs(runs_dir).items():
        df = read_csv(d / filename, required)
        if "policy" in df.columns and len(df):
            named = set(df["policy"].astype(str))
            if named != {policy}:
                warn(f"{d / filename}: policy column says {sorted(named)}, "
                     f"directory says {policy!r}; using the directory name")
        out[policy] = df
    return out


def hist_quantile(latency_us, count, q: float) -> float:
    """Quantile of a latency histogram (bin centres and counts), as machine.simulate does."""
    lat = np.asarray(latency_us, dtype=float)
    cnt = np.asarray(count, dtype=float)
    order = np.argsort(lat, kind="stable")
    lat, cnt = lat[order], cnt[order]
    n = cnt.sum()
    if n <= 0:
        return 0.0
    k = int(np.searchsorted(np.cumsum(cnt), q * n, side="left"))
    return float(lat[min(k, len(lat) - 1)])


def _div(a, b) -> float:
    a, b = float(a), float(b)
    if b == 0 or math.isnan(a) or math.isnan(b):
        return float("nan")
    return a / b


# --- Table 1: page-fault cost -----------------------------------------------

TABLE1_SUMMARY_COLUMNS = ["faults", "faults_4k", "faults_2m", "fault_time_s", "zeroing_time_s",
                          "p50_fault_latency_us", "p99_fault_latency_us", "runtime_s"]
TABLE1_COLUMNS = ["policy", "faults", "faults_4k", "faults_2m", "fault_time_s",
                  "mean_fault_latency_us", "p50_fault_latency_us", "p99_fault_latency_us",
                  "zeroing_share", "runtime_s", "fault_ratio", "latency_ratio", "speedup"]


@table("table1")
def table1(runs_dir) -> pd.DataFrame:
    """Page-fault count, time and latency per policy, and ratios against linux-4k.

    Processes of one run are added up (faults, times); latency quantiles then
    come from the run's fault_hist.csv, and the runtime is the longest process's.
    """
    summaries = load_runs(runs_dir, "summary.csv", TABLE1_SUMMARY_COLUMNS)
    rows = []
    for policy, s in summaries.items():
        if len(s) == 0:
            raise InputError(f"{Path(runs_dir) / policy / 'summary.csv'}: no rows")
        faults = int(s["faults"].sum())
        fault_time = float(s["fault_time_s"].sum())
        if len(s) == 1:
            p50 = float(s["p50_fault_latency_us"].iloc[0])
            p99 = float(s["p99_fault_latency_us"].iloc[0])
        else:  # several processes: quantiles of the combined histogram
            h = read_csv(Path(runs_dir) / policy / "fault_hist.csv", ["latency_us", "count"])
            p50 = hist_quantile(h["latency_us"], h["count"], 0.50)
            p99 = hist_quantile(h["latency_us"], h["count"], 0.99)
        rows.append({
            "policy": policy,
            "faults": faults,
            "faults_4k": int(s["faults_4k"].sum()),
            "faults_2m": int(s["faults_2m"].sum()),
            "fault_time_s": fault_time,
            "mean_fault_latency_us": _div(fault_time * 1e6, faults),
            "p50_fault_latency_us": p50,
            "p99_fault_latency_us": p99,
            "zeroing_share": _div(s["zeroing_time_s"].sum(), fault_time),
            "runtime_s": float(s["runtime_s"].max()),
        })
    df = pd.DataFrame(rows, columns=TABLE1_COLUMNS[:10])
    base = df[df["policy"] == BASELINE]
    if len(base):
        b = base.iloc[0]
        df["fault_ratio"] = [_div(b["faults"], f) for f in df["faults"]]
        df["latency_ratio"] = [_div(m, b["mean_fault_latency_us"])
                               for m in df["mean_fault_latency_us"]]
        df["speedup"] = [_div(b["runtime_s"], r) for r in df["runtime_s"]]
    else:
        warn(f"{runs_dir}: no {BASELINE} run, so the ratio columns are empty")
        for c in ("fault_ratio", "latency_ratio", "speedup"):
            df[c] = float("nan")
    return df[TABLE1_COLUMNS]


# --- command line -----------------------------------------------------------

def build(name: str, runs_dir) -> pd.DataFrame:
    if name not in TABLES:
        raise InputError(f"unknown experiment {name!r}; tables exist for: {', '.join(sorted(TABLES))}")
    return TABLES[name](Path(runs_dir))


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.tables", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", help=f"one of: {', '.join(sorted(TABLES))}")
    ap.add_argument("--runs", required=True, help="the experiment's run directory")
    ap.add_argument("--out", required=True, help="CSV file to write")
    a = ap.parse_args(argv)
    log(f"table {a.experiment}: reading {a.runs}")
    df = build(a.experiment, a.runs)
    atomic_write_csv(a.out, df)
    log(f"table {a.experiment}: wrote {len(df)} row(s) to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
