"""Trace format: round trip, truncation, corruption, versions, atomic writes."""
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from workloads import trace as T
from workloads.trace import TraceFormatError, TraceReader, TraceWriter, decode


def write_sample(path, chunk_records=4, version=T.VERSION):
    with TraceWriter(path, {"workload": "t", "params": {"x": 1}}, chunk_records=chunk_records,
                     version=version) as w:
        w.cycles(7)
        w.mmap(0x200000, 0x400000)
        w.phase("a")
        w.access(np.array([0x200010, 0x200020, 0x201000, 0x200000], np.uint64), False)
        w.access(np.array([0x202000, 0x202008], np.uint64), np.array([True, True]),
                 np.array([3, 4]))
        w.madvise_dontneed(0x201000, 4096)
        w.phase("b")
        w.access([0x203000], True)
        w.munmap(0x200000, 0x400000)
    return w


def records(path):
    r = TraceReader(path)
    return r, np.concatenate(list(r.chunks()))


def test_round_trip(tmp_path):
    p = tmp_path / "t.trace"
    write_sample(p)
    r, recs = records(p)
    d = decode(recs)
    kinds = d["kind"].tolist()
    assert kinds == [T.CYCLES, T.MMAP, T.PHASE, T.ACCESS, T.ACCESS, T.ACCESS, T.ACCESS,
                     T.MADV_DONTNEED, T.PHASE, T.ACCESS, T.MUNMAP]
    acc = d["kind"] == T.ACCESS
    assert d["addr"][acc].tolist() == [0x200000, 0x201000, 0x200000, 0x202000, 0x203000]
    assert d["arg"][acc].tolist() == [2, 1, 1, 7, 1]           # same-page runs merged
    assert d["write"][acc].tolist() == [False, False, False, True, True]
    assert d["arg"][1] == 0x400000 // 4096 and d["addr"][1] == 0x200000
    assert d["arg"][0] == 7
    assert r.header["params"] == {"x": 1} and r.header["version"] == T.VERSION
    assert r.phases == ["a", "b"]
    assert r.trailer["n_accesses"] == 12 and r.trailer["n_writes"] == 8
    assert r.trailer["phase_starts"] == [0, 11]
    assert r.trailer["peak_mapped_bytes"] == 0x400000
    assert r.n_chunks == 3                                      # 11 records, 4 per chunk


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**40), st.booleans(), st.integers(1, 2**20)),
                min_size=1, max_size=200),
       st.integers(1, 17))
def test_round_trip_property(tmp_path_factory, accesses, chunk):
    p = tmp_path_factory.mktemp("h") / "t.trace"
    a = np.array([x[0] for x in accesses], np.uint64)
    w = np.array([x[1] for x in accesses])
    c = np.array([x[2] for x in accesses], np.uint64)
    with TraceWriter(p, {}, chunk_records=chunk) as tw:
        tw.access(a, w, c)
    _, recs = records(p)
    d = decode(recs)
    # expanding the records gives back the page-granular stream
    got_pages = np.repeat(d["addr"], d["arg"].astype(np.int64))
    got_w = np.repeat(d["write"], d["arg"].astype(np.int64))
    exp_pages = np.repeat(a & ~np.uint64(4095), c.astype(np.int64))
    exp_w = np.repeat(w, c.astype(np.int64))
    assert np.array_equal(got_pages, exp_pages) and np.array_equal(got_w, exp_w)
    # no two neighbouring records are mergeable
    same = (d["addr"][1:] == d["addr"][:-1]) & (d["write"][1:] == d["write"][:-1])
    assert not same.any()


def test_truncated_file_names_file(tmp_path):
    p = tmp_path / "t.trace"
    write_sample(p)
    data = p.read_bytes()
    for cut in (len(data) - 3, len(data) - 40, 20, 5):
        q = tmp_path / f"cut{cut}.trace"
        q.write_bytes(data[:cut])
        with pytest.raises(TraceFormatError) as e:
            r = TraceReader(q)
            list(r.chunks())
        assert str(q) in str(e.value)


