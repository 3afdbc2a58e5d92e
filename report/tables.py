"""Experiment tables: one builder per experiment, each reading that experiment's runs.

    python -m report.tables table1 --runs results/runs/table1 --out results/tables/table1.csv

A run directory holds one sub-directory per policy, each with the CSVs written
by ``python -m sim.simulate`` (summary.csv, timeseries.csv, events.csv,
threads.csv, fault_hist.csv).  A builder is registered with ``@table(NAME)``
and gets the experiment's run directory; it returns a DataFrame with one row
per policy, ordered by ``report.style.order_policies``.  Columns and units of
every table are listed in report/README.md.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import re
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


# Runs to read, when the caller names them (--only): resolved run directories
# (<runs>/<policy> or <runs>/<variant>/<policy>).  None: every run found.
_ONLY: set[Path] | None = None


@contextlib.contextmanager
def only_runs(paths):
    """Restrict policy_dirs and variant_dirs to the runs holding the given files (or
    the given run directories), e.g. the summary.csv files a workflow rule lists, so
    that runs left over from an earlier configuration are not read."""
    global _ONLY
    saved = _ONLY
    if paths:
        _ONLY = {(Path(p).parent if Path(p).suffix == ".csv" else Path(p)).resolve()
                 for p in paths}
    try:
        yield
    finally:
        _ONLY = saved


def _wanted(d: Path) -> bool:
    if _ONLY is None:
        return True
    d = d.resolve()
    return d in _ONLY or any(d in o.parents for o in _ONLY)


def policy_dirs(runs_dir) -> dict[str, Path]:
    """The policy sub-directories of an experiment's run directory, in table order."""
    runs = require_dir(runs_dir, "run directory")
    dirs = {d.name: d for d in runs.iterdir() if d.is_dir() and not d.name.startswith(".")
            and _wanted(d)}
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


# --- shared helpers for the experiment tables --------------------------------

VARIANT = re.compile(r"^(?P<workload>.+)_f(?P<frag>\d+)_t(?P<tenant>\d+)$")


def _has_runs(d: Path) -> bool:
    return any(c.is_dir() and not c.name.startswith(".") for c in d.iterdir())


def variant_dirs(runs_dir) -> dict[str, Path]:
    """The grid points of a sweep experiment (``<runs>/<variant>/<policy>/``), sorted by
    workload, then fragmentation, then tenant fraction."""
    runs = require_dir(runs_dir, "run directory")
    dirs = [d for d in runs.iterdir() if d.is_dir() and not d.name.startswith(".")
            and _wanted(d)]
    if not dirs:
        raise InputError(f"{runs}: no run sub-directories (expected "
                         f"{runs}/<workload>_f<frag%>_t<tenant%>/<policy>/summary.csv)")
    bad = [d.name for d in dirs if not VARIANT.match(d.name)]
    if bad:
        raise InputError(f"{runs}: {', '.join(sorted(bad))} not named "
                         f"<workload>_f<frag%>_t<tenant%> (is this a sweep's run directory?)")

    def key(d):
        m = VARIANT.match(d.name)
        return (m["workload"], int(m["frag"]), int(m["tenant"]))
    return {d.name: d for d in sorted(dirs, key=key)}


def parse_variant(name: str) -> dict:
    """workload, fragmentation and tenant_fraction of a sweep variant name."""
    m = VARIANT.match(name)
    if not m:
        raise InputError(f"run {name!r} is not named <workload>_f<frag%>_t<tenant%>")
    return {"workload": m["workload"], "fragmentation": int(m["frag"]) / 100,
            "tenant_fraction": int(m["tenant"]) / 100}


def _label_pressure(v: dict, s: pd.DataFrame) -> None:
    """Take fragmentation and tenant_fraction from the run's labels when it has them (exact
    values; the directory name holds them rounded to whole percent)."""
    for col in ("fragmentation", "tenant_fraction"):
        if col in s.columns and len(s) and not pd.isna(s[col].iloc[0]):
            v[col] = float(s[col].iloc[0])


