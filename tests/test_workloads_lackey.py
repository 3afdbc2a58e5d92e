"""Valgrind Lackey import."""
import gzip
import subprocess
import sys

import numpy as np
import pytest

from workloads.lackey import Lackey, LackeyFormatError
from workloads.trace import TraceReader, decode, ACCESS, MMAP, PHASE, CYCLES
from workloads.tracecheck import walk

SAMPLE = """\
==1234== Lackey, an example Valgrind tool
==1234== Command: ./a.out
I  04000c50,3
 S 7ff000398,8
 L 7ff000398,8
 L 7ff000390,8
 M 0421c7f0,4
 L 04200ffe,4
I  04000c53,5
--1234-- a debug message

 S 7ff000ff0,16
 L 04400000,1
"""


def convert(tmp_path, text, **params):
    src = tmp_path / "in.txt"
    src.write_text(text)
    out = tmp_path / "out.trace"
    Lackey({"path": str(src), **params}).write(out)
    r = TraceReader(out)
    return r, decode(np.concatenate(list(r.chunks())))


def test_known_lines(tmp_path):
    r, d = convert(tmp_path, SAMPLE)
    k = d["kind"]
    # cycles, the synthesised VMAs (2 MiB-aligned maximal runs), the phase, then accesses
    assert k[0] == CYCLES and d["arg"][0] == 3
    mm = np.flatnonzero(k == MMAP)
    vmas = [(int(d["addr"][i]), int(d["arg"][i]) * 4096) for i in mm]
    assert vmas == [(0x4200000, 4 << 20), (0x7FF000000, 2 << 20)]
    assert k[mm[-1] + 1] == PHASE and r.phases == ["run"]
    acc = k == ACCESS
    got = list(zip(d["addr"][acc].tolist(), d["write"][acc].tolist(), d["arg"][acc].tolist()))
    assert got == [
        (0x7FF000000, True, 1),            # S
        (0x7FF000000, False, 2),           # L, L (same page: merged)
        (0x421C000, False, 1),             # M = read ...
        (0x421C000, True, 1),              #     ... then write
        (0x4200000, False, 1),             # L 04200ffe,4 straddles a page: both pages
        (0x4201000, False, 1),
        (0x7FF000000, True, 1),            # S 7ff000ff0,16 (ends at the page end)
        (0x4400000, False, 1),             # L in the second 2 MiB region of the first VMA
    ]
    ex = r.trailer["lackey"]
    assert ex == {"lines": 9, "skipped_lines": 4, "instr": 2, "loads": 4, "stores": 2,
                  "modifies": 1, "split_accesses": 1, "vmas": 2, "mapped_bytes": 6 << 20}
    assert r.trailer["n_accesses"] == 9 and r.trailer["n_writes"] == 3


def test_include_instructions(tmp_path):
    r, d = convert(tmp_path, SAMPLE, include_instr=True)
    acc = d["kind"] == ACCESS
    a = d["addr"][acc].tolist()
    assert a[0] == 0x4000000 and not d["write"][acc][0]      # I 04000c50 first
    assert r.trailer["n_accesses"] == 11
    assert r.trailer["lackey"]["instr"] == 2
    _, _, outside, _ = walk(tmp_path / "out.trace")
    assert outside == 0


