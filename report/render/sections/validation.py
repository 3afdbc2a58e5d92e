"""Section: the simulation against the host kernel (validation experiment)."""
from __future__ import annotations

import math

import pandas as pd

from report.render.common import Context, figures_for, section
from report.render.document import Ref, Section, Table
from report.render.fmt import fmt_num
from report.style import policy_label

LABELS = {"faults": "page faults", "faults_2m": "2 MiB faults", "fault_time_s": "fault time (s)",
          "runtime_s": "run time (s)"}


def _pct(x) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(x) else "∞" if math.isinf(x) else f"{100 * x:+.1f}%"


# what the model leaves out that the host's times contain (README "Against the
# real kernel": the measurements behind each sentence)
CAUSES = ("The simulator charges an access its compute, an L2 TLB hit or a page walk, and "
          "one DRAM latency for the share of accesses its trace states miss the last-level "
          "cache, except on the page its last fault has just cleared (in the cache); it has "
          "no other cache model, so accesses that hit the L2 or L3, or miss where the trace "
          "says they hit, cost the host what they do not cost the model. On a "
          "virtual machine the host's own costs also move with the footprint and between "
          "processes (python -m host.footprint measures the data latency and the 4 KiB "
          "walk at several buffer sizes), and its fault path has a tail of slow faults that "
          "the model's one cost per fault kind does not have.")


def _within(r) -> bool:
    """A row of validation.csv within its tolerance (the CSV's True, read back)."""
    return str(r.within) in ("True", "true", "1")


def _note(r) -> str:
    """A row's "not measured" reason; "" for a measured row."""
    return r.note if isinstance(r.note, str) else ""


def _outside(df: pd.DataFrame) -> list[str]:
    """The measured rows outside their tolerance, as 'trace policy quantity
    error' phrases, in the table's order."""
    return [f"{r.trace} {policy_label(str(r.policy))} {LABELS.get(r.quantity, r.quantity)} "
            f"{_pct(r.error)}" for r in df.itertuples(index=False)
            if not _note(r) and not _within(r)]


def _findings(ctx: Context, df: pd.DataFrame) -> list:
    done = [r for r in df.itertuples(index=False) if not _note(r)]
    if not done:
        return []
    ok = sum(_within(r) for r in done)
    return [f"Against the host kernel (traces held apart from calibration), {ok} of "
            f"{len(done)} measured quantities were within their tolerance."]


@section("validation", abstract=_findings)
def section_validation(ctx: Context, df: pd.DataFrame) -> Section:
    s = Section("sec-validation", "Against the real kernel")
    s.para("Every other number in this report comes from a cost model. Here the host this "
           "report was built on is the ground truth: each trace of the validation experiment, "
           "none of which calibration used, was replayed on the host's Linux kernel "
           "(host.replay: its mappings made with mmap and MADV_NOHUGEPAGE, host-4k, or "
           "MADV_HUGEPAGE, host-thp; its accesses performed in order by a compiled loop, a "
           "record's on consecutive words of its page (lines, for Redis, whose accesses are "
           "lines); fault "
           "counts from getrusage, each fault timed alone; run time as CPU time), repeated, and "
           "simulated under linux-4k and linux-thp on a machine whose constants host.calibrate "
           "measured on the same host (config/host.yaml). Faults must match exactly with 4 KiB "
           "pages and within 1% with THP; fault and run time within 15% or the native runs' own "
           "spread ((max - min) / median), whichever is larger.")
    rows = []
    for r in df.itertuples(index=False):
        note = _note(r)
        rows.append([str(r.trace), policy_label(str(r.policy)), LABELS.get(r.quantity, r.quantity),
                     fmt_num(r.measured, 4) if not note else note,
                     fmt_num(r.spread, 2) if not note else "",
                     fmt_num(r.simulated, 4), _pct(r.error) if not note else "",
                     _pct(r.tolerance).lstrip("+") if not note else "",
                     ("yes" if _within(r) else "no") if not note else ""])
    t = Table("tab-validation", "Measured on the host kernel (median of the repetitions) against "
              "simulated with the host's calibrated machine, per trace, policy and quantity.",
              ["Trace", "Policy", "Quantity", "Measured", "Spread", "Simulated", "Error",
               "Tolerance", "Within"], rows, ["l", "l", "l", "r", "r", "r", "r", "r", "l"],
              wide=True)
    s.para(Ref(t.label), " lists every comparison; a row marked not measured names the reason "
           "(a host without THP, too little free memory, no C compiler).")
    outside = _outside(df)
    if outside:
        s.para("Outside their tolerance: ", "; ".join(outside), ". ", CAUSES)
    s.blocks.append(t)
    s.blocks += figures_for(ctx, "validation")
    return s