def _nonempty(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    if len(df) == 0:
        raise InputError(f"{path}: no rows")
    return df


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


def _fault_stats(s: pd.DataFrame, run_dir: Path) -> dict:
    """Faults and latency quantiles of a run: one process copied, several added up
    (quantiles from the run's combined fault_hist.csv)."""
    if len(s) == 1:
        p50 = float(s["p50_fault_latency_us"].iloc[0])
        p99 = float(s["p99_fault_latency_us"].iloc[0])
    else:
        h = read_csv(run_dir / "fault_hist.csv", ["latency_us", "count"])
        p50 = hist_quantile(h["latency_us"], h["count"], 0.50)
        p99 = hist_quantile(h["latency_us"], h["count"], 0.99)
    return {"faults": int(s["faults"].sum()), "p50_fault_latency_us": p50,
            "p99_fault_latency_us": p99}


def _mmu_overhead(s: pd.DataFrame) -> float:
    """Page-walk cycles per user cycle of a run (processes added up)."""
    if {"walk_cycles", "user_cycles"} <= set(s.columns):
        return _div(s["walk_cycles"].sum(), s["user_cycles"].sum())
    return float(s["mmu_overhead"].iloc[0]) if len(s) == 1 else float("nan")


def _baseline_ratio(df: pd.DataFrame, group: list[str], column: str, base_policy: str,
                    invert: bool = False) -> list[float]:
    """Per row: baseline / value (invert=False) or value / baseline, where the baseline is
    base_policy's value in the same group (NaN without one)."""
    keyed = {}
    for r in df.itertuples(index=False):
        r = r._asdict()
        if r["policy"] == base_policy:
            keyed[tuple(r[g] for g in group)] = r[column]
    out = []
    for r in df.itertuples(index=False):
        r = r._asdict()
        b = keyed.get(tuple(r[g] for g in group), float("nan"))
        out.append(_div(r[column], b) if invert else _div(b, r[column]))
    return out


# --- Fig. 1: Redis memory bloat ---------------------------------------------------

BLOAT_SUMMARY_COLUMNS = ["peak_rss_bytes", "peak_bloat_bytes", "oom", "oom_time_s", "runtime_s"]
BLOAT_TS_COLUMNS = ["time_s", "rss_bytes", "bloat_bytes", "live_bytes"]
BLOAT_PHASES = ("p1_insert", "p2_delete", "pause", "p3_insert_large")
FIG_BLOAT_COLUMNS = ["policy", "p1_live_bytes", "peak_rss_bytes", "rss_end_p2_bytes",
                     "live_end_p2_bytes", "bloat_end_p2_bytes", "bloat_share_of_rss",
                     "bloat_ratio", "peak_bloat_bytes", "peak_bloat_ratio", "rss_end_bytes",
                     "live_end_bytes", "rss_over_live_end", "oom", "oom_phase", "oom_in_p3",
                     "oom_time_s", "runtime_s"]


def phase_times(events: pd.DataFrame, process: str | None = None) -> dict[str, float]:
    """Start time of each phase (the first 'phase' event of that name)."""
    ev = events[events["event"].astype(str) == "phase"]
    if process is not None and "process" in ev.columns:
        ev = ev[ev["process"].astype(str) == process]
    out = {}
    for t, name in zip(ev["time_s"], ev["detail"].astype(str)):
        out.setdefault(name, float(t))
    return out


def phase_at(phases: dict[str, float], t: float) -> str:
    """The phase running at time t (the last one started at or before t)."""
    started = [(ts, name) for name, ts in phases.items() if ts <= t]
    return max(started)[1] if started else ""


def sample_at(ts: pd.DataFrame, t: float):
    """The last sample taken at or before time t (None if there is none)."""
    before = ts[ts["time_s"] <= t]
    return before.iloc[-1] if len(before) else None


@table("fig_bloat")
def fig_bloat(runs_dir) -> pd.DataFrame:
    """Per policy: RSS, bloat and live data set at the end of P2 and at the end, and
    whether and when the run ran out of memory.

    "End of P2" is the last sample before P3 starts (after the pause, so the background
    threads had the pause to collapse or recover pages).  The P1 data set is the largest
    live data set sampled before P3 starts.
    """
    runs_dir = Path(runs_dir)
    rows = []
    for policy, d in policy_dirs(runs_dir).items():
        s = _nonempty(read_csv(d / "summary.csv", BLOAT_SUMMARY_COLUMNS), d / "summary.csv")
        ts = summed_timeseries(_nonempty(read_csv(d / "timeseries.csv", BLOAT_TS_COLUMNS),
                                         d / "timeseries.csv"),
                               ["rss_bytes", "bloat_bytes", "live_bytes"])
        ev = read_csv(d / "events.csv", ["time_s", "event", "detail"])
        phases = phase_times(ev)
        t_p3 = phases.get("p3_insert_large", float("inf"))
        before_p3 = ts[ts["time_s"] <= t_p3]
        p1_live = float(before_p3["live_bytes"].max()) if len(before_p3) else float("nan")
        end_p2 = sample_at(ts, t_p3) if "p3_insert_large" in phases else None
        last = ts.iloc[-1]
        oom = int(s["oom"].max())
        oom_ev = ev[ev["event"].astype(str) == "oom"]
        oom_time = (float(oom_ev["time_s"].min()) if len(oom_ev) else
                    float(s["oom_time_s"].min()) if oom else float("nan"))
        oom_phase = phase_at(phases, oom_time) if oom else ""
        nan = float("nan")
        rss_p2 = float(end_p2["rss_bytes"]) if end_p2 is not None else nan
        bloat_p2 = float(end_p2["bloat_bytes"]) if end_p2 is not None else nan
        rows.append({
            "policy": policy,
            "p1_live_bytes": p1_live,
            "peak_rss_bytes": int(s["peak_rss_bytes"].sum()),
            "rss_end_p2_bytes": rss_p2,
            "live_end_p2_bytes": float(end_p2["live_bytes"]) if end_p2 is not None else nan,
            "bloat_end_p2_bytes": bloat_p2,
            "bloat_share_of_rss": _div(bloat_p2, rss_p2),
            "bloat_ratio": _div(bloat_p2, p1_live),
            "peak_bloat_bytes": int(s["peak_bloat_bytes"].sum()),
            "peak_bloat_ratio": _div(s["peak_bloat_bytes"].sum(), p1_live),
            "rss_end_bytes": float(last["rss_bytes"]),
            "live_end_bytes": float(last["live_bytes"]),
            "rss_over_live_end": nan if oom else _div(last["rss_bytes"], last["live_bytes"]),
            "oom": oom,
            "oom_phase": oom_phase,
            "oom_in_p3": int(oom_phase == "p3_insert_large"),
            "oom_time_s": oom_time,
            "runtime_s": float(s["runtime_s"].max()),
        })
    return pd.DataFrame(rows, columns=FIG_BLOAT_COLUMNS)


# --- Fig. 5: promotion order --------------------------------------------------------

PROMOTION_SUMMARY_COLUMNS = ["runtime_s", "mmu_overhead", "promotions", "final_huge_pages"]
PROMOTION_TS_COLUMNS = ["time_s", "huge_pages"]
FIG_PROMOTION_COLUMNS = ["workload", "fragmentation", "tenant_fraction", "variant", "policy",
                         "runtime_s", "speedup",
                         "gain_vs_linux_thp", "gain_vs_ingens", "mmu_overhead", "promotions",
                         "final_huge_pages", "peak_huge_pages", "time_to_half_promoted_s",
                         "time_saved_s", "time_saved_per_promotion_s"]


@table("fig_promotion")
def fig_promotion(runs_dir) -> pd.DataFrame:
    """Per workload and policy: run time against linux-4k and against the address-order
    promoters (linux-thp, ingens), MMU overhead, promotions and how fast they came."""
    rows = []
    for variant, vd in variant_dirs(runs_dir).items():
        v = parse_variant(variant)
        for policy, d in policy_dirs(vd).items():
            s = _nonempty(read_csv(d / "summary.csv", PROMOTION_SUMMARY_COLUMNS),
                          d / "summary.csv")
            _label_pressure(v, s)
            ts = summed_timeseries(read_csv(d / "timeseries.csv", PROMOTION_TS_COLUMNS),
                                   ["huge_pages"])
            peak = float(ts["huge_pages"].max()) if len(ts) else 0.0
            rows.append({
                **v, "variant": variant, "policy": policy,
                "runtime_s": float(s["runtime_s"].max()),
                "mmu_overhead": _mmu_overhead(s),
                "promotions": int(s["promotions"].sum()),
                "final_huge_pages": int(s["final_huge_pages"].sum()),
                "peak_huge_pages": int(peak),
                "time_to_half_promoted_s": (first_time(ts["time_s"], ts["huge_pages"], peak / 2)
                                            if peak > 0 else float("nan")),
            })
    df = pd.DataFrame(rows)
    df["speedup"] = _baseline_ratio(df, ["variant"], "runtime_s", BASELINE)
    df["gain_vs_linux_thp"] = [x - 1 for x in _baseline_ratio(df, ["variant"], "runtime_s",
                                                              "linux-thp")]
    df["gain_vs_ingens"] = [x - 1 for x in _baseline_ratio(df, ["variant"], "runtime_s",
                                                           "ingens")]
    df["time_saved_s"] = [_time_saved(df, i) for i in range(len(df))]
    df["time_saved_per_promotion_s"] = [_div(t, p) if p else float("nan")
                                        for t, p in zip(df["time_saved_s"], df["promotions"])]
    return df[FIG_PROMOTION_COLUMNS]


def _time_saved(df: pd.DataFrame, i: int) -> float:
    """linux-4k's run time minus this row's, in the same variant (NaN without linux-4k)."""
    r = df.iloc[i]
    base = df[(df["variant"] == r["variant"]) & (df["policy"] == BASELINE)]
    return float(base["runtime_s"].iloc[0] - r["runtime_s"]) if len(base) else float("nan")


# --- §6: fairness between co-running processes ----------------------------------------

FAIRNESS_SUMMARY_COLUMNS = ["process", "runtime_s", "final_huge_pages", "mmu_overhead", "oom"]
FAIRNESS_TS_COLUMNS = ["process", "time_s", "huge_pages"]
FIG_FAIRNESS_COLUMNS = ["policy", "process", "workload", "runtime_s", "speedup",
                        "final_huge_pages", "peak_huge_pages", "mmu_overhead", "oom",
                        "first_huge_s", "first_huge_rank", "jain_index", "huge_page_order"]
ALL = "all"


def jain_index(values) -> float:
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when all are equal, 1/n when one
    value holds everything.  NaN for no values or any NaN."""
    x = np.asarray(list(values), dtype=float)
    if len(x) == 0 or np.isnan(x).any():
        return float("nan")
    return _div(x.sum() ** 2, len(x) * (x ** 2).sum())


def geomean(values) -> float:
    x = np.asarray(list(values), dtype=float)
    if len(x) == 0 or np.isnan(x).any() or (x <= 0).any():
        return float("nan")
    return float(np.exp(np.log(x).mean()))


@table("fig_fairness")
def fig_fairness(runs_dir) -> pd.DataFrame:
    """Per policy and process: run time, speedup against the same process under linux-4k,
    huge pages, MMU overhead and when the process first got a huge page; per policy (the
    row with process 'all'): the longest run time, the geometric-mean speedup, and Jain's
    index over the processes' speedups."""
    per_policy = {}
    for policy, d in policy_dirs(runs_dir).items():
        s = _nonempty(read_csv(d / "summary.csv", FAIRNESS_SUMMARY_COLUMNS), d / "summary.csv")
        ts = dedup_timeseries(read_csv(d / "timeseries.csv", FAIRNESS_TS_COLUMNS))
        per_policy[policy] = (s, ts)
    base = {}
    if BASELINE in per_policy:
        b = per_policy[BASELINE][0]
        base = dict(zip(b["process"].astype(str), b["runtime_s"].astype(float)))
    else:
        warn(f"{runs_dir}: no {BASELINE} run, so the speedups are empty")
    rows = []
    for policy, (s, ts) in per_policy.items():
        prows = []
        for r in s.itertuples(index=False):
            proc = str(r.process)
            pts = ts[ts["process"].astype(str) == proc]
            prows.append({
                "policy": policy, "process": proc,
                "workload": str(getattr(r, "workload", "")),
                "runtime_s": float(r.runtime_s),
                "speedup": _div(base.get(proc, float("nan")), r.runtime_s),
                "final_huge_pages": int(r.final_huge_pages),
                "peak_huge_pages": int(pts["huge_pages"].max()) if len(pts) else 0,
                "mmu_overhead": float(r.mmu_overhead), "oom": int(r.oom),
                "first_huge_s": first_time(pts["time_s"], pts["huge_pages"], 1),
            })
        got = sorted((p["first_huge_s"], p["process"]) for p in prows
                     if not math.isnan(p["first_huge_s"]))
        ranks = {}
        for t, proc in got:   # equal times share a rank
            ranks[proc] = 1 + sum(1 for t2, _ in got if t2 < t)
        groups = {}
        for t, proc in got:
            groups.setdefault(t, []).append(proc)
        order = " < ".join(" = ".join(g) for _, g in sorted(groups.items()))
        jain = jain_index(p["speedup"] for p in prows)
        for p in prows:
            p["first_huge_rank"] = ranks.get(p["process"], float("nan"))
            p["jain_index"] = jain
            p["huge_page_order"] = order
        firsts = [p["first_huge_s"] for p in prows if not math.isnan(p["first_huge_s"])]
        rows += prows
        rows.append({
            "policy": policy, "process": ALL, "workload": "",
            "runtime_s": max(p["runtime_s"] for p in prows),
            "speedup": geomean(p["speedup"] for p in prows),
            "final_huge_pages": sum(p["final_huge_pages"] for p in prows),
            "peak_huge_pages": int(summed_timeseries(ts, ["huge_pages"])["huge_pages"].max())
            if len(ts) else 0,
            "mmu_overhead": _mmu_overhead(s), "oom": max(p["oom"] for p in prows),
            "first_huge_s": min(firsts) if firsts else float("nan"),
            "first_huge_rank": float("nan"), "jain_index": jain, "huge_page_order": order,
        })
    return pd.DataFrame(rows, columns=FIG_FAIRNESS_COLUMNS)


# --- the sweep: every workload x policy x memory pressure ------------------------------

SWEEP_SUMMARY_COLUMNS = ["faults", "p50_fault_latency_us", "p99_fault_latency_us",
                         "peak_rss_bytes", "peak_bloat_bytes", "mmu_overhead", "runtime_s",
                         "oom", "final_huge_pages"]
SWEEP_COLUMNS = ["workload", "fragmentation", "tenant_fraction", "variant", "policy",
                 "faults", "p50_fault_latency_us", "p99_fault_latency_us", "peak_rss_bytes",
                 "peak_bloat_bytes", "bloat_share", "mmu_overhead", "final_huge_pages",
                 "runtime_s", "runtime_norm", "oom"]


@table("sweep")
def sweep(runs_dir) -> pd.DataFrame:
    """One row per grid point (workload, fragmentation, tenant fraction) and policy."""
    rows = []
    for variant, vd in variant_dirs(runs_dir).items():
        v = parse_variant(variant)
        for policy, d in policy_dirs(vd).items():
            s = _nonempty(read_csv(d / "summary.csv", SWEEP_SUMMARY_COLUMNS), d / "summary.csv")
            _label_pressure(v, s)
            rows.append({
                **v, "variant": variant, "policy": policy, **_fault_stats(s, d),
                "peak_rss_bytes": int(s["peak_rss_bytes"].sum()),
                "peak_bloat_bytes": int(s["peak_bloat_bytes"].sum()),
                "bloat_share": _div(s["peak_bloat_bytes"].sum(), s["peak_rss_bytes"].sum()),
                "mmu_overhead": _mmu_overhead(s),
                "final_huge_pages": int(s["final_huge_pages"].sum()),
                "runtime_s": float(s["runtime_s"].max()),
                "oom": int(s["oom"].max()),
            })
    df = pd.DataFrame(rows)
    df["runtime_norm"] = _baseline_ratio(df, ["variant"], "runtime_s", BASELINE, invert=True)
    return df[SWEEP_COLUMNS]


# --- §6: cost of the background threads and promotion efficiency -----------------------

OVERHEAD_USES = ("fig_promotion", "fig_bloat")
THREADS_COLUMNS = ["thread", "passes", "cpu_s", "duration_s", "cpu_pct_of_core"]
OVERHEAD_COLUMNS = ["experiment", "workload", "variant", "policy", "thread", "passes",
                    "cpu_s", "duration_s", "cpu_pct_of_core", "time_scale",
                    "cpu_pct_paper_time", "promotions", "runtime_s", "time_saved_s",
                    "promotions_per_cpu_s", "time_saved_per_promotion_s",
                    "efficiency_vs_linux_thp"]


def _overhead_runs(runs_dir: Path):
    """(experiment, workload, variant, {policy: dir}) for every run the table uses."""
    root = require_dir(runs_dir, "run directory")
    found = []
    for exp in OVERHEAD_USES:
        d = root / exp
        if not d.is_dir() or not _wanted(d):
            warn(f"{d}: no runs of {exp}; the overhead table leaves it out")
            continue
        if any((c / "summary.csv").is_file() for c in d.iterdir() if c.is_dir()):
            pol = policy_dirs(d)
            found.append((exp, _workload_label(pol), "", pol))
        else:
            for variant, vd in variant_dirs(d).items():
                found.append((exp, parse_variant(variant)["workload"], variant, policy_dirs(vd)))
    if not found:
        raise InputError(f"{root}: none of {', '.join(OVERHEAD_USES)} has runs "
                         f"(expected {root}/<experiment>/...)")
    return found


def _workload_label(pols: dict[str, Path]) -> str:
    """The workload name a plain run is labelled with (events.csv carries the run's labels;
    summary.csv's workload column is the trace's workload kind)."""
    for d in pols.values():
        for name in ("events.csv", "summary.csv"):
            f = d / name
            if f.is_file():
                try:
                    df = pd.read_csv(f, nrows=1)
                except (pd.errors.EmptyDataError, pd.errors.ParserError):
                    continue
                if "workload" in df.columns and len(df) and not pd.isna(df["workload"].iloc[0]):
                    return str(df["workload"].iloc[0])
    return ""


@table("overhead")
def overhead(runs_dir) -> pd.DataFrame:
    """Per run, policy and background thread: CPU time as a share of one core; per run and
    policy (thread 'all'): promotions per CPU second and run time saved per promotion,
    against linux-4k, and that efficiency relative to linux-thp's."""
    rows = []
    for exp, wl, variant, pols in _overhead_runs(Path(runs_dir)):
        run_rows = []
        for policy, d in pols.items():
            s = _nonempty(read_csv(d / "summary.csv", ["runtime_s", "promotions"]),
                          d / "summary.csv")
            th = read_csv(d / "threads.csv", THREADS_COLUMNS)
            scale = (float(th["time_scale"].iloc[0]) if "time_scale" in th.columns and len(th)
                     else float("nan"))
            key = {"experiment": exp, "workload": wl, "variant": variant, "policy": policy}
            for r in th.itertuples(index=False):
                run_rows.append({**key, "thread": str(r.thread), "passes": int(r.passes),
                                 "cpu_s": float(r.cpu_s), "duration_s": float(r.duration_s),
                                 "cpu_pct_of_core": float(r.cpu_pct_of_core),
                                 "time_scale": scale,
                                 "cpu_pct_paper_time": float(r.cpu_pct_of_core) * scale})
            cpu = float(th["cpu_s"].sum())
            dur = float(th["duration_s"].max()) if len(th) else float(s["runtime_s"].max())
            promotions = int(s["promotions"].sum())
            pct = 100 * cpu / dur if dur else 0.0
            run_rows.append({**key, "thread": ALL, "passes": int(th["passes"].sum()),
                             "cpu_s": cpu, "duration_s": dur, "cpu_pct_of_core": pct,
                             "time_scale": scale, "cpu_pct_paper_time": pct * scale,
                             "promotions": promotions, "runtime_s": float(s["runtime_s"].max()),
                             "promotions_per_cpu_s": _div(promotions, cpu) if promotions
                             else 0.0})
        runtimes = {r["policy"]: r["runtime_s"] for r in run_rows if r["thread"] == ALL}
        base = runtimes.get(BASELINE, float("nan"))
        for r in run_rows:
            if r["thread"] != ALL:
                continue
            r["time_saved_s"] = base - r["runtime_s"]
            r["time_saved_per_promotion_s"] = (_div(r["time_saved_s"], r["promotions"])
                                               if r["promotions"] else float("nan"))
        thp = next((r["time_saved_per_promotion_s"] for r in run_rows
                    if r["thread"] == ALL and r["policy"] == "linux-thp"), float("nan"))
        for r in run_rows:
            if r["thread"] == ALL:
                r["efficiency_vs_linux_thp"] = _div(r["time_saved_per_promotion_s"], thp)
        rows += run_rows
    return pd.DataFrame(rows, columns=OVERHEAD_COLUMNS)


# --- command line -----------------------------------------------------------

def build(name: str, runs_dir, only=None) -> pd.DataFrame:
    if name not in TABLES:
        raise InputError(f"unknown experiment {name!r}; tables exist for: {', '.join(sorted(TABLES))}")
    with only_runs(only):
        return TABLES[name](Path(runs_dir))


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.tables", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", help=f"one of: {', '.join(sorted(TABLES))}")
    ap.add_argument("--runs", required=True, help="the experiment's run directory")
    ap.add_argument("--out", required=True, help="CSV file to write")
    ap.add_argument("--only", nargs="*", metavar="FILE", default=None,
                    help="read only the runs holding these files (e.g. the summary.csv files "
                         "the workflow lists); default: every run under --runs")
    a = ap.parse_args(argv)
    log(f"table {a.experiment}: reading {a.runs}"
        + (f" ({len(a.only)} listed file(s) only)" if a.only else ""))
    df = build(a.experiment, a.runs, a.only)
    atomic_write_csv(a.out, df)
    log(f"table {a.experiment}: wrote {len(df)} row(s) to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
