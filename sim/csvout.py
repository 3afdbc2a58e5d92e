"""Result tables as CSV bytes, written as pandas writes them, without pandas.

``csv_bytes(columns, rows)`` gives the bytes of
``pandas.DataFrame(rows, columns=columns).to_csv(index=False, lineterminator="\\n")``
for the cell types the run layer makes.  Importing pandas costs a simulation
job 175-290 ms of its start-up (measured on this machine class, ``python -X
importtime``), more than writing its tables; the simulation path does not
import it.

pandas infers one dtype per column and formats the column by it; the cases
reproduced here (each column's non-missing cells, missing = None or NaN):

- all bool, none missing: ``True``/``False``;
- all int (Python or numpy, within int64), none missing: the integer;
- all int or float (Python or numpy float64), with a float or a missing cell:
  float64, written as ``repr(float(x))`` (numpy's shortest round-trip form,
  the same text), a missing cell as the empty string;
- all str: the string, a missing cell as the empty string;
- all missing: empty strings.

Any other column (mixed kinds, numpy float32, ints beyond int64, objects),
or a table without columns, is written by pandas itself, imported then.
Quoting is the csv module's QUOTE_MINIMAL, which pandas uses too.
``tests/test_csvout.py`` compares both on generated tables.
"""
from __future__ import annotations

import csv
import io

import numpy as np

_INT64 = (-(1 << 63), (1 << 63) - 1)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _is_int(v) -> bool:
    return (isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
            and _INT64[0] <= v <= _INT64[1])


def _cells(values: list) -> list[str] | None:
    """The text of one column's cells, or None when pandas' dtype for it is
    not one of the cases above."""
    present = [v for v in values if not _missing(v)]
    some_missing = len(present) < len(values)
    if all(isinstance(v, str) for v in present):
        return ["" if _missing(v) else v for v in values]
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return None if some_missing else [str(bool(v)) for v in values]
    if all(_is_int(v) for v in present) and not some_missing:
        return [str(int(v)) for v in values]
    if all(_is_int(v) or type(v) in (float, np.float64) for v in present):
        return ["" if _missing(v) else repr(float(v)) for v in values]
    return None


def csv_bytes(columns: list[str] | None, rows: list[dict]) -> bytes:
    """The CSV text (UTF-8) of a table given as a list of dicts, one per row;
    ``columns`` in order, or None for every key in order of first appearance
    (a key missing from a row is a missing cell; keys not in ``columns`` are
    left out), as pandas' DataFrame constructor takes them."""
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    cols = [_cells([r.get(c) for r in rows]) for c in columns]
    if not columns or any(c is None for c in cols):
        import pandas as pd     # a case not reproduced here: pandas decides
        return pd.DataFrame(rows, columns=columns or None).to_csv(
            index=False, lineterminator="\n").encode()
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    w.writerows(zip(*cols))
    return out.getvalue().encode()
