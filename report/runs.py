"""Simulation runs as the table and figure builders read them: given explicitly, grouped by labels.

A run is one ``summary.csv`` written by ``python -m sim.simulate`` plus its sibling
files in the same directory (timeseries.csv, events.csv, threads.csv,
fault_hist.csv).  The builders get the list of summary files a workflow rule
names as its input (``report.tables EXPERIMENT --out OUT SUMMARY ...``) and group
the runs by the labels every row carries (experiment, workload, variant,
fragmentation, tenant_fraction, policy; see workflows/common.smk ``expand_runs``),
never by directory names.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from report import InputError
from report.style import order_policies


def read_csv(path, required=()) -> pd.DataFrame:
    """Read a CSV, failing with a message that names the file and missing columns.

    Raises InputError if the file is missing, unreadable or lacks a required column.
    """
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


def nonempty(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """df itself; InputError naming path if it has no rows."""
    if len(df) == 0:
        raise InputError(f"{path}: no rows")
    return df


@dataclass
class Run:
    """One simulation run: its summary.csv (one row per process) and its labels.

    ``labels`` holds the run's label columns from the summary's first row
    (experiment, workload, variant, fragmentation, tenant_fraction, time_scale,
    policy), where present; ``file(name)`` reads a sibling CSV of the summary.
    """
    summary_path: Path
    summary: pd.DataFrame

    @property
    def dir(self) -> Path:
        return self.summary_path.parent

    def label(self, name: str, default=None):
        """A label of the run (the first row's value of that column), or default."""
        s = self.summary
        if name in s.columns and len(s) and not pd.isna(s[name].iloc[0]):
            return s[name].iloc[0]
        return default

    def need(self, name: str):
        """A label the grouping needs; InputError naming the file if it is absent."""
        if len(self.summary) == 0:
            raise InputError(f"{self.summary_path}: no rows")
        v = self.label(name)
        if v is None:
            raise InputError(f"{self.summary_path}: no {name!r} label (the simulator copies "
                             f"the run's labels into every row)")
        return v

    @property
    def policy(self) -> str:
        return str(self.need("policy"))

    def require(self, columns) -> pd.DataFrame:
        """The summary, which must have rows and every named column (else InputError)."""
        missing = [c for c in columns if c not in self.summary.columns]
        if missing:
            raise InputError(f"{self.summary_path}: missing column(s) {', '.join(missing)}")
        return nonempty(self.summary, self.summary_path)

    def file(self, name: str, required=()) -> pd.DataFrame:
        """A sibling file of summary.csv (e.g. timeseries.csv), read with read_csv."""
        return read_csv(self.dir / name, required)


def read_runs(summaries, required=()) -> list[Run]:
    """The runs whose summary.csv files are given (paths), in the given order.

    Raises InputError if none is given, or a file is missing, unreadable or lacks a
    required column.
    """
    paths = [Path(p) for p in summaries or []]
    if not paths:
        raise InputError("no runs given (expected the runs' summary.csv files)")
    return [Run(p, read_csv(p, required)) for p in paths]


def by_policy(runs: list[Run]) -> dict[str, Run]:
    """{policy: run} in table order (report.style.order_policies); one run per policy."""
    out: dict[str, Run] = {}
    for r in runs:
        if r.policy in out:
            raise InputError(f"{r.summary_path} and {out[r.policy].summary_path}: two runs of "
                             f"policy {r.policy!r} in one group (labels do not tell them apart)")
        out[r.policy] = r
    return {p: out[p] for p in order_policies(out)}


def pressure_labels(run: Run) -> dict:
    """workload, fragmentation and tenant_fraction of a sweep run, from its labels."""
    return {"workload": str(run.need("workload")),
            "fragmentation": float(run.need("fragmentation")),
            "tenant_fraction": float(run.need("tenant_fraction"))}


def by_variant(runs: list[Run]) -> dict[str, dict[str, Run]]:
    """The grid points of a sweep experiment, {variant: {policy: run}}, sorted by workload,
    then fragmentation, then tenant fraction (the run's labels)."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(str(r.need("variant")), []).append(r)

    def key(v):
        p = pressure_labels(groups[v][0])
        return (p["workload"], p["fragmentation"], p["tenant_fraction"])
    return {v: by_policy(groups[v]) for v in sorted(groups, key=key)}


def by_experiment(runs: list[Run]) -> dict[str, list[Run]]:
    """Runs grouped by their experiment label, in first-seen order."""
    out: dict[str, list[Run]] = {}
    for r in runs:
        out.setdefault(str(r.need("experiment")), []).append(r)
    return out


def load_runs(runs: list[Run], filename: str, required=()) -> dict[str, pd.DataFrame]:
    """``filename`` beside every run's summary.csv, by policy in table order; every one
    must exist."""
    return {policy: r.file(filename, required) for policy, r in by_policy(runs).items()}


# --- sample series and histograms --------------------------------------------------

def hist_quantile(latency_us, count, q: float) -> float:
    """Quantile of a latency histogram (bin centres and counts), as sim.simulate does."""
    lat = np.asarray(latency_us, dtype=float)
    cnt = np.asarray(count, dtype=float)
    order = np.argsort(lat, kind="stable")
    lat, cnt = lat[order], cnt[order]
    n = cnt.sum()
    if n <= 0:
        return 0.0
    k = int(np.searchsorted(np.cumsum(cnt), q * n, side="left"))
    return float(lat[min(k, len(lat) - 1)])


def dedup_timeseries(ts: pd.DataFrame, keep: str = "last") -> pd.DataFrame:
    """Samples in time order.  The simulator may write its final sample twice at the same
    time: the second copy has the right cumulative counters (keep="last") but an empty
    interval, so per-interval columns such as mmu_overhead need the first (keep="first")."""
    keys = ["process", "time_s"] if "process" in ts.columns else ["time_s"]
    ts = ts.drop_duplicates(subset=keys, keep=keep)
    return ts.sort_values(keys[::-1], kind="stable").reset_index(drop=True)


def summed_timeseries(ts: pd.DataFrame, columns, keep: str = "last") -> pd.DataFrame:
    """Processes of a run added up at each sample time (NaN only where every process is NaN)."""
    ts = dedup_timeseries(ts, keep)
    out = ts.groupby("time_s", sort=True)[list(columns)].sum(min_count=1).reset_index()
    return out


def first_time(times, values, threshold) -> float:
    """The first time a value reaches the threshold (NaN if it never does)."""
    v = np.asarray(values, dtype=float)
    hit = np.flatnonzero(v >= threshold)
    return float(np.asarray(times, dtype=float)[hit[0]]) if len(hit) else float("nan")
