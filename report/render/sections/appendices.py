"""Appendices: full configuration, software and provenance, jobs."""
from __future__ import annotations

import platform

import yaml

from report.render.common import Context
from report.render.document import Code, Ref, Section, Table
from report.render.fmt import fmt_num
from report.render.load import git_commit, is_json, software_versions
from report.render.sections.setup import SOURCE_NOTE, config_rows, grouped_rows


def appendix_config(ctx: Context) -> Section:
    s = Section("sec-config", "Full configuration", appendix=True)
    sources = [" The unit and source of every machine, memory-pressure and policy value are "
               "in ", Ref("tab-machine"), " and ", Ref("tab-policies"), ", of every workload "
               "parameter in ", Ref("tab-workloads"), "."]
    if is_json(ctx.cfg_path, ctx.cfg_text):
        s.para(f"The effective configuration of this run ({ctx.cfg_path}: config/config.yaml "
               f"with the profile's overrides), written as YAML.", *sources)
        text = yaml.safe_dump(ctx.cfg, sort_keys=False, default_flow_style=None,
                              allow_unicode=True, width=96)
    else:
        s.para(f"The configuration this report was rendered with ({ctx.cfg_path}), "
               f"verbatim.", *sources)
        text = ctx.cfg_text
    s.blocks.append(Code(text.rstrip("\n"), "yaml"))
    rows, classes = grouped_rows(config_rows(ctx, "workloads"), "Workload")
    s.blocks.append(Table("tab-workloads", "Workload parameters, grouped by workload, each with "
                          "the source of its value. " + SOURCE_NOTE,
                          ["Parameter", "Value", "Source"], rows, ["l", "r", "l"],
                          ["auto", "auto", "1fr"], wide=True, row_classes=classes))
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
