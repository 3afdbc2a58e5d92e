"""One look for every figure: a fixed colour, marker, line style and hatch per policy.

Colours are the Okabe-Ito colour-blind-safe palette; every policy also has its own
marker and line style (and hatch for bars) so the figures read in black and white.
Figures are written as SVG with a fixed hash salt and no date, so reruns are
byte-identical.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

# The paper's policies, in the order every table and legend uses.
POLICY_ORDER = ["linux-4k", "linux-thp", "freebsd", "ingens", "hawkeye-pmu", "hawkeye-g",
                "quicksilver"]

POLICY_LABELS = {
    "linux-4k": "Linux 4 KiB",
    "linux-thp": "Linux THP (2 MiB)",
    "freebsd": "FreeBSD",
    "ingens": "Ingens",
    "hawkeye-pmu": "HawkEye-PMU",
    "hawkeye-g": "HawkEye-G",
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
    "quicksilver": dict(color="#CC79A7", marker="X", linestyle=(0, (1, 1)), hatch="oo"),
}

# Policies not listed above get a style picked by a stable hash of their name,
# so the same name looks the same in every figure and every run.
_EXTRA_STYLES = [
    dict(color="#CC79A7", marker="X", linestyle=(0, (1, 1)), hatch="oo"),
    dict(color="#F0E442", marker="*", linestyle=(0, (8, 2)), hatch="--"),
    dict(color="#7F7F7F", marker="h", linestyle=(0, (4, 2, 1, 2)), hatch="||"),
    dict(color="#8C564B", marker="p", linestyle=(0, (2, 2)), hatch="**"),
]

# Figure sizes in inches: one column of the two-column PDF, and the full width.
COLUMN_WIDTH = 3.4
FULL_WIDTH = 7.0

_SVG_HASHSALT = "hawkeye-resim"


def policy_label(policy: str) -> str:
    return POLICY_LABELS.get(policy, policy)


def policy_style(policy: str) -> dict:
    """A copy of the policy's style: color, marker, linestyle, hatch."""
    if policy in POLICY_STYLES:
        return dict(POLICY_STYLES[policy])
    return dict(_EXTRA_STYLES[zlib.crc32(policy.encode()) % len(_EXTRA_STYLES)])


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
