"""Progress lines of long jobs (hpsim.progress): when they come, what they
say (done of total, rate, ETA, simulated time), --progress/--quiet on the
command lines, and the announcement of a first compilation."""
from __future__ import annotations

import io
import json
import re

import numba
import pytest
from numba import njit

from hpsim import progress
from hpsim.numba_cache import announce_compile
from hpsim.progress import Progress
from hpsim.units import MIB
from sim import batch, simulate
from sim.testing import A, compute, pages, small_spec, write_trace
from workloads import generate

# a log line (hpsim.progress.LOG_FORMAT) with an ETA in minutes:seconds
LINE = re.compile(r"^(?P<desc>.+): (?P<pct>\d+)% (?P<done>\S+)/(?P<total>\S+) (?P<unit>[a-z ]+), "
                  r"\S+ [a-z ]+/s, \d\d:\d\d elapsed, ETA (?P<eta>\d\d:\d\d)(?P<note>, .*)?$")


class Clock:
    """tqdm's clock, set by hand."""
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _clocked(p: Progress, clock: Clock) -> None:
    bar = p.bar
    bar._time = clock
    bar.start_t = bar.last_print_t = clock.t


def test_log_lines_first_after_first_s_then_every_interval():
    out, clock = io.StringIO(), Clock()
    p = Progress("job", 1050, "pages", interval=10, stream=out, note=lambda: "simulated 2.00 s")
    _clocked(p, clock)
    for t, done in [(0.5, 50), (1.0, 100), (5.0, 500), (11.0, 600), (12.0, 700)]:
        clock.t = t
        p.update(done)
    clock.t = 13.0
    p.close()
    lines = out.getvalue().splitlines()
    # 0.5 s: before FIRST_S; 1 s: the first; 5 s: < 10 s after it; 11 s; 12 s: no; close
    assert [LINE.match(x)["done"] for x in lines] == ["100", "600", "700"], lines
    first = LINE.match(lines[0])
    # 100 pages in the first second: 100/s, 950 left: 9.5 s
    assert (first["desc"], first["pct"], first["total"], first["unit"], first["eta"],
            first["note"]) == ("job", "10", "1.05k", "pages", "00:09", ", simulated 2.00 s")
    assert "\r" not in out.getvalue()


def test_bars_alive_at_once_write_plain_lines_in_a_log():
    # sim.lockstep's policies progress side by side: tqdm gave the second bar
    # a position and wrote cursor-up escapes into the log around its lines
    out, clock = io.StringIO(), Clock()
    bars = [Progress(f"p{k}", 100, interval=1, stream=out) for k in range(3)]
    for p in bars:
        _clocked(p, clock)
    for t in (1.0, 2.0):
        clock.t = t
        for p in bars:
            p.update(int(40 * t))
    for p in bars:
        p.close()
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text
    lines = text.splitlines()
    assert [LINE.match(x)["desc"] for x in lines] == ["p0", "p1", "p2"] * 2, lines


def test_close_adds_no_copy_of_a_last_line_already_shown():
    out, clock = io.StringIO(), Clock()
    p = Progress("job", 10, interval=1, stream=out)
    _clocked(p, clock)
    clock.t = 1.0
    p.update(10)
    p.close()
    assert len(out.getvalue().splitlines()) == 1


def test_progress_off_writes_nothing():
    out = io.StringIO()
    with Progress("job", 10, interval=False, stream=out) as p:
        p.update(5)
    assert out.getvalue() == ""


def test_a_job_shorter_than_first_s_prints_no_line():
    out = io.StringIO()
    with Progress("job", 10, stream=out) as p:
        p.update(10)
    assert out.getvalue() == ""


def _trace(tmp_path):
    """516 records: cycles, mmap, 512 page writes, then cycles + one page
    read 3 s long (three steps of the 1 s sample interval)."""
    def body(w):
        w.cycles(1000)
        w.mmap(A, 4 * MIB)
        w.access(pages(0, 512), True)
        compute(w, 3.0)
    return write_trace(tmp_path / "p.trace", body)


def _progress_lines(err: str) -> list[re.Match]:
    return [m for m in map(LINE.match, err.splitlines()) if m]


