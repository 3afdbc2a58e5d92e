"""Experiment tables: one builder per experiment, each reading the runs it is given.

    python -m report.tables table1 --out results/tables/table1.csv results/runs/table1/*/summary.csv

The runs are the ``summary.csv`` files a workflow rule lists as its input; the
files the simulator writes beside each (timeseries.csv, events.csv, threads.csv,
fault_hist.csv) are read from the same directory, and the runs are grouped by
the labels inside them (report.runs).  A builder is registered with
``@table(NAME)`` and gets the list of runs; it returns a DataFrame with one row
per policy, ordered by ``report.style.order_policies``.  Columns and units of
every table are listed in report/README.md.
"""
from __future__ import annotations

import argparse
import math
from typing import Callable

import numpy as np
import pandas as pd

from report import InputError, atomic_write_csv, cli, log, warn
from report.runs import (Run, by_experiment, by_policy, by_variant, dedup_timeseries,
                         first_time, hist_quantile, nonempty, pressure_labels,
                         read_runs, summed_timeseries)

BASELINE = "linux-4k"

TABLES: dict[str, Callable[[list[Run]], pd.DataFrame]] = {}

# Other rows a column's value is computed from, per table: {table: {column: [(policy,
# same), ...]}}.  A row's value in that column also reads the rows of ``policy`` (None: the
# row's own policy) whose columns ``same`` equal the row's (e.g. table1's speedup reads
# linux-4k's row).  report.claims follows these to find every run a claim's value comes
# from, so that a value computed from a run that ran out of memory is never taken as whole.
READS: dict[str, dict[str, list[tuple[str | None, tuple[str, ...]]]]] = {}


def table(name: str, reads: dict | None = None):
    """Register a table builder ``f(runs: list[Run]) -> DataFrame`` under an experiment name,
    with ``reads`` (see READS) for its columns computed from other rows."""
    def deco(f):
        TABLES[name] = f
        READS[name] = dict(reads or {})
        return f
    return deco


# --- shared helpers ----------------------------------------------------------------

def _div(a, b) -> float:
    a, b = float(a), float(b)
    if b == 0 or math.isnan(a) or math.isnan(b):
        return float("nan")
    return a / b


OOM_SUMMARY_COLUMNS = ["oom", "oom_time_s"]
OOM_COLUMNS = ["oom", "oom_time_s", "oom_process"]


def oom_of(s: pd.DataFrame) -> dict:
    """Whether processes of a run (its summary rows, with ``oom`` and ``oom_time_s``) ran out
    of memory: ``oom`` 1 if any was killed (sim.simulate's Process.oom: the machine found no
    frame to fault in, machine.Machine.kill), ``oom_time_s`` the earliest kill time (s; NaN if
    none), ``oom_process`` the killed processes' names in kill order, space-separated."""
    killed = s[pd.to_numeric(s["oom"], errors="coerce").fillna(0) > 0]
    times = pd.to_numeric(killed["oom_time_s"], errors="coerce")
    order = killed.assign(_t=times).sort_values("_t", kind="stable")
    names = (order["process"].astype(str) if "process" in order.columns
             else pd.Series([""] * len(order)))
    return {"oom": int(len(killed) > 0),
            "oom_time_s": float(times.min()) if times.notna().any() else float("nan"),
            "oom_process": " ".join(n for n in names if n)}


# --- Table 1: page-fault cost -----------------------------------------------

TABLE1_SUMMARY_COLUMNS = ["faults", "faults_4k", "faults_2m", "fault_time_s", "zeroing_time_s",
                          "p50_fault_latency_us", "p99_fault_latency_us", "runtime_s"]
TABLE1_COLUMNS = ["policy", "faults", "faults_4k", "faults_2m", "fault_time_s",
                  "mean_fault_latency_us", "p50_fault_latency_us", "p99_fault_latency_us",
                  "zeroing_share", "runtime_s", "fault_ratio", "latency_ratio", "speedup",
                  *OOM_COLUMNS]


@table("table1", reads={c: [(BASELINE, ())] for c in ("fault_ratio", "latency_ratio",
                                                      "speedup")})
