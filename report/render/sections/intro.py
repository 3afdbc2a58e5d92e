"""Section: introduction."""
from __future__ import annotations

from report.render.common import Context
from report.render.document import Ref, Section


def section_intro(ctx: Context, experiments: list[str]) -> Section:
    s = Section("sec-intro", "Introduction")
    s.para("HawkEye (Panwar, Bansal and Gopinath, ASPLOS'19) manages huge pages in the "
           "operating system with four ideas: asynchronous pre-zeroing of free pages, "
           "recovery of memory bloat from zero-filled base pages, promotion of the regions "
           "with the most TLB pressure first (access coverage), and fair allocation of huge "
           "pages across processes by measured MMU overhead. It is compared with Linux "
           "transparent huge pages, FreeBSD's reservations and Ingens.")
    parts = ["This report re-runs the paper's experiments on a simulator: a machine model with "
             "physical memory, page tables, TLBs and a cost for every page fault, zeroing and "
             "page walk, replaying memory traces of the paper's workloads under each policy. ",
             Ref("sec-setup"), " describes the simulated machine and every parameter"]
    if experiments:
        parts += ["; "]
        for i, e in enumerate(experiments):
            parts += [Ref(f"sec-{e}"), " and " if i == len(experiments) - 2 else
                      ", " if i < len(experiments) - 2 else ""]
        parts += [" report the experiments of this run"]
    parts += [", and ", Ref("sec-claims"), " checks the paper's claims one by one."]
    s.para(*parts)
    return s
