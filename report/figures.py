"""Experiment figures (SVG): a list of figures per experiment, each drawn from its runs.

    python -m report.figures table1 --out-dir results/figures results/runs/table1/*/summary.csv

writes ``<out-dir>/<figure name>.svg`` for every figure registered for the
experiment, from the runs whose summary.csv files are given (their sibling files,
e.g. timeseries.csv, are read from the same directory; report.runs).  A figure is
registered with ``@figure(EXPERIMENT, NAME, width="column"|"full")``; the width is used
by report.render, and its caption is ``report/captions/<NAME>.rst`` (report.captions:
the one text that both ``snakemake --report`` and report.render show).
Every figure uses report.style (one colour, marker and line style per policy)
and is byte-identical across reruns.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from hpsim.units import GIB, MIB
from report import InputError, cli, log
from report import style
from report.captions import caption_template
from report.runs import (Run, by_variant, dedup_timeseries, load_runs, pressure_labels,
                         read_runs, summed_timeseries)


@dataclass(frozen=True)
class Figure:
    experiment: str
    name: str            # file stem: <name>.svg
    caption: str         # template: report/captions/<name>.rst (report.captions.render_caption)
    width: str           # "column" (one column of the PDF) or "full" (both columns)
    draw: Callable       # draw(runs: list[Run], paper: dict[str, float]) -> matplotlib Figure
    cites: tuple[str, ...] = ()   # ids of config/claims.yaml whose paper_value it draws


FIGURES: dict[str, list[Figure]] = {}


def figure(experiment: str, name: str, width: str = "column", cites: tuple[str, ...] = ()):
    """Register ``draw(runs: list[Run]) -> matplotlib.figure.Figure`` for an
    experiment; a figure that ``cites`` claims is drawn as ``draw(runs, paper)``
    with ``paper`` = {claim id: the paper's value} from config/claims.yaml.  Its caption
    is read from report/captions/<name>.rst (ValueError if that file is missing)."""
    if width not in ("column", "full"):
        raise ValueError(f"figure {name}: width must be 'column' or 'full'")

    def deco(f):
        draw = f if cites else (lambda runs, paper: f(runs))
        FIGURES.setdefault(experiment, []).append(
            Figure(experiment, name, caption_template(name), width, draw, tuple(cites)))
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

@figure("table1", "table1_fault_latency")
def table1_fault_latency(runs):
    hists = load_runs(runs, "fault_hist.csv", ["latency_us", "count"])
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


@figure("table1", "table1_cumulative_fault_time", width="full")
def table1_cumulative_fault_time(runs):
    series = load_runs(runs, "timeseries.csv", ["time_s", "accesses", "fault_time_s"])
    fig, (a, b) = _plt().subplots(1, 2, figsize=(style.FULL_WIDTH, 2.5))
    summed = {p: summed_timeseries(ts, ["accesses", "fault_time_s"])
              for p, ts in series.items()}
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


# --- shared helpers for the experiment figures --------------------------------------

def _byte_unit(most: float) -> tuple[float, str]:
    """Scale and unit for a memory axis: GiB from 2 GiB up, else MiB."""
    return (float(GIB), "GiB") if most >= 2 * GIB else (float(MIB), "MiB")


def _grid(n: int, ncols_max: int = 3):
    ncols = min(n, ncols_max)
    return (n + ncols - 1) // ncols, ncols


def _zero_based(axes) -> None:
    """Axes from 0 on both axes; called once every panel is drawn, so that shared axes
    are scaled to all the data."""
    for ax in np.ravel(axes):
        ax.relim()
        ax.autoscale_view()
    for ax in np.ravel(axes):
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)


def _hide_unused(axes, n: int) -> None:
    for ax in list(np.ravel(axes))[n:]:
        ax.set_visible(False)


def _variant_runs(runs: list[Run], filename: str, required=()) -> dict[str, tuple]:
    """{variant: (pressure labels, {policy: DataFrame})} for a sweep experiment's runs."""
    return {v: (pressure_labels(next(iter(pols.values()))),
                {p: r.file(filename, required) for p, r in pols.items()})
            for v, pols in by_variant(runs).items()}


def _figure_legend(fig, axes, ncol: int | None = None, **kw) -> None:
    """One legend for all panels: every distinct label once, in first-seen order."""
    seen, handles = {}, []
    for ax in np.ravel(axes):
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in seen:
                seen[label] = h
                handles.append((h, label))
    if handles:
        fig.legend([h for h, _ in handles], [lbl for _, lbl in handles], loc="lower center",
                   ncol=ncol or min(len(handles), 6), bbox_to_anchor=(0.5, 0.0),
                   frameon=False, **kw)


# --- Fig. 1: Redis memory bloat ----------------------------------------------------

PHASE_LABELS = {"p1_insert": "P1", "p2_delete": "P2", "pause": "pause",
                "p3_insert_large": "P3", "serve": "serve"}


@figure("fig_bloat", "fig_bloat_rss", width="full")
def fig_bloat_rss(runs):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from report.tables import phase_times
    series = load_runs(runs, "timeseries.csv",
                       ["time_s", "rss_bytes", "bloat_bytes", "live_bytes"])
    events = load_runs(runs, "events.csv", ["time_s", "event", "detail"])
    summed = {p: summed_timeseries(ts, ["rss_bytes", "bloat_bytes", "live_bytes"])
              for p, ts in series.items()}
    most = max((float(ts["rss_bytes"].max()) for ts in summed.values() if len(ts)), default=0.0)
    scale, unit = _byte_unit(most)
    nrows, ncols = _grid(len(summed))
    fig, axes = _plt().subplots(nrows, ncols, figsize=(style.FULL_WIDTH, 0.4 + 1.75 * nrows),
                                sharex=True, sharey=True, squeeze=False)
    for i, (policy, ts) in enumerate(summed.items()):
        ax = axes.flat[i]
        t = ts["time_s"].to_numpy(float)
        rss = ts["rss_bytes"].to_numpy(float) / scale
        bloat = ts["bloat_bytes"].to_numpy(float) / scale
        st = style.policy_style(policy)
        ax.fill_between(t, rss - bloat, rss, color=st["color"], alpha=0.35, linewidth=0,
                        step=None)
        ax.plot(t, rss, **style.line_kwargs(policy, markevery=_markevery(len(t))))
        ax.plot(t, ts["live_bytes"].to_numpy(float) / scale, color="0.15", linestyle=":",
                linewidth=1.2)
        ev = events[policy]
        phases = phase_times(ev)
        for name, t0 in sorted(phases.items(), key=lambda kv: kv[1]):
            if t0 > 0:
                ax.axvline(t0, color="0.45", linewidth=0.7, linestyle="--", zorder=0)
        oom = ev[ev["event"].astype(str) == "oom"]
        for t_oom in oom["time_s"].astype(float):
            k = int(np.searchsorted(t, t_oom, side="right")) - 1
            y = rss[max(k, 0)] if len(rss) else 0.0
            ax.plot([t_oom], [y], marker="X", markersize=9, color="#C00000",
                    markeredgecolor="black", markeredgewidth=0.5, linestyle="none", zorder=5)
            ax.annotate("OOM", (t_oom, y), textcoords="offset points", xytext=(4, 4),
                        fontsize=7, color="#C00000")
        ax.set_title(style.policy_label(policy))
        # phase names along the top of every panel, staggered so close starts stay legible
        for k, (name, t0) in enumerate(sorted(phases.items(), key=lambda kv: kv[1])):
            ax.annotate(PHASE_LABELS.get(name, name), (t0, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(2, -8 - 7 * (k % 2)),
                        textcoords="offset points", fontsize=6, color="0.35")
    _hide_unused(axes, len(summed))
    _zero_based(axes)
    for ax in axes[-1]:
        ax.set_xlabel("simulated time (s)")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"memory ({unit})")
    proxies = [Line2D([], [], color="0.4", linewidth=1.4, label="RSS (colour of the policy)"),
               Patch(color="0.4", alpha=0.35, linewidth=0, label="bloat: never-touched part of RSS"),
               Line2D([], [], color="0.15", linestyle=":", linewidth=1.2, label="live data set"),
               Line2D([], [], color="0.45", linestyle="--", linewidth=0.7, label="phase start"),
               Line2D([], [], marker="X", color="#C00000", markeredgecolor="black",
                      linestyle="none", label="out of memory")]
    fig.legend(handles=proxies, loc="lower center", ncol=5, frameon=False,
               bbox_to_anchor=(0.5, 0.0), fontsize=7)
    fig.tight_layout(rect=(0, 0.06 if nrows > 1 else 0.1, 1, 1))
    return fig


# --- Fig. 5: promotion order -----------------------------------------------------------

def _promotion_panels(runs: list[Run], column: str, ylabel: str, transform):
    runs = _variant_runs(runs, "timeseries.csv", ["time_s", "accesses", column])
    nrows, ncols = _grid(len(runs), 2 if len(runs) == 4 else 3)
    fig, axes = _plt().subplots(nrows, ncols, figsize=(style.FULL_WIDTH, 0.4 + 2.2 * nrows),
                                squeeze=False)
    _hide_unused(axes, len(runs))
    for ax, (v, pols) in zip(axes.flat, runs.values()):
        for policy, ts in pols.items():
            ts = summed_timeseries(ts, [column, "accesses"],
                                   keep="first" if column == "mmu_overhead" else "last")
            # only intervals in which the process ran (the first sample, and a final one
            # after the exit, cover no accesses)
            ts = ts[ts["accesses"].diff().fillna(0) > 0]
            if ts.empty:
                continue
            ax.plot(ts["time_s"], transform(ts[column].to_numpy(float)),
                    **style.line_kwargs(policy, markevery=_markevery(len(ts))))
        frags = {lab["fragmentation"] for lab, _ in runs.values()}
        ax.set_title(v["workload"] + (f", {100 * v['fragmentation']:.0f}% fragmented"
                                      if len(frags) > 1 or v["fragmentation"] else ""))
        ax.set_xlabel("simulated time (s)")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    _figure_legend(fig, axes)
    fig.tight_layout(rect=(0, 0.12 if nrows == 1 else 0.07, 1, 1))
    return fig


@figure("fig_promotion", "fig_promotion_mmu_overhead", width="full")
def fig_promotion_mmu_overhead(runs):
    return _promotion_panels(runs, "mmu_overhead", "MMU overhead (%)", lambda v: 100 * v)


@figure("fig_promotion", "fig_promotion_huge_pages", width="full")
def fig_promotion_huge_pages(runs):
    return _promotion_panels(runs, "huge_pages", "huge pages mapped (2 MiB, count)",
                             lambda v: v)


# --- §6: fairness ------------------------------------------------------------------------

@figure("fig_fairness", "fig_fairness_speedup", width="column")
def fig_fairness_speedup(runs):
    from report.tables import fig_fairness, ALL
    df = fig_fairness(runs)
    policies = style.order_policies(set(df["policy"]))
    procs = [p for p in dict.fromkeys(df["process"]) if p != ALL] + [ALL]
    fig, ax = _plt().subplots(figsize=(style.COLUMN_WIDTH, 3.1))
    values, labels = {}, {}
    for policy in policies:
        sub = df[df["policy"] == policy].set_index("process")
        values[policy] = [float(sub.loc[p, "speedup"]) if p in sub.index else np.nan
                          for p in procs]
        jain = float(sub["jain_index"].iloc[0]) if len(sub) else np.nan
        labels[policy] = style.policy_label(policy) + (f" (J={jain:.3f})"
                                                       if not np.isnan(jain) else "")
    style.grouped(ax, [p if p != ALL else "geo. mean" for p in procs], values,
                  labels=labels)
    ax.axhline(1.0, color="0.3", linewidth=0.8)
    ax.set_ylabel("speedup over Linux 4 KiB (×)")
    ax.set_ylim(bottom=0)
    _figure_legend(fig, [ax], ncol=2, fontsize=6.5)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig


@figure("fig_fairness", "fig_fairness_huge_pages", width="full")
def fig_fairness_huge_pages(runs):
    series = load_runs(runs, "timeseries.csv", ["process", "time_s", "huge_pages"])
    procs = list(dict.fromkeys(p for ts in series.values() for p in ts["process"].astype(str)))
    fig, axes = _plt().subplots(1, max(len(procs), 1), figsize=(style.FULL_WIDTH, 2.5),
                                sharey=True, squeeze=False)
    for ax, proc in zip(axes[0], procs):
        for policy, ts in series.items():
            ts = dedup_timeseries(ts)
            ts = ts[ts["process"].astype(str) == proc]
            if ts.empty:
                continue
            ax.step(ts["time_s"], ts["huge_pages"], where="post",
                    **style.line_kwargs(policy, markevery=_markevery(len(ts))))
        ax.set_title(proc)
        ax.set_xlabel("simulated time (s)")
    _zero_based(axes)
    axes[0, 0].set_ylabel("huge pages held (count)")
    _figure_legend(fig, axes)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


# --- the sweep ---------------------------------------------------------------------------

# A sweep with at most this many settings is drawn as grouped bars (or points) with
# the values written on them: a line between two or three settings would imply
# values in between that were never simulated.
MAX_GROUPED_SETTINGS = 3


def _sweep_facets(runs, column: str, ylabel: str, transform=lambda v: v, log=False,
                  ref_line=None):
    """One panel per workload (columns) and free-memory setting (rows); x: fragmentation.
    Up to MAX_GROUPED_SETTINGS fragmentation settings: grouped bars (points on a log
    axis) with their values; more: one line per policy.  Hollow markers: the run ran
    out of memory."""
    from report.tables import sweep
    df = sweep(runs)
    workloads = list(dict.fromkeys(df["workload"]))
    tenants = sorted(df["tenant_fraction"].unique())
    frags = sorted(df["fragmentation"].unique())
    grouped = len(frags) <= MAX_GROUPED_SETTINGS
    policies = style.order_policies(set(df["policy"]))
    fig, axes = _plt().subplots(len(tenants), len(workloads),
                                figsize=(style.FULL_WIDTH, 0.5 + 1.9 * len(tenants)),
                                sharex=True, squeeze=False)
    for r, tenant in enumerate(tenants):
        for c, wl in enumerate(workloads):
            ax = axes[r, c]
            sub = df[(df["workload"] == wl) & (df["tenant_fraction"] == tenant)]
            values, oom = {}, {}
            for policy in policies:
                ps = sub[sub["policy"] == policy].set_index("fragmentation").reindex(frags)
                if ps[column].isna().all():
                    continue
                values[policy] = transform(ps[column].to_numpy(float))
                oom[policy] = ps["oom"].fillna(0).to_numpy(int) > 0
            if log:
                ax.set_yscale("log")
            if grouped:
                style.grouped(ax, [f"{100 * f:.0f}%" for f in frags], values, points=log,
                         hollow=oom)
            else:
                x = 100 * np.asarray(frags, float)
                for policy, y in values.items():
                    ax.plot(x, y, **style.line_kwargs(policy))
                    style.mark_hollow(ax, policy, x, y, oom[policy])
            if ref_line is not None:
                ax.axhline(ref_line, color="0.3", linewidth=0.7, zorder=0)
            if grouped and not log:
                ax.set_ylim(bottom=0)
            ax.set_title(f"{wl} · {100 * (1 - tenant):.0f}% free", fontsize=8)
            if r == len(tenants) - 1:
                ax.set_xlabel("fragmentation (% of free blocks)")
            if c == 0:
                ax.set_ylabel(ylabel)
    _figure_legend(fig, axes)
    fig.tight_layout(rect=(0, 0.07 if len(tenants) > 1 else 0.12, 1, 1))
    return fig


@figure("sweep", "sweep_runtime", width="full")
def sweep_runtime(runs):
    return _sweep_facets(runs, "runtime_norm", "run time / Linux 4 KiB (×)", ref_line=1.0)


@figure("sweep", "sweep_p99_latency", width="full")
def sweep_p99_latency(runs):
    return _sweep_facets(runs, "p99_fault_latency_us", "p99 fault latency (µs)", log=True)


@figure("sweep", "sweep_bloat", width="full")
def sweep_bloat(runs):
    return _sweep_facets(runs, "peak_bloat_bytes", "peak bloat (MiB)",
                         transform=lambda v: v / MIB)


# --- §6: overhead and promotion efficiency --------------------------------------------------

@figure("overhead", "overhead_cpu", width="full", cites=("S6-overhead-pmu",))
def overhead_cpu(runs, paper):
    from report.tables import ALL, BASELINE, overhead
    df = overhead(runs)
    df = df[(df["thread"] == ALL) & (df["policy"] != BASELINE)]
    runs = list(dict.fromkeys(zip(df["experiment"], df["workload"])))
    policies = style.order_policies(set(df["policy"]))
    fig, (a, b) = _plt().subplots(1, 2, figsize=(style.FULL_WIDTH, 2.6))
    cpu, saved = {}, {}
    for policy in policies:
        sub = df[df["policy"] == policy]
        hits = [sub[(sub["experiment"] == exp) & (sub["workload"] == wl)] for exp, wl in runs]
        cpu[policy] = [float(h["cpu_pct_of_core"].iloc[0]) if len(h) else np.nan
                       for h in hits]
        saved[policy] = [1e3 * float(h["time_saved_per_promotion_s"].iloc[0]) if len(h)
                         else np.nan for h in hits]
    # the experiment beside a workload only where two experiments ran it: long labels
    # overlap their neighbours
    names = [wl for _, wl in runs]
    groups = [f"{wl}\n({exp})" if names.count(wl) > 1 else wl for exp, wl in runs]
    style.grouped(a, groups, cpu)
    style.grouped(b, groups, saved)
    cpu_paper = paper["S6-overhead-pmu"]
    a.axhline(cpu_paper, color="#C00000", linewidth=0.9, linestyle="--",
              label=f"paper: {cpu_paper:g}%")
    for ax, tag in ((a, "(a)"), (b, "(b)")):
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(tag, loc="left")
    b.axhline(0.0, color="0.3", linewidth=0.7)
    a.set_ylabel("background CPU (% of one core)")
    a.set_ylim(bottom=0)
    b.set_ylabel("run time saved per promotion (ms)")
    _figure_legend(fig, [a, b], ncol=6)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


# --- command line ---------------------------------------------------------------

def draw_all(experiment: str, summaries, out_dir, claims_spec=None) -> list[Path]:
    """Draw every figure registered for ``experiment`` from the runs whose summary.csv files
    are given; write ``<out_dir>/<name>.svg``; return the paths written.  The paper's
    values a figure cites come from ``claims_spec`` (config/claims.yaml); InputError
    if it is needed and not given, or lacks a cited claim."""
    if experiment not in FIGURES:
        raise InputError(f"unknown experiment {experiment!r}; figures exist for: "
                         f"{', '.join(sorted(FIGURES))}")
    runs = read_runs(summaries)
    cited = sorted({c for f in FIGURES[experiment] for c in f.cites})
    paper = {}
    if cited:
        if claims_spec is None:
            raise InputError(f"figures {experiment}: --claims-spec is needed (the figures "
                             f"cite claims {cited})")
        from report.claims import load_claims
        values = {c.id: c.paper_value for c in load_claims(claims_spec)}
        missing = sorted(set(cited) - set(values))
        if missing:
            raise InputError(f"{claims_spec}: no claim {missing} (cited by the figures)")
        paper = {c: values[c] for c in cited}
    written = []
    for f in FIGURES[experiment]:
        fig = f.draw(runs, paper)
        path = style.save_svg(fig, Path(out_dir) / f"{f.name}.svg")
        log(f"figure {experiment}: wrote {path}")
        written.append(path)
    return written


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.figures", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", help=f"one of: {', '.join(sorted(FIGURES))}")
    ap.add_argument("--out-dir", required=True, help="directory for the SVG files")
    ap.add_argument("--claims-spec", help="config/claims.yaml: the paper's values some "
                                          "figures draw as reference lines")
    ap.add_argument("summaries", nargs="+", metavar="SUMMARY",
                    help="the runs' summary.csv files (their sibling files are read too)")
    a = ap.parse_args(argv)
    log(f"figures {a.experiment}: reading {len(a.summaries)} run(s)")
    draw_all(a.experiment, a.summaries, a.out_dir, a.claims_spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


@figure("validation", "validation_measured_vs_simulated", width="full")
def validation_measured_vs_simulated(runs):
    """Drawn by report.validation from the validation table (workflows/validation.smk);
    here from the simulated runs and the native runs beside them."""
    import pandas as pd
    from report.validation import PAIRS, build, draw
    summaries = [r.summary for r in runs]
    for r in runs:
        native = r.dir.parent / PAIRS.get(str(r.label("policy")), "-") / "summary.csv"
        if native.is_file():
            summaries.append(pd.read_csv(native))
    return draw(build(summaries))
