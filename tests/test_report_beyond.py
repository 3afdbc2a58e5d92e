"""The 'beyond the paper' section: outcomes computed setting by setting against HawkEye-PMU."""
from types import SimpleNamespace

import pandas as pd

from report.render.document import Table
from report.render.sections.beyond import comparisons, present, section_beyond
from report.style import policy_label


def _ctx():
    sweep = pd.DataFrame([
        # setting a: quicksilver faster (win); setting b: within 0.5% (tie); c: slower (loss)
        dict(variant="a", policy="quicksilver", runtime_s=1.0, oom=0),
        dict(variant="a", policy="hawkeye-pmu", runtime_s=2.0, oom=0),
        dict(variant="b", policy="quicksilver", runtime_s=1.004, oom=0),
        dict(variant="b", policy="hawkeye-pmu", runtime_s=1.0, oom=0),
        dict(variant="c", policy="quicksilver", runtime_s=3.0, oom=0),
        dict(variant="c", policy="hawkeye-pmu", runtime_s=1.0, oom=0),
        # setting d: quicksilver ran out of memory: left out
        dict(variant="d", policy="quicksilver", runtime_s=0.1, oom=1),
        dict(variant="d", policy="hawkeye-pmu", runtime_s=1.0, oom=0),
    ])
    bloat = pd.DataFrame([dict(policy="quicksilver", peak_bloat_bytes=0, rss_end_bytes=2**20, oom=0),
                          dict(policy="hawkeye-pmu", peak_bloat_bytes=2**21,
                               rss_end_bytes=2**20, oom=0)])
    schema = {"$defs": {"quicksilver": {"description": "Reservations  with\n a threshold."}}}
    return SimpleNamespace(tables={"sweep": sweep, "fig_bloat": bloat}, schema=schema)


def test_outcomes_per_setting():
    cmp = comparisons(_ctx(), "quicksilver")
    sweep = cmp[cmp.metric.str.startswith("Sweep")]
    assert dict(zip(sweep.setting, sweep.outcome)) == {"a": "win", "b": "tie", "c": "loss"}
    fig1 = dict(zip(cmp[cmp.metric.str.startswith("Fig. 1")].metric,
                    cmp[cmp.metric.str.startswith("Fig. 1")].outcome))
    assert fig1 == {"Fig. 1: peak bloat": "win", "Fig. 1: RSS at the end": "tie"}


def test_section_text_counts_and_oom():
    ctx = _ctx()
    assert present(ctx) == ["quicksilver"]
    s = section_beyond(ctx)
    text = " ".join(p for b in s.blocks if hasattr(b, "parts") for p in b.parts
                    if isinstance(p, str))
    assert (f"{policy_label('quicksilver')}: Reservations with a threshold. Against "
            "HawkEye-PMU") in text
    assert "better in 2, equal in 2 and worse in 1 of 5 comparisons" in text
    assert "It ran out of memory in sweep d." in text
    (table,) = [b for b in s.blocks if isinstance(b, Table)]
    assert len(table.rows) == 5


def test_no_section_without_the_policies():
    ctx = _ctx()
    ctx.tables = {k: v[v.policy != "quicksilver"] for k, v in ctx.tables.items()}
    assert section_beyond(ctx) is None