def table1(runs: list[Run]) -> pd.DataFrame:
    """Page-fault count, time and latency per policy, and ratios against linux-4k.

    Processes of one run are added up (faults, times); latency quantiles then
    come from the run's fault_hist.csv, and the runtime is the longest process's.
    """
    rows = []
    for policy, run in by_policy(runs).items():
        s = run.require(TABLE1_SUMMARY_COLUMNS + OOM_SUMMARY_COLUMNS)
        faults = int(s["faults"].sum())
        fault_time = float(s["fault_time_s"].sum())
        if len(s) == 1:
            p50 = float(s["p50_fault_latency_us"].iloc[0])
            p99 = float(s["p99_fault_latency_us"].iloc[0])
        else:  # several processes: quantiles of the combined histogram
            h = run.file("fault_hist.csv", ["latency_us", "count"])
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
            **oom_of(s),
        })
    df = pd.DataFrame(rows, columns=TABLE1_COLUMNS[:10] + OOM_COLUMNS)
    base = df[df["policy"] == BASELINE]
    if len(base):
        b = base.iloc[0]
        df["fault_ratio"] = [_div(b["faults"], f) for f in df["faults"]]
        df["latency_ratio"] = [_div(m, b["mean_fault_latency_us"])
                               for m in df["mean_fault_latency_us"]]
        df["speedup"] = [_div(b["runtime_s"], r) for r in df["runtime_s"]]
    else:
        warn(f"table1: no {BASELINE} run, so the ratio columns are empty")
        for c in ("fault_ratio", "latency_ratio", "speedup"):
            df[c] = float("nan")
    return df[TABLE1_COLUMNS]


# --- shared helpers for the experiment tables --------------------------------

def _fault_stats(s: pd.DataFrame, run: Run) -> dict:
    """Faults and latency quantiles of a run: one process copied, several added up
    (quantiles from the run's combined fault_hist.csv)."""
    if len(s) == 1:
        p50 = float(s["p50_fault_latency_us"].iloc[0])
        p99 = float(s["p99_fault_latency_us"].iloc[0])
    else:
        h = run.file("fault_hist.csv", ["latency_us", "count"])
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

BLOAT_SUMMARY_COLUMNS = ["peak_rss_bytes", "peak_bloat_bytes", "oom", "oom_time_s", "runtime_s",
                         "faults_2m"]
BLOAT_TS_COLUMNS = ["time_s", "rss_bytes", "bloat_bytes", "live_bytes", "faults_2m",
                    "zero_pages_released"]
# events.csv reasons of recovery splits: HawkEye's bloat recovery, linux-6.12's THP shrinker
RECOVERY_REASON = ("bloat_recovery", "thp_shrinker")
BLOAT_PHASES = ("p1_insert", "p2_delete", "pause", "p3_insert_large")
FIG_BLOAT_COLUMNS = ["policy", "p1_live_bytes", "peak_rss_bytes", "rss_end_p2_bytes",
                     "live_end_p2_bytes", "bloat_end_p2_bytes", "bloat_share_of_rss",
                     "bloat_ratio", "peak_bloat_bytes", "peak_bloat_ratio", "rss_end_bytes",
                     "live_end_bytes", "rss_over_live_end", "oom", "oom_phase", "oom_in_p3",
                     "oom_time_s", "runtime_s", "oom_process", "faults_2m", "p3_faults_2m",
                     "p3_recovery_passes", "p3_pages_released"]


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
def fig_bloat(runs: list[Run]) -> pd.DataFrame:
    """Per policy: RSS, bloat and live data set at the end of P2 and at the end, and
    whether and when the run ran out of memory.

    "End of P2" is the last sample before P3 starts (after the pause, so the background
    threads had the pause to collapse or recover pages).  The P1 data set is the largest
    live data set sampled before P3 starts.
    """
    rows = []
    for policy, run in by_policy(runs).items():
        s = run.require(BLOAT_SUMMARY_COLUMNS)
        ts = summed_timeseries(nonempty(run.file("timeseries.csv", BLOAT_TS_COLUMNS),
                                        run.dir / "timeseries.csv"),
                               BLOAT_TS_COLUMNS[1:])
        ev = run.file("events.csv", ["time_s", "event", "detail", "reason"])
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
        # P3's own: 2 MiB faults and recovery since the last sample before P3
        # (a run killed before P3 has none: NaN)
        def p3(col, end):
            return end - float(end_p2[col]) if end_p2 is not None else nan
        recovery = ev[(ev["event"].astype(str) == "split")
                      & ev["reason"].astype(str).str.startswith(RECOVERY_REASON)
                      & (ev["time_s"] >= t_p3)]
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
            "oom_process": oom_of(s)["oom_process"],
            "faults_2m": int(s["faults_2m"].sum()),
            "p3_faults_2m": p3("faults_2m", float(s["faults_2m"].sum())),
            # a pass splits its regions at one time: passes that released pages
            "p3_recovery_passes": (recovery["time_s"].nunique() if end_p2 is not None
                                   else nan),
            "p3_pages_released": p3("zero_pages_released",
                                    float(last["zero_pages_released"])),
        })
    return pd.DataFrame(rows, columns=FIG_BLOAT_COLUMNS)


