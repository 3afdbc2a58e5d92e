"""Section: promotion order (paper Fig. 5)."""
from __future__ import annotations

import pandas as pd

from report.render.common import (pressure_text, Context, claims_table, figures_for, finish, one_where,
                                  scaling_text,
                                  oom_mark, oom_note, paper_range, pct_range, rows_where,
                                  section, val)
from report.render.document import Ref, Section, Table
from report.render.fmt import fmt_faster, fmt_gain, fmt_int, fmt_num, fmt_pct, fmt_ratio
from report.style import order_policies, policy_label


# Fig. 5: promotion order -------------------------------------------------------------------------

def _promotion_findings(ctx: Context, df: pd.DataFrame) -> list:
    out = []
    for wl in dict.fromkeys(df.get("workload", pd.Series(dtype=str)).astype(str)):
        hk = one_where(df, workload=wl, policy="hawkeye-pmu")
        if hk is None:
            continue
        out.append(f"{wl} {fmt_faster(val(hk, 'gain_vs_linux_thp'))} than Linux THP and "
                   f"{fmt_faster(val(hk, 'gain_vs_ingens'))} than Ingens")
    if not out:
        return []
    where = f" on memory with {pressure_text(ctx, 'fig_promotion')}"
    return [f"With huge pages only from background promotion{where}, HawkEye-PMU's "
            f"access-coverage order ran " + "; ".join(out) +
            f" (paper: {pct_range(*paper_range(ctx, 'F5-promotion-order'))} faster on Graph500 "
            f"and XSBench)."]


@section("fig_promotion", abstract=_promotion_findings)
def section_fig_promotion(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-fig_promotion", "Promotion order (paper Fig. 5)")
    s.para("Linux's khugepaged and Ingens promote huge pages in virtual-address order, low "
           "addresses first; HawkEye promotes the regions with the most TLB misses first "
           "(access coverage), and HawkEye-PMU picks the process with the highest measured MMU "
           "overhead. The paper's Fig. 5 reports that this order makes Graph500 and XSBench "
           f"{pct_range(*paper_range(ctx, 'F5-promotion-order'))} faster than address order. "
           "We run Graph500, an XSBench-like lookup kernel (workloads/xsbench.py) and a "
           "hotspot benchmark whose hot data sit at high addresses, where address order "
           "reaches them last.")
    header = ["Policy", "Run time (s)", "Speedup vs 4 KiB", "vs Linux THP", "vs Ingens",
              "MMU overhead", "Promotions", "Half promoted (s)"]
    rows, classes = [], []
    for wl in dict.fromkeys(df.get("workload", pd.Series(dtype=str)).astype(str)):
        rows.append([f"Workload {wl}"])
        classes.append("group")
        sub = rows_where(df, workload=wl)
        for p in order_policies(set(sub["policy"].astype(str))):
            r = one_where(sub, policy=p)
            rows.append([policy_label(p) + oom_mark(r), fmt_num(val(r, "runtime_s"), 4),
                         fmt_ratio(val(r, "speedup")), fmt_gain(val(r, "gain_vs_linux_thp")),
                         fmt_gain(val(r, "gain_vs_ingens")), fmt_pct(val(r, "mmu_overhead")),
                         fmt_int(val(r, "promotions")),
                         fmt_num(val(r, "time_to_half_promoted_s"), 3)])
            classes.append("")
    main = Table("tab-fig_promotion",
                 "Promotion order: run time, speedup over Linux with 4 KiB pages, gain over "
                 "the address-order promoters (runtime of Linux THP or Ingens / ours − 1; "
                 "positive = faster), MMU overhead (page-walk cycles / user cycles), promotions "
                 "and the time until half of the run's peak huge pages were mapped.",
                 header, rows, ["l"] + ["r"] * 7, row_classes=classes, wide=True,
                 note=oom_note(df))
    parts = [f"Here huge pages come only from background promotion (fault-time huge pages are "
             f"off), {scaling_text(ctx, 'fig_promotion')}. ",
             Ref(main.label), " lists the results."]
    for wl in dict.fromkeys(df.get("workload", pd.Series(dtype=str)).astype(str)):
        for p in ("hawkeye-pmu", "hawkeye-g"):
            r = one_where(df, workload=wl, policy=p)
            if r is None:
                continue
            parts.append(f" On {wl}, {policy_label(p)} made {fmt_int(val(r, 'promotions'))} "
                         f"promotions and ran {fmt_faster(val(r, 'gain_vs_linux_thp'))} than "
                         f"Linux THP and {fmt_faster(val(r, 'gain_vs_ingens'))} than Ingens.")
    s.para(*parts)
    return finish(s, main, claims_table(ctx, ["Fig. 5"], "tab-fig_promotion-claims", "Fig. 5"),
                  figures_for(ctx, "fig_promotion"),
                  " {verb} how MMU overhead falls as each policy maps huge pages: the earlier the "
                  "hot regions are promoted, the sooner the overhead drops.")
