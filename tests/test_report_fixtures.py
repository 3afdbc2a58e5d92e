"""Helpers (no tests): small synthetic simulation runs with known numbers for the report tests.

Numbers are chosen to be exact in binary floating point, so the ratios in
table1.csv can be checked with ==:

  linux-4k : 1024 faults, 0.25 s fault time (244.140625 us each), 0.0625 s zeroing,
             run 2.0 s
  linux-thp: 8 faults, 0.125 s fault time (15625 us each), 0.09375 s zeroing, run 0.5 s
  => fault_ratio 128, latency_ratio 64, speedup 4, zeroing shares 0.25 and 0.75
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

LABELS = {"experiment": "table1", "workload": "buffer"}


def summary_row(policy, process="buffer", **kw):
    row = {**LABELS, "policy": policy, "process": process, "accesses": 1024, "writes": 1024,
           "faults": 0, "faults_4k": 0, "faults_2m": 0, "faults_zeropage": 0, "faults_cow": 0,
           "fault_time_s": 0.0, "zeroing_time_s": 0.0, "mean_fault_latency_us": 0.0,
           "p50_fault_latency_us": 0.0, "p99_fault_latency_us": 0.0, "runtime_s": 1.0}
    row.update(kw)
    if row["faults"]:
        row["mean_fault_latency_us"] = row["fault_time_s"] * 1e6 / row["faults"]
    return row


RUNS = {
    "linux-4k": dict(faults=1024, faults_4k=1024, fault_time_s=0.25, zeroing_time_s=0.0625,
                     p50_fault_latency_us=240.0, p99_fault_latency_us=250.0, runtime_s=2.0),
    "linux-thp": dict(faults=8, faults_2m=8, fault_time_s=0.125, zeroing_time_s=0.09375,
                      p50_fault_latency_us=15000.0, p99_fault_latency_us=16000.0, runtime_s=0.5),
}


def write_run(runs_dir: Path, policy: str, rows: list[dict], hist=None, ts=None) -> Path:
    d = Path(runs_dir) / policy
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(d / "summary.csv", index=False)
    hist = hist if hist is not None else [(r["process"], r["p50_fault_latency_us"], r["faults"])
                                          for r in rows]
    pd.DataFrame([{**LABELS, "policy": policy, "process": p, "latency_us": lat, "count": n}
                  for p, lat, n in hist]).to_csv(d / "fault_hist.csv", index=False)
    if ts is None:  # three samples per process: start, half way, end
        ts = []
        for r in rows:
            for k, frac in enumerate((0.0, 0.5, 1.0)):
                ts.append((r["process"], frac * r["runtime_s"], int(frac * r["accesses"]),
                           frac * r["fault_time_s"]))
        last = ts[-1]
        ts.append(last)  # the simulator may repeat its final sample
    pd.DataFrame([{**LABELS, "policy": policy, "process": p, "time_s": t, "accesses": a,
                   "fault_time_s": f} for p, t, a, f in ts]).to_csv(d / "timeseries.csv",
                                                                    index=False)
    return d


def make_table1_runs(runs_dir: Path, extra: dict | None = None) -> Path:
    """linux-4k and linux-thp with the numbers above, plus extra {policy: summary kwargs}."""
    for policy, kw in {**RUNS, **(extra or {})}.items():
        write_run(runs_dir, policy, [summary_row(policy, **kw)])
    return Path(runs_dir)
