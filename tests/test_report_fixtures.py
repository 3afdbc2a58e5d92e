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

from hpsim.units import MIB  # noqa: F401  (re-exported to the tests)
from report.runs import Run, read_runs

LABELS = {"experiment": "table1", "workload": "buffer"}


def summary_row(policy, process="buffer", **kw):
    row = {**LABELS, "policy": policy, "process": process, "accesses": 1024, "writes": 1024,
           "faults": 0, "faults_4k": 0, "faults_2m": 0, "faults_zeropage": 0, "faults_cow": 0,
           "fault_time_s": 0.0, "zeroing_time_s": 0.0, "mean_fault_latency_us": 0.0,
           "p50_fault_latency_us": 0.0, "p99_fault_latency_us": 0.0, "runtime_s": 1.0,
           "oom": 0, "oom_time_s": float("nan")}
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


def summaries(root: Path) -> list[str]:
    """Every summary.csv under root (the list a workflow rule would give), sorted."""
    return sorted(str(p) for p in Path(root).rglob("summary.csv"))


def runs_in(root: Path) -> list[Run]:
    """The runs of every summary.csv under root, as the table builders take them."""
    return read_runs(summaries(root))


def make_table1_runs(runs_dir: Path, extra: dict | None = None) -> Path:
    """linux-4k and linux-thp with the numbers above, plus extra {policy: summary kwargs}."""
    for policy, kw in {**RUNS, **(extra or {})}.items():
        write_run(runs_dir, policy, [summary_row(policy, **kw)])
    return Path(runs_dir)


# --- synthetic runs of the other experiments (exact numbers; see each docstring) ------------



def _write(d: Path, name: str, rows: list[dict], columns: list[str] | None = None) -> None:
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=columns).to_csv(d / name, index=False)


def run_files(d: Path, labels: dict, policy: str, summary: list[dict], ts: list[dict],
              events: list[tuple] = (), threads: list[dict] = (), hist: list[tuple] = ()):
    """Write one run directory: every CSV the simulator writes, with the labels on each row."""
    lab = {**labels, "policy": policy}
    _write(d, "summary.csv", [{**lab, **r} for r in summary])
    _write(d, "timeseries.csv", [{**lab, **r} for r in ts])
    _write(d, "events.csv", [{**lab, "time_s": t, "process": p, "event": e, "detail": x,
                              "reason": rest[0] if rest else ""}
                             for t, p, e, x, *rest in events],
           [*lab, "time_s", "process", "event", "detail", "reason"])
    _write(d, "threads.csv", [{**lab, **r} for r in threads],
           [*lab, "thread", "passes", "cpu_s", "duration_s", "cpu_pct_of_core"])
    _write(d, "fault_hist.csv", [{**lab, "process": p, "latency_us": lat, "count": n}
                                 for p, lat, n in hist],
           [*lab, "process", "latency_us", "count"])
    return d


