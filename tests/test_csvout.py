"""sim.csvout writes the bytes pandas' to_csv writes, without importing pandas."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.csvout import csv_bytes

NONE = st.one_of(st.none(), st.just(float("nan")))
KINDS = {
    "int": st.integers(-(1 << 63), (1 << 63) - 1),
    "bigint": st.integers(-(1 << 70), 1 << 70),
    "npint": st.integers(-(1 << 40), 1 << 40).map(np.int64),
    "float": st.floats(allow_nan=True, allow_infinity=True),
    "npfloat": st.floats(width=64).map(np.float64),
    "npfloat32": st.floats(width=32).map(np.float32),
    "bool": st.booleans(),
    "str": st.text(alphabet=st.sampled_from('ab,"\n x\r;1.'), max_size=6),
}


@st.composite
def tables(draw):
    """A list of dict rows whose columns each mix one to three kinds of cell,
    some keys missing from some rows."""
    names = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
    kinds = {n: draw(st.lists(st.sampled_from(sorted(KINDS) + ["none"]), min_size=1,
                              max_size=3)) for n in names}
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        row = {}
        for n in names:
            kind = draw(st.sampled_from(kinds[n] + ["absent"]))
            if kind != "absent":
                row[n] = draw(NONE if kind == "none" else KINDS[kind])
        rows.append(row)
    columns = draw(st.one_of(st.none(), st.permutations(names + ["zz"])))
    return rows, columns


def pandas_bytes(rows, columns) -> bytes:
    return pd.DataFrame(rows, columns=columns).to_csv(index=False, lineterminator="\n").encode()


@settings(max_examples=400, deadline=None)
@given(tables())
def test_the_same_bytes_as_pandas(table):
    rows, columns = table
    assert csv_bytes(columns, rows) == pandas_bytes(rows, columns)


def test_homogeneous_columns_are_written_without_pandas():
    rows = [{"s": "x,\"y", "i": 3, "f": 0.1, "n": 2, "b": True, "m": None},
            {"s": None, "i": np.int64(-4), "f": float("nan"), "n": 1e16, "b": False}]
    assert csv_bytes(None, rows) == pandas_bytes(rows, None)
    assert csv_bytes(None, rows) == b's,i,f,n,b,m\n"x,""y",3,0.1,2.0,True,\n,-4,,1e+16,False,\n'
    # the run layer's own module imports no pandas on the way
    r = subprocess.run([sys.executable, "-c", "import sys; import sim.csvout, sim.batch; "
                        "from sim.csvout import csv_bytes; csv_bytes(None, [{'a': 1.5}]); "
                        "print('pandas' in sys.modules)"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_a_simulations_tables_are_the_bytes_of_its_data_frames():
    """Every table of a run with phases, promotions, splits and two processes:
    Simulation.tables() (sim.csvout) against pandas' to_csv of the same rows."""
    from hpsim.units import MIB
    from sim.testing import A, compute, pages, run, small_spec

    def body(w):
        w.phase("load")
        w.mmap(A, 8 * MIB)
        w.access(pages(0, 683, 3), True)
        w.phase("run")
        compute(w, 0.3)
        w.madvise_dontneed(A + MIB, MIB)
        w.access(pages(0, 409, 5), False)
    spec = small_spec("hawkeye-g", memory_mib=64, sample_interval_s=0.01, fragmentation=0.3)
    spec["labels"] = {"experiment": "x", "time_scale": 0.1, "variant": "a,b"}
    sim = run(spec, [body, body], starts=[0.0, 0.05])
    got = sim.tables()
    frames = {"summary.csv": sim.summary(), "timeseries.csv": pd.DataFrame(sim.rows),
              "events.csv": sim.events_table(), "threads.csv": sim.threads_table(),
              "fault_hist.csv": sim.hist_table(), "phases.csv": sim.phases_table()}
    assert len(frames["events.csv"]) > 4 and len(frames["phases.csv"]) == 4
    for name, df in frames.items():
        assert got[name] == df.to_csv(index=False, lineterminator="\n").encode(), name
