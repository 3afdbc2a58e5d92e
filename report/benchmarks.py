"""Where a workflow run's time and memory went: its jobs' ``benchmark:`` files
summed per stage and experiment (issue 12's per-experiment table).

    python -m report.benchmarks [benchmarks] [--by group|job] [--top N]

Reads every ``*.tsv`` Snakemake's ``benchmark:`` directive wrote under the
directory (default ``benchmarks``, the workflow's), one job each: ``s`` (wall
clock, seconds), ``cpu_time`` (CPU seconds of the job's processes, as psutil
sampled them: a child that lived between two samples, as each native replay's,
can be missed), ``max_rss`` (MB).  A job's group is its stage (the first
directory: workloads, simulate, native, tables, figures, report) and, under
simulate and native, its experiment (the second part of its path).  Prints a Markdown table:

    group, jobs, wall s (sum of the jobs'), CPU s, longest job, its wall s,
    peak RSS MB (of the largest job)

then the totals.  The run's own wall clock is not in these files: Snakemake
prints it at the end ("Elapsed time"), and the jobs' wall clock adds up to
more when jobs ran side by side.  Exit status 2 with one line on stderr if
the directory holds no benchmark file or a file is not Snakemake's format.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hpsim.cli import cli
from hpsim.io import InputError

COLUMNS = {"s": "wall_s", "cpu_time": "cpu_s", "max_rss": "rss_mb"}
NESTED = ("simulate", "native")     # stages whose jobs are grouped by experiment


def read(root: Path) -> pd.DataFrame:
    """One row per job: job (path under root, without .tsv), group, wall_s,
    cpu_s, rss_mb (float64; NaN where Snakemake wrote "-").  A file with
    several rows (``--benchmark-repeats``) counts its mean.  Raises
    InputError for no file or a file without the columns above."""
    files = sorted(root.rglob("*.tsv"))
    if not files:
        raise InputError(f"{root}: no benchmark file (*.tsv) here; run the workflow first, "
                         "or name the benchmarks directory")
    rows = []
    for f in files:
        t = pd.read_csv(f, sep="\t", na_values=["-", "NA"])
        missing = set(COLUMNS) - set(t.columns)
        if missing or t.empty:
            raise InputError(f"{f}: not a Snakemake benchmark file (needs columns "
                             f"{sorted(COLUMNS)}; has {list(t.columns)})")
        rel = f.relative_to(root).with_suffix("")
        parts = rel.parts
        group = "/".join(parts[:2]) if parts[0] in NESTED and len(parts) > 1 else parts[0]
        means = t[list(COLUMNS)].astype(float).mean()
        rows.append({"job": str(rel), "group": group,
                     **{COLUMNS[k]: means[k] for k in COLUMNS}})
    return pd.DataFrame(rows)


def by_group(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per group: jobs, wall_s, cpu_s (sums), longest (job), longest_s, rss_mb
    (max), ordered by wall_s, largest first."""
    longest = jobs.loc[jobs.groupby("group")["wall_s"].idxmax(), ["group", "job", "wall_s"]]
    g = jobs.groupby("group").agg(jobs=("job", "size"), wall_s=("wall_s", "sum"),
                                  cpu_s=("cpu_s", "sum"), rss_mb=("rss_mb", "max"))
    g = g.join(longest.set_index("group").rename(columns={"job": "longest",
                                                         "wall_s": "longest_s"}))
    return g.sort_values("wall_s", ascending=False).reset_index()


def markdown(t: pd.DataFrame) -> str:
    """A Markdown table of t (numbers rounded to 0.1)."""
    def cell(v):
        return f"{v:,.1f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in t.itertuples(index=False)]
    return "\n".join(lines)


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", default="benchmarks", type=Path,
                    help="the workflow's benchmarks directory (default: %(default)s)")
    ap.add_argument("--by", choices=["group", "job"], default="group",
                    help="one row per stage/experiment, or per job (default: %(default)s)")
    ap.add_argument("--top", type=int, default=0,
                    help="only the N largest rows by wall clock (default: all)")
    a = ap.parse_args(argv)
    if a.top < 0:
        ap.error(f"--top must be >= 0, got {a.top}")
    if not a.root.is_dir():
        raise InputError(f"{a.root}: not a directory (the workflow's benchmarks directory)")
    jobs = read(a.root)
    t = by_group(jobs) if a.by == "group" else \
        jobs.sort_values("wall_s", ascending=False).reset_index(drop=True)
    if a.top:
        t = t.head(a.top)
    print(markdown(t))
    print(f"\n{len(jobs)} jobs: {jobs['wall_s'].sum():,.1f} s of wall clock summed, "
          f"{jobs['cpu_s'].sum():,.1f} CPU s, largest peak RSS {jobs['rss_mb'].max():,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
