"""The report's validation section names the measured rows outside their
tolerance, and only those."""
from __future__ import annotations

import math

import pandas as pd

from report.render.sections import validation

COLUMNS = ["trace", "policy", "native_policy", "quantity", "measured", "measured_min",
           "measured_max", "spread", "simulated", "error", "tolerance", "within", "note"]


def _df(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


def test_outside_lists_the_measured_rows_beyond_their_tolerance_in_order():
    nan = math.nan
    df = _df([
        ["val_gather", "linux-4k", "host-4k", "faults", 32768, 32768, 32768, 0.0, 32768, 0.0,
         0.0, True, nan],
        ["val_gather", "linux-4k", "host-4k", "runtime_s", 0.25, 0.24, 0.27, 0.12, 0.21,
         -0.161, 0.15, False, nan],
        ["val_redis", "linux-thp", "host-thp", "fault_time_s", 0.47, 0.3, 0.6, 0.71, 0.13,
         -0.725, 0.71, "False", nan],
        ["val_touch", "linux-thp", "host-thp", "runtime_s", nan, nan, nan, nan, 0.01, nan,
         nan, False, "not measured: THP is never"],
    ])
    assert validation._outside(df) == [
        "val_gather Linux 4 KiB run time (s) -16.1%",
        "val_redis Linux THP (2 MiB) fault time (s) -72.5%",
    ]
    assert validation._outside(df.iloc[[0, 3]]) == []      # none measured outside
