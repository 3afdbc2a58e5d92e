"""Section: every claim with its verdict and reason."""
from __future__ import annotations

import pandas as pd

from report.render.common import OOM_MARK, Context, oom_claim, verdict_class
from report.render.document import Ref, Section, Table
from report.render.fmt import bad, fmt_num


def expected_verdicts(ctx: Context) -> dict[str, str]:
    """{claim id: verdict} of the other profile's claims.csv ({} when none was given)."""
    if ctx.expected is None:
        return {}
    return dict(zip(ctx.expected["id"], ctx.expected["verdict"]))


def section_claims(ctx: Context) -> Section:
    s = Section("sec-claims", "Claims")
    cl = ctx.claims
    counts = cl["verdict"].value_counts()
    ooms = [r.id for r in cl.itertuples() if oom_claim(r.reason)]
    absent = "because their experiment is not part of this run or the table lacks the row"
    why = absent if not ooms else (
        f"{len(ooms)} of them (marked {OOM_MARK}) because a run they read ran out of memory, "
        f"so its numbers are not a whole run's"
        + (f", the others {absent}" if len(ooms) < counts.get("not measured", 0) else ""))
    s.para(f"config/claims.yaml lists {len(cl)} checkable claims of the paper; ",
           Ref("tab-claims"), f" holds each against this run. {counts.get('reproduced', 0)} are "
           f"reproduced (within the claim's tolerance), {counts.get('partly', 0)} partly "
           f"(within the wider tolerance), {counts.get('not reproduced', 0)} are not, "
           f"{counts.get('calibrated', 0)} are calibrated (the model's constants were chosen "
           f"from that very number, so the match is by construction and not a finding), and "
           f"{counts.get('not measured', 0)} are not measured, {why}. The paper's numbers come from "
           f"secondary summaries of the paper (the full text was not available); claims marked "
           f"with a range or bound compare against that range or bound.")
    other = expected_verdicts(ctx)
    if other:
        same = sum(other.get(r.id) == r.verdict for r in cl.itertuples())
        s.para(f"The last column gives each claim's verdict under the {ctx.expected_label} "
               f"profile (its committed results, expected/{ctx.expected_label}/); {same} of "
               f"{len(cl)} verdicts are the same in both.")
    rows, classes = [], []
    for r in cl.itertuples():
        v = verdict_class(r.verdict)
        rows.append([r.id, fmt_num(r.paper_value, 3), fmt_num(r.our_value, 4),
                     "–" if bad(r.rel_error) else f"{100 * r.rel_error:+.1f}%",
                     r.verdict + (f" {OOM_MARK}" if oom_claim(r.reason) else "")]
                    + ([other.get(r.id, "–")] if other else []))
        reason = "" if pd.isna(r.reason) else f" — {r.reason}."
        rows.append([f"{r.source}: {r.statement}{reason}"])
        classes += [v + " has-detail", v + " detail"]
    extra = [f"{ctx.expected_label.capitalize()} profile"] if other else []
    s.blocks.append(Table("tab-claims", "The paper's claims against this run. Each claim's "
                          "source in the paper and statement follow its row. Error is "
                          "(ours - paper) / paper, or the distance past the paper's range or bound.",
                          ["ID", "Paper", "Ours", "Error", "Verdict"] + extra, rows,
                          ["l", "r", "r", "r", "l"] + ["l"] * len(extra),
                          ["1fr", "auto", "auto", "auto", "auto"] + ["auto"] * len(extra),
                          row_classes=classes,
                          note=f"{OOM_MARK} Not measured: a run the claim reads ran out of "
                               f"memory (the reason names it)." if ooms else ""))
    missed = [(r.id, r.verdict, ctx.paper_claims[r.id].explanation) for r in cl.itertuples()
              if r.verdict in ("partly", "not reproduced") and r.id in ctx.paper_claims
              and ctx.paper_claims[r.id].explanation]
    if missed:
        s.para("Where our verdict is not the paper's, the mechanism that makes the difference "
               "(config/claims.yaml, explanation):")
        for cid, verdict, text in missed:
            s.para(f"{cid} ({verdict}): {text}")
    return s