# --- Fig. 5: promotion order --------------------------------------------------------

PROMOTION_SUMMARY_COLUMNS = ["runtime_s", "mmu_overhead", "promotions", "final_huge_pages"]
PROMOTION_TS_COLUMNS = ["time_s", "huge_pages"]
FIG_PROMOTION_COLUMNS = ["workload", "fragmentation", "tenant_fraction", "variant", "policy",
                         "runtime_s", "speedup",
                         "gain_vs_linux_thp", "gain_vs_ingens", "mmu_overhead", "promotions",
                         "final_huge_pages", "peak_huge_pages", "time_to_half_promoted_s",
                         "time_saved_s", "time_saved_per_promotion_s", *OOM_COLUMNS]


@table("fig_promotion", reads={
    **{c: [(BASELINE, ("variant",))] for c in ("speedup", "time_saved_s",
                                               "time_saved_per_promotion_s")},
    "gain_vs_linux_thp": [("linux-thp", ("variant",))],
    "gain_vs_ingens": [("ingens", ("variant",))]})
def fig_promotion(runs: list[Run]) -> pd.DataFrame:
    """Per workload and policy: run time against linux-4k and against the address-order
    promoters (linux-thp, ingens), MMU overhead, promotions and how fast they came."""
    rows = []
    for variant, pols in by_variant(runs).items():
        for policy, run in pols.items():
            s = run.require(PROMOTION_SUMMARY_COLUMNS + OOM_SUMMARY_COLUMNS)
            v = pressure_labels(run)
            ts = summed_timeseries(run.file("timeseries.csv", PROMOTION_TS_COLUMNS),
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
                **oom_of(s),
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

FAIRNESS_SUMMARY_COLUMNS = ["process", "runtime_s", "final_huge_pages", "mmu_overhead",
                            *OOM_SUMMARY_COLUMNS]
FAIRNESS_TS_COLUMNS = ["process", "time_s", "huge_pages"]
FIG_FAIRNESS_COLUMNS = ["policy", "process", "workload", "runtime_s", "speedup",
                        "final_huge_pages", "peak_huge_pages", "mmu_overhead", "oom",
                        "first_huge_s", "first_huge_rank", "jain_index", "huge_page_order",
                        "oom_time_s", "oom_process"]
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


@table("fig_fairness", reads={"speedup": [(BASELINE, ("process",))],
                              "jain_index": [(None, ()), (BASELINE, ())]})
def fig_fairness(runs: list[Run]) -> pd.DataFrame:
    """Per policy and process: run time, speedup against the same process under linux-4k,
    huge pages, MMU overhead and when the process first got a huge page; per policy (the
    row with process 'all'): the longest run time, the geometric-mean speedup, and Jain's
    index over the processes' speedups."""
    per_policy = {}
    for policy, run in by_policy(runs).items():
        s = run.require(FAIRNESS_SUMMARY_COLUMNS)
        ts = dedup_timeseries(run.file("timeseries.csv", FAIRNESS_TS_COLUMNS))
        per_policy[policy] = (s, ts)
    base = {}
    if BASELINE in per_policy:
        b = per_policy[BASELINE][0]
        base = dict(zip(b["process"].astype(str), b["runtime_s"].astype(float)))
    else:
        warn(f"fig_fairness: no {BASELINE} run, so the speedups are empty")
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
                "mmu_overhead": float(r.mmu_overhead),
                **oom_of(s[s["process"].astype(str) == proc]),
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
            "mmu_overhead": _mmu_overhead(s), **oom_of(s),
            "first_huge_s": min(firsts) if firsts else float("nan"),
            "first_huge_rank": float("nan"), "jain_index": jain, "huge_page_order": order,
        })
    return pd.DataFrame(rows, columns=FIG_FAIRNESS_COLUMNS)


# --- the sweep: every workload x policy x memory pressure ------------------------------

SWEEP_SUMMARY_COLUMNS = ["faults", "p50_fault_latency_us", "p99_fault_latency_us",
                         "peak_rss_bytes", "peak_bloat_bytes", "mmu_overhead", "runtime_s",
                         "final_huge_pages", *OOM_SUMMARY_COLUMNS]
SWEEP_COLUMNS = ["workload", "fragmentation", "tenant_fraction", "variant", "policy",
                 "faults", "p50_fault_latency_us", "p99_fault_latency_us", "peak_rss_bytes",
                 "peak_bloat_bytes", "bloat_share", "mmu_overhead", "final_huge_pages",
                 "runtime_s", "runtime_norm", *OOM_COLUMNS]


