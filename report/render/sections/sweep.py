"""Section: the memory-pressure sweep."""
from __future__ import annotations

import numpy as np
import pandas as pd

from report.render.common import (Context, exp_cfg, figures_for, finish, memory_gib_of,
                                  one_where, oom_note, rows_where, section, val)
from report.render.document import Ref, Section, Table
from report.render.fmt import bad, fmt_fixed, fmt_mib, fmt_num, fmt_pct, fmt_value
from report.style import order_policies, policy_label


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
        sub = rows_where(df, policy=p)
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
    e = exp_cfg(ctx, "sweep")
    sw = e.get("sweep") or {}
    s.para(f"Every workload runs under every policy at every combination of fragmentation "
           f"(share of free 2 MiB blocks holding one unmovable page: "
           f"{', '.join(fmt_pct(f, 0) for f in sw.get('fragmentation', []))}) and memory held "
           f"by other tenants ({', '.join(fmt_pct(t, 0) for t in sw.get('tenant_fraction', []))})"
           f", on a {fmt_value(memory_gib_of(ctx, 'sweep'))} GiB machine. This is not an "
           f"experiment of the paper; it shows where each policy's advantage holds and where it "
           f"turns.")
    policies = order_policies(set(df["policy"].astype(str)))
    rows = []
    for v in dict.fromkeys(df["variant"].astype(str)) if "variant" in df.columns else []:
        sub = rows_where(df, variant=v)
        r0 = sub.iloc[0]
        rt = {str(r["policy"]): val(r, "runtime_s") for _, r in sub.iterrows()
              if not val(r, "oom")}
        fastest = min((x for x in rt.values() if not bad(x)), default=float("nan"))
        cells = []
        for p in policies:
            r = one_where(sub, policy=p)
            if r is None:
                cells.append("–")
                continue
            c = fmt_num(val(r, "runtime_norm"), 3)
            if val(r, "oom"):
                c += " OOM"
            elif not bad(fastest) and val(r, "runtime_s") <= fastest * 1.001:
                c += "*"
            cells.append(c)
        rows.append([str(r0.get("workload", v)), fmt_pct(val(r0, "fragmentation"), 0),
                     fmt_pct(1 - val(r0, "tenant_fraction"), 0)] + cells)
    main = Table("tab-sweep", "Run time relative to Linux with 4 KiB pages at the same memory "
                 "pressure, per workload, fragmentation and share of memory free (not held by "
                 "other tenants). * marks the fastest policy (within 0.1%); OOM: the run ran out "
                 "of memory. The full table (faults, fault-latency quantiles, bloat, MMU "
                 "overhead) is results/tables/sweep.csv.",
                 ["Workload", "Frag.", "Free"] + [policy_label(p) for p in policies], rows,
                 ["l", "r", "r"] + ["r"] * len(policies), wide=True,
                 note=oom_note(df, mark="OOM:"))
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
                     f"{fmt_pct(val(worst, 'fragmentation'), 0)} fragmentation.")
    s.para(*parts)
    return finish(s, main, None, figures_for(ctx, "sweep"),
                  " {verb} run time, tail fault latency and bloat across the grid.")
