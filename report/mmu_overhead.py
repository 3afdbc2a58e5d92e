"""MMU overhead with 4 KiB pages per workload, beside published measurements.

    python -m report.mmu_overhead --published config/published.yaml \
        --out results/tables/mmu_overhead.csv results/runs/*/linux-4k/summary.csv

For each workload, the linux-4k run of the experiments the table ``uses``
(config.yaml ``experiments.mmu_overhead``) in the order sweep at fragmentation
0 and no tenants, fig_promotion, fig_bloat, other sweep points: the first one
found.  linux-4k never maps a huge page, so fragmentation does not change its
walks.  MMU overhead is the paper's Table 2 formula, walk cycles / user cycles
(C1 + C2) / C3, where user cycles include the data cost (LLC misses x DRAM
latency, machine/engine.py) and walk cycles hold a walk's own cache misses.
Published values come from ``config/published.yaml`` (``mmu_overhead_4k``).
Columns are listed in report/README.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from report import InputError, atomic_write_csv, cli, log, require_file, warn
from report.runs import Run, read_runs
from report.tables import (BASELINE, OOM_COLUMNS, OOM_SUMMARY_COLUMNS, _div, oom_of, table)

PUBLISHED = Path(__file__).resolve().parents[1] / "config" / "published.yaml"
USES = ("sweep", "fig_promotion", "fig_bloat")
SUMMARY_COLUMNS = ["workload", "accesses", "user_cycles", "walk_cycles"]   # + data_cycles
MMU_OVERHEAD_COLUMNS = ["workload", "policy", "experiment", "variant", "accesses",
                        "user_cycles", "walk_cycles", "data_cycles", "mmu_overhead",
                        "mmu_overhead_without_data", "data_share", "published_mmu_overhead",
                        "sim_over_published", "published_source", "published_machine",
                        "published_checked", *OOM_COLUMNS]


def load_published(path=PUBLISHED) -> dict[str, dict]:
    """``mmu_overhead_4k`` of a published-values file: {workload: {value, source, machine,
    checked}}.  Raises InputError if the file is missing or an entry lacks value or source."""
    path = require_file(path, "published values file")
    entries = (yaml.safe_load(path.read_text()) or {}).get("mmu_overhead_4k") or {}
    for wl, e in entries.items():
        if not isinstance(e, dict) or "value" not in e or "source" not in e:
            raise InputError(f"{path}: mmu_overhead_4k.{wl} needs a value and a source")
    return entries


def _preference(run: Run) -> tuple:
    """Sort key: the unpressured sweep point first, then fig_promotion, fig_bloat, the rest."""
    exp = str(run.need("experiment"))
    unpressured = (float(run.label("fragmentation", 0.0)) == 0.0
                   and float(run.label("tenant_fraction", 0.0)) == 0.0)
    rank = {"sweep": 0 if unpressured else 3, "fig_promotion": 1, "fig_bloat": 2}.get(exp, 4)
    return (rank, str(run.label("variant", "")))


def mmu_overhead_table(runs: list[Run], published: dict[str, dict]) -> pd.DataFrame:
    """One row per workload: the linux-4k run's cycles (added over its processes), MMU
    overhead with and without the data cost, and the published value beside it."""
    chosen: dict[str, Run] = {}
    for run in sorted((r for r in runs if r.policy == BASELINE), key=_preference):
        s = run.require(SUMMARY_COLUMNS)
        for wl in dict.fromkeys(s["workload"].astype(str)):
            chosen.setdefault(wl, run)
    if not chosen:
        raise InputError(f"mmu_overhead: no {BASELINE} run among the {len(runs)} given")
    rows = []
    for wl, run in sorted(chosen.items()):
        s = run.require(SUMMARY_COLUMNS + OOM_SUMMARY_COLUMNS)
        s = s[s["workload"].astype(str) == wl]
        if "data_cycles" not in s.columns:   # runs from before the data cost had none
            s = s.assign(data_cycles=0)
        user, walk, data = (float(s[c].sum()) for c in ("user_cycles", "walk_cycles",
                                                         "data_cycles"))
        pub = published.get(wl, {})
        value = float(pub["value"]) if pub else float("nan")
        mmu = _div(walk, user)
        rows.append({"workload": wl, "policy": BASELINE, "experiment": str(run.need("experiment")),
                     "variant": str(run.label("variant", "")), "accesses": int(s["accesses"].sum()),
                     "user_cycles": int(user), "walk_cycles": int(walk), "data_cycles": int(data),
                     "mmu_overhead": mmu, "mmu_overhead_without_data": _div(walk, user - data),
                     "data_share": _div(data, user), "published_mmu_overhead": value,
                     "sim_over_published": _div(mmu, value),
                     "published_source": " ".join(str(pub.get("source", "")).split()),
                     "published_machine": " ".join(str(pub.get("machine", "")).split()),
                     "published_checked": " ".join(str(pub.get("checked", "")).split()),
                     **oom_of(s)})
    missing = sorted(set(published) - set(chosen))
    if missing:
        warn(f"mmu_overhead: published values for {', '.join(missing)} but no {BASELINE} run")
    return pd.DataFrame(rows, columns=MMU_OVERHEAD_COLUMNS)


@table("mmu_overhead")
def mmu_overhead(runs: list[Run]) -> pd.DataFrame:
    """The table with the published values of the repository's config/published.yaml."""
    return mmu_overhead_table(runs, load_published())


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.mmu_overhead", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--published", default=str(PUBLISHED), help="published-values YAML file")
    ap.add_argument("--out", required=True, help="CSV file to write")
    ap.add_argument("summaries", nargs="+", metavar="SUMMARY", help="the runs' summary.csv files")
    a = ap.parse_args(argv)
    df = mmu_overhead_table(read_runs(a.summaries), load_published(a.published))
    atomic_write_csv(a.out, df)
    log(f"table mmu_overhead: wrote {len(df)} row(s) to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
