"""python -m host.lines: cache lines a trace's records touch, with the native
replay's random word per access and with consecutive words; exact on a tiny
trace, and a one-line error for a missing one."""
from __future__ import annotations

import pytest

from host import lines
from sim.testing import A, write_trace


def test_line_counts_of_known_records():
    # 1 access: one line either way; 8: 64 (1 - (63/64)^8) random, 1 + 7/8 from a
    # random word; 512 (a whole page): nearly all 64, and all 64
    r, s = lines.line_counts([1])
    assert (r, s) == pytest.approx((1.0, 1.0))
    r, s = lines.line_counts([8])
    assert r == pytest.approx(64 * (1 - (63 / 64) ** 8)) and s == pytest.approx(1.875)
    r, s = lines.line_counts([512])
    assert r == pytest.approx(64 * (1 - (63 / 64) ** 512)) and s == 64.0


def test_summary_of_a_tiny_trace(tmp_path):
    def body(w):
        w.cycles(10)
        w.mmap(A, 3 * 4096)
        w.access([A, A + 4096, A + 8192], False, counts=[1, 8, 600])
    t = write_trace(tmp_path / "t.trace", body)
    s = lines.summarise(t)
    assert (s["records"], s["accesses"]) == (3, 609)
    assert s["consecutive_words"] == pytest.approx(1 + 1.875 + 64)
    assert s["by_count"] == [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]


def test_a_missing_trace_is_a_one_line_error(tmp_path, capsys):
    assert lines.main([str(tmp_path / "none.trace")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: trace not found") and "\n" not in err