@pytest.mark.parametrize("version", T.SUPPORTED_VERSIONS)
def test_corrupt_chunk_detected(tmp_path, version):
    p = tmp_path / "t.trace"
    write_sample(p, chunk_records=1 << 10, version=version)
    data = bytearray(p.read_bytes())
    pos = data.index(T.CHUNK_MAGIC) + 16 + 5        # inside the compressed payload
    data[pos] ^= 0xFF
    p.write_bytes(bytes(data))
    r = TraceReader(p)                               # framing is still fine
    with pytest.raises(TraceFormatError, match="chunk 0"):
        list(r.chunks())


def test_unknown_version_rejected(tmp_path):
    p = tmp_path / "t.trace"
    write_sample(p)
    data = bytearray(p.read_bytes())
    data[len(T.MAGIC):len(T.MAGIC) + 2] = struct.pack("<H", 99)
    p.write_bytes(bytes(data))
    with pytest.raises(TraceFormatError, match="version 99"):
        TraceReader(p)


def test_bad_magic_and_missing(tmp_path):
    p = tmp_path / "x.trace"
    p.write_bytes(b"not a trace at all")
    with pytest.raises(TraceFormatError, match="bad magic"):
        TraceReader(p)
    with pytest.raises(TraceFormatError, match="no such trace"):
        TraceReader(tmp_path / "missing.trace")


def test_writer_aborts_on_exception(tmp_path):
    p = tmp_path / "t.trace"
    with pytest.raises(RuntimeError):
        with TraceWriter(p, {}) as w:
            w.access([0x1000], True)
            raise RuntimeError("boom")
    assert not p.exists() and not list(tmp_path.glob("*.part"))


def test_writer_validates_arguments(tmp_path):
    with TraceWriter(tmp_path / "t.trace", {}) as w:
        with pytest.raises(ValueError, match="aligned"):
            w.mmap(0x1001, 4096)
        with pytest.raises(ValueError, match="multiple of 4096"):
            w.mmap(0x1000, 100)
        with pytest.raises(ValueError, match="positive"):
            w.access([0x1000], True, [0])


def test_oversize_repeat_counts_split(tmp_path):
    p = tmp_path / "t.trace"
    with TraceWriter(p, {}) as w:
        w.access([0x1000, 0x1000], True, [T.MAX_ARG, 10])
    _, recs = records(p)
    d = decode(recs)
    assert d["arg"].tolist() == [T.MAX_ARG, 10]
    assert TraceReader(p).trailer["n_accesses"] == T.MAX_ARG + 10


def test_version_1_files_read_as_before(tmp_path):
    """Traces written before the byte-plane format (version 1) still read,
    to the same records (their checks: test_corrupt_chunk_detected and
    test_unknown_kind_names_chunk_and_record)."""
    p1, p2 = tmp_path / "v1.trace", tmp_path / "v2.trace"
    write_sample(p1, version=1)
    write_sample(p2)
    r1, recs1 = records(p1)
    r2, recs2 = records(p2)
    assert (r1.version, r2.version) == (1, 2)
    assert recs1.tobytes() == recs2.tobytes()
    assert r1.trailer == r2.trailer


@pytest.mark.parametrize("version", T.SUPPORTED_VERSIONS)
def test_unknown_kind_names_chunk_and_record(tmp_path, version):
    p = tmp_path / "t.trace"
    with TraceWriter(p, {}, chunk_records=4, version=version) as w:
        w.mmap(0x200000, 0x200000)
        w.access([0x200000, 0x201000, 0x202000, 0x203000], True)
        w._append(np.array([0x200000 | 9], np.uint64), np.array([1], np.uint32))
    with pytest.raises(TraceFormatError, match=r"chunk 1 .*record 1 has unknown kind 9"):
        list(TraceReader(p).columns())


