"""One look for every figure: a fixed colour, marker, line style and hatch per policy.

Colours are the Okabe-Ito colour-blind-safe palette; every policy also has its own
marker and line style (and hatch for bars) so the figures read in black and white.
Figures are written as SVG with a fixed hash salt and no date, so reruns are
byte-identical.  A policy without an entry here is an error (MissingStyle) when it is
drawn.  grouped() draws grouped bars (or points) with their values written on them.
"""
from __future__ import annotations

import os
from pathlib import Path

# The paper's policies, in the order every table and legend uses.
# the paper's policies, then those it did not compare (report.render.sections.beyond)
POLICY_ORDER = ["linux-4k", "linux-thp", "freebsd", "ingens", "hawkeye-pmu", "hawkeye-g",
                "linux-6.12", "quicksilver"]

POLICY_LABELS = {
    "linux-4k": "Linux 4 KiB",
    "linux-thp": "Linux THP (2 MiB)",
    "freebsd": "FreeBSD",
    "ingens": "Ingens",
    "hawkeye-pmu": "HawkEye-PMU",
    "hawkeye-g": "HawkEye-G",
    "linux-6.12": "Linux 6.12 THP + shrinker",
    "quicksilver": "Quicksilver",
}

# colour, marker, line style (matplotlib dash spec), hatch
POLICY_STYLES = {
    "linux-4k": dict(color="#000000", marker="o", linestyle="-", hatch=""),
    "linux-thp": dict(color="#E69F00", marker="s", linestyle="--", hatch="//"),
    "freebsd": dict(color="#56B4E9", marker="^", linestyle=":", hatch=".."),
    "ingens": dict(color="#009E73", marker="D", linestyle="-.", hatch="xx"),
    "hawkeye-pmu": dict(color="#D55E00", marker="v", linestyle=(0, (5, 1)), hatch="\\\\"),
    "hawkeye-g": dict(color="#0072B2", marker="P", linestyle=(0, (3, 1, 1, 1, 1, 1)),
                      hatch="++"),
    "linux-6.12": dict(color="#CC79A7", marker="h", linestyle=(0, (1, 1)), hatch="oo"),
    "quicksilver": dict(color="#999999", marker="X", linestyle=(0, (5, 2, 1, 2)), hatch="**"),
}

# Figure sizes in inches: one column of the two-column PDF, and the full width.
COLUMN_WIDTH = 3.4
FULL_WIDTH = 7.0

_SVG_HASHSALT = "hawkeye-resim"


class MissingStyle(LookupError):
    """A policy is drawn that has no entry in POLICY_STYLES."""


def policy_label(policy: str) -> str:
    return POLICY_LABELS.get(policy, policy)


def policy_style(policy: str) -> dict:
    """A copy of the policy's style: color, marker, linestyle, hatch.

    Raises MissingStyle, naming the policy, when POLICY_STYLES has no entry for it: a
    new policy gets its own colour, marker, line style and hatch there (and a label in
    POLICY_LABELS), unlike every other policy's, rather than one picked for it that
    may repeat another's and so cannot be told apart in black and white."""
    try:
        return dict(POLICY_STYLES[policy])
    except KeyError:
        raise MissingStyle(
            f"policy {policy!r} has no style: add it to POLICY_STYLES in report/style.py "
            f"(a colour, marker, line style and hatch that no other policy uses) and its "
            f"name to POLICY_LABELS and POLICY_ORDER") from None


def line_kwargs(policy: str, **extra) -> dict:
    """Keyword arguments for Axes.plot/step: colour, marker, line style, label."""
    s = policy_style(policy)
    kw = dict(color=s["color"], marker=s["marker"], linestyle=s["linestyle"],
              label=policy_label(policy), markersize=4, linewidth=1.4,
              markerfacecolor=s["color"], markeredgecolor="black", markeredgewidth=0.4)
    kw.update(extra)
    return kw


def bar_kwargs(policy: str, **extra) -> dict:
    """Keyword arguments for Axes.bar: fill colour, hatch, edge, label."""
    s = policy_style(policy)
    kw = dict(color=s["color"], hatch=s["hatch"], edgecolor="black", linewidth=0.6,
              label=policy_label(policy))
    kw.update(extra)
    return kw


