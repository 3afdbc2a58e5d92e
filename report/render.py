"""Render the paper-style report: a two-column PDF (typst) and a self-contained HTML page.

    python -m report.render --config config/config.yaml --tables results/tables \
        --figures results/figures --claims results/claims.csv --benchmarks benchmarks \
        --out-html results/report/report.html --out-pdf results/report/report.pdf

Both outputs come from one document model (sections of paragraphs, numbered
tables and figures, code listings), rendered through the jinja2 templates in
report/templates: report.typ.j2 (compiled with the ``typst`` package; the typst
source is kept beside the PDF as report.typ) and report.html.j2 (figures inlined
as SVG, responsive CSS).  An experiment section appears only when its table
``<tables>/<experiment>.csv`` exists; experiments with a dedicated section
builder (``@section(NAME)``) get prose, the others a generic section.
"""
from __future__ import annotations

import argparse
import html as _html
import importlib
import importlib.metadata
import json
import math
import os
import platform
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import jinja2
import numpy as np
import pandas as pd
import yaml

from report import (InputError, atomic_write_bytes, atomic_write_text, cli, log, require_dir,
                    require_file, warn)
from report.claims import OUTPUT_COLUMNS as CLAIM_COLUMNS, VERDICTS
from report.style import order_policies, policy_label

TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLE = "HawkEye, re-simulated: huge-page policies on a simulated machine"
PAPER = ("A. Panwar, S. Bansal, K. Gopinath. HawkEye: Efficient Fine-grained OS Support for "
         "Huge Pages. ASPLOS 2019, pp. 347-360, doi:10.1145/3297858.3304064")
# Experiments in the order their sections appear; others follow alphabetically.
EXPERIMENT_ORDER = ["table1", "fig_bloat", "fig_promotion", "fig_fairness", "sweep", "overhead"]
MAX_FLOAT_ROWS = 30   # a wide table with more rows is not floated across both PDF columns
SOFTWARE = ["numpy", "numba", "pandas", "matplotlib", "seaborn", "jinja2", "yaml", "snakemake",
            "typst"]


# --- document model -----------------------------------------------------------------

@dataclass
class Ref:
    """A cross-reference to a section, table or figure label."""
    label: str


@dataclass
class Para:
    parts: list  # str | Ref


@dataclass
class Table:
    label: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    align: list[str]                 # "l" or "r" per column
    widths: list[str] | None = None  # typst column widths, e.g. ["auto", "1fr"]
    wide: bool = False               # spans both PDF columns
    row_classes: list[str] | None = None  # CSS class per row (HTML), e.g. verdict
    number: int = 0


@dataclass
class Fig:
    label: str
    caption: str
    path: Path
    wide: bool = False
    number: int = 0


@dataclass
class Code:
    text: str
    lang: str = ""


@dataclass
class Section:
    label: str
    title: str
    blocks: list = field(default_factory=list)
    appendix: bool = False
    number: str = ""

    def para(self, *parts):
        self.blocks.append(Para(list(parts)))


@dataclass
class Document:
    title: str
    byline: list[str]
    abstract: list[Para]
    sections: list[Section]

    def number(self) -> dict[str, str]:
        """Number sections (1, 2, ... then A, B, ...), tables and figures in source order;
        return label -> "Section 2" / "Table 3" / "Figure 1" as typst prints them."""
        names, n_sec, n_app, n_tab, n_fig = {}, 0, 0, 0, 0
        for s in self.sections:
            if s.appendix:
                s.number = chr(ord("A") + n_app)
                n_app += 1
            else:
                n_sec += 1
                s.number = str(n_sec)
            names[s.label] = f"Section {s.number}"
            for b in s.blocks:
                if isinstance(b, Table):
                    n_tab += 1
                    b.number = n_tab
                    names[b.label] = f"Table {n_tab}"
                elif isinstance(b, Fig):
                    n_fig += 1
                    b.number = n_fig
                    names[b.label] = f"Figure {n_fig}"
        return names


# --- formatting -------------------------------------------------------------------------

def _bad(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def fmt_num(x, sig: int = 4) -> str:
    """A number with `sig` significant digits, thousands separators, no exponent."""
    if _bad(x):
        return "–"
    x = float(x)
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) >= 1:
        return f"{int(x):,}"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, sig - 1 - mag)
    return f"{x:,.{decimals}f}"


def fmt_int(x) -> str:
    return "–" if _bad(x) else f"{int(round(float(x))):,}"


def fmt_pct(x, decimals: int = 1) -> str:
    return "–" if _bad(x) else f"{100 * float(x):.{decimals}f}%"


def fmt_x(x) -> str:
    """A ratio: 512×, 132×, 4.2×."""
    if _bad(x):
        return "–"
    x = float(x)
    return f"{x:.0f}×" if abs(x) >= 10 else f"{x:.1f}×"


def fmt_value(v) -> str:
    """A configuration value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt_value(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={fmt_value(x)}" for k, x in v.items()) if v else "(no options)"
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


_UNITS = [("_ns_per_pte", "ns per PTE"), ("_millisecs", "ms"), ("_cycles", "cycles"),
          ("_gib", "GiB"), ("_mib", "MiB"), ("_ghz", "GHz"), ("_us", "µs"), ("_ms", "ms"),
          ("_s", "s"), ("_bytes", "B")]


def unit_of(key: str) -> str:
    last = key.rsplit(".", 1)[-1]
    for suffix, unit in _UNITS:
        if last.endswith(suffix):
            return unit
    return ""


# typst markup: every ASCII punctuation character is escaped with a backslash, so
# data can never start markup, code, math, labels, references or comments.
_TYPST_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def typst_escape(s) -> str:
    s = re.sub(r"\s+", " ", str(s))  # newlines and tabs would be markup too
    return _TYPST_SPECIAL.sub(r"\\\1", s)


def typst_string(s) -> str:
    """A typst string literal."""
    s = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + s.replace("\n", "\\n").replace("\t", "\\t") + '"'


# --- inputs -----------------------------------------------------------------------------

def load_config(path) -> tuple[dict, str]:
    """The configuration (YAML, or the workflow's effective config as JSON) and its text."""
    path = require_file(path, "configuration file")
    text = path.read_text()
    try:
        cfg = json.loads(text) if _is_json(path, text) else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not valid {'JSON' if _is_json(path, text) else 'YAML'}: "
                         f"{e}") from e
    if not isinstance(cfg, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    for key in ("machine", "policies", "workloads", "experiments"):
        if not isinstance(cfg.get(key), dict):
            raise InputError(f"{path}: missing section {key!r}")
    return cfg, text


def _is_json(path: Path, text: str) -> bool:
    return path.suffix == ".json" or text.lstrip().startswith("{")


_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<rest>.*)$")


