"""The document: abstract, fixed sections and one section per experiment table."""
from __future__ import annotations

import pandas as pd

import report.render.sections  # noqa: F401  (registers the experiment sections)
from report import InputError, log, warn
from report.render.common import ABSTRACTS, SECTIONS, Context, oom_claim, oom_runs, policy_list
from report.render.document import Document, Para
from report.render.fmt import fmt_faster, fmt_value
from report.render.load import git_commit
from report.render.sections.appendices import appendix_config, appendix_jobs, appendix_software
from report.render.sections.beyond import section_beyond
from report.render.sections.claims import section_claims
from report.render.sections.generic import section_generic
from report.render.sections.intro import section_intro
from report.render.sections.setup import section_setup
from report.scorecard import HAWKEYE, TIE
from report.style import order_policies, policy_label


TITLE = "HawkEye, re-simulated: huge-page policies on a simulated machine"
PAPER = ("A. Panwar, S. Bansal, K. Gopinath. HawkEye: Efficient Fine-grained OS Support for "
         "Huge Pages. ASPLOS 2019, pp. 347-360, doi:10.1145/3297858.3304064")


def scorecard_findings(sc: pd.DataFrame | None) -> list:
    """The abstract's "where HawkEye wins and loses", from the scorecard table: per HawkEye
    policy, the settings it wins, ties (within report.scorecard.TIE) and loses, and its
    largest win and loss."""
    if sc is None:
        return []
    out = []
    for hk in HAWKEYE:
        sub = sc[(sc["policy"].astype(str) == hk) & pd.to_numeric(sc["gain"]).notna()]
        if sub.empty:
            continue
        wins = sub[sub["outcome"] == "win"]
        ties = sub[sub["outcome"] == "tie"]
        losses = sub[sub["outcome"] == "loss"]
        text = (f"{policy_label(hk)} ran faster than every other policy in {len(wins)} of "
                f"{len(sub)} settings, within {100 * TIE:.1f}% of the fastest in {len(ties)} "
                f"and slower in {len(losses)}")
        if len(wins):
            w = wins.loc[wins["gain"].idxmax()]
            text += (f"; its largest win: {fmt_faster(w['gain'])} than "
                     f"{policy_label(w['best_other_policy'])}, the fastest other policy "
                     f"({w['setting']})")
        if len(losses):
            lo = losses.loc[losses["gain"].idxmin()]
            text += (f"; its largest loss: {fmt_faster(lo['gain'])} than "
                     f"{policy_label(lo['best_other_policy'])} ({lo['setting']})")
        out.append(text + ".")
    if not out:
        return []
    return ["Where HawkEye wins and loses, by run time against the fastest non-HawkEye policy "
            "in each setting of the tables (runs that ran out of memory left out): "
            + " ".join(out)]


def build_document(ctx: Context) -> Document:
    experiments = list(ctx.tables)
    exp_sections = []
    for name, df in ctx.tables.items():
        builder = SECTIONS.get(name)
        if builder is not None:
            if "policy" not in df.columns:
                raise InputError(f"table {name}.csv has no 'policy' column")
            try:
                exp_sections.append(builder(ctx, df))
            except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
                warn(f"table {name}.csv does not have the layout its section expects "
                     f"({type(e).__name__}: {e}); showing it as a generic section")
                exp_sections.append(section_generic(ctx, name, df))
        else:
            exp_sections.append(section_generic(ctx, name, df))
        log(f"render: section for experiment {name}")
    if not experiments:
        warn("no experiment tables found; the report has no experiment sections")
    beyond = section_beyond(ctx)
    sections = [section_intro(ctx, experiments), section_setup(ctx), *exp_sections,
                *([beyond] if beyond is not None else []), section_claims(ctx), appendix_config(ctx), appendix_software(ctx),
                appendix_jobs(ctx)]
    abstract = [Para([f"We re-simulate the huge-page experiments of HawkEye (ASPLOS'19) on a "
                      f"{fmt_value(ctx.cfg['machine'].get('memory_gib'))} GiB machine model that "
                      f"charges every page fault, zeroing and page walk, under "
                      f"{policy_list(order_policies(ctx.cfg.get('policies') or {}))}."])]
    for name, df in ctx.tables.items():
        if name in ABSTRACTS:
            try:
                found = ABSTRACTS[name](ctx, df)
            except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
                warn(f"table {name}.csv: no abstract findings ({type(e).__name__}: {e})")
                found = []
            killed = oom_runs(df)
            if found and killed:
                found = [*found, f" Out of memory (numbers up to the kill): {killed}."]
            if found:
                abstract.append(Para(found))
    wins = scorecard_findings(ctx.scorecard)
    if wins:
        abstract.append(Para(wins))
    counts = ctx.claims["verdict"].value_counts()
    n_oom = sum(1 for r in ctx.claims["reason"] if oom_claim(r))
    abstract.append(Para([f"Of the {len(ctx.claims)} claims we check, "
                          f"{counts.get('reproduced', 0)} are reproduced, "
                          f"{counts.get('partly', 0)} partly, "
                          f"{counts.get('not reproduced', 0)} not, "
                          f"{counts.get('calibrated', 0)} match by calibration, and "
                          f"{counts.get('not measured', 0)} are not measured in this run"
                          + (f" ({n_oom} because a run they read ran out of memory)"
                             if n_oom else "") + "."]))
    commit, _ = git_commit(ctx.cfg_path.resolve().parent)
    byline = [f"Reproduction of: {PAPER}",
              f"Profile {fmt_value(ctx.cfg.get('profile', '?'))} · commit "
              f"{commit[:12] if commit != 'unknown' else 'unknown'}"]
    return Document(TITLE, byline, abstract, sections)
