"""python -m host.lines: cache lines a trace's records touch, with the native
replay's random word per access and with consecutive words; exact on a tiny
trace, and a one-line error for a missing one."""
from __future__ import annotations

import pytest

from host import lines
from sim.testing import A, write_trace
from tests.test_host import needs_linux


def test_line_counts_of_known_records():
    # 1 access: one line either way; 8: 64 (1 - (63/64)^8) random, 1 + 7/8 from a
    # random word; 512 (a whole page): nearly all 64, and all 64
    r, s = lines.line_counts([1])
    assert (r, s) == pytest.approx((1.0, 1.0))
    r, s = lines.line_counts([8])
    assert r == pytest.approx(64 * (1 - (63 / 64) ** 8)) and s == pytest.approx(1.875)
    r, s = lines.line_counts([512])
    assert r == pytest.approx(64 * (1 - (63 / 64) ** 512)) and s == 64.0
    # 64-byte accesses (a trace with access_bytes 64): one line each, at most 64
    assert lines.line_counts([8, 100], unit=64)[1] == 8 + 64


def test_summary_of_a_tiny_trace(tmp_path):
    def body(w):
        w.cycles(10)
        w.mmap(A, 3 * 4096)
        w.access([A, A + 4096, A + 8192], False, counts=[1, 8, 600])
    t = write_trace(tmp_path / "t.trace", body)
    s = lines.summarise(t)
    assert (s["access_bytes"], s["records"], s["accesses"]) == (8, 3, 609)
    assert s["consecutive_words"] == pytest.approx(1 + 1.875 + 64)
    assert s["by_count"] == [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]


def test_a_missing_trace_is_a_one_line_error(tmp_path, capsys):
    assert lines.main([str(tmp_path / "none.trace")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: trace not found") and "\n" not in err


@needs_linux
def test_the_native_replay_places_a_record_on_consecutive_units():
    """host/native.c place: from a pseudo-random unit, consecutive words (or lines),
    wrapping within the page."""
    from host import native
    for unit, count in ((8, 600), (64, 70)):
        offs = [int(x) for x in native.run("place", 12345, count, unit).split()]
        assert len(offs) == count and all(o % unit == 0 and 0 <= o < 4096 for o in offs)
        assert all((b - a) % 4096 == unit for a, b in zip(offs, offs[1:]))
