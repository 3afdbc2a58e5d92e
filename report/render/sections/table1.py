"""Section: page-fault cost of huge pages (paper Table 1)."""
from __future__ import annotations

import pandas as pd

from hpsim.units import PAGES_PER_HUGE
from report.render.common import (PAPER_SETUP, Context, claims_table, figures_for, oom_mark,
                                  oom_note, paper, policy_list, policy_row, section,
                                  workload_of)
from report.render.document import Ref, Section, Table
from report.render.fmt import fmt_about, fmt_int, fmt_num, fmt_pct, fmt_value, fmt_x
from report.style import order_policies, policy_label


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
    base, thp = policy_row(df, "linux-4k"), policy_row(df, "linux-thp")
    if base is None or thp is None:
        return []
    _, wl = workload_of(ctx, "table1")
    size = (wl.get("params") or {}).get("size_gib")
    what = f"Touching a {fmt_value(size)} GiB buffer" if size else "Touching a buffer"
    return [f"{what} one byte per 4 KiB page, Linux with 2 MiB pages took "
            f"{fmt_x(thp['fault_ratio'])} fewer page faults than with 4 KiB pages, each "
            f"{fmt_x(thp['latency_ratio'])} slower, and the touch ran {fmt_x(thp['speedup'])} "
            f"faster; the paper reports ~{fmt_about(paper(ctx, 'T1-fault-ratio'))}× "
            f"({fmt_num(paper(ctx, 'T1-fault-ratio'))}× for {PAPER_SETUP['buffer_gb']} GiB), "
            f"~{fmt_num(paper(ctx, 'T1-latency-ratio'))}× and ~{fmt_num(paper(ctx, 'T1-speedup'))}"
            f"×. Zeroing made up {fmt_pct(base['zeroing_share'], 0)} of a 4 KiB fault and "
            f"{fmt_pct(thp['zeroing_share'], 0)} of a 2 MiB fault (paper: "
            f"{fmt_pct(paper(ctx, 'T1-zeroing-4k'), 0)} and "
            f"{fmt_pct(paper(ctx, 'T1-zeroing-2m'), 0)}); these two shares, and so the "
            f"latency ratio, are calibration inputs of the cost model, not findings."]


@section("table1", abstract=_table1_findings)
def section_table1(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-table1", "Page-fault cost of huge pages (paper Table 1)")
    policies = order_policies(df["policy"].astype(str))
    wl_name, wl = workload_of(ctx, "table1")
    params = wl.get("params") or {}
    s.para(f"The paper's Table 1 motivates HawkEye with the cost of a page fault: a program "
           f"touches a {PAPER_SETUP['buffer_gb']} GB buffer, writing one byte per 4 KiB page, "
           f"and then frees it. With 2 MiB pages Linux takes about "
           f"{fmt_about(paper(ctx, 'T1-fault-ratio'))}× fewer faults, but each fault is about "
           f"{fmt_num(paper(ctx, 'T1-latency-ratio'))}× slower because the kernel must zero "
           f"2 MiB before mapping it; zeroing is {fmt_pct(paper(ctx, 'T1-zeroing-4k'), 0)} of a "
           f"4 KiB fault and {fmt_pct(paper(ctx, 'T1-zeroing-2m'), 0)} of a 2 MiB fault. The "
           f"whole touch still runs about {fmt_num(paper(ctx, 'T1-speedup'))}× faster.")
    main = Table("tab-table1", f"Page-fault cost of touching the buffer (workload {wl_name}: "
                 f"{fmt_value(params)}), per policy. Ratios are against Linux with 4 KiB pages.",
                 ["Metric"] + [policy_label(p) + oom_mark(policy_row(df, p)) for p in policies],
                 [[label.strip() if not label.startswith("  ") else "– " + label.strip()]
                  + [fmt(policy_row(df, p)[col]) if col in df.columns else "–" for p in policies]
                  for col, label, fmt in TABLE1_ROWS],
                 ["l"] + ["r"] * len(policies), wide=len(policies) > 3, note=oom_note(df))
    cmp_table = claims_table(ctx, ["Table 1"], "tab-table1-claims", "Table 1")
    figs = figures_for(ctx, "table1")
    base, thp = policy_row(df, "linux-4k"), policy_row(df, "linux-thp")
    parts = [f"We replay the same access pattern under {policy_list(policies)}; ", Ref(main.label),
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
               f"per fault with 2 MiB pages but over {PAGES_PER_HUGE}× fewer faults.")
        s.blocks += figs
    return s