def test_simulate_prints_progress_with_eta_and_quiet_prints_none(tmp_path, capsys):
    trace = _trace(tmp_path)
    argv = ["--spec", json.dumps(small_spec("linux-thp")), "--trace", str(trace)]
    assert simulate.main(argv + ["--out-dir", str(tmp_path / "a"), "--progress", "0"]) == 0
    lines = _progress_lines(capsys.readouterr().err)
    assert lines and all(m["desc"] == "linux-thp" and m["total"] == "516" for m in lines)
    last = lines[-1]
    assert (last["pct"], last["done"], last["unit"]) == ("100", "516", "records")
    assert re.fullmatch(r", simulated 3\.\d\d s, \d+% memory free", last["note"]), last["note"]
    assert simulate.main(argv + ["--out-dir", str(tmp_path / "b"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert not _progress_lines(err) and "records" not in err
    # the tables do not depend on the progress lines
    for name in simulate.TABLES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_batch_names_each_policy_in_its_progress(tmp_path, capsys):
    trace = _trace(tmp_path)
    spec = {k: v for k, v in small_spec("linux-4k").items() if k != "policy"}
    spec["policies"] = [{"name": "linux-4k"}, {"name": "linux-thp"}]
    assert batch.main(["--spec", json.dumps(spec), "--trace", str(trace),
                       "--out-dir", str(tmp_path / "o"), "--progress", "0"]) == 0
    descs = {m["desc"] for m in _progress_lines(capsys.readouterr().err)}
    assert descs == {"linux-4k [1/2]", "linux-thp [2/2]"}


def test_generate_prints_work_done_of_total(tmp_path, capsys):
    spec = {"kind": "buffer_touch", "params": {"size_gib": 4 / 1024, "chunk_pages": 256}}
    assert generate.main(["--spec", json.dumps(spec), "--out", str(tmp_path / "t.trace"),
                          "--progress", "0"]) == 0
    lines = _progress_lines(capsys.readouterr().err)
    # 1024 pages in chunks of 256: a line after each chunk
    assert [m["done"] for m in lines] == ["256", "512", "768", "1.02k"]
    assert {(m["desc"], m["total"], m["unit"]) for m in lines} == {
        ("generate buffer_touch", "1.02k", "pages")}
    assert lines[-1]["note"].startswith(", ") and "records written" in lines[-1]["note"]


def test_generate_quiet_prints_nothing(tmp_path, capsys):
    spec = {"kind": "buffer_touch", "params": {"size_gib": 4 / 1024, "chunk_pages": 256}}
    assert generate.main(["--spec", json.dumps(spec), "--out", str(tmp_path / "t.trace"),
                          "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert (tmp_path / "t.trace").exists()


def test_negative_progress_interval_is_an_input_error(tmp_path, capsys):
    rc = simulate.main(["--spec", "{}", "--trace", "t", "--out-dir", str(tmp_path),
                        "--progress", "-1"])
    assert rc == 2
    assert capsys.readouterr().err.strip() == "error: --progress -1.0: must be >= 0 seconds"


def test_progress_and_quiet_exclude_each_other(tmp_path):
    with pytest.raises(SystemExit):
        simulate.main(["--spec", "{}", "--trace", "t", "--out-dir", str(tmp_path),
                       "--progress", "1", "--quiet"])


def _twice(x):
    return 2 * x


def test_first_compilation_announces_itself_once(tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    d = njit(cache=True)(_twice)        # a new dispatcher, its cache under tmp_path
    out = io.StringIO()
    assert announce_compile(d, "test kernels", 42, stream=out)
    msg = out.getvalue().strip()
    assert msg.startswith(f"compiling test kernels, about 42 s, once per numba cache "
                          f"(numba cache: {tmp_path}")
    assert d(3) == 6                    # compiles and saves to the cache
    assert not announce_compile(njit(cache=True)(_twice), "test kernels", 42, stream=out)
    assert out.getvalue().strip() == msg


def test_a_log_gets_a_line_at_least_every_10_s():   # issue 14
    assert progress.FIRST_S <= progress.LOG_INTERVAL_S <= 10


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_bar_is_redrawn_in_place():
    out = _Terminal()
    with Progress("job", 4, interval=0, stream=out) as p:
        for done in range(1, 5):
            p.update(done)
    text = out.getvalue()
    assert text.count("\r") >= 4 and text.endswith("\n") and text.count("\n") == 1
    assert "4/4" in text


def test_a_first_compilation_holds_a_lock_that_a_second_process_waits_for(tmp_path, monkeypatch):
    """compiling_alone: uncached, the block runs holding an exclusive flock on
    the cache folder's .compile.lock (a second job blocks); cached, no lock."""
    import fcntl
    from hpsim.numba_cache import compiling_alone
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    d = njit(cache=True)(_twice)
    out = io.StringIO()
    with compiling_alone(d, "test kernels", 42, stream=out):
        locks = list(tmp_path.rglob(".compile.lock"))
        assert len(locks) == 1
        with open(locks[0]) as other:           # as another process would
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert d(3) == 6                        # compiles and caches
    assert out.getvalue().startswith("compiling test kernels, about 42 s")
    with open(locks[0]) as other:               # released
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(other, fcntl.LOCK_UN)
    out2 = io.StringIO()
    with compiling_alone(njit(cache=True)(_twice), "test kernels", 42, stream=out2):
        pass
    assert out2.getvalue() == ""                # cached: nothing to say, no wait
