"""Section: beyond the paper: policies the paper did not compare, against HawkEye.

Issue 15: Quicksilver (Zhu, Cox, Rixner, ATC'20) and Linux 6.12's THP shrinker
("mm: split underused THPs") run in every experiment beside the seed's policies;
this section says what each adds (its config/schema.yaml description, the one home of
that text) and where it wins and loses against HawkEye-PMU, setting by setting, from
the experiment tables. Every sentence is computed from the tables.
"""
from __future__ import annotations

import math

import pandas as pd

from report.render.common import Context, policy_row, val
from report.render.document import Section, Table
from report.render.fmt import fmt_mib, fmt_num
from report.scorecard import TIE
from report.style import policy_label

# the policies the paper did not compare (config/config.yaml `policies`), in report order
BEYOND = ("quicksilver", "linux-6.12")
# what they are compared with: HawkEye as the paper evaluates it (PMU-guided promotion)
REFERENCE = "hawkeye-pmu"

# (table, column, what it is, formatter, lower is better); one row per setting of the table
METRICS = [
    ("table1", "p50_fault_latency_us", "Table 1: median fault latency (µs)",
     lambda x: fmt_num(x, 3), True),
    ("table1", "runtime_s", "Table 1: run time (s)", lambda x: fmt_num(x, 4), True),
    ("fig_bloat", "peak_bloat_bytes", "Fig. 1: peak bloat", fmt_mib, True),
    ("fig_bloat", "rss_end_bytes", "Fig. 1: RSS at the end", fmt_mib, True),
    ("fig_promotion", "runtime_s", "Fig. 5: run time (s)", lambda x: fmt_num(x, 4), True),
    ("fig_fairness", "jain_index", "§6 fairness: Jain's index", lambda x: fmt_num(x, 3), False),
    ("sweep", "runtime_s", "Sweep: run time (s)", lambda x: fmt_num(x, 4), True),
]


def present(ctx: Context) -> list[str]:
    """The BEYOND policies that appear in any experiment table."""
    seen = set()
    for df in ctx.tables.values():
        if "policy" in df.columns:
            seen |= set(df["policy"].astype(str))
    return [p for p in BEYOND if p in seen]


def _settings(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(setting name, rows) per setting: by `variant` where the table has it, else by
    `process` rows' first (fig_fairness has one row per process and the same index)."""
    if "variant" in df.columns:
        return [(str(v), g) for v, g in df.groupby("variant", sort=True)]
    return [("", df)]


def _outcome(ours: float, ref: float, lower_better: bool) -> str:
    """win/tie/loss for ``ours``; two values within report.scorecard.TIE of the larger
    are a tie (the scorecard's rule for run times, here for any metric, zero included)."""
    if any(math.isnan(x) for x in (ours, ref)):
        return ""
    if abs(ours - ref) <= TIE * max(abs(ours), abs(ref)):
        return "tie"
    return "win" if (ours < ref) == lower_better else "loss"


def comparisons(ctx: Context, policy: str) -> pd.DataFrame:
    """One row per (metric, setting) where both ``policy`` and REFERENCE have a number and
    neither ran out of memory: columns metric, setting, ours, reference, outcome
    ("win"/"tie"/"loss" for ``policy``)."""
    rows = []
    for table, col, name, _fmt, lower in METRICS:
        df = ctx.tables.get(table)
        if df is None or col not in df.columns or "policy" not in df.columns:
            continue
        for setting, g in _settings(df):
            a, b = policy_row(g, policy), policy_row(g, REFERENCE)
            if a is None or b is None or val(a, "oom") == 1 or val(b, "oom") == 1:
                continue
            ours, ref = val(a, col), val(b, col)
            out = _outcome(ours, ref, lower)
            if out:
                rows.append(dict(metric=name, setting=setting, ours=ours, reference=ref,
                                 outcome=out))
    return pd.DataFrame(rows, columns=["metric", "setting", "ours", "reference", "outcome"])


def _description(ctx: Context, policy: str) -> str:
    d = (ctx.schema.get("$defs", {}).get(policy) or {}).get("description", "")
    return " ".join(str(d).split())


def _oom_text(ctx: Context, policy: str) -> str:
    """Which experiment settings the policy ran out of memory in (or '')."""
    hits = []
    for name, df in ctx.tables.items():
        if "oom" not in df.columns or "policy" not in df.columns:
            continue
        sub = df[(df["policy"].astype(str) == policy) & (pd.to_numeric(df["oom"]) == 1)]
        for _, r in sub.iterrows():
            hits.append(name + (f" {r['variant']}" if "variant" in df.columns else ""))
    return ", ".join(sorted(set(hits)))


def section_beyond(ctx: Context) -> Section | None:
    """The section, or None when no BEYOND policy ran."""
    pols = present(ctx)
    if not pols:
        return None
    s = Section("sec-beyond", "Beyond the paper: " + " and ".join(policy_label(p) for p in pols))
    s.para("The paper compares HawkEye with Linux 4.3, FreeBSD and Ingens. We add policies "
           "it did not have, in every experiment, and compare them with "
           f"{policy_label(REFERENCE)} setting by setting (a tie: within {100 * TIE:.1f}%; "
           "runs that ran out of memory left out of the comparison).")
    rows = []
    for p in pols:
        cmp = comparisons(ctx, p)
        desc = _description(ctx, p)
        counts = cmp["outcome"].value_counts()
        text = (f"{policy_label(p)}" + (f": {desc.rstrip('.')}. " if desc else ". ") + "Against "
                f"{policy_label(REFERENCE)} it is better in {counts.get('win', 0)}, equal in "
                f"{counts.get('tie', 0)} and worse in {counts.get('loss', 0)} of {len(cmp)} "
                f"comparisons")
        for outcome, word in (("win", "better"), ("loss", "worse")):
            hit = cmp[cmp["outcome"] == outcome]
            if len(hit):
                by = hit.groupby("metric", sort=False).size()
                text += (f"; {word} in " + ", ".join(f"{m} ({n})" for m, n in by.items()))
        oom = _oom_text(ctx, p)
        text += (f". It ran out of memory in {oom}." if oom else
                 ". It never ran out of memory.")
        s.para(text)
        for _, r in cmp.iterrows():
            fmt = next(f for _t, _c, n, f, _l in METRICS if n == r["metric"])
            rows.append([policy_label(p), r["metric"], r["setting"] or "–", fmt(r["ours"]),
                         fmt(r["reference"]), r["outcome"]])
    if rows:
        s.blocks.append(Table(
            "tab-beyond", f"Policies beyond the paper against {policy_label(REFERENCE)}, per "
            "experiment setting: the policy's value, HawkEye's, and the outcome for the policy.",
            ["Policy", "Metric", "Setting", "Value", policy_label(REFERENCE), "Outcome"], rows,
            ["l", "l", "l", "r", "r", "l"], wide=True,
            row_classes=[r[-1] for r in rows]))
    return s
