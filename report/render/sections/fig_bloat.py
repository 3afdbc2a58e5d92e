"""Section: memory bloat, Redis delete and refill (paper Fig. 1)."""
from __future__ import annotations

import pandas as pd

from report.render.common import (PAPER_SETUP, Context, cell_text, claims_table, figures_for,
                                  finish, memory_gib_of, metric_table, paper, policy_row,
                                  scaling_text, section, val, workload_of)
from report.render.document import Ref, Section
from report.render.fmt import bad, fmt_mib, fmt_num, fmt_pct, fmt_value
from report.style import policy_label


# Fig. 1: Redis memory bloat -----------------------------------------------------------------

# the claims (config/claims.yaml) holding the paper's bloat, as a share of the P1 data set
BLOAT_CLAIMS = {"linux-thp": "F1-bloat-linux", "ingens": "F1-bloat-ingens"}


def _paper_bloat(ctx: Context, policy: str) -> tuple[str, str]:
    """The paper's bloat of a policy: (GB of the 45 GB data set, ratio), e.g. ("28", "0.62")."""
    ratio = paper(ctx, BLOAT_CLAIMS[policy])
    return fmt_num(ratio * PAPER_SETUP["redis_data_gb"], 2), fmt_num(ratio, 2)


def _oom_text(r) -> str:
    if r is None or bad(val(r, "oom")):
        return "–"
    if not val(r, "oom"):
        return "no"
    phase = cell_text(r, "oom_phase")
    t = val(r, "oom_time_s")
    return "yes" + (f", in {phase}" if phase else "") + (f" at {fmt_num(t, 3)} s" if not bad(t) else "")


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
    ("faults_2m", "2 MiB faults", lambda x: fmt_num(x, 0)),
    ("p3_faults_2m", "– in P3", lambda x: fmt_num(x, 0)),
    ("p3_recovery_passes", "Bloat-recovery passes in P3", lambda x: fmt_num(x, 0)),
    ("p3_pages_released", "– zero pages released (MiB)", lambda x: fmt_mib(x * 4096)),
]


def _bloat_findings(ctx: Context, df: pd.DataFrame) -> list:
    thp, ing = policy_row(df, "linux-thp"), policy_row(df, "ingens")
    hk = policy_row(df, "hawkeye-pmu")
    if hk is None:
        hk = policy_row(df, "hawkeye-g")
    parts = []
    if thp is not None:
        gb, ratio = _paper_bloat(ctx, "linux-thp")
        parts.append(f"In the Redis bloat test, Linux THP's peak bloat was "
                     f"{fmt_num(val(thp, 'peak_bloat_ratio'), 2)} of the P1 data set (paper: "
                     f"{gb} of {PAPER_SETUP['redis_data_gb']} GB = {ratio})")
        if ing is not None:
            parts[-1] += (f" and Ingens's {fmt_num(val(ing, 'peak_bloat_ratio'), 2)} (paper: "
                          f"{_paper_bloat(ctx, 'ingens')[1]})")
        ooms = [policy_label(p) for p in ("linux-thp", "ingens")
                if policy_row(df, p) is not None and val(policy_row(df, p), "oom") == 1]
        parts[-1] += ("; " + " and ".join(ooms) + " ran out of memory" if ooms else
                      "; neither ran out of memory (in the paper both do, in P3)")
    if hk is not None:
        base = policy_row(df, "linux-4k")
        tail = (f" (Linux 4 KiB: {fmt_num(val(base, 'rss_over_live_end'), 3)})"
                if base is not None else "")
        parts.append(f"HawkEye {'completed' if not val(hk, 'oom') else 'ran out of memory'}"
                     f" with an RSS of {fmt_num(val(hk, 'rss_over_live_end'), 3)}× its live data "
                     f"set at the end{tail}")
    return ["; ".join(parts) + "."] if parts else []