def mark_hollow(ax, policy: str, x, y, marked) -> None:
    """Draw the policy's marker, hollow and larger, at the marked points (a run that ran
    out of memory).  x, y: float arrays of one shape in data units; marked: bool array
    of that shape.  MissingStyle for a policy without a style."""
    import numpy as np
    marked = np.asarray(marked, bool)
    if marked.any():
        kw = line_kwargs(policy)
        ax.plot(np.asarray(x)[marked], np.asarray(y)[marked], linestyle="none",
                marker=kw["marker"], markersize=7, markerfacecolor="white",
                markeredgecolor=kw["color"], markeredgewidth=1.2)


def value_label(v: float) -> str:
    """A value as written on a bar, in the axis's unit: 3 significant digits, whole
    numbers with thousands separators from 100 up (1,050 rather than 1.05e+03)."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def grouped(ax, groups: list[str], values: dict, points: bool = False,
            hollow: dict | None = None, labels: dict | None = None) -> None:
    """Draw grouped bars, or points for a log axis (a bar's length means nothing
    there), one per policy within each group, each with its value written beyond its
    end (value_label), so that a sweep of two or three settings shows its values and no
    line implies values between them.

    groups: the x tick labels, one per group; values: {policy: float array of
    len(groups), in the y axis's unit (NaN: no value, no bar)}, drawn left to right in
    that order; hollow: {policy: bool array of len(groups)}, values to mark with the
    policy's hollow marker (mark_hollow); labels: {policy: legend label} in place of
    policy_label.  Each policy's colour, hatch and marker from POLICY_STYLES
    (MissingStyle for a policy without one)."""
    import numpy as np
    hollow, labels = hollow or {}, labels or {}
    x = np.arange(len(groups))
    width = 0.8 / max(len(values), 1)
    for i, (policy, y) in enumerate(values.items()):
        y = np.asarray(y, float)
        xs = x - 0.4 + width * (i + 0.5)
        label = labels.get(policy, policy_label(policy))
        if points:
            ax.plot(xs, y, **line_kwargs(policy, linestyle="none", markersize=5,
                                         label=label))
        else:
            ax.bar(xs, y, width, **bar_kwargs(policy, label=label))   # NaN: no bar
        marked = np.asarray(hollow.get(policy, np.zeros(len(y), bool)), bool)
        mark_hollow(ax, policy, xs, y, marked)
        for xi, yi, m in zip(xs, y, marked):
            if np.isfinite(yi):
                # beyond the marker (points) or the bar's end, and beyond a hollow marker
                lift = ((5 if points else 2) + 3 * m) * (-1 if yi < 0 else 1)
                ax.annotate(value_label(yi), (xi, yi), xytext=(0, lift),
                            textcoords="offset points", rotation=90, ha="center",
                            va="top" if yi < 0 else "bottom", fontsize=5,
                            # legible where it crosses a taller neighbour's hatching
                            bbox=dict(boxstyle="square,pad=0.05", facecolor="white",
                                      edgecolor="none", alpha=0.8))
    ax.set_xticks(x, groups)
    ax.margins(y=0.3)           # room for the values written above the highest bars


def policy_sort_key(policy: str):
    """The paper's policies first in POLICY_ORDER, then any others alphabetically."""
    if policy in POLICY_ORDER:
        return (0, POLICY_ORDER.index(policy), "")
    return (1, 0, policy)


def order_policies(policies) -> list[str]:
    return sorted(policies, key=policy_sort_key)


def apply() -> None:
    """Set the plotting theme and the settings that make SVG output deterministic.

    matplotlib and seaborn are imported here, not at module import, so that the
    registries (and the Snakefile, which reads them) load quickly.
    """
    import matplotlib
    matplotlib.use("Agg")  # no display
    import seaborn as sns
    sns.set_theme(context="paper", style="whitegrid", font_scale=0.95)
    matplotlib.rcParams.update({
        "svg.hashsalt": _SVG_HASHSALT,   # stable ids for clip paths etc.
        "svg.fonttype": "path",          # glyphs as paths: no font needed to view
        "font.family": "DejaVu Sans",
        "axes.edgecolor": "0.3",
        "axes.titlesize": "medium",
        "legend.frameon": True,
        "legend.framealpha": 0.9,
        "figure.dpi": 100,
        "savefig.bbox": "tight",
        "savefig.pad_inches": 0.03,
        "path.simplify": False,
    })


def save_svg(fig, path) -> Path:
    """Save a figure as SVG atomically (temp file, then rename) and close it."""
    import matplotlib.pyplot as plt
    from report import temp_path
    path = Path(path)
    tmp = temp_path(path)
    try:
        fig.savefig(tmp, format="svg", metadata={"Date": None, "Creator": None})
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    return path
