"""What the sections share: the build context, the section registry, row lookups,
claim tables, figure lists and the common shapes of an experiment section."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from report import warn
from report.claims import OOM_REASON, Claim
from report.render.document import Fig, Ref, Section, Table
from report.render.fmt import fmt_num, fmt_pct, fmt_value
from report.style import order_policies, policy_label


@dataclass
class Context:
    """Everything the sections read: the configuration (and its text and path), the
    experiment tables by name, the claims' verdicts (results/claims.csv), the claims
    themselves (config/claims.yaml: the paper's numbers, by claim id), the scorecard table
    (None when not given), the figures directory, the jobs' benchmarks and the config
    schema (units and sources of the config's values)."""
    cfg: dict
    cfg_text: str
    cfg_path: Path
    tables: dict[str, pd.DataFrame]
    claims: pd.DataFrame
    paper_claims: dict[str, Claim]
    scorecard: pd.DataFrame | None
    figures_dir: Path
    benchmarks: pd.DataFrame
    bench_dir: Path | None
    schema: dict           # config/schema.yaml (report.setup.load_schema)
    schema_path: Path
    expected: pd.DataFrame | None = None   # another profile's claims.csv (expected/paper/)
    expected_label: str = ""               # its profile name, e.g. "paper"


# The paper's setup, which the prose describes beside our own (not claims: nothing checks
# them).  Source: ../shared/reference/hawkeye-facts.md and the paper's §2 and Table 1.
PAPER_SETUP = {
    "buffer_gb": 10,          # Table 1: the buffer touched, one byte per 4 KiB page
    "redis_keys": 11e6,       # Fig. 1: P1 inserts 11M key-value pairs ...
    "redis_data_gb": 45,      # ... a 45 GB data set
    "machine_gb": 96,         # §5: Haswell Xeon E5-2690 v3 with 96 GB
}


def paper(ctx: Context, claim_id: str) -> float:
    """The paper's number for a claim (its ``paper_value`` in config/claims.yaml), so that
    the prose never repeats a paper number as a literal.  KeyError if there is no such claim
    (the section is then shown as a generic one, with a warning)."""
    return ctx.paper_claims[claim_id].paper_value


def paper_range(ctx: Context, claim_id: str) -> tuple[float, float]:
    """The paper's range for a claim (``paper_range``; KeyError if it has none)."""
    rng = ctx.paper_claims[claim_id].paper_range
    if rng is None:
        raise KeyError(f"claim {claim_id} has no paper_range")
    return rng


def pct_range(lo: float, hi: float) -> str:
    """A range of fractions as percentages: 13–22%."""
    return f"{100 * lo:.0f}–{100 * hi:.0f}%"


SECTIONS: dict[str, Callable[[Context, pd.DataFrame], Section]] = {}
ABSTRACTS: dict[str, Callable[[Context, pd.DataFrame], list]] = {}


def section(name: str, abstract: Callable | None = None):
    """Register a section builder ``f(ctx, table) -> Section`` for an experiment, and
    optionally ``abstract(ctx, table) -> [str | Ref, ...]`` findings for the abstract."""
    def deco(f):
        SECTIONS[name] = f
        if abstract is not None:
            ABSTRACTS[name] = abstract
        return f
    return deco


def figures_for(ctx: Context, experiment: str) -> list[Fig]:
    """The figures of an experiment found in the figures directory: those registered for it
    (report.figures), else every ``<experiment>_*.svg``; a registered one missing is warned
    about and left out."""
    from report.captions import render_caption
    from report.figures import FIGURES, figure_info
    out = []
    registered = FIGURES.get(experiment, [])
    if registered:
        for f in registered:
            path = ctx.figures_dir / f"{f.name}.svg"
            if path.is_file():
                out.append(Fig(f"fig-{f.name}", render_caption(f.caption, ctx.cfg, f.experiment),
                               path, wide=f.width == "full"))
            else:
                warn(f"figure {path} not found; left out of the report")
    else:
        for path in sorted(ctx.figures_dir.glob(f"{experiment}_*.svg")):
            info = figure_info(path.stem)
            caption = (render_caption(info.caption, ctx.cfg, info.experiment) if info
                       else path.stem.replace("_", " "))
            out.append(Fig(f"fig-{path.stem}", caption, path,
                           wide=bool(info and info.width == "full")))
    return out


def claims_for(ctx: Context, source: str) -> pd.DataFrame:
    """The claims whose source is ``source`` or starts with it ("§6 (overhead)")."""
    src = ctx.claims["source"].astype(str)
    return ctx.claims[(src == source) | src.str.startswith(source + " ")]


def verdict_class(v: str) -> str:
    """The CSS class of a verdict: "v-not-reproduced"."""
    return "v-" + v.replace(" ", "-")


def policy_list(policies) -> str:
    """Policy labels as words: "A", "A and B", "A, B and C"."""
    names = [policy_label(p) for p in policies]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def workload_of(ctx: Context, experiment: str) -> tuple[str, dict]:
    """An experiment's workload name and its config (``{}`` if it has none)."""
    exp = ctx.cfg.get("experiments", {}).get(experiment, {})
    wl = ctx.cfg.get("workloads", {}).get(exp.get("workload", ""), {})
    return exp.get("workload", ""), wl


def policy_row(df: pd.DataFrame, policy: str):
    """The first row of a policy (None if the table has none)."""
    hit = df[df["policy"].astype(str) == policy] if "policy" in df.columns else df.iloc[0:0]
    return hit.iloc[0] if len(hit) else None


def val(row, col) -> float:
    """A numeric cell (NaN if the row or column is missing or the cell is not a number)."""
    if row is None:
        return float("nan")
    try:
        v = row[col]
    except (KeyError, IndexError):
        return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def cell_text(row, col) -> str:
    """A cell as text ("" if the row or column is missing or the cell is empty)."""
    if row is None:
        return ""
    try:
        v = row[col]
    except (KeyError, IndexError):
        return ""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def rows_where(df: pd.DataFrame, **filters) -> pd.DataFrame:
    """The rows whose columns equal the given values (as text); none if a column is missing."""
    out = df
    for col, want in filters.items():
        if col not in out.columns:
            return out.iloc[0:0]
        out = out[out[col].astype(str) == str(want)]
    return out


def one_where(df: pd.DataFrame, **filters):
    """The first row matching rows_where (None if none does)."""
    hit = rows_where(df, **filters)
    return hit.iloc[0] if len(hit) else None


def exp_cfg(ctx: Context, experiment: str) -> dict:
    """An experiment's config block ({} if it is not configured)."""
    return (ctx.cfg.get("experiments") or {}).get(experiment) or {}


def time_scale_of(ctx: Context, experiment: str, key: str = "time_scale") -> float:
    """An experiment's time_scale (or ``key``: space_scale); 1.0 if unset or not a number."""
    try:
        return float(exp_cfg(ctx, experiment).get(key, 1.0))
    except (TypeError, ValueError):
        return 1.0


def pressure_text(ctx: Context, experiment: str) -> str:
    """An experiment's fragmentation in words: the share of blocks with one unmovable page
    and the share holding movable pages (which compaction can move), or "unfragmented"."""
    pr = {**(ctx.cfg.get("pressure") or {}), **(exp_cfg(ctx, experiment).get("pressure") or {})}
    parts = []
    if pr.get("fragmentation"):
        parts.append(f"{fmt_pct(pr['fragmentation'], 0)} of the blocks holding one unmovable page")
    if pr.get("movable_fragmentation"):
        parts.append(f"{fmt_pct(pr['movable_fragmentation'], 0)} holding "
                     f"{pr.get('movable_pages', '?')} movable pages (which compaction can move)")
    return " and ".join(parts) if parts else "unfragmented memory"


def scaling_text(ctx: Context, experiment: str) -> str:
    """How an experiment's policy periods were scaled (README "Scaling"), one clause."""
    ts, ss = time_scale_of(ctx, experiment), time_scale_of(ctx, experiment, "space_scale")
    if ts == 1 and ss == 1:
        return "with every policy period at its real value"
    return (f"with sampling periods scaled by the time scale {fmt_value(ts)} and the sleeps of "
            f"daemons with a fixed amount of work per pass (khugepaged, promotion, pre-zeroing) "
            f"by time scale / footprint scale = {fmt_value(ts)} / {fmt_value(ss)}, so each "
            f"covers the paper's share of the footprint per phase")


def memory_gib_of(ctx: Context, experiment: str):
    """An experiment's machine memory (GiB): its own override, else the machine's."""
    m = exp_cfg(ctx, experiment).get("machine") or {}
    return m.get("memory_gib", ctx.cfg["machine"].get("memory_gib"))


# --- runs that ran out of memory -------------------------------------------------------------

OOM_MARK = "†"   # marks a run that ran out of memory wherever its numbers appear


def is_oom(row) -> bool:
    """Whether a table row comes from a run that ran out of memory (its ``oom`` is 1)."""
    return val(row, "oom") == 1


def oom_mark(row, mark: str = OOM_MARK) -> str:
    """" †" after a label of a row from a run that ran out of memory, else ""."""
    return f" {mark}" if is_oom(row) else ""


def oom_runs(df: pd.DataFrame) -> str:
    """The runs of a table that ran out of memory, in words ("" if none): each run
    (experiment, variant, policy) with the processes killed and the first kill's time, from
    the tables' ``oom``, ``oom_process`` and ``oom_time_s`` columns."""
    if "oom" not in df.columns:
        return ""
    runs: dict[tuple, tuple[list, float]] = {}
    for _, r in df[pd.to_numeric(df["oom"], errors="coerce") == 1].iterrows():
        key = (cell_text(r, "experiment"), cell_text(r, "variant"), str(r["policy"]))
        procs, t = runs.get(key, ([], float("nan")))
        procs += [p for p in cell_text(r, "oom_process").split() if p not in procs]
        t2 = val(r, "oom_time_s")
        runs[key] = (procs, t2 if math.isnan(t) or t2 < t else t)
    if not runs:
        return ""
    parts = []
    for (exp, variant, policy), (procs, t) in runs.items():
        where = ", ".join(x for x in (variant, exp if len({k[0] for k in runs}) > 1 else "") if x)
        parts.append(policy_label(policy) + (f" ({where})" if where else "") + ": "
                     + (f"process{'es' if len(procs) > 1 else ''} {', '.join(procs)}"
                        if procs else "a process") + " killed"
                     + (f" at {fmt_num(t, 3)} s" if not math.isnan(t) else ""))
    return "; ".join(parts)


def oom_note(df: pd.DataFrame, mark: str = OOM_MARK) -> str:
    """The footnote of a table with rows from runs that ran out of memory ("" if none)."""
    runs = oom_runs(df)
    return (f"{mark} Ran out of memory: its numbers are those of a partial run, up to the "
            f"kill. {runs}." if runs else "")


def oom_claim(reason) -> bool:
    """Whether a claim is not measured because a run it reads ran out of memory."""
    return isinstance(reason, str) and reason.startswith(OOM_REASON)


def claims_table(ctx: Context, sources: list[str], label: str, what: str) -> Table | None:
    """A table of the claims of several sources beside ours (None if there are none)."""
    parts = [claims_for(ctx, src) for src in sources]
    cl = pd.concat(parts) if parts else ctx.claims.iloc[0:0]
    if cl.empty:
        return None
    rows = [[r.statement, fmt_num(r.paper_value, 3), fmt_num(r.our_value, 3),
             r.verdict + (f" {OOM_MARK}" if oom_claim(r.reason) else "")]
            for r in cl.itertuples()]
    ooms = [r.id for r in cl.itertuples() if oom_claim(r.reason)]
    note = (f"{OOM_MARK} Not measured: a run the claim reads ran out of memory "
            f"({', '.join(ooms)}; the claims section names the run)." if ooms else "")
    return Table(label, f"The paper's {what} findings beside ours (claims of "
                 f"config/claims.yaml; verdicts as in the claims section).",
                 ["Claim", "Paper", "Ours", "Verdict"], rows, ["l", "r", "r", "l"],
                 ["1fr", "auto", "auto", "auto"],
                 row_classes=[verdict_class(v) for v in cl["verdict"]], note=note)


def refs(labels: list[str]) -> list:
    """Cross-references as words: "Figure 1, Figure 2 and Figure 3"."""
    out = []
    for i, lab in enumerate(labels):
        out += [Ref(lab), " and " if i == len(labels) - 2 else ", " if i < len(labels) - 2 else ""]
    return out


def finish(s: Section, main: Table, cmp_table: Table | None, figs: list[Fig],
           figure_text: str) -> Section:
    """A section's end: its main table, the claims table (with a sentence), the figures
    (with ``figure_text``, where {verb} is shows/show)."""
    s.blocks.append(main)
    if cmp_table is not None:
        s.para(Ref(cmp_table.label), " sets our numbers beside the paper's.")
        s.blocks.append(cmp_table)
    if figs:
        s.para(*refs([f.label for f in figs]),
               figure_text.replace("{verb}", "shows" if len(figs) == 1 else "show"))
        s.blocks += figs
    return s


def metric_table(label: str, caption: str, df: pd.DataFrame, spec, wide=None) -> Table:
    """Metrics as rows, policies as columns (like Table 1)."""
    policies = order_policies(set(df["policy"].astype(str)))
    rows = []
    for col, name, fmt in spec:
        cells = []
        for p in policies:
            r = policy_row(df, p)
            cells.append(fmt(r) if callable(fmt) and col is None else
                         fmt(val(r, col)) if col in df.columns else "–")
        rows.append([name] + cells)
    return Table(label, caption, ["Metric"] + [policy_label(p) + oom_mark(policy_row(df, p))
                                               for p in policies], rows,
                 ["l"] + ["r"] * len(policies),
                 wide=len(policies) > 3 if wide is None else wide, note=oom_note(df))