def make_bloat_runs(runs: Path) -> Path:
    """Redis bloat test, memory in MiB.  Phases: P1 at 0, P2 at 1.0, pause at 1.5, P3 at 2.5.

    linux-4k   : P1 ends at live 64 (RSS 96); end of P2 (sample at 2.5) RSS 48, bloat 0,
                 live 16; ends at RSS 96, live 64 (RSS/live 1.5).
    linux-thp  : end of P2 RSS 96, bloat 40 (ratio 40/64 = 0.625); killed at 3.0 in P3;
                 peak RSS 160, peak bloat 40; 64 2 MiB faults by the end of P2, 96 in all.
    ingens     : killed at 1.25 (in P2): no end of P2, oom_in_p3 0.
    hawkeye-pmu: end of P2 RSS 56, bloat 8 (ratio 0.125); peak bloat 32; ends RSS 96, live 64;
                 80 2 MiB faults, 16 in P3; recovery splits at 2.0 (one region, 512 pages,
                 before P3), at 3.0 (two regions) and 3.25 (one): 2 passes in P3 releasing
                 2048 - 512 = 1536 pages.
    """
    labels = {"experiment": "fig_bloat", "workload": "redis"}
    phases = [(0.0, "redis", "phase", "p1_insert"), (1.0, "redis", "phase", "p2_delete"),
              (1.5, "redis", "phase", "pause"), (2.5, "redis", "phase", "p3_insert_large")]

    def ts(points):
        return [{"process": "redis", "time_s": t, "rss_bytes": r * MIB, "bloat_bytes": b * MIB,
                 "live_bytes": float(lv * MIB), "huge_pages": 0, "accesses": int(100 * t),
                 "mmu_overhead": 0.0, "faults_2m": f2m, "zero_pages_released": zr}
                for t, r, b, lv, f2m, zr in ((*p, 0, 0)[:6] if len(p) == 4 else p
                                             for p in points)]

    def summ(peak_rss, peak_bloat, oom, oom_t, runtime, faults_2m=0):
        return [{"process": "redis", "workload": "redis", "peak_rss_bytes": peak_rss * MIB,
                 "peak_bloat_bytes": peak_bloat * MIB, "oom": oom, "oom_time_s": oom_t,
                 "runtime_s": runtime, "promotions": 0, "faults_2m": faults_2m}]

    run_files(runs / "linux-4k", labels, "linux-4k", summ(96, 0, 0, float("nan"), 3.5),
              ts([(0, 0, 0, 0), (1.0, 96, 0, 64), (2.0, 48, 0, 16), (2.5, 48, 0, 16),
                  (3.5, 96, 0, 64), (3.5, 96, 0, 64)]), phases)
    run_files(runs / "linux-thp", labels, "linux-thp", summ(160, 40, 1, 3.0, 3.0, 96),
              ts([(0, 0, 0, 0, 0, 0), (1.0, 128, 32, 64, 64, 0), (2.0, 80, 32, 16, 64, 0),
                  (2.5, 96, 40, 16, 64, 0), (3.0, 160, 40, 48, 96, 0)]),
              phases + [(3.0, "redis", "oom", "")])
    run_files(runs / "ingens", labels, "ingens", summ(128, 32, 1, 1.25, 1.25, 64),
              ts([(0, 0, 0, 0, 0, 0), (1.0, 128, 32, 64, 64, 0), (1.25, 120, 32, 48, 64, 0)]),
              phases[:2] + [(1.25, "redis", "oom", "")])
    split = "bloat_recovery: zero sub-pages"
    run_files(runs / "hawkeye-pmu", labels, "hawkeye-pmu",
              summ(128, 32, 0, float("nan"), 3.5, 80),
              ts([(0, 0, 0, 0, 0, 0), (1.0, 128, 32, 64, 64, 0), (2.0, 64, 16, 16, 64, 512),
                  (2.5, 56, 8, 16, 64, 512), (3.5, 96, 0, 64, 80, 2048)]),
              phases + [(2.0, "redis", "split", "", split), (3.0, "redis", "split", "", split),
                        (3.0, "redis", "split", "", split), (3.25, "redis", "split", "", split),
                        (3.1, "redis", "split", "", "khugepaged")])
    return runs


PROMOTION = {  # policy: runtime_s, promotions, walk cycles, user cycles, huge pages per sample
    "linux-4k": (2.0, 0, 2, 4, [0, 0, 0, 0, 0]),
    "linux-thp": (1.5, 8, 3, 8, [0, 1, 1, 2, 4]),
    "ingens": (1.6, 10, 1, 4, [0, 2, 4, 4, 4]),
    "hawkeye-pmu": (1.25, 5, 1, 4, [0, 0, 2, 4, 4]),
}


def make_promotion_runs(runs: Path, variants=("graph500_f95_t0", "hotspot_f95_t0"),
                        scale=None) -> Path:
    """fig_promotion: every variant has the PROMOTION numbers (times x scale[variant]).
    graph500: hawkeye-pmu runs 1.25 s, linux-thp 1.5 s, ingens 1.6 s, linux-4k 2.0 s, so
    gain_vs_linux_thp = 0.2, gain_vs_ingens = 0.28, speedup 1.6; half of its 4 huge pages
    are mapped at 0.5 s; 0.75 s saved over 5 promotions = 0.15 s each (linux-thp: 0.0625)."""
    for v in variants:
        k = (scale or {}).get(v, 1.0)
        wl, f, t = v.rsplit("_", 2)
        labels = {"experiment": "fig_promotion", "workload": wl,
                  "fragmentation": int(f[1:]) / 100, "tenant_fraction": int(t[1:]) / 100,
                  "variant": v}
        for policy, (rt, promos, walk, user, huge) in PROMOTION.items():
            summary = [{"process": wl, "workload": wl, "runtime_s": rt * k,
                        "mmu_overhead": walk / user, "walk_cycles": walk, "user_cycles": user,
                        "promotions": promos, "final_huge_pages": huge[-1], "oom": 0,
                        "oom_time_s": float("nan")}]
            ts = [{"process": wl, "time_s": 0.25 * i, "huge_pages": h, "accesses": 10 * i,
                   "mmu_overhead": 0.5 - 0.1 * i} for i, h in enumerate(huge)]
            threads = ([] if policy == "linux-4k" else
                       [{"thread": "khugepaged", "passes": 4, "cpu_s": 0.01 * promos,
                         "duration_s": rt * k, "cpu_pct_of_core": 1.0 * promos / (rt * k)}])
            run_files(runs / v / policy, labels, policy, summary, ts, threads=threads)
    return runs