@pytest.mark.parametrize("bad,lineno", [
    (" L 7ff000398\n", 2),            # no size
    (" X 7ff000398,8\n", 2),          # unknown kind
    (" L zz12,8\n", 2),               # not hex
    ("L 7ff000398,8\n", 2),           # data line not indented
    (" L 7ff000398,-8\n", 2),         # negative size
])
def test_malformed_line(tmp_path, bad, lineno):
    src = tmp_path / "in.txt"
    src.write_text(" S 1000,4\n" + bad + " L 2000,4\n")
    out = tmp_path / "out.trace"
    with pytest.raises(LackeyFormatError) as e:
        Lackey({"path": str(src)}).write(out)
    msg = str(e.value)
    assert f":{lineno}:" in msg and bad.strip() in msg
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_cli_and_gzip(tmp_path):
    src = tmp_path / "in.txt.gz"
    with gzip.open(src, "wt") as f:
        f.write(SAMPLE)
    out = tmp_path / "cli.trace"
    res = subprocess.run([sys.executable, "-m", "workloads.lackey", str(src), str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "RuntimeWarning" not in res.stderr
    assert TraceReader(out).trailer["n_accesses"] == 9
    bad = tmp_path / "bad.txt"
    bad.write_text(" S 1000,4\n S 1000;4\n")
    res = subprocess.run([sys.executable, "-m", "workloads.lackey", str(bad),
                          str(tmp_path / "bad.trace")], capture_output=True, text=True)
    assert res.returncode == 2 and "bad.txt:2" in res.stderr and "1000;4" in res.stderr
    assert not (tmp_path / "bad.trace").exists()


def test_missing_path():
    with pytest.raises(ValueError, match="path"):
        Lackey({})


def test_small_blocks_same_result_and_line_numbers(tmp_path, monkeypatch):
    import workloads.lackey as L
    r1, d1 = convert(tmp_path, SAMPLE)
    monkeypatch.setattr(L, "BLOCK_BYTES", 16)             # many blocks, lines cut across them
    r2, d2 = convert(tmp_path, SAMPLE)
    def expanded(d):    # the access stream, page by page (runs may split at block ends)
        acc = d["kind"] == ACCESS
        n = d["arg"][acc].astype(np.int64)
        return np.repeat(d["addr"][acc], n), np.repeat(d["write"][acc], n)
    (a1, w1), (a2, w2) = expanded(d1), expanded(d2)
    assert np.array_equal(a1, a2) and np.array_equal(w1, w2)
    t1, t2 = dict(r1.trailer), dict(r2.trailer)
    t1.pop("n_records"), t2.pop("n_records")
    assert t1 == t2
    src = tmp_path / "bad.txt"
    src.write_text(SAMPLE + " L 1234,4\n S oops,4\n")
    with pytest.raises(LackeyFormatError, match=r"bad.txt:15: .*S oops,4"):
        Lackey({"path": str(src)}).write(tmp_path / "bad.trace")
    assert not (tmp_path / "bad.trace").exists()
    # no trailing newline on the last line
    r3, d3 = convert(tmp_path, " L 1000,4\n S 2000,4")
    assert r3.trailer["n_accesses"] == 2


def test_superblock_lines_are_skipped(tmp_path):
    # valgrind --tool=lackey --trace-mem=yes --trace-superblocks=yes (lk_main.c)
    r, d = convert(tmp_path, "SB 04017aa0\n L 04200000,8\nSB 04017ab3\n S 04200008,8\n")
    acc = d["kind"] == ACCESS
    assert d["write"][acc].tolist() == [False, True]
    assert r.trailer["lackey"]["skipped_lines"] == 2


@pytest.mark.parametrize("line, why", [
    (" L ffffffffff600000,8", "outside the user address space"),    # vsyscall page, >= 2^63
    (" S 1ffffffffffffffff,8", "outside the user address space"),   # 17 hex digits, > 2^64
    (" L 7fffffffffffffff,8", "outside the user address space"),    # crosses 2^63
    (" L 7ff000000,2147483648", "above the importer's bound"),
])
def test_addresses_the_machine_cannot_hold_are_refused_naming_the_line(tmp_path, line, why):
    src = tmp_path / "in.txt"
    src.write_text(f"==1== Lackey\n L 04200000,8\n{line}\n")
    with pytest.raises(LackeyFormatError, match=rf"in.txt:3: .*{why}"):
        Lackey({"path": str(src)}).write(tmp_path / "out.trace")
    assert not (tmp_path / "out.trace").exists()


def test_top_of_a_56_bit_address_space_imports(tmp_path):
    r, d = convert(tmp_path, " L 100000000000000,8\n S 7ffffffff000,8\n")
    assert int(d["arg"][d["kind"] == ACCESS].sum()) == 2


def test_an_access_spanning_several_regions_maps_every_one(tmp_path):
    from sim.simulate import Simulation
    from sim.testing import small_spec
    # one 8 MiB store from 0x7ff000000: four 2 MiB regions, 2048 pages
    r, d = convert(tmp_path, " S 7ff000000,8388608\n")
    mm = d["kind"] == MMAP
    assert d["addr"][mm].tolist() == [0x7ff000000] and (d["arg"][mm] * 4096).tolist() == [8 << 20]
    sim = Simulation(small_spec("linux-4k"), [str(tmp_path / "out.trace")], progress=False)
    sim.run()
    s = sim.summary().iloc[0]
    assert s.accesses == 2048 and s.faults_4k == 2048 and s.writes == 2048


def test_gzip_is_recognised_by_content(tmp_path):
    src = tmp_path / "log.txt"                        # gzip bytes, no .gz suffix
    src.write_bytes(gzip.compress(SAMPLE.encode()))
    out = tmp_path / "out.trace"
    Lackey({"path": str(src)}).write(out)
    plain = tmp_path / "plain.txt"
    plain.write_text(SAMPLE)
    Lackey({"path": str(plain)}).write(tmp_path / "plain.trace")
    assert [c.tolist() for c, _ in TraceReader(out).columns()] == \
        [c.tolist() for c, _ in TraceReader(tmp_path / "plain.trace").columns()]


def test_output_equal_to_input_is_refused(tmp_path):
    src = tmp_path / "log.txt"
    src.write_text(SAMPLE)
    r = subprocess.run([sys.executable, "-m", "workloads.lackey", str(src), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "is the input file" in r.stderr
    assert src.read_text() == SAMPLE
