"""The report's inputs: configuration, tables, claims, benchmarks, software and git state."""
from __future__ import annotations

import importlib
import importlib.metadata
import json
import platform
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from report import InputError, log, require_dir, require_file, warn
from report.claims import OUTPUT_COLUMNS as CLAIM_COLUMNS, VERDICTS, Claim
from report.claims import load_claims as load_claim_specs
from report.runs import read_csv
from report.scorecard import COLUMNS as SCORECARD_COLUMNS, NAME as SCORECARD


# Experiments in the order their sections appear; others follow alphabetically.
EXPERIMENT_ORDER = ["table1", "fig_bloat", "fig_promotion", "fig_fairness", "sweep", "overhead"]
SOFTWARE = ["numpy", "numba", "pandas", "matplotlib", "seaborn", "jinja2", "yaml", "snakemake",
            "typst"]


def load_config(path) -> tuple[dict, str]:
    """The configuration (YAML, or the workflow's effective config as JSON) and its text."""
    path = require_file(path, "configuration file")
    text = path.read_text()
    try:
        cfg = json.loads(text) if is_json(path, text) else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not valid {'JSON' if is_json(path, text) else 'YAML'}: "
                         f"{e}") from e
    if not isinstance(cfg, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    for key in ("machine", "policies", "workloads", "experiments"):
        if not isinstance(cfg.get(key), dict):
            raise InputError(f"{path}: missing section {key!r}")
    return cfg, text


def is_json(path: Path, text: str) -> bool:
    return path.suffix == ".json" or text.lstrip().startswith("{")


def load_tables(tables_dir) -> dict[str, pd.DataFrame]:
    """The experiment tables ``<tables_dir>/<experiment>.csv`` by name, in section order
    (EXPERIMENT_ORDER, then alphabetical); the scorecard table is not an experiment's and
    is left out (load_scorecard reads it)."""
    tables_dir = require_dir(tables_dir, "tables directory")
    names = [p.stem for p in tables_dir.glob("*.csv") if p.is_file() and p.stem != SCORECARD]
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


def load_scorecard(path) -> pd.DataFrame | None:
    """The scorecard table (report.scorecard), or None when no path is given."""
    return None if path is None else read_csv(path, SCORECARD_COLUMNS)


def load_paper_claims(path) -> dict[str, Claim]:
    """The claims of config/claims.yaml by id: the paper's numbers the prose cites."""
    return {c.id: c for c in load_claim_specs(path)}


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
    """(name, version) of Python and each SOFTWARE package: its installed
    distribution's version, read without importing it (importing seaborn,
    numba and matplotlib took 1.1 of the render job's 3.6 CPU s, measured
    2026-11-30); a package without distribution metadata is imported for
    its ``__version__``."""
    out = [("python", platform.python_version())]
    for mod in SOFTWARE:
        try:
            v = importlib.metadata.version({"yaml": "PyYAML"}.get(mod, mod))
        except importlib.metadata.PackageNotFoundError:
            try:
                v = getattr(importlib.import_module(mod), "__version__", None) or "unknown"
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
