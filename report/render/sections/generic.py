"""Section for an experiment without a section builder: its table as-is and its figures."""
from __future__ import annotations

import pandas as pd

from report.render.common import Context, figures_for, oom_mark, oom_note
from report.render.document import Ref, Section, Table
from report.render.fmt import fmt_num
from report.style import policy_label


def section_generic(ctx: Context, name: str, df: pd.DataFrame) -> Section:
    s = Section(f"sec-{name}", f"Experiment {name}")
    header = list(df.columns)
    rows = []
    for i, r in enumerate(df.itertuples(index=False)):
        rows.append([policy_label(str(v)) + oom_mark(df.iloc[i]) if c == "policy" else
                     (fmt_num(v, 4) if isinstance(v, (int, float)) and not isinstance(v, bool)
                      else str(v)) for c, v in zip(header, r)])
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in header]
    t = Table(f"tab-{name}", f"Table {name} as built by report.tables (columns and units: "
              f"report/README.md).", header, rows, ["r" if n else "l" for n in numeric],
              wide=len(header) > 5, note=oom_note(df))
    s.para(Ref(t.label), f" lists the results of experiment {name}.")
    s.blocks.append(t)
    figs = figures_for(ctx, name)
    s.blocks += figs
    return s
