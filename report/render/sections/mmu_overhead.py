"""Section: 4 KiB MMU overhead per workload beside published measurements
(results/tables/mmu_overhead.csv, report/mmu_overhead.py)."""
from __future__ import annotations

import pandas as pd

from report.render.common import Context, cell_text, oom_mark, oom_note, section, val
from report.render.document import Ref, Section, Table
from report.render.fmt import bad, fmt_int, fmt_pct, fmt_x


@section("mmu_overhead")
def section_mmu_overhead(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-mmu_overhead", "MMU overhead with 4 KiB pages beside published measurements")
    header = ["Workload", "Run", "Accesses", "MMU overhead", "without data cost", "Data share",
              "Published", "Simulated / published", "Published source"]
    rows = []
    for i in range(len(df)):
        r = df.iloc[i]
        run = cell_text(r, "experiment") + (f" {cell_text(r, 'variant')}"
                                            if cell_text(r, "variant") else "")
        pub = val(r, "published_mmu_overhead")
        rows.append([cell_text(r, "workload") + oom_mark(r), run, fmt_int(val(r, "accesses")),
                     fmt_pct(val(r, "mmu_overhead")),
                     fmt_pct(val(r, "mmu_overhead_without_data")),
                     fmt_pct(val(r, "data_share")), "–" if bad(pub) else fmt_pct(pub, 0),
                     fmt_x(val(r, "sim_over_published")),
                     cell_text(r, "published_source") or "none found"])
    t = Table("tab-mmu-overhead",
              "Linux with 4 KiB pages, per workload: MMU overhead as the paper's Table 2 "
              "measures it (page-walk cycles / user cycles), the same without the data-access "
              "cost (LLC misses x DRAM latency) in the denominator, the data cost's share of user "
              "cycles, and a published measurement of the same workload where one exists (its "
              "machine and how it was checked: results/tables/mmu_overhead.csv).",
              header, rows, ["l", "l"] + ["r"] * 6 + ["l"], wide=True, note=oom_note(df))
    s.para("Every huge-page gain in this report is bounded by the share of run time spent in "
           "page walks with 4 KiB pages. ", Ref(t.label), " sets that share beside published "
           "measurements. Each access costs its compute cycles, its workload's LLC misses "
           "times the DRAM latency (machine.costs.dram_latency_ns; workload parameter "
           "llc_misses_per_access; none on the page the process's last fault has just cleared, "
           "whose lines are in the cache), and an L2-TLB hit or a page walk; a walk's own "
           "cache misses "
           "are part of its walk cycles. The published figures come from other machines and "
           "footprints than our reduced-scale runs, so they bound the plausible range rather "
           "than give a target; no constant is tuned to them (config/published.yaml).")
    s.blocks.append(t)
    return s
