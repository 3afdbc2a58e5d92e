"""python -m host.footprint: the chase curve's rows, the effective-LLC
bracket, and one-line refusals of bad arguments."""
from __future__ import annotations

import pytest

from host import footprint
from tests.test_host import needs_thp


def _rows(lines):
    return [{"size_mib": s, "line_2m_ns": v, "page_4k_ns": 0.0, "page_2m_ns": 0.0,
             "walk_4k_ns": 0.0} for s, v in lines]


def test_effective_llc_is_bracketed_where_the_latency_passes_half_way():
    # 10 ns while it fits, 140 ns beyond: the step between 8 and 16 MiB (half way: 75 ns)
    rows = _rows([(4, 10.0), (8, 18.0), (16, 132.0), (32, 140.0)])
    assert footprint.effective_llc_mib(rows) == (8, 16)
    assert "between 8 and 16 MiB" in footprint.table(rows)


def test_effective_llc_needs_a_rise():
    assert footprint.effective_llc_mib(_rows([(4, 50.0), (8, 50.0)])) is None
    assert footprint.effective_llc_mib(_rows([(4, 50.0)])) is None
    assert "not bracketed" in footprint.table(_rows([(4, 50.0)]))


@pytest.mark.parametrize("size", ["3", "0", "x"])
def test_a_size_that_is_not_a_power_of_two_is_a_usage_error(size, capsys):
    with pytest.raises(SystemExit) as e:
        footprint.main(["--sizes", size])
    assert e.value.code == 2
    assert "a size in MiB must be a power of two" in capsys.readouterr().err


def test_repeat_below_one_is_a_one_line_error(capsys):
    assert footprint.main(["--repeat", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --repeat 0: must be >= 1"


@needs_thp
def test_sizes_beyond_the_memory_cap_are_refused_before_any_chase(capsys):
    assert footprint.main(["--sizes", str(1 << 30)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MemAvailable" in err[0]


@needs_thp
def test_small_sizes_give_one_row_each_with_positive_latencies(tmp_path, capsys):
    out = tmp_path / "curve.csv"
    assert footprint.main(["--sizes", "2", "1", "--repeat", "1", "--csv", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(footprint.COLUMNS)
    rows = [dict(zip(footprint.COLUMNS, map(float, r.split(",")))) for r in lines[1:]]
    assert [r["size_mib"] for r in rows] == [1, 2]          # sorted
    for r in rows:
        assert r["line_2m_ns"] > 0 and r["page_4k_ns"] > 0 and r["page_2m_ns"] > 0
        assert r["walk_4k_ns"] == pytest.approx(r["page_4k_ns"] - r["page_2m_ns"], abs=0.11)
    assert "| size_mib |" in capsys.readouterr().out