@section("fig_bloat", abstract=_bloat_findings)
def section_fig_bloat(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-fig_bloat", "Memory bloat: Redis delete and refill (paper Fig. 1)")
    (thp_gb, thp_ratio), (ing_gb, ing_ratio) = (_paper_bloat(ctx, p) for p in BLOAT_CLAIMS)
    data_gb = PAPER_SETUP["redis_data_gb"]
    s.para(f"The paper's Fig. 1 shows memory bloat. Redis inserts "
           f"{PAPER_SETUP['redis_keys'] / 1e6:.0f}M pairs of a 10 B key and a 4 KB value "
           f"({data_gb} GB, P1), deletes 80% of the keys at random (P2), pauses, and inserts "
           f"17K pairs with 2 MB values until the data set is back at {data_gb} GB (P3). Linux "
           f"bloats memory by {thp_gb} GB and Ingens by {ing_gb} GB ({thp_ratio} and {ing_ratio} "
           f"of the data set); both run out of memory in P3. HawkEye recovers the bloat from "
           f"zero-filled base pages, so its RSS follows the data set and it completes.")
    wl_name, wl = workload_of(ctx, "fig_bloat")
    params = wl.get("params") or {}
    main = metric_table(
        "tab-fig_bloat",
        f"Redis bloat test (workload {wl_name}: {fmt_value(params)}; "
        f"{fmt_value(memory_gib_of(ctx, 'fig_bloat'))} GiB machine), per policy. Bloat: resident "
        f"4 KiB frames never touched since they were mapped. End of P2: the last sample before "
        f"P3 starts (after the pause). Ratios are against the P1 data set, so they compare with "
        f"the paper's {thp_gb}/{data_gb} and {ing_gb}/{data_gb}.", df, FIG_BLOAT_ROWS)
    p1 = df["p1_live_bytes"].max() if "p1_live_bytes" in df.columns else float("nan")
    parts = [f"We run the same phases at 1/"
             f"{fmt_num(PAPER_SETUP['redis_keys'] / params['n_keys'], 3)} of the paper's keys"
             if params.get("n_keys") else "We run the same phases",
             f" (a P1 data set of {fmt_mib(p1)}) on a machine whose memory is scaled with the "
             f"data set, {scaling_text(ctx, 'fig_bloat')}. ",
             Ref(main.label), " lists the results."]
    for p in ("linux-thp", "ingens"):
        r = policy_row(df, p)
        if r is not None:
            parts.append(f" {policy_label(p)}'s peak bloat is "
                         f"{fmt_num(val(r, 'peak_bloat_ratio'), 3)} of the P1 data set (paper: "
                         f"{_paper_bloat(ctx, p)[1]}), from {fmt_num(val(r, 'faults_2m'), 0)} "
                         f"huge pages mapped at fault ({fmt_num(val(r, 'p3_faults_2m'), 0)} in "
                         f"P3); at the end of P2 it is "
                         f"{fmt_num(val(r, 'bloat_ratio'), 3)}; out of memory: {_oom_text(r)}.")
    for p in ("hawkeye-pmu", "hawkeye-g"):
        r = policy_row(df, p)
        if r is not None:
            parts.append(f" {policy_label(p)}: out of memory {_oom_text(r)}, "
                         f"{fmt_num(val(r, 'p3_recovery_passes'), 0)} bloat-recovery passes in "
                         f"P3 releasing {fmt_mib(val(r, 'p3_pages_released') * 4096)}, RSS at "
                         f"the end {fmt_num(val(r, 'rss_over_live_end'), 3)}× the live data set.")
    r, thp = policy_row(df, "linux-6.12"), policy_row(df, "linux-thp")
    opts = (ctx.cfg.get("policies") or {}).get("linux-6.12") or {}
    if r is not None:
        # the shrinker's splits are counted as its recovery (report.tables, reason thp_shrinker)
        splits = val(r, "p3_recovery_passes")
        parts.append(f" {policy_label('linux-6.12')}: peak bloat "
                     f"{fmt_num(val(r, 'peak_bloat_ratio'), 3)} of the P1 data set, out of memory "
                     f"{_oom_text(r)}, {fmt_num(val(r, 'faults_2m'), 0)} huge pages mapped at "
                     f"fault (Linux THP: {fmt_num(val(thp, 'faults_2m'), 0)}); its THP shrinker "
                     + (f"split {fmt_num(splits, 0)} huge pages in P3, releasing "
                        f"{fmt_mib(val(r, 'p3_pages_released') * 4096)}."
                        if splits > 0 else
                        "split none (it runs only below the low watermark): it differs from "
                        f"Linux THP here by its fault path (defrag={opts.get('defrag')}) and "
                        f"khugepaged's max_ptes_none "
                        f"({(opts.get('khugepaged') or {}).get('max_ptes_none')})."))
    b = policy_row(df, "linux-4k")
    if b is not None:
        parts.append(f" With 4 KiB pages the RSS ends at {fmt_num(val(b, 'rss_over_live_end'), 3)}× "
                     f"the live data set: the allocator's own fragmentation, which no huge-page "
                     f"policy can recover.")
    s.para(*parts)
    return finish(s, main, claims_table(ctx, ["Fig. 1"], "tab-fig_bloat-claims", "Fig. 1"),
                  figures_for(ctx, "fig_bloat"),
                  " {verb} RSS, bloat and the live data set over time; a policy without bloat has "
                  "an RSS that falls with the data set in P2 and rises with it in P3.")