def make_fairness_runs(runs: Path) -> Path:
    """Three processes a, b, c.  Run times under linux-4k 2, 4, 1 s.
    linux-thp : 1, 4, 1 s -> speedups 2, 1, 1: Jain 16/18, geo-mean 2^(1/3); huge pages
                first for a (0.25 s), then c (0.75 s), never b.
    hawkeye-pmu: 1, 2, 0.5 s -> speedups 2, 2, 2: Jain 1, geo-mean 2; b first (0.25 s),
                then a and c together (0.5 s)."""
    labels = {"experiment": "fig_fairness"}
    runs_ = {"linux-4k": ({"a": 2.0, "b": 4.0, "c": 1.0}, {}),
             "linux-thp": ({"a": 1.0, "b": 4.0, "c": 1.0}, {"a": 0.25, "c": 0.75}),
             "hawkeye-pmu": ({"a": 1.0, "b": 2.0, "c": 0.5}, {"b": 0.25, "a": 0.5, "c": 0.5})}
    for policy, (rts, first) in runs_.items():
        summary = [{"process": p, "workload": f"wl_{p}", "runtime_s": rt,
                    "final_huge_pages": 2 if p in first else 0, "mmu_overhead": 0.25,
                    "walk_cycles": 1, "user_cycles": 4, "oom": 0, "oom_time_s": float("nan")}
                   for p, rt in rts.items()]
        ts = [{"process": p, "time_s": 0.25 * i,
               "huge_pages": 2 if p in first and 0.25 * i >= first[p] else 0}
              for p in rts for i in range(5)]
        run_files(runs / policy, labels, policy, summary, ts)
    return runs


def make_sweep_runs(runs: Path) -> Path:
    """sweep: buffer_small and redis at (frag 0, tenant 0) and (frag 0.9, tenant 0.6);
    linux-4k runs 2.0 s everywhere, hawkeye-pmu 0.5 s (1.5 s and out of memory for redis at
    f90_t60).  The pressure comes from the runs' labels, as the simulator writes them."""
    for wl in ("redis", "buffer_small"):
        for v in ("f90_t60", "f0_t0"):
            variant = f"{wl}_{v}"
            for policy, rt in (("linux-4k", 2.0), ("hawkeye-pmu", 0.5)):
                oom = int(wl == "redis" and v == "f90_t60" and policy == "hawkeye-pmu")
                if oom:
                    rt = 1.5
                summary = [{"process": wl, "workload": wl, "faults": 512 if "4k" in policy else 4,
                            "p50_fault_latency_us": 1.5 if "4k" in policy else 200.0,
                            "p99_fault_latency_us": 2.5 if "4k" in policy else 210.0,
                            "peak_rss_bytes": 64 * MIB,
                            "peak_bloat_bytes": 0 if "4k" in policy else 16 * MIB,
                            "mmu_overhead": 0.5 if "4k" in policy else 0.125,
                            "walk_cycles": 1 if "4k" in policy else 1,
                            "user_cycles": 2 if "4k" in policy else 8,
                            "runtime_s": rt, "oom": oom,
                            "oom_time_s": 1.5 if oom else float("nan"),
                            "final_huge_pages": 0 if "4k" in policy else 2}]
                labels = {"experiment": "sweep", "workload": wl, "variant": variant,
                          "fragmentation": 0.9 if v == "f90_t60" else 0.0,
                          "tenant_fraction": 0.6 if v == "f90_t60" else 0.0}
                run_files(runs / variant / policy, labels, policy, summary,
                          [{"process": wl, "time_s": 0.0, "huge_pages": 0}])
    return runs


def make_overhead_runs(root: Path) -> Path:
    """results/runs-like root with fig_promotion (graph500_f95_t0) and fig_bloat runs.
    fig_bloat threads: linux-thp khugepaged 0.02 s of 2 s (1%), hawkeye-pmu khugepaged 0.01 s
    and kbinmanager 0.03 s (2% together); run times 2.0 / 1.5 / 1.0 s and 8 / 4 promotions:
    0.0625 and 0.25 s saved per promotion, efficiency 4."""
    make_promotion_runs(root / "fig_promotion", variants=("graph500_f95_t0",))
    labels = {"experiment": "fig_bloat", "workload": "redis"}
    spec = {"linux-4k": (2.0, 0, []),
            "linux-thp": (1.5, 8, [("khugepaged", 3, 0.02)]),
            "hawkeye-pmu": (1.0, 4, [("khugepaged", 2, 0.01), ("kbinmanager", 5, 0.03)])}
    for policy, (rt, promos, threads) in spec.items():
        run_files(root / "fig_bloat" / policy, labels, policy,
                  [{"process": "redis", "workload_kind": "redis_kind", "runtime_s": rt,
                    "promotions": promos, "oom": 0, "oom_time_s": float("nan")}],
                  [{"process": "redis", "time_s": 0.0}],
                  events=[(0.0, "redis", "phase", "p1_insert")],
                  threads=[{"thread": n, "passes": k, "cpu_s": c, "duration_s": 2.0,
                            "cpu_pct_of_core": 100 * c / 2.0} for n, k, c in threads])
    return root