@table("sweep", reads={"runtime_norm": [(BASELINE, ("variant",))]})
def sweep(runs: list[Run]) -> pd.DataFrame:
    """One row per grid point (workload, fragmentation, tenant fraction) and policy."""
    rows = []
    for variant, pols in by_variant(runs).items():
        for policy, run in pols.items():
            s = run.require(SWEEP_SUMMARY_COLUMNS)
            rows.append({
                **pressure_labels(run), "variant": variant, "policy": policy,
                **_fault_stats(s, run),
                "peak_rss_bytes": int(s["peak_rss_bytes"].sum()),
                "peak_bloat_bytes": int(s["peak_bloat_bytes"].sum()),
                "bloat_share": _div(s["peak_bloat_bytes"].sum(), s["peak_rss_bytes"].sum()),
                "mmu_overhead": _mmu_overhead(s),
                "final_huge_pages": int(s["final_huge_pages"].sum()),
                "runtime_s": float(s["runtime_s"].max()),
                **oom_of(s),
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
                    "efficiency_vs_linux_thp", *OOM_COLUMNS]
_SAME_RUN = ("experiment", "variant")


def _overhead_runs(runs: list[Run]):
    """(experiment, workload, variant, {policy: run}) for every run the table uses, in
    OVERHEAD_USES order (a sweep's grid points sorted as by_variant sorts them)."""
    groups = by_experiment(runs)
    found = []
    for exp in OVERHEAD_USES:
        if exp not in groups:
            warn(f"overhead: no runs of {exp} given; the table leaves it out")
            continue
        if all(r.label("variant") is None for r in groups[exp]):
            pols = by_policy(groups[exp])
            wl = next((str(r.label("workload")) for r in pols.values()
                       if r.label("workload") is not None), "")
            found.append((exp, wl, "", pols))
        else:
            for variant, pols in by_variant(groups[exp]).items():
                found.append((exp, pressure_labels(next(iter(pols.values())))["workload"],
                              variant, pols))
    if not found:
        raise InputError(f"overhead: none of {', '.join(OVERHEAD_USES)} has runs among the "
                         f"{len(runs)} given")
    return found


@table("overhead", reads={
    **{c: [(BASELINE, _SAME_RUN)] for c in ("time_saved_s", "time_saved_per_promotion_s")},
    "efficiency_vs_linux_thp": [(BASELINE, _SAME_RUN), ("linux-thp", _SAME_RUN)]})
def overhead(runs: list[Run]) -> pd.DataFrame:
    """Per run, policy and background thread: CPU time as a share of one core; per run and
    policy (thread 'all'): promotions per CPU second and run time saved per promotion,
    against linux-4k, and that efficiency relative to linux-thp's."""
    rows = []
    for exp, wl, variant, pols in _overhead_runs(runs):
        run_rows = []
        for policy, run in pols.items():
            s = run.require(["runtime_s", "promotions", *OOM_SUMMARY_COLUMNS])
            th = run.file("threads.csv", THREADS_COLUMNS)
            scale = (float(th["time_scale"].iloc[0]) if "time_scale" in th.columns and len(th)
                     else float("nan"))
            key = {"experiment": exp, "workload": wl, "variant": variant, "policy": policy,
                   **oom_of(s)}
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


# tables built in modules of their own register here too
import report.mmu_overhead  # noqa: E402,F401


# --- command line -----------------------------------------------------------

def build(name: str, summaries) -> pd.DataFrame:
    """The table of experiment ``name`` from the runs whose summary.csv files are given."""
    if name not in TABLES:
        raise InputError(f"unknown experiment {name!r}; tables exist for: {', '.join(sorted(TABLES))}")
    return TABLES[name](read_runs(summaries))


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.tables", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", help=f"one of: {', '.join(sorted(TABLES))}")
    ap.add_argument("--out", required=True, help="CSV file to write")
    ap.add_argument("summaries", nargs="+", metavar="SUMMARY",
                    help="the runs' summary.csv files (their sibling files are read too)")
    a = ap.parse_args(argv)
    log(f"table {a.experiment}: reading {len(a.summaries)} run(s)")
    df = build(a.experiment, a.summaries)
    atomic_write_csv(a.out, df)
    log(f"table {a.experiment}: wrote {len(df)} row(s) to {a.out}")
    return 0


if __name__ == "__main__":
    # run the registry of the imported module: tables defined in modules of their own
    # (report.mmu_overhead) register into report.tables, not into this __main__ copy
    from report.tables import main as _main
    raise SystemExit(_main())