def yaml_comments(text: str) -> dict[str, str]:
    """Trailing comments of a block-style YAML file, by dotted key path."""
    out, stack = {}, []  # stack of (indent, key)
    for line in text.splitlines():
        m = _KEY_LINE.match(line)
        if not m:
            continue
        indent = len(m["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m["key"]))
        rest = m["rest"]
        if " #" in rest or rest.startswith("#"):
            comment = rest.split("#", 1)[1].strip() if rest.startswith("#") else \
                rest.split(" #", 1)[1].strip()
            if comment:
                out[".".join(k for _, k in stack)] = comment
    return out


def flatten(d, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            rows += flatten(v, key + ".")
        else:
            rows.append((key, v))
    return rows


def note_for(comments: dict[str, str], key: str) -> str:
    """The key's own comment, else the nearest commented parent's (below the top level)."""
    parts = key.split(".")
    for n in range(len(parts), 1, -1):
        c = comments.get(".".join(parts[:n]))
        if c:
            return c
    return ""


def load_tables(tables_dir) -> dict[str, pd.DataFrame]:
    tables_dir = require_dir(tables_dir, "tables directory")
    names = [p.stem for p in tables_dir.glob("*.csv") if p.is_file()]
    order = sorted(names, key=lambda n: (EXPERIMENT_ORDER.index(n) if n in EXPERIMENT_ORDER
                                         else len(EXPERIMENT_ORDER), n))
    out = {}
    for name in order:
        path = tables_dir / f"{name}.csv"
        try:
            out[name] = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read table {path}: {e}") from e
    return out


def load_claims(path) -> pd.DataFrame:
    path = require_file(path, "claims file")
    try:
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError as e:
        raise InputError(f"{path}: empty (expected columns {', '.join(CLAIM_COLUMNS)})") from e
    except pd.errors.ParserError as e:
        raise InputError(f"cannot read {path}: {e}") from e
    missing = [c for c in CLAIM_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    bad = sorted(set(df["verdict"]) - set(VERDICTS))
    if bad:
        raise InputError(f"{path}: unknown verdict(s) {bad}; expected one of {list(VERDICTS)}")
    return df


def load_benchmarks(bench_dir) -> pd.DataFrame:
    """Snakemake benchmark files (TSV with columns s, max_rss, ...) under bench_dir, recursively."""
    cols = ["job", "s", "cpu_time", "max_rss"]
    if bench_dir is None or not Path(bench_dir).is_dir():
        if bench_dir is not None:
            log(f"render: no benchmark directory {bench_dir}; the job table is left empty")
        return pd.DataFrame(columns=cols)
    root = Path(bench_dir)
    rows = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.suffix == ".part":
            continue
        try:
            df = pd.read_csv(path, sep="\t", na_values=["-", "NA", ""])
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            warn(f"{path}: not a Snakemake benchmark file; skipped")
            continue
        if "s" not in df.columns or df.empty:
            warn(f"{path}: no column 's' (not a Snakemake benchmark file); skipped")
            continue
        num = lambda c: pd.to_numeric(df[c], errors="coerce") if c in df.columns else \
            pd.Series([float("nan")] * len(df))
        rel = path.relative_to(root)
        rows.append({"job": str(rel.with_suffix("")) if rel.suffix in (".tsv", ".txt") else str(rel),
                     "s": num("s").mean(), "cpu_time": num("cpu_time").mean(),
                     "max_rss": num("max_rss").max()})
    return pd.DataFrame(rows, columns=cols)


def software_versions() -> list[tuple[str, str]]:
    out = [("python", platform.python_version())]
    for mod in SOFTWARE:
        try:
            m = importlib.import_module(mod)
            v = getattr(m, "__version__", None)
            if v is None:
                v = importlib.metadata.version({"yaml": "PyYAML"}.get(mod, mod))
        except Exception:  # noqa: BLE001 - anything from an absent or broken package
            v = "not installed"
        out.append(({"yaml": "pyyaml"}.get(mod, mod), str(v)))
    return out


def git_commit(where) -> tuple[str, bool]:
    """(commit of the checkout holding `where`, whether it has uncommitted changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                              text=True, timeout=20)
        if head.returncode != 0:
            return "unknown", False
        st = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                            capture_output=True, text=True, timeout=20)
        return head.stdout.strip(), bool(st.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown", False


# --- building the document ----------------------------------------------------------------

@dataclass
class Context:
    cfg: dict
    cfg_text: str
    cfg_path: Path
    tables: dict[str, pd.DataFrame]
    claims: pd.DataFrame
    figures_dir: Path
    benchmarks: pd.DataFrame
    bench_dir: Path | None


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
    from report.figures import FIGURES, figure_info
    out = []
    registered = FIGURES.get(experiment, [])
    if registered:
        for f in registered:
            path = ctx.figures_dir / f"{f.name}.svg"
            if path.is_file():
                out.append(Fig(f"fig-{f.name}", f.caption, path, wide=f.width == "full"))
            else:
                warn(f"figure {path} not found; left out of the report")
    else:
        for path in sorted(ctx.figures_dir.glob(f"{experiment}_*.svg")):
            info = figure_info(path.stem)
            out.append(Fig(f"fig-{path.stem}", info.caption if info else path.stem.replace("_", " "),
                           path, wide=bool(info and info.width == "full")))
    return out


def claims_for(ctx: Context, source: str) -> pd.DataFrame:
    src = ctx.claims["source"].astype(str)
    return ctx.claims[(src == source) | src.str.startswith(source + " ")]


def paper_vs_ours(ctx: Context, source: str, label: str, caption: str) -> Table | None:
    cl = claims_for(ctx, source)
    if cl.empty:
        return None
    rows = [[r.statement, fmt_num(r.paper_value, 3), fmt_num(r.our_value, 3), r.verdict]
            for r in cl.itertuples()]
    return Table(label, caption, ["Claim", "Paper", "Ours", "Verdict"], rows,
                 ["l", "r", "r", "l"], ["1fr", "auto", "auto", "auto"],
                 row_classes=[_verdict_class(v) for v in cl["verdict"]])


def _verdict_class(v: str) -> str:
    return "v-" + v.replace(" ", "-")


def _policy_list(policies) -> str:
    names = [policy_label(p) for p in policies]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _workload_of(ctx: Context, experiment: str) -> tuple[str, dict]:
    exp = ctx.cfg.get("experiments", {}).get(experiment, {})
    wl = ctx.cfg.get("workloads", {}).get(exp.get("workload", ""), {})
    return exp.get("workload", ""), wl


def _row(df: pd.DataFrame, policy: str):
    hit = df[df["policy"].astype(str) == policy] if "policy" in df.columns else df.iloc[0:0]
    return hit.iloc[0] if len(hit) else None


# Table 1 ------------------------------------------------------------------------------

TABLE1_ROWS = [  # column, label, formatter
    ("faults", "Page faults", fmt_int),
    ("faults_4k", "  of them 4 KiB", fmt_int),
    ("faults_2m", "  of them 2 MiB", fmt_int),
    ("fault_time_s", "Total fault time (s)", lambda x: fmt_num(x, 4)),
    ("mean_fault_latency_us", "Mean fault latency (µs)", lambda x: fmt_num(x, 4)),
    ("p50_fault_latency_us", "Median fault latency (µs)", lambda x: fmt_num(x, 4)),
    ("p99_fault_latency_us", "99th-pct. fault latency (µs)", lambda x: fmt_num(x, 4)),
    ("zeroing_share", "Zeroing share of fault time", fmt_pct),
    ("runtime_s", "Run time (s)", lambda x: fmt_num(x, 4)),
    ("fault_ratio", "Fewer faults than 4 KiB", fmt_x),
    ("latency_ratio", "Fault latency vs. 4 KiB", fmt_x),
    ("speedup", "Speedup over 4 KiB", fmt_x),
]


def _table1_findings(ctx: Context, df: pd.DataFrame) -> list:
    base, thp = _row(df, "linux-4k"), _row(df, "linux-thp")
    if base is None or thp is None:
        return []
    _, wl = _workload_of(ctx, "table1")
    size = (wl.get("params") or {}).get("size_gib")
    what = f"Touching a {fmt_value(size)} GiB buffer" if size else "Touching a buffer"
    return [f"{what} one byte per 4 KiB page, Linux with 2 MiB pages took "
            f"{fmt_x(thp['fault_ratio'])} fewer page faults than with 4 KiB pages, each "
            f"{fmt_x(thp['latency_ratio'])} slower, and the touch ran {fmt_x(thp['speedup'])} "
            f"faster; the paper reports ~500× (512× for 10 GiB), ~133× and ~4×. Zeroing made up "
            f"{fmt_pct(base['zeroing_share'], 0)} of a 4 KiB fault and "
            f"{fmt_pct(thp['zeroing_share'], 0)} of a 2 MiB fault (paper: 25% and 97%)."]


@section("table1", abstract=_table1_findings)
def section_table1(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-table1", "Page-fault cost of huge pages (paper Table 1)")
    policies = order_policies(df["policy"].astype(str))
    wl_name, wl = _workload_of(ctx, "table1")
    params = wl.get("params") or {}
    s.para("The paper's Table 1 motivates HawkEye with the cost of a page fault: a program "
           "touches a 10 GB buffer, writing one byte per 4 KiB page, and then frees it. With "
           "2 MiB pages Linux takes about 500× fewer faults, but each fault is about 133× "
           "slower because the kernel must zero 2 MiB before mapping it; zeroing is 25% of a "
           "4 KiB fault and 97% of a 2 MiB fault. The whole touch still runs about 4× faster.")
    main = Table("tab-table1", f"Page-fault cost of touching the buffer (workload {wl_name}: "
                 f"{fmt_value(params)}), per policy. Ratios are against Linux with 4 KiB pages.",
                 ["Metric"] + [policy_label(p) for p in policies],
                 [[label.strip() if not label.startswith("  ") else "– " + label.strip()]
                  + [fmt(_row(df, p)[col]) if col in df.columns else "–" for p in policies]
                  for col, label, fmt in TABLE1_ROWS],
                 ["l"] + ["r"] * len(policies), wide=len(policies) > 3)
    cmp_table = paper_vs_ours(ctx, "Table 1", "tab-table1-claims",
                              "The paper's Table 1 findings beside ours (claims of "
                              "config/claims.yaml; verdicts as in the claims section).")
    figs = figures_for(ctx, "table1")
    base, thp = _row(df, "linux-4k"), _row(df, "linux-thp")
    parts = [f"We replay the same access pattern under {_policy_list(policies)}; ", Ref(main.label),
             " lists the results."]
    if base is not None and thp is not None:
        parts += [f" With 2 MiB pages the simulated kernel takes {fmt_int(thp['faults'])} faults "
                  f"instead of {fmt_int(base['faults'])} ({fmt_x(thp['fault_ratio'])} fewer), each "
                  f"{fmt_num(thp['mean_fault_latency_us'], 4)} µs instead of "
                  f"{fmt_num(base['mean_fault_latency_us'], 4)} µs ({fmt_x(thp['latency_ratio'])}), "
                  f"and the run takes {fmt_num(thp['runtime_s'], 3)} s instead of "
                  f"{fmt_num(base['runtime_s'], 3)} s ({fmt_x(thp['speedup'])} faster). Zeroing is "
                  f"{fmt_pct(base['zeroing_share'])} of the 4 KiB fault time and "
                  f"{fmt_pct(thp['zeroing_share'])} of the 2 MiB fault time."]
    if cmp_table:
        parts += [" ", Ref(cmp_table.label), " sets these beside the paper's numbers."]
    s.para(*parts)
    s.blocks.append(main)
    if cmp_table:
        s.blocks.append(cmp_table)
    if figs:
        fp = []
        for i, f in enumerate(figs):
            fp += [Ref(f.label), " and " if i == len(figs) - 2 else ", " if i < len(figs) - 2 else ""]
        s.para(*fp, " show where the fault time goes: every fault of a policy costs about "
               "the same, so fault time grows linearly with the pages touched, far more steeply "
               "per fault with 2 MiB pages but over 512× fewer faults.")
        s.blocks += figs
    return s


# --- shared helpers of the experiment sections -------------------------------------------

def _val(row, col) -> float:
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


def _text(row, col) -> str:
    if row is None:
        return ""
    try:
        v = row[col]
    except (KeyError, IndexError):
        return ""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _rows(df: pd.DataFrame, **filters) -> pd.DataFrame:
    out = df
    for col, want in filters.items():
        if col not in out.columns:
            return out.iloc[0:0]
        out = out[out[col].astype(str) == str(want)]
    return out


def _one(df: pd.DataFrame, **filters):
    hit = _rows(df, **filters)
    return hit.iloc[0] if len(hit) else None


def fmt_mib(x) -> str:
    """Bytes as MiB (GiB from 2 GiB up)."""
    if _bad(x):
        return "–"
    x = float(x)
    return f"{x / 2 ** 30:,.2f} GiB" if abs(x) >= 2 * 2 ** 30 else f"{x / 2 ** 20:,.1f} MiB"


def fmt_gain(x) -> str:
    """A relative gain: +12.3% / −4.0%."""
    if _bad(x):
        return "–"
    return f"{100 * float(x):+.1f}%".replace("-", "−")


def fmt_fixed(x, decimals: int = 3) -> str:
    return "–" if _bad(x) else f"{float(x):.{decimals}f}"


def fmt_ratio(x) -> str:
    """A ratio near 1, with two decimals: 1.09×."""
    return "–" if _bad(x) else f"{float(x):.2f}×"


def fmt_faster(g) -> str:
    """A gain g = other's run time / ours - 1 as words: '11.5% faster', '4.0% slower'
    (slower: our run time / other's - 1)."""
    if _bad(g):
        return "– faster"
    g = float(g)
    if g >= 0:
        return f"{100 * g:.1f}% faster"
    return f"{100 * (1 / (1 + g) - 1):.1f}% slower" if g > -1 else "slower"


def fmt_eff(x) -> str:
    """A ratio that may be far below 1: 29×, 1.0×, 0.03×."""
    if _bad(x):
        return "–"
    return fmt_x(x) if abs(float(x)) >= 0.95 else f"{fmt_num(x, 2)}×"


def fmt_s(x) -> str:
    return "–" if _bad(x) else f"{fmt_num(x, 3)} s"


def _exp_cfg(ctx: Context, experiment: str) -> dict:
    return (ctx.cfg.get("experiments") or {}).get(experiment) or {}


def _time_scale(ctx: Context, experiment: str) -> float:
    try:
        return float(_exp_cfg(ctx, experiment).get("time_scale", 1.0))
    except (TypeError, ValueError):
        return 1.0


def _memory_gib(ctx: Context, experiment: str):
    m = _exp_cfg(ctx, experiment).get("machine") or {}
    return m.get("memory_gib", ctx.cfg["machine"].get("memory_gib"))


def _claims_table(ctx: Context, sources: list[str], label: str, what: str) -> Table | None:
    parts = [claims_for(ctx, src) for src in sources]
    cl = pd.concat(parts) if parts else ctx.claims.iloc[0:0]
    if cl.empty:
        return None
    rows = [[r.statement, fmt_num(r.paper_value, 3), fmt_num(r.our_value, 3), r.verdict]
            for r in cl.itertuples()]
    return Table(label, f"The paper's {what} findings beside ours (claims of "
                 f"config/claims.yaml; verdicts as in the claims section).",
                 ["Claim", "Paper", "Ours", "Verdict"], rows, ["l", "r", "r", "l"],
                 ["1fr", "auto", "auto", "auto"],
                 row_classes=[_verdict_class(v) for v in cl["verdict"]])


def _refs(labels: list[str]) -> list:
    out = []
    for i, lab in enumerate(labels):
        out += [Ref(lab), " and " if i == len(labels) - 2 else ", " if i < len(labels) - 2 else ""]
    return out


def _finish(s: Section, main: Table, cmp_table: Table | None, figs: list[Fig],
            figure_text: str) -> Section:
    s.blocks.append(main)
    if cmp_table is not None:
        s.para(Ref(cmp_table.label), " sets our numbers beside the paper's.")
        s.blocks.append(cmp_table)
    if figs:
        s.para(*_refs([f.label for f in figs]),
               figure_text.replace("{verb}", "shows" if len(figs) == 1 else "show"))
        s.blocks += figs
    return s


def _metric_table(label: str, caption: str, df: pd.DataFrame, spec, wide=None) -> Table:
    """Metrics as rows, policies as columns (like Table 1)."""
    policies = order_policies(set(df["policy"].astype(str)))
    rows = []
    for col, name, fmt in spec:
        cells = []
        for p in policies:
            r = _row(df, p)
            cells.append(fmt(r) if callable(fmt) and col is None else
                         fmt(_val(r, col)) if col in df.columns else "–")
        rows.append([name] + cells)
    return Table(label, caption, ["Metric"] + [policy_label(p) for p in policies], rows,
                 ["l"] + ["r"] * len(policies),
                 wide=len(policies) > 3 if wide is None else wide)


# Fig. 1: Redis memory bloat -----------------------------------------------------------------

PAPER_BLOAT_RATIO = {"linux-thp": 28 / 45, "ingens": 20 / 45}


def _oom_text(r) -> str:
    if r is None or _bad(_val(r, "oom")):
        return "–"
    if not _val(r, "oom"):
        return "no"
    phase = _text(r, "oom_phase")
    t = _val(r, "oom_time_s")
    return "yes" + (f", in {phase}" if phase else "") + (f" at {fmt_num(t, 3)} s" if not _bad(t) else "")


FIG_BLOAT_ROWS = [
    ("p1_live_bytes", "P1 live data set", fmt_mib),
    ("peak_rss_bytes", "Peak RSS", fmt_mib),
    ("rss_end_p2_bytes", "RSS at end of P2", fmt_mib),
    ("live_end_p2_bytes", "Live data at end of P2", fmt_mib),
    ("bloat_end_p2_bytes", "Bloat at end of P2", fmt_mib),
    ("bloat_share_of_rss", "– share of RSS", fmt_pct),
    ("bloat_ratio", "– ratio to P1 data set", lambda x: fmt_num(x, 3)),
    ("peak_bloat_bytes", "Peak bloat", fmt_mib),
    ("peak_bloat_ratio", "– ratio to P1 data set", lambda x: fmt_num(x, 3)),
    ("rss_over_live_end", "RSS / live data at the end", lambda x: fmt_num(x, 3)),
    (None, "Out of memory", _oom_text),
    ("runtime_s", "Run time (s)", lambda x: fmt_num(x, 4)),
]


def _bloat_findings(ctx: Context, df: pd.DataFrame) -> list:
    thp, ing = _row(df, "linux-thp"), _row(df, "ingens")
    hk = _row(df, "hawkeye-pmu")
    if hk is None:
        hk = _row(df, "hawkeye-g")
    parts = []
    if thp is not None:
        parts.append(f"In the Redis bloat test, Linux THP's bloat at the end of the delete phase "
                     f"was {fmt_num(_val(thp, 'bloat_ratio'), 2)} of the P1 data set (paper: "
                     f"28 of 45 GB = 0.62)")
        if ing is not None:
            parts[-1] += f" and Ingens's {fmt_num(_val(ing, 'bloat_ratio'), 2)} (paper: 0.44)"
        ooms = [policy_label(p) for p in ("linux-thp", "ingens")
                if _row(df, p) is not None and _val(_row(df, p), "oom") == 1]
        parts[-1] += ("; " + " and ".join(ooms) + " ran out of memory" if ooms else
                      "; neither ran out of memory (in the paper both do, in P3)")
    if hk is not None:
        base = _row(df, "linux-4k")
        tail = (f" (Linux 4 KiB: {fmt_num(_val(base, 'rss_over_live_end'), 3)})"
                if base is not None else "")
        parts.append(f"HawkEye {'completed' if not _val(hk, 'oom') else 'ran out of memory'}"
                     f" with an RSS of {fmt_num(_val(hk, 'rss_over_live_end'), 3)}× its live data "
                     f"set at the end{tail}")
    return ["; ".join(parts) + "."] if parts else []


@section("fig_bloat", abstract=_bloat_findings)
def section_fig_bloat(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-fig_bloat", "Memory bloat: Redis delete and refill (paper Fig. 1)")
    s.para("The paper's Fig. 1 shows memory bloat. Redis inserts 11M pairs of a 10 B key and a "
           "4 KB value (45 GB, P1), deletes 80% of the keys at random (P2), pauses, and inserts "
           "17K pairs with 2 MB values until the data set is back at 45 GB (P3). Linux "
           "bloats memory by 28 GB and Ingens by 20 GB (0.62 and 0.44 of the data set); both "
           "run out of memory in P3. HawkEye recovers the bloat from zero-filled base pages, so "
           "its RSS follows the data set and it completes.")
    wl_name, wl = _workload_of(ctx, "fig_bloat")
    params = wl.get("params") or {}
    ts = _time_scale(ctx, "fig_bloat")
    main = _metric_table(
        "tab-fig_bloat",
        f"Redis bloat test (workload {wl_name}: {fmt_value(params)}; "
        f"{fmt_value(_memory_gib(ctx, 'fig_bloat'))} GiB machine), per policy. Bloat: resident "
        f"4 KiB frames never touched since they were mapped. End of P2: the last sample before "
        f"P3 starts (after the pause). Ratios are against the P1 data set, so they compare with "
        f"the paper's 28/45 and 20/45.", df, FIG_BLOAT_ROWS)
    p1 = df["p1_live_bytes"].max() if "p1_live_bytes" in df.columns else float("nan")
    parts = [f"We run the same phases at 1/{fmt_num(11e6 / params['n_keys'], 3)} of the paper's "
             f"keys" if params.get("n_keys") else "We run the same phases",
             f" (a P1 data set of {fmt_mib(p1)}) on a machine whose memory is scaled with the "
             f"data set, with every policy period scaled by {fmt_value(ts)}. ",
             Ref(main.label), " lists the results."]
    for p in ("linux-thp", "ingens"):
        r = _row(df, p)
        if r is not None:
            parts.append(f" {policy_label(p)}'s bloat at the end of P2 is "
                         f"{fmt_mib(_val(r, 'bloat_end_p2_bytes'))}, "
                         f"{fmt_num(_val(r, 'bloat_ratio'), 3)} of the P1 data set (paper: "
                         f"{fmt_num(PAPER_BLOAT_RATIO[p], 2)}); its peak bloat is "
                         f"{fmt_num(_val(r, 'peak_bloat_ratio'), 3)}; out of memory: "
                         f"{_oom_text(r)}.")
    for p in ("hawkeye-pmu", "hawkeye-g"):
        r = _row(df, p)
        if r is not None:
            parts.append(f" {policy_label(p)}: out of memory {_oom_text(r)}, RSS at the end "
                         f"{fmt_num(_val(r, 'rss_over_live_end'), 3)}× the live data set.")
    b = _row(df, "linux-4k")
    if b is not None:
        parts.append(f" With 4 KiB pages the RSS ends at {fmt_num(_val(b, 'rss_over_live_end'), 3)}× "
                     f"the live data set: the allocator's own fragmentation, which no huge-page "
                     f"policy can recover.")
    s.para(*parts)
    return _finish(s, main, _claims_table(ctx, ["Fig. 1"], "tab-fig_bloat-claims", "Fig. 1"),
                   figures_for(ctx, "fig_bloat"),
                   " {verb} RSS, bloat and the live data set over time; a policy without bloat has "
                   "an RSS that falls with the data set in P2 and rises with it in P3.")


# Fig. 5: promotion order -------------------------------------------------------------------------

def _promotion_findings(ctx: Context, df: pd.DataFrame) -> list:
    out = []
    for wl in dict.fromkeys(df.get("workload", pd.Series(dtype=str)).astype(str)):
        hk = _one(df, workload=wl, policy="hawkeye-pmu")
        if hk is None:
            continue
        out.append(f"{wl} {fmt_faster(_val(hk, 'gain_vs_linux_thp'))} than Linux THP and "
                   f"{fmt_faster(_val(hk, 'gain_vs_ingens'))} than Ingens")
    if not out:
        return []
    frags = sorted(set(pd.to_numeric(df.get("fragmentation"), errors="coerce").dropna()))
    where = (f" on memory with {', '.join(fmt_pct(f, 0) for f in frags)} of the free blocks "
             f"fragmented" if frags and max(frags) > 0 else "")
    return [f"With huge pages only from background promotion{where}, HawkEye-PMU's "
            f"access-coverage order ran " + "; ".join(out) +
            " (paper: 13–22% faster on Graph500 and XSBench; XSBench is not modelled)."]


@section("fig_promotion", abstract=_promotion_findings)
def section_fig_promotion(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-fig_promotion", "Promotion order (paper Fig. 5)")
    s.para("Linux's khugepaged and Ingens promote huge pages in virtual-address order, low "
           "addresses first; HawkEye promotes the regions with the most TLB misses first "
           "(access coverage), and HawkEye-PMU picks the process with the highest measured MMU "
           "overhead. The paper's Fig. 5 reports that this order makes Graph500 and XSBench "
           "13–22% faster than address order. XSBench is not modelled here; we run Graph500 and "
           "a hotspot benchmark whose hot data sit at high addresses, where address order "
           "reaches them last.")
    e = _exp_cfg(ctx, "fig_promotion")
    header = ["Policy", "Run time (s)", "Speedup vs 4 KiB", "vs Linux THP", "vs Ingens",
              "MMU overhead", "Promotions", "Half promoted (s)"]
    rows, classes = [], []
    for wl in dict.fromkeys(df.get("workload", pd.Series(dtype=str)).astype(str)):
        rows.append([f"Workload {wl}"])
        classes.append("group")
        sub = _rows(df, workload=wl)
        for p in order_policies(set(sub["policy"].astype(str))):
            r = _one(sub, policy=p)
            rows.append([policy_label(p), fmt_num(_val(r, "runtime_s"), 4),
                         fmt_ratio(_val(r, "speedup")), fmt_gain(_val(r, "gain_vs_linux_thp")),
                         fmt_gain(_val(r, "gain_vs_ingens")), fmt_pct(_val(r, "mmu_overhead")),
                         fmt_int(_val(r, "promotions")),
                         fmt_num(_val(r, "time_to_half_promoted_s"), 3)])
            classes.append("")
    main = Table("tab-fig_promotion",
                 "Promotion order: run time, speedup over Linux with 4 KiB pages, gain over "
                 "the address-order promoters (runtime of Linux THP or Ingens / ours − 1; "
                 "positive = faster), MMU overhead (page-walk cycles / user cycles), promotions "
                 "and the time until half of the run's peak huge pages were mapped.",
                 header, rows, ["l"] + ["r"] * 7, row_classes=classes, wide=True)
    parts = [f"Here huge pages come only from background promotion (fault-time huge pages are "
             f"off), and every policy period is scaled by {fmt_value(e.get('time_scale', 1))}. ",
             Ref(main.label), " lists the results."]
    for wl in dict.fromkeys(df.get("workload", pd.Series(dtype=str)).astype(str)):
        for p in ("hawkeye-pmu", "hawkeye-g"):
            r = _one(df, workload=wl, policy=p)
            if r is None:
                continue
            parts.append(f" On {wl}, {policy_label(p)} made {fmt_int(_val(r, 'promotions'))} "
                         f"promotions and ran {fmt_faster(_val(r, 'gain_vs_linux_thp'))} than "
                         f"Linux THP and {fmt_faster(_val(r, 'gain_vs_ingens'))} than Ingens.")
    s.para(*parts)
    return _finish(s, main, _claims_table(ctx, ["Fig. 5"], "tab-fig_promotion-claims", "Fig. 5"),
                   figures_for(ctx, "fig_promotion"),
                   " {verb} how MMU overhead falls as each policy maps huge pages: the earlier the "
                   "hot regions are promoted, the sooner the overhead drops.")


# §6: fairness ------------------------------------------------------------------------------------

def _fairness_findings(ctx: Context, df: pd.DataFrame) -> list:
    alls = _rows(df, process="all")
    if alls.empty:
        return []
    parts = []
    for p in order_policies(set(alls["policy"].astype(str))):
        if p == "linux-4k":
            continue
        r = _one(alls, policy=p)
        parts.append(f"{policy_label(p)} {fmt_ratio(_val(r, 'speedup'))} (Jain "
                     f"{fmt_fixed(_val(r, 'jain_index'), 3)})")
    return ["Co-running processes on fragmented memory sped up, as geometric mean over "
            "Linux 4 KiB pages, by: " + ", ".join(parts) + "."] if parts else []


@section("fig_fairness", abstract=_fairness_findings)
def section_fig_fairness(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-fig_fairness", "Fairness among co-running processes (paper §6)")
    s.para("HawkEye-PMU gives huge pages first to the process with the highest measured MMU "
           "overhead, HawkEye-G to the one with the most estimated TLB pressure; Linux serves "
           "processes in the order khugepaged scans them, Ingens by a fairness share. The paper "
           "runs workloads together on fragmented memory and reports that even HawkEye-G "
           "improves their run times markedly over Linux (the speedups themselves are not "
           "available to us).")
    e = _exp_cfg(ctx, "fig_fairness")
    procs = ", ".join(str(p.get("name", p.get("workload"))) for p in e.get("processes", []))
    frag = (e.get("pressure") or {}).get("fragmentation")
    header = ["Process", "Run time (s)", "Speedup", "Huge pages (end)", "Huge pages (peak)",
              "MMU overhead", "First huge page (s)"]
    rows, classes = [], []
    for p in order_policies(set(df["policy"].astype(str))):
        a = _one(df, policy=p, process="all")
        order = _text(a, "huge_page_order")
        rows.append([f"{policy_label(p)}: geo-mean speedup {fmt_ratio(_val(a, 'speedup'))}, "
                     f"Jain index {fmt_fixed(_val(a, 'jain_index'), 3)}"
                     + (f"; huge pages first to {order}" if order else "")])
        classes.append("group")
        for r in _rows(df, policy=p).itertuples(index=False):
            r = r._asdict()
            if str(r.get("process")) == "all":
                continue
            rows.append([str(r.get("process")), fmt_num(r.get("runtime_s"), 4),
                         fmt_ratio(r.get("speedup")), fmt_int(r.get("final_huge_pages")),
                         fmt_int(r.get("peak_huge_pages")), fmt_pct(r.get("mmu_overhead")),
                         fmt_num(r.get("first_huge_s"), 3)])
            classes.append("")
    interval = e.get("sample_interval_s", 1.0)
    main = Table("tab-fig_fairness",
                 f"Co-running processes ({procs}) on fragmented memory, per policy: each "
                 f"process's run time and speedup over the same process under Linux with 4 KiB "
                 f"pages, huge pages held, MMU overhead and when it first held a huge page (to "
                 f"the sampling interval, {fmt_value(interval)} s; '=' in the order marks "
                 f"processes first seen in the same sample). Jain's index is over the "
                 f"per-process speedups.", header, rows, ["l"] + ["r"] * 6,
                 row_classes=classes, wide=True)
    alls = _rows(df, process="all")
    parts = [f"The processes start together on a {fmt_value(_memory_gib(ctx, 'fig_fairness'))} "
             f"GiB machine with {fmt_pct(frag, 0) if frag is not None else '?'} of the free "
             f"blocks fragmented. ", Ref(main.label), " lists the results."]
    if len(alls):
        best = alls.loc[pd.to_numeric(alls["speedup"], errors="coerce").idxmax()] \
            if pd.to_numeric(alls["speedup"], errors="coerce").notna().any() else None
        if best is not None:
            parts.append(f" The highest geometric-mean speedup is "
                         f"{policy_label(str(best['policy']))}'s, "
                         f"{fmt_ratio(_val(best, 'speedup'))}.")
        thp = _one(alls, policy="linux-thp")
        for p in ("hawkeye-pmu", "hawkeye-g"):
            r = _one(alls, policy=p)
            if r is not None and thp is not None:
                rel = _val(r, "speedup") / _val(thp, "speedup") - 1 \
                    if _val(thp, "speedup") else float("nan")
                parts.append(f" {policy_label(p)}: {fmt_ratio(_val(r, 'speedup'))}, "
                             f"{fmt_faster(rel)} than Linux THP.")
    s.para(*parts)
    return _finish(s, main, _claims_table(ctx, ["§6 (fairness)"], "tab-fig_fairness-claims",
                                          "fairness"),
                   figures_for(ctx, "fig_fairness"),
                   " {verb} each process's speedup and the huge pages it held over time.")


# the sweep ---------------------------------------------------------------------------------------

def _sweep_summary(df: pd.DataFrame) -> dict:
    """Per policy: geometric mean of runtime_norm, grid points where it was fastest, OOMs."""
    out = {}
    if "variant" not in df.columns:
        return out
    best = {}
    for v, sub in df.groupby("variant", sort=False):
        rt = pd.to_numeric(sub["runtime_s"], errors="coerce")
        ok = sub[(pd.to_numeric(sub.get("oom", 0), errors="coerce").fillna(0) == 0) & rt.notna()]
        if len(ok):
            m = pd.to_numeric(ok["runtime_s"]).min()
            best[v] = set(ok.loc[pd.to_numeric(ok["runtime_s"]) <= m * 1.001, "policy"].astype(str))
    for p in order_policies(set(df["policy"].astype(str))):
        sub = _rows(df, policy=p)
        norm = pd.to_numeric(sub.get("runtime_norm"), errors="coerce").dropna()
        out[p] = {"geo": float(np.exp(np.log(norm[norm > 0]).mean())) if (norm > 0).any()
                  else float("nan"),
                  "fastest": sum(1 for v in sub["variant"] if p in best.get(v, ())),
                  "points": len(sub),
                  "oom": int(pd.to_numeric(sub.get("oom"), errors="coerce").fillna(0).sum())}
    return out


def _sweep_findings(ctx: Context, df: pd.DataFrame) -> list:
    summ = _sweep_summary(df)
    if not summ:
        return []
    parts = [f"{policy_label(p)} {fmt_fixed(v['geo'], 3)}" for p, v in summ.items()
             if p != "linux-4k"]
    n = len(df["variant"].unique())
    return [f"Over the {n}-point memory-pressure sweep, the geometric-mean run time relative to "
            f"Linux 4 KiB pages was: " + ", ".join(parts) + "."]


@section("sweep", abstract=_sweep_findings)
def section_sweep(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-sweep", "Memory pressure sweep")
    e = _exp_cfg(ctx, "sweep")
    sw = e.get("sweep") or {}
    s.para(f"Every workload runs under every policy at every combination of fragmentation "
           f"(share of free 2 MiB blocks holding one unmovable page: "
           f"{', '.join(fmt_pct(f, 0) for f in sw.get('fragmentation', []))}) and memory held "
           f"by other tenants ({', '.join(fmt_pct(t, 0) for t in sw.get('tenant_fraction', []))})"
           f", on a {fmt_value(_memory_gib(ctx, 'sweep'))} GiB machine. This is not an "
           f"experiment of the paper; it shows where each policy's advantage holds and where it "
           f"turns.")
    policies = order_policies(set(df["policy"].astype(str)))
    rows = []
    for v in dict.fromkeys(df["variant"].astype(str)) if "variant" in df.columns else []:
        sub = _rows(df, variant=v)
        r0 = sub.iloc[0]
        rt = {str(r["policy"]): _val(r, "runtime_s") for _, r in sub.iterrows()
              if not _val(r, "oom")}
        fastest = min((x for x in rt.values() if not _bad(x)), default=float("nan"))
        cells = []
        for p in policies:
            r = _one(sub, policy=p)
            if r is None:
                cells.append("–")
                continue
            c = fmt_num(_val(r, "runtime_norm"), 3)
            if _val(r, "oom"):
                c += " OOM"
            elif not _bad(fastest) and _val(r, "runtime_s") <= fastest * 1.001:
                c += "*"
            cells.append(c)
        rows.append([str(r0.get("workload", v)), fmt_pct(_val(r0, "fragmentation"), 0),
                     fmt_pct(1 - _val(r0, "tenant_fraction"), 0)] + cells)
    main = Table("tab-sweep", "Run time relative to Linux with 4 KiB pages at the same memory "
                 "pressure, per workload, fragmentation and share of memory free (not held by "
                 "other tenants). * marks the fastest policy (within 0.1%); OOM: the run ran out "
                 "of memory. The full table (faults, fault-latency quantiles, bloat, MMU "
                 "overhead) is results/tables/sweep.csv.",
                 ["Workload", "Frag.", "Free"] + [policy_label(p) for p in policies], rows,
                 ["l", "r", "r"] + ["r"] * len(policies), wide=True)
    summ = _sweep_summary(df)
    parts = [Ref(main.label), " lists the run times."]
    if summ:
        parts.append(" Geometric mean over the grid, relative to Linux 4 KiB pages, and the "
                     "number of grid points where the policy was fastest: " + "; ".join(
                         f"{policy_label(p)} {fmt_fixed(v['geo'], 3)} ({v['fastest']} of "
                         f"{v['points']}" + (f", {v['oom']} out of memory" if v['oom'] else "")
                         + ")" for p, v in summ.items() if p != "linux-4k") + ".")
    if "peak_bloat_bytes" in df.columns:
        worst = df.loc[pd.to_numeric(df["peak_bloat_bytes"], errors="coerce").idxmax()]
        parts.append(f" The largest bloat is {policy_label(str(worst['policy']))}'s "
                     f"{fmt_mib(worst['peak_bloat_bytes'])} on {worst.get('workload', '?')} at "
                     f"{fmt_pct(_val(worst, 'fragmentation'), 0)} fragmentation.")
    s.para(*parts)
    return _finish(s, main, None, figures_for(ctx, "sweep"),
                   " {verb} run time, tail fault latency and bloat across the grid.")


# §6: overhead ------------------------------------------------------------------------------------

def _overhead_findings(ctx: Context, df: pd.DataFrame) -> list:
    alls = _rows(df, thread="all")
    parts = []
    for p in ("hawkeye-pmu", "hawkeye-g"):
        sub = _rows(alls, policy=p)
        if len(sub):
            pct = pd.to_numeric(sub["cpu_pct_of_core"], errors="coerce").max()
            parts.append(f"{fmt_num(pct, 3)}% ({policy_label(p)})")
    if not parts:
        return []
    out = ("HawkEye's background threads used at most " + " and ".join(parts) + " of one "
           "core (paper: at most 3.4%; our policy periods are time-scaled, which raises this "
           "share)")
    eff = _one(df, policy="hawkeye-pmu", experiment="fig_promotion", workload="graph500",
               thread="all")
    if eff is not None and not _bad(_val(eff, "efficiency_vs_linux_thp")):
        out += (f"; per promotion HawkEye-PMU saved {fmt_x(_val(eff, 'efficiency_vs_linux_thp'))}"
                f" as much run time as Linux THP on Graph500 (paper: 44× on XSBench)")
    return [out + "."]


@section("overhead", abstract=_overhead_findings)
def section_overhead(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-overhead", "Cost of the background threads and promotion efficiency (paper §6)")
    s.para("The paper reports that HawkEye's background work (access tracking, MMU profiling, "
           "promotion, pre-zeroing, bloat recovery) costs at most about 3.4% of one core, and "
           "that HawkEye-PMU is 44× more efficient than Linux in run time saved per promotion "
           "on XSBench. XSBench is not modelled; we measure efficiency on the runs of the "
           "promotion experiment (Graph500, hotspot) and of the Redis bloat test.")
    header = ["Policy", "CPU (% of core)", "Busiest thread", "Promotions", "per CPU s",
              "Saved / promotion (ms)", "vs Linux THP"]
    rows, classes = [], []
    runs = list(dict.fromkeys(zip(df.get("experiment", pd.Series(dtype=str)).astype(str),
                                  df.get("workload", pd.Series(dtype=str)).astype(str))))
    for exp, wl in runs:
        rows.append([f"{wl} ({exp}, time scale {fmt_value(_time_scale(ctx, exp))})"])
        classes.append("group")
        sub = _rows(df, experiment=exp, workload=wl)
        for p in order_policies(set(sub["policy"].astype(str))):
            a = _one(sub, policy=p, thread="all")
            th = _rows(sub, policy=p)
            th = th[th["thread"].astype(str) != "all"]
            busiest = "–"
            if len(th):
                b = th.loc[pd.to_numeric(th["cpu_pct_of_core"], errors="coerce").idxmax()]
                busiest = f"{b['thread']} {fmt_num(_val(b, 'cpu_pct_of_core'), 3)}%"
            rows.append([policy_label(p), fmt_num(_val(a, "cpu_pct_of_core"), 3), busiest,
                         fmt_int(_val(a, "promotions")), fmt_num(_val(a, "promotions_per_cpu_s"), 4),
                         fmt_num(1e3 * _val(a, "time_saved_per_promotion_s"), 3),
                         fmt_eff(_val(a, "efficiency_vs_linux_thp"))])
            classes.append("")
    main = Table("tab-overhead",
                 "Background threads per run and policy: CPU time of all threads as a share "
                 "of one core over the run, the busiest thread, promotions, promotions per CPU "
                 "second, run time saved against Linux with 4 KiB pages per promotion, and that "
                 "efficiency relative to Linux THP's.", header, rows, ["l"] + ["r"] * 6,
                 row_classes=classes, wide=True)
    scales = sorted({(exp, _time_scale(ctx, exp)) for exp, _ in runs}, key=lambda x: x[0])
    parts = [Ref(main.label), " lists the results."]
    scaled = {}
    for e, t in scales:
        if t != 1:
            scaled.setdefault(t, []).append(e)
    if scaled:
        parts.append(" Caution: " + "; ".join(
            f"{' and '.join(es)} run{'s' if len(es) == 1 else ''} with every policy period "
            f"scaled by {fmt_value(t)}" for t, es in scaled.items()) +
                     ". The threads then wake 1/scale times as often per simulated second while "
                     "each pass does the same work, so their share of a core is up to 1/scale "
                     "times what the paper's periods would give; the claim below holds our "
                     "measured share against the paper's bound as it is.")
    s.para(*parts)
    return _finish(s, main, _claims_table(ctx, ["§6 (overhead)", "§6 (promotion efficiency)"],
                                          "tab-overhead-claims", "overhead and efficiency"),
                   figures_for(ctx, "overhead"),
                   " {verb} the CPU share and the run time saved per promotion.")


# where HawkEye wins and loses ------------------------------------------------------------------------

HAWKEYE = ("hawkeye-pmu", "hawkeye-g")


def scorecard(tables: dict[str, pd.DataFrame], hawkeye: str = "hawkeye-pmu") -> list[dict]:
    """Every setting where the tables give run times: HawkEye's against the fastest other
    policy's.  gain = best other run time / HawkEye's - 1 (positive: HawkEye faster)."""
    settings = []

    def add(name, sub):
        rt = {str(r["policy"]): _val(r, "runtime_s") for _, r in sub.iterrows()
              if not _val(r, "oom") and not _bad(_val(r, "runtime_s"))}
        if hawkeye not in rt:
            return
        others = {p: t for p, t in rt.items() if p not in HAWKEYE}
        if not others:
            return
        best = min(others, key=lambda p: (others[p], p))
        settings.append({"setting": name, "hawkeye": rt[hawkeye], "best": best,
                         "best_runtime": others[best],
                         "gain": others[best] / rt[hawkeye] - 1 if rt[hawkeye] else float("nan")})

    if "fig_promotion" in tables and "workload" in tables["fig_promotion"].columns:
        df = tables["fig_promotion"]
        for wl in dict.fromkeys(df["workload"].astype(str)):
            add(f"{wl}, promotion only", _rows(df, workload=wl))
    if "fig_bloat" in tables:
        add("Redis bloat test", tables["fig_bloat"])
    if "fig_fairness" in tables and "process" in tables["fig_fairness"].columns:
        df = tables["fig_fairness"]
        for proc in dict.fromkeys(df["process"].astype(str)):
            if proc != "all":
                add(f"{proc} co-running", _rows(df, process=proc))
    if "sweep" in tables and "variant" in tables["sweep"].columns:
        df = tables["sweep"]
        for v in dict.fromkeys(df["variant"].astype(str)):
            sub = _rows(df, variant=v)
            r0 = sub.iloc[0]
            add(f"{r0.get('workload', v)} at {fmt_pct(_val(r0, 'fragmentation'), 0)} "
                f"fragmentation, {fmt_pct(1 - _val(r0, 'tenant_fraction'), 0)} free", sub)
    return settings


def _scorecard_findings(ctx: Context) -> list:
    out = []
    for hk in HAWKEYE:
        sc = [x for x in scorecard(ctx.tables, hk) if not _bad(x["gain"])]
        if not sc:
            continue
        wins = [x for x in sc if x["gain"] > 0.005]
        ties = [x for x in sc if -0.005 <= x["gain"] <= 0.005]
        losses = [x for x in sc if x["gain"] < -0.005]
        text = (f"{policy_label(hk)} ran faster than every other policy in {len(wins)} of "
                f"{len(sc)} settings, within 0.5% of the fastest in {len(ties)} and slower "
                f"in {len(losses)}")
        if wins:
            w = max(wins, key=lambda x: x["gain"])
            text += (f"; its largest win: {fmt_faster(w['gain'])} than "
                     f"{policy_label(w['best'])}, the fastest other policy ({w['setting']})")
        if losses:
            lo = min(losses, key=lambda x: x["gain"])
            text += (f"; its largest loss: {fmt_faster(lo['gain'])} than "
                     f"{policy_label(lo['best'])} ({lo['setting']})")
        out.append(text + ".")
    if not out:
        return []
    return ["Where HawkEye wins and loses, by run time against the fastest non-HawkEye policy "
            "in each setting of the tables (runs that ran out of memory left out): "
            + " ".join(out)]


# generic section for experiments without a builder ------------------------------------------

def section_generic(ctx: Context, name: str, df: pd.DataFrame) -> Section:
    s = Section(f"sec-{name}", f"Experiment {name}")
    header = list(df.columns)
    rows = []
    for r in df.itertuples(index=False):
        rows.append([policy_label(str(v)) if c == "policy" else
                     (fmt_num(v, 4) if isinstance(v, (int, float)) and not isinstance(v, bool)
                      else str(v)) for c, v in zip(header, r)])
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in header]
    t = Table(f"tab-{name}", f"Table {name} as built by report.tables (columns and units: "
              f"report/README.md).", header, rows, ["r" if n else "l" for n in numeric],
              wide=len(header) > 5)
    s.para(Ref(t.label), f" lists the results of experiment {name}.")
    s.blocks.append(t)
    figs = figures_for(ctx, name)
    s.blocks += figs
    return s


# fixed sections -----------------------------------------------------------------------------

def section_intro(ctx: Context, experiments: list[str]) -> Section:
    s = Section("sec-intro", "Introduction")
    s.para("HawkEye (Panwar, Bansal and Gopinath, ASPLOS'19) manages huge pages in the "
           "operating system with four ideas: asynchronous pre-zeroing of free pages, "
           "recovery of memory bloat from zero-filled base pages, promotion of the regions "
           "with the most TLB pressure first (access coverage), and fair allocation of huge "
           "pages across processes by measured MMU overhead. It is compared with Linux "
           "transparent huge pages, FreeBSD's reservations and Ingens.")
    parts = ["This report re-runs the paper's experiments on a simulator: a machine model with "
             "physical memory, page tables, TLBs and a cost for every page fault, zeroing and "
             "page walk, replaying memory traces of the paper's workloads under each policy. ",
             Ref("sec-setup"), " describes the simulated machine and every parameter"]
    if experiments:
        parts += ["; "]
        for i, e in enumerate(experiments):
            parts += [Ref(f"sec-{e}"), " and " if i == len(experiments) - 2 else
                      ", " if i < len(experiments) - 2 else ""]
        parts += [" report the experiments of this run"]
    parts += [", and ", Ref("sec-claims"), " checks the paper's claims one by one."]
    s.para(*parts)
    return s


def section_setup(ctx: Context) -> Section:
    s = Section("sec-setup", "Setup")
    cfg, comments = ctx.cfg, yaml_comments(ctx.cfg_text)
    m = cfg["machine"]
    s.para(f"The simulated machine has {fmt_value(m.get('memory_gib'))} GiB of memory and a "
           f"{fmt_value(m.get('cpu_ghz'))} GHz clock (the paper's Haswell Xeon E5-2690 v3 with "
           f"96 GB). Each process runs on its own core; policy background threads run on other "
           f"cores and are accounted separately. ", Ref("tab-machine"),
           " lists every machine parameter, ", Ref("tab-policies"),
           " every policy option and ", Ref("tab-experiments"), " the experiments of this "
           f"profile ({fmt_value(cfg.get('profile', '?'))}, seed {fmt_value(cfg.get('seed', '?'))}).")
    mrows, mclasses = [], []
    for group, title in (("machine", "Machine"), ("pressure", "Memory pressure")):
        items = cfg.get(group) or {}
        scalars = [(k, v) for k, v in items.items() if not isinstance(v, dict)]
        nested = [(k, v) for k, v in items.items() if isinstance(v, dict)]
        for sub, entries in [(None, scalars)] + [(k, flatten(v, k + ".")) for k, v in nested]:
            if not entries:
                continue
            mrows.append([title if sub is None else f"{title}: {sub}"])
            mclasses.append("group")
            for key, v in entries:
                unit = unit_of(key)
                mrows.append([key.split(".", 1)[1] if sub else key,
                              fmt_value(v) + (f" {unit}" if unit else "")])
                mclasses.append("")
    s.blocks.append(Table("tab-machine", "Machine and memory-pressure parameters. "
                          "The source of every value is a comment in config/config.yaml "
                          "(Appendix A).", ["Parameter", "Value"], mrows, ["l", "r"],
                          ["1fr", "auto"], row_classes=mclasses))
    prows, pclasses = [], []
    for policy in order_policies(cfg.get("policies") or {}):
        opts = cfg["policies"][policy] or {}
        note = note_for(comments, f"policies.{policy}")
        prows.append([policy_label(policy) + (f" ({note})" if note else "")])
        pclasses.append("group")
        for key, v in (flatten(opts) if opts else [("(no options)", "")]):
            unit = unit_of(key)
            prows.append([key, fmt_value(v) + (f" {unit}" if unit else "")])
            pclasses.append("")
    s.blocks.append(Table("tab-policies", "Policy options, grouped by policy. The source "
                          "of every value is a comment in config/config.yaml (Appendix A).",
                          ["Option", "Value"], prows, ["l", "r"], ["1fr", "auto"],
                          row_classes=pclasses))
    erows = []
    for name, e in (cfg.get("experiments") or {}).items():
        wl = (cfg.get("workloads") or {}).get(e.get("workload"), {})
        erows.append([name, f"{e.get('workload')} ({wl.get('kind', '?')}: "
                      f"{fmt_value(wl.get('params') or {})})",
                      ", ".join(policy_label(p) for p in e.get("policies", [])),
                      fmt_value(e.get("sample_interval_s", 1.0)) + " s"])
    s.blocks.append(Table("tab-experiments", "Experiments: workload, policies and the "
                          "interval at which time series are sampled.",
                          ["Experiment", "Workload", "Policies", "Sampling"], erows,
                          ["l", "l", "l", "r"], ["auto", "1fr", "1fr", "auto"], wide=True))
    return s


def section_claims(ctx: Context) -> Section:
    s = Section("sec-claims", "Claims")
    cl = ctx.claims
    counts = cl["verdict"].value_counts()
    s.para(f"config/claims.yaml lists {len(cl)} checkable claims of the paper; ",
           Ref("tab-claims"), f" holds each against this run. {counts.get('reproduced', 0)} are "
           f"reproduced (within the claim's tolerance), {counts.get('partly', 0)} partly "
           f"(within the wider tolerance), {counts.get('not reproduced', 0)} are not, and "
           f"{counts.get('not measured', 0)} are not measured, because their experiment is not "
           f"part of this run or the table lacks the row. The paper's numbers come from "
           f"secondary summaries of the paper (the full text was not available); claims marked "
           f"with a range or bound compare against that range or bound.")
    rows, classes = [], []
    for r in cl.itertuples():
        v = _verdict_class(r.verdict)
        rows.append([r.id, fmt_num(r.paper_value, 3), fmt_num(r.our_value, 4),
                     "–" if _bad(r.rel_error) else f"{100 * r.rel_error:+.1f}%", r.verdict])
        reason = "" if pd.isna(r.reason) else f" — {r.reason}."
        rows.append([f"{r.source}: {r.statement}{reason}"])
        classes += [v + " has-detail", v + " detail"]
    s.blocks.append(Table("tab-claims", "The paper's claims against this run. Each claim's "
                          "source in the paper and statement follow its row. Error is "
                          "(ours - paper) / paper, or the distance past the paper's range or bound.",
                          ["ID", "Paper", "Ours", "Error", "Verdict"], rows,
                          ["l", "r", "r", "r", "l"], ["1fr", "auto", "auto", "auto", "auto"],
                          row_classes=classes))
    return s


def appendix_config(ctx: Context) -> Section:
    s = Section("sec-config", "Full configuration", appendix=True)
    if _is_json(ctx.cfg_path, ctx.cfg_text):
        s.para(f"The effective configuration of this run ({ctx.cfg_path}: config/config.yaml "
               f"with the profile's overrides), written as YAML. The source of every value is "
               f"given as a comment in config/config.yaml.")
        text = yaml.safe_dump(ctx.cfg, sort_keys=False, default_flow_style=None,
                              allow_unicode=True, width=96)
    else:
        s.para(f"The configuration this report was rendered with ({ctx.cfg_path}), verbatim, "
               f"with the source of every value as a comment:")
        text = ctx.cfg_text
    s.blocks.append(Code(text.rstrip("\n"), "yaml"))
    return s


def appendix_software(ctx: Context) -> Section:
    s = Section("sec-software", "Software and provenance", appendix=True)
    commit, dirty = git_commit(ctx.cfg_path.resolve().parent)
    s.para(f"Git commit: {commit}" + (" (the working tree had uncommitted changes)." if dirty
                                       else "."), f" Platform: {platform.platform()}.")
    s.blocks.append(Table("tab-software", "Software versions.", ["Package", "Version"],
                          [[n, v] for n, v in software_versions()], ["l", "l"]))
    return s


def appendix_jobs(ctx: Context) -> Section:
    s = Section("sec-jobs", "Jobs: run time and peak memory", appendix=True)
    b = ctx.benchmarks
    if b.empty:
        s.para(f"No Snakemake benchmark files were found under {ctx.bench_dir}.")
        return s
    rows = [[r.job, fmt_num(r.s, 3), fmt_num(r.cpu_time, 3),
             fmt_num(r.max_rss, 4)] for r in b.itertuples()]
    rows.append(["total", fmt_num(b["s"].sum(), 4), fmt_num(b["cpu_time"].sum(min_count=1), 4),
                 fmt_num(b["max_rss"].max(), 4) + " (max)"])
    s.para(Ref("tab-jobs"), f" lists the {len(b)} jobs of the workflow as measured by Snakemake "
           f"(benchmark files under {ctx.bench_dir}).")
    s.blocks.append(Table("tab-jobs", "Wall-clock time, CPU time and peak resident memory "
                          "(MiB) of each job.", ["Job", "Wall (s)", "CPU (s)", "Peak RSS (MiB)"],
                          rows, ["l", "r", "r", "r"], ["1fr", "auto", "auto", "auto"], wide=True))
    return s


def build_document(ctx: Context) -> Document:
    experiments = list(ctx.tables)
    exp_sections = []
    for name, df in ctx.tables.items():
        builder = SECTIONS.get(name)
        if builder is not None:
            if "policy" not in df.columns:
                raise InputError(f"table {name}.csv has no 'policy' column")
            try:
                exp_sections.append(builder(ctx, df))
            except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
                warn(f"table {name}.csv does not have the layout its section expects "
                     f"({type(e).__name__}: {e}); showing it as a generic section")
                exp_sections.append(section_generic(ctx, name, df))
        else:
            exp_sections.append(section_generic(ctx, name, df))
        log(f"render: section for experiment {name}")
    if not experiments:
        warn("no experiment tables found; the report has no experiment sections")
    sections = [section_intro(ctx, experiments), section_setup(ctx), *exp_sections,
                section_claims(ctx), appendix_config(ctx), appendix_software(ctx),
                appendix_jobs(ctx)]
    abstract = [Para([f"We re-simulate the huge-page experiments of HawkEye (ASPLOS'19) on a "
                      f"{fmt_value(ctx.cfg['machine'].get('memory_gib'))} GiB machine model that "
                      f"charges every page fault, zeroing and page walk, under "
                      f"{_policy_list(order_policies(ctx.cfg.get('policies') or {}))}."])]
    for name, df in ctx.tables.items():
        if name in ABSTRACTS:
            try:
                found = ABSTRACTS[name](ctx, df)
            except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
                warn(f"table {name}.csv: no abstract findings ({type(e).__name__}: {e})")
                found = []
            if found:
                abstract.append(Para(found))
    wins = _scorecard_findings(ctx)
    if wins:
        abstract.append(Para(wins))
    counts = ctx.claims["verdict"].value_counts()
    abstract.append(Para([f"Of the {len(ctx.claims)} claims we check, "
                          f"{counts.get('reproduced', 0)} are reproduced, "
                          f"{counts.get('partly', 0)} partly, "
                          f"{counts.get('not reproduced', 0)} not, and "
                          f"{counts.get('not measured', 0)} are not measured in this run."]))
    commit, _ = git_commit(ctx.cfg_path.resolve().parent)
    byline = [f"Reproduction of: {PAPER}",
              f"Profile {fmt_value(ctx.cfg.get('profile', '?'))} · commit "
              f"{commit[:12] if commit != 'unknown' else 'unknown'}"]
    return Document(TITLE, byline, abstract, sections)


# --- output -------------------------------------------------------------------------------

# light row fills of the claim verdicts in the PDF (the verdict is also written out)
ROW_FILLS = {"v-reproduced": "#e6f4e4", "v-partly": "#fbf3d5", "v-not-reproduced": "#f9e0de"}


def _typst_inline(parts) -> str:
    out = []
    for p in parts:
        out.append(f"#ref(<{p.label}>)" if isinstance(p, Ref) else typst_escape(p))
    return "".join(out)


def _html_inline(parts, names: dict[str, str]) -> str:
    out = []
    for p in parts:
        if isinstance(p, Ref):
            out.append(f'<a href="#{_html.escape(p.label)}">'
                       f'{_html.escape(names.get(p.label, "??"))}</a>')
        else:
            out.append(_html.escape(str(p)))
    return "".join(out)


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def inline_svg(path: Path, prefix: str, title: str) -> str:
    """An SVG file as an element for inlining in HTML: no XML prologue, ids made unique
    with `prefix`, scaling with the page width."""
    svg = path.read_text(encoding="utf-8")
    start = svg.find("<svg")
    if start < 0:
        raise InputError(f"{path}: not an SVG file")
    svg = svg[start:]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    ids = set(_SVG_ID.findall(svg))
    if ids:
        svg = _SVG_ID.sub(lambda m: f'id="{prefix}{m[1]}"', svg)
        svg = re.sub(r'(href=")#([^"]+)"',
                     lambda m: f'{m[1]}#{prefix}{m[2]}"' if m[2] in ids else m[0], svg)
        svg = re.sub(r"url\(#([^)]+)\)",
                     lambda m: f"url(#{prefix}{m[1]})" if m[1] in ids else m[0], svg)
    head_end = svg.find(">")
    head = svg[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    head += (f' class="figure-svg" role="img" aria-label="{_html.escape(title)}"'
             f' preserveAspectRatio="xMidYMid meet"')
    return head + svg[head_end:]


def _env(kind: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=(kind == "html"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.tests["para"] = lambda b: isinstance(b, Para)
    env.tests["table"] = lambda b: isinstance(b, Table)
    env.tests["fig"] = lambda b: isinstance(b, Fig)
    env.tests["code"] = lambda b: isinstance(b, Code)
    return env


def render_typst(doc: Document, typ_path: Path) -> str:
    """Typst source; figure paths are relative to the typst file's directory."""
    env = _env("typst")
    env.filters["t"] = typst_escape
    env.filters["tstr"] = typst_string
    env.filters["inline"] = _typst_inline
    env.filters["relpath"] = lambda p: Path(os.path.relpath(Path(p).resolve(),
                                                            typ_path.parent.resolve())).as_posix()
    return env.get_template("report.typ.j2").render(doc=doc, fills=ROW_FILLS, max_float_rows=MAX_FLOAT_ROWS)


def render_html(doc: Document, names: dict[str, str]) -> str:
    env = _env("html")
    env.filters["inline"] = lambda parts: jinja2.utils.markupsafe.Markup(_html_inline(parts, names))
    env.filters["svg"] = lambda f: jinja2.utils.markupsafe.Markup(
        inline_svg(f.path, f"f{f.number}-", f.caption))
    return env.get_template("report.html.j2").render(doc=doc)


def compile_pdf(typ_path: Path, out_pdf: Path, figures_dir: Path) -> None:
    """Compile with typst; the root directory holds both the source and the figures."""
    import typst
    root = Path(os.path.commonpath([typ_path.parent.resolve(), figures_dir.resolve()]))
    try:
        pdf = typst.compile(str(typ_path), root=str(root))
    except Exception as e:  # typst.TypstError and friends: name the source
        raise InputError(f"typst could not compile {typ_path}: {e}") from e
    atomic_write_bytes(out_pdf, pdf)


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.render", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="config/config.yaml")
    ap.add_argument("--tables", required=True, help="directory of experiment tables")
    ap.add_argument("--figures", required=True, help="directory of SVG figures")
    ap.add_argument("--claims", required=True, help="claims CSV from report.claims")
    ap.add_argument("--benchmarks", default=None,
                    help="directory of Snakemake benchmark TSV files (may be missing)")
    ap.add_argument("--out-html", required=True)
    ap.add_argument("--out-pdf", required=True)
    a = ap.parse_args(argv)
    cfg, text = load_config(a.config)
    figures_dir = require_dir(a.figures, "figures directory")
    ctx = Context(cfg, text, Path(a.config), load_tables(a.tables), load_claims(a.claims),
                  figures_dir, load_benchmarks(a.benchmarks),
                  Path(a.benchmarks) if a.benchmarks else None)
    log(f"render: {len(ctx.tables)} table(s) ({', '.join(ctx.tables) or 'none'}), "
        f"{len(ctx.claims)} claim(s), {len(ctx.benchmarks)} benchmark file(s)")
    doc = build_document(ctx)
    names = doc.number()

    out_html, out_pdf = Path(a.out_html), Path(a.out_pdf)
    atomic_write_text(out_html, render_html(doc, names))
    log(f"render: wrote {out_html}")

    typ_path = out_pdf.with_suffix(".typ")
    atomic_write_text(typ_path, render_typst(doc, typ_path))
    compile_pdf(typ_path, out_pdf, figures_dir)
    log(f"render: wrote {typ_path} and {out_pdf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