def test_columns_are_contiguous_and_match_chunks(tmp_path):
    p = tmp_path / "t.trace"
    write_sample(p, chunk_records=3)
    r = TraceReader(p)
    for (words, args), recs in zip(r.columns(), r.chunks()):
        assert words.flags.c_contiguous and args.flags.c_contiguous
        assert words.dtype == np.uint64 and args.dtype == np.uint32
        assert (words == recs["word"]).all() and (args == recs["arg"]).all()


def test_writer_refuses_unknown_version(tmp_path):
    with pytest.raises(ValueError, match="version 7"):
        TraceWriter(tmp_path / "t.trace", {}, version=7)
    assert not list(tmp_path.glob("*.part"))


def _rewrite_json_block(path, which: str, payload: bytes) -> None:
    """Replace a written trace's header or trailer bytes by ``payload``."""
    data = path.read_bytes()
    if which == "header":
        n = struct.unpack("<I", data[len(T.MAGIC) + 2:len(T.MAGIC) + 6])[0]
        start = len(T.MAGIC) + 6
        data = (data[:len(T.MAGIC) + 2] + struct.pack("<I", len(payload)) + payload
                + data[start + n:])
    else:
        at = data.rindex(T.END_MAGIC)
        data = data[:at] + T.END_MAGIC + struct.pack("<I", len(payload)) + payload
    path.write_bytes(data)


@pytest.mark.parametrize("which, payload, needle", [
    ("header", b"\xff\xfe{}", "header is not UTF-8 text"),
    ("header", b"{not json", "header is not valid JSON"),
    ("header", b"[1, 2]", "header field (top level)"),
    ("header", b'{"params": 3}', "header field params"),
    ("trailer", b"\xc3\x28", "trailer is not UTF-8 text"),
    ("trailer", b"nope", "trailer is not valid JSON"),
    ("trailer", b'{"n_records": "3", "n_accesses": 1, "phases": []}', "trailer field n_records"),
    ("trailer", b'{"n_records": 3, "n_accesses": 1, "phases": [1]}', "trailer field phases.0"),
    ("trailer", b'{"n_records": 3, "n_accesses": 1, "phases": [], "pauses": {"p": "x"}}',
     "trailer field pauses.p"),
    ("trailer", b'{"n_records": 3, "n_accesses": 1, "phases": [], "live_bytes": [[1]]}',
     "trailer field live_bytes.0"),
])
def test_header_and_trailer_errors_name_the_file_and_field(tmp_path, which, payload, needle):
    p = tmp_path / "t.trace"
    write_sample(p)
    _rewrite_json_block(p, which, payload)
    with pytest.raises(TraceFormatError) as e:
        TraceReader(p)
    assert str(p) in str(e.value) and needle in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_truncated_payload_names_the_truncated_chunk(tmp_path):
    p = tmp_path / "t.trace"
    write_sample(p, chunk_records=4)            # 11 records: chunks 0, 1, 2
    data = p.read_bytes()
    last = data.rindex(T.CHUNK_MAGIC)           # chunk 2 starts here
    p.write_bytes(data[:last + 16 + 3])         # its header and 3 payload bytes
    with pytest.raises(TraceFormatError, match=rf"chunk 2 at byte {last}: truncated payload"):
        TraceReader(p)


@pytest.mark.parametrize("call, needle", [
    (lambda w: w.access([T.ADDRESS_LIMIT], False), "outside the user address space"),
    (lambda w: w.access([-4096], False), "negative"),
    (lambda w: w.access([2.0 ** 64], False), "outside 0.."),
    (lambda w: w.mmap(T.ADDRESS_LIMIT - 4096, 8192), "beyond the user address space"),
    (lambda w: w.munmap(T.ADDRESS_LIMIT, 4096), "beyond the user address space"),
    (lambda w: (w.cycles(T.MAX_ARG), w.access([0x1000], False, counts=[T.MAX_ARG])),
     "overflow the clock"),
])
def test_writer_refuses_addresses_and_products_out_of_range(tmp_path, call, needle):
    p = tmp_path / "t.trace"
    with pytest.raises(ValueError, match=needle):
        with TraceWriter(p, {"workload": "t"}) as w:
            call(w)
    assert not p.exists()


