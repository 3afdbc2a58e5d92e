"""Section: fairness among co-running processes (paper §6)."""
from __future__ import annotations

import pandas as pd

from report.render.common import (pressure_text, Context, cell_text, claims_table, exp_cfg, figures_for, finish,
                                  memory_gib_of, one_where, oom_mark, oom_note,
                                  rows_where, section, val)
from report.render.document import Ref, Section, Table
from report.render.fmt import fmt_faster, fmt_fixed, fmt_int, fmt_num, fmt_pct, fmt_ratio, fmt_value
from report.style import order_policies, policy_label


# §6: fairness ------------------------------------------------------------------------------------

def _fairness_findings(ctx: Context, df: pd.DataFrame) -> list:
    alls = rows_where(df, process="all")
    if alls.empty:
        return []
    parts = []
    for p in order_policies(set(alls["policy"].astype(str))):
        if p == "linux-4k":
            continue
        r = one_where(alls, policy=p)
        parts.append(f"{policy_label(p)} {fmt_ratio(val(r, 'speedup'))} (Jain "
                     f"{fmt_fixed(val(r, 'jain_index'), 3)})")
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
    e = exp_cfg(ctx, "fig_fairness")
    procs = ", ".join(str(p.get("name", p.get("workload"))) for p in e.get("processes", []))
    header = ["Process", "Run time (s)", "Speedup", "Huge pages (end)", "Huge pages (peak)",
              "MMU overhead", "First huge page (s)"]
    rows, classes = [], []
    for p in order_policies(set(df["policy"].astype(str))):
        a = one_where(df, policy=p, process="all")
        order = cell_text(a, "huge_page_order")
        rows.append([f"{policy_label(p)}{oom_mark(a)}: geo-mean speedup {fmt_ratio(val(a, 'speedup'))}, "
                     f"Jain index {fmt_fixed(val(a, 'jain_index'), 3)}"
                     + (f"; huge pages first to {order}" if order else "")])
        classes.append("group")
        for r in rows_where(df, policy=p).itertuples(index=False):
            r = r._asdict()
            if str(r.get("process")) == "all":
                continue
            rows.append([str(r.get("process")) + oom_mark(r), fmt_num(r.get("runtime_s"), 4),
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
                 row_classes=classes, wide=True, note=oom_note(df))
    alls = rows_where(df, process="all")
    parts = [f"The processes start together on a {fmt_value(memory_gib_of(ctx, 'fig_fairness'))} "
             f"GiB machine with {pressure_text(ctx, 'fig_fairness')}. ", Ref(main.label),
             " lists the results."]
    if len(alls):
        best = alls.loc[pd.to_numeric(alls["speedup"], errors="coerce").idxmax()] \
            if pd.to_numeric(alls["speedup"], errors="coerce").notna().any() else None
        if best is not None:
            parts.append(f" The highest geometric-mean speedup is "
                         f"{policy_label(str(best['policy']))}'s, "
                         f"{fmt_ratio(val(best, 'speedup'))}.")
        thp = one_where(alls, policy="linux-thp")
        for p in ("hawkeye-pmu", "hawkeye-g"):
            r = one_where(alls, policy=p)
            if r is not None and thp is not None:
                rel = val(r, "speedup") / val(thp, "speedup") - 1 \
                    if val(thp, "speedup") else float("nan")
                parts.append(f" {policy_label(p)}: {fmt_ratio(val(r, 'speedup'))}, "
                             f"{fmt_faster(rel)} than Linux THP.")
    s.para(*parts)
    return finish(s, main, claims_table(ctx, ["§6 (fairness)"], "tab-fig_fairness-claims",
                                        "fairness"),
                  figures_for(ctx, "fig_fairness"),
                  " {verb} each process's speedup and the huge pages it held over time.")
