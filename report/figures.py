"""Experiment figures (SVG): a list of figures per experiment, each drawn from its runs.

    python -m report.figures table1 --runs results/runs/table1 --out-dir results/figures

writes ``<out-dir>/<figure name>.svg`` for every figure registered for the
experiment.  A figure is registered with ``@figure(EXPERIMENT, NAME, caption=...,
width="column"|"full")``; the caption and width are used by report.render.
Every figure uses report.style (one colour, marker and line style per policy)
and is byte-identical across reruns.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from report import InputError, cli, log
from report import style
from report.tables import load_runs


@dataclass(frozen=True)
class Figure:
    experiment: str
    name: str            # file stem: <name>.svg
    caption: str
    width: str           # "column" (one column of the PDF) or "full" (both columns)
    draw: Callable       # draw(runs_dir) -> matplotlib Figure


FIGURES: dict[str, list[Figure]] = {}


def figure(experiment: str, name: str, caption: str, width: str = "column"):
    """Register ``draw(runs_dir) -> matplotlib.figure.Figure`` for an experiment."""
    if width not in ("column", "full"):
        raise ValueError(f"figure {name}: width must be 'column' or 'full'")

    def deco(f):
        FIGURES.setdefault(experiment, []).append(Figure(experiment, name, caption, width, f))
        return f
    return deco


def figure_info(name: str) -> Figure | None:
    for figs in FIGURES.values():
        for f in figs:
            if f.name == name:
                return f
    return None


def _plt():
    """pyplot with the report style applied (imported on first use: the registry is
    read by the Snakefile, which should not pay for matplotlib)."""
    style.apply()
    import matplotlib.pyplot as plt
    return plt


def _legend(ax, **kw):
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, **kw)


def _thousands(x, _pos=None) -> str:
    return f"{x:,.0f}" if abs(x) >= 1 else f"{x:g}"


def _markevery(n: int, marks: int = 8) -> int:
    return max(1, n // marks)


# --- Table 1 ------------------------------------------------------------------

@figure("table1", "table1_fault_latency",
        caption="Distribution of page-fault latency per policy: the share of faults that "
                "took at most a given time (log scale). Each step is one 1%-wide latency bin "
                "of the simulator's histogram.")
def table1_fault_latency(runs_dir):
    hists = load_runs(runs_dir, "fault_hist.csv", ["latency_us", "count"])
    from matplotlib.ticker import FuncFormatter
    fig, ax = _plt().subplots(figsize=(style.COLUMN_WIDTH, 2.4))
    lo, hi = np.inf, 0.0
    for policy, h in hists.items():
        h = h.groupby("latency_us", as_index=False)["count"].sum().sort_values("latency_us")
        h = h[h["count"] > 0]
        if h.empty:
            continue
        x = h["latency_us"].to_numpy(float)
        y = 100.0 * np.cumsum(h["count"].to_numpy(float)) / h["count"].sum()
        x = np.concatenate([[x[0]], x])        # start the step at 0 %
        y = np.concatenate([[0.0], y])
        ax.step(x, y, where="post", **style.line_kwargs(policy, markevery=_markevery(len(x))))
        lo, hi = min(lo, x.min()), max(hi, x.max())
    ax.set_xscale("log")
    if hi > 0:
        ax.set_xlim(lo / 2, hi * 2)
    ax.set_ylim(-3, 103)
    ax.set_xlabel("page-fault latency (µs, log scale)")
    ax.set_ylabel("faults at or below (%)")
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    _legend(ax, loc="best")
    return fig


def _summed_timeseries(ts):
    """Add up the processes of a run at each sample time.

    The simulator may write the final sample twice at the same time; keep the last.
    """
    keys = ["process", "time_s"] if "process" in ts.columns else ["time_s"]
    ts = ts.drop_duplicates(subset=keys, keep="last")
    return ts.groupby("time_s", as_index=False)[["accesses", "fault_time_s"]].sum() \
             .sort_values("time_s")


@figure("table1", "table1_cumulative_fault_time", width="full",
        caption="Cumulative time spent in the page-fault handler while the buffer is "
                "touched, (a) against the number of pages touched and (b) against simulated "
                "time.")
def table1_cumulative_fault_time(runs_dir):
    series = load_runs(runs_dir, "timeseries.csv", ["time_s", "accesses", "fault_time_s"])
    fig, (a, b) = _plt().subplots(1, 2, figsize=(style.FULL_WIDTH, 2.5))
    summed = {p: _summed_timeseries(ts) for p, ts in series.items()}
    most = max((ts["accesses"].max() for ts in summed.values() if len(ts)), default=0)
    scale, unit = (1e6, "millions") if most >= 1e6 else (1e3, "thousands")
    for policy, ts in summed.items():
        if ts.empty:
            continue
        me = _markevery(len(ts))
        a.plot(ts["accesses"] / scale, ts["fault_time_s"],
               **style.line_kwargs(policy, markevery=me))
        b.plot(ts["time_s"], ts["fault_time_s"], **style.line_kwargs(policy, markevery=me))
    a.set_xlabel(f"pages touched ({unit})")
    b.set_xlabel("simulated time (s)")
    for ax, tag in ((a, "(a)"), (b, "(b)")):
        ax.set_ylabel("cumulative fault time (s)")
        ax.set_title(tag, loc="left")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    _legend(b, loc="lower right")
    fig.tight_layout()
    return fig


# --- command line ---------------------------------------------------------------

def draw_all(experiment: str, runs_dir, out_dir) -> list[Path]:
    if experiment not in FIGURES:
        raise InputError(f"unknown experiment {experiment!r}; figures exist for: "
                         f"{', '.join(sorted(FIGURES))}")
    written = []
    for f in FIGURES[experiment]:
        fig = f.draw(Path(runs_dir))
        path = style.save_svg(fig, Path(out_dir) / f"{f.name}.svg")
        log(f"figure {experiment}: wrote {path}")
        written.append(path)
    return written


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.figures", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", help=f"one of: {', '.join(sorted(FIGURES))}")
    ap.add_argument("--runs", required=True, help="the experiment's run directory")
    ap.add_argument("--out-dir", required=True, help="directory for the SVG files")
    a = ap.parse_args(argv)
    log(f"figures {a.experiment}: reading {a.runs}")
    draw_all(a.experiment, a.runs, a.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