def test_writer_accepts_the_top_of_the_address_space(tmp_path):
    p = tmp_path / "t.trace"
    top = T.ADDRESS_LIMIT - 4096
    with TraceWriter(p, {"workload": "t"}) as w:
        w.cycles(3)
        w.mmap(top, 4096)
        w.access([top + 8], True, counts=[T.MAX_ARG])
    words = np.concatenate([c for c, _ in TraceReader(p).columns()])
    assert int(words[-1]) >> 12 << 12 == top


def _runs(accesses):
    """(words u64, counts u32) of accesses [(address, write, count)] with
    equal neighbouring page words merged, as TraceWriter.access stores them."""
    words, counts = [], []
    for a, wr, c in accesses:
        w = (a & ~0xFFF) | (T.WRITE_BIT if wr else 0)
        if words and words[-1] == w:
            counts[-1] += c
        else:
            words.append(w)
            counts.append(c)
    return np.array(words, np.uint64), np.array(counts, np.uint32)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**14), st.booleans(), st.integers(1, 9)),
                min_size=1, max_size=60),
       st.integers(1, 40), st.integers(1, 7))
def test_access_runs_writes_what_access_writes(tmp_path_factory, accesses, split, chunk):
    """The same merged records through access_runs and access: the same bytes,
    whatever the chunk size (so also with chunks written by the second thread)."""
    d = tmp_path_factory.mktemp("r")
    calls = [accesses[i:i + split] for i in range(0, len(accesses), split)]
    with TraceWriter(d / "a", {}, chunk_records=chunk) as w:
        for c in calls:
            w.access([a for a, _, _ in c], [wr for _, wr, _ in c], [n for _, _, n in c])
    with TraceWriter(d / "b", {}, chunk_records=chunk) as w:
        for c in calls:
            w.access_runs(*_runs(c))
    assert (d / "a").read_bytes() == (d / "b").read_bytes()
    r = TraceReader(d / "b")
    assert r.trailer["n_accesses"] == sum(n for _, _, n in accesses)
    assert r.trailer["n_writes"] == sum(n for _, wr, n in accesses if wr)


@pytest.mark.parametrize("words, counts, needle", [
    ([0x1000, 0x1000], [1, 2], "record 1"),                 # not merged
    ([0x1000, 0x2001], [1, 2], "record 1"),                 # kind bits (an mmap)
    ([0x1000, 0x2000], [1, 0], "record 1"),                 # zero count
    ([2**63, 0x2000], [1, 1], "record 0"),                  # beyond the address space
    ([0x1000], [1, 2], "one count per word")])
def test_access_runs_refuses_what_is_no_merged_access(tmp_path, words, counts, needle):
    with pytest.raises(ValueError, match=needle):
        with TraceWriter(tmp_path / "t", {}) as w:
            w.access_runs(np.array(words, np.uint64), np.array(counts, np.uint32))
    assert not (tmp_path / "t").exists()


class _FailingCompressor:
    def compress(self, data):
        raise OSError("disk full")


@pytest.mark.parametrize("n_records", [1, 10])
def test_writer_thread_error_is_raised_and_the_file_removed(tmp_path, n_records):
    """A chunk that fails on the writing thread fails the next flush (10
    records, 2 a chunk) or close (1 record), and no file is left."""
    w = TraceWriter(tmp_path / "t", {}, chunk_records=2)
    w._cctx = _FailingCompressor()
    with pytest.raises(OSError, match="disk full"):
        with w:
            w.access(np.arange(n_records, dtype=np.uint64) * 4096, False)
    assert not (tmp_path / "t").exists() and not w.tmp.exists()
