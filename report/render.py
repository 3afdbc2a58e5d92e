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
            exp_sections.append(builder(ctx, df))
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
            found = ABSTRACTS[name](ctx, df)
            if found:
                abstract.append(Para(found))
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
