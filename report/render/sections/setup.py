"""Section: setup (machine, memory pressure, policy options, experiments), every value with
its unit and source (report.setup reads both from config/schema.yaml)."""
from __future__ import annotations

import pandas as pd

from report import InputError
from report.render.common import PAPER_SETUP, Context
from report.render.document import Ref, Section, Table
from report.render.fmt import fmt_value
from report.render.typst import MAX_FLOAT_ROWS
from report.setup import setup_rows
from report.style import order_policies, policy_label


SOURCE_NOTE = "Units and sources: config/schema.yaml (x-unit, x-source)."


def config_rows(ctx: Context, section: str) -> pd.DataFrame:
    """report.setup.setup_rows for one config section (key, value, unit, source); a value
    the schema gives no source for is an InputError naming the schema."""
    try:
        return setup_rows(ctx.cfg, ctx.schema, section)
    except ValueError as e:
        raise InputError(f"{ctx.schema_path}: {e}") from e


def with_unit(value, unit: str) -> str:
    return fmt_value(value) + (f" {unit}" if unit else "")


def grouped_rows(df: pd.DataFrame, title: str, depth: int = 1):
    """Table rows [key, value, source] under group rows: the leading ``depth`` parts of each
    key name the group (``title: costs``); keys with fewer parts go under ``title`` itself.
    Returns (rows, row classes)."""
    groups: dict[str, list] = {}
    for r in df.itertuples(index=False):
        parts = r.key.split(".")
        group = ".".join(parts[:depth]) if len(parts) > depth else ""
        key = ".".join(parts[depth:]) if len(parts) > depth else r.key
        groups.setdefault(group, []).append([key, with_unit(r.value, r.unit), r.source])
    rows, classes = [], []
    for group in sorted(groups, key=lambda g: g != ""):    # the title's own keys first
        rows.append([f"{title}: {group}" if group else title])
        classes.append("group")
        rows += groups[group]
        classes += [""] * len(groups[group])
    return rows, classes


def section_setup(ctx: Context) -> Section:
    s = Section("sec-setup", "Setup")
    cfg = ctx.cfg
    m = cfg["machine"]
    s.para(f"The simulated machine has {fmt_value(m.get('memory_gib'))} GiB of memory and a "
           f"{fmt_value(m.get('cpu_ghz'))} GHz clock (the paper's Haswell Xeon E5-2690 v3 with "
           f"{PAPER_SETUP['machine_gb']} GB). Each process runs on its own core; policy "
           f"background threads run on other cores and are accounted separately. ",
           Ref("tab-machine"),
           " lists every machine parameter, ", Ref("tab-policies"),
           " and the tables after it every policy option, and ", Ref("tab-experiments"), " the experiments of this "
           f"profile ({fmt_value(cfg.get('profile', '?'))}, seed {fmt_value(cfg.get('seed', '?'))}).")
    mrows, mclasses = [], []
    for group, title in (("machine", "Machine"), ("pressure", "Memory pressure")):
        rows, classes = grouped_rows(config_rows(ctx, group), title)
        mrows += rows
        mclasses += classes
    s.blocks.append(Table("tab-machine", "Machine and memory-pressure parameters, each with "
                          "the source of its value. " + SOURCE_NOTE,
                          ["Parameter", "Value", "Source"], mrows, ["l", "r", "l"],
                          ["auto", "auto", "1fr"], wide=True, row_classes=mclasses))
    pol = config_rows(ctx, "policies")
    blocks: list[list] = []          # [rows, classes] per policy, then packed into tables
    for policy in order_policies(cfg.get("policies") or {}):
        rows, classes = [[policy_label(policy)]], ["group"]
        for r in pol.itertuples(index=False):
            if r.key == policy:            # a policy without options
                rows.append(["(no options)", "", r.source])
            elif r.key.startswith(policy + "."):
                rows.append([r.key[len(policy) + 1:], with_unit(r.value, r.unit), r.source])
            else:
                continue
            classes.append("")
        blocks.append([rows, classes])
    # whole policies per table, each table short enough to float across both PDF columns
    tables: list[list] = []
    for rows, classes in blocks:
        if tables and len(tables[-1][0]) + len(rows) <= MAX_FLOAT_ROWS:
            tables[-1][0] += rows
            tables[-1][1] += classes
        else:
            tables.append([list(rows), list(classes)])
    for i, (prows, pclasses) in enumerate(tables):
        s.blocks.append(Table("tab-policies" + (f"-{i + 1}" if i else ""),
                              "Policy options, grouped by policy, each with the source of its "
                              "value" + (f" (part {i + 1} of {len(tables)})" if len(tables) > 1
                                         else "") + ". " + SOURCE_NOTE,
                              ["Option", "Value", "Source"], prows, ["l", "r", "l"],
                              ["auto", "auto", "1fr"], wide=True, row_classes=pclasses))
    erows = []
    for name, e in (cfg.get("experiments") or {}).items():
        ran = bool(e.get("policies"))     # "uses" experiments tabulate other runs
        erows.append([name, experiment_workloads(cfg, e),
                      ", ".join(policy_label(p) for p in e.get("policies", [])),
                      fmt_value(e.get("sample_interval_s", 1.0)) + " s" if ran else ""])
    s.blocks.append(Table("tab-experiments", "Experiments: workload, policies and the "
                          "interval at which time series are sampled.",
                          ["Experiment", "Workload", "Policies", "Sampling"], erows,
                          ["l", "l", "l", "r"], ["auto", "1fr", "1fr", "auto"], wide=True))
    return s


def experiment_workloads(cfg: dict, e: dict) -> str:
    """An experiment's workloads as the Experiments table shows them: its one
    ``workload`` with kind and parameters; each of a sweep's ``workloads`` or
    of its ``processes`` by name; or the experiments whose runs it
    tabulates (``uses``)."""
    wls = cfg.get("workloads") or {}
    if e.get("workload"):
        wl = wls.get(e["workload"], {})
        return (f"{e['workload']} ({wl.get('kind', '?')}: "
                f"{fmt_value(wl.get('params') or {})})")
    names = ((e.get("sweep") or {}).get("workloads")
             or [p.get("workload") for p in e.get("processes") or []])
    if names:
        kind = "sweep of" if e.get("sweep") else "processes"
        return f"{kind} " + ", ".join(f"{n} ({wls.get(n, {}).get('kind', '?')})" for n in names)
    if e.get("uses"):
        return "tables of the runs of " + ", ".join(e["uses"])
    return ""
