"""Redis bloat experiment (HawkEye Fig. 1) and serving phase."""
import numpy as np
import pytest

from workloads.redis import Redis
from workloads.trace import TraceReader, decode, ACCESS, MADV_DONTNEED, MUNMAP
from workloads.tracecheck import walk

N = 2000
KB, VB, BIG = 10, 4096, 2 << 20
MiB = 1 << 20


@pytest.fixture(scope="module")
def bloat(tmp_path_factory):
    p = tmp_path_factory.mktemp("r") / "r.trace"
    wl = Redis({"n_keys": N}, seed=1)
    wl.write(p)
    return wl, p, TraceReader(p)


def live_at(r, phase):
    """Live bytes at the start of ``phase`` (last checkpoint at that access index)."""
    idx = r.trailer["phase_starts"][r.phases.index(phase)]
    pts = [b for i, b in r.trailer["live_bytes"] if i == idx]
    return pts[-1]


def test_phases_and_pause(bloat):
    _, _, r = bloat
    assert r.phases == ["p1_insert", "p2_delete", "pause", "p3_insert_large"]
    assert r.trailer["pauses"] == {"pause": 10.0}
    s = r.trailer["phase_starts"]
    assert s[2] == s[3]                                   # the pause has no accesses


def test_live_bytes_exact(bloat):
    _, _, r = bloat
    ex = r.trailer["redis"]
    p1 = N * (KB + VB)
    assert ex["p1_bytes"] == p1
    assert live_at(r, "p2_delete") == p1                  # after P1
    assert ex["n_deleted"] == 1600
    assert ex["live_after_p2"] == p1 // 5                 # exactly 20% of P1's values remain
    assert live_at(r, "p3_insert_large") == p1 // 5
    final = ex["final_live_bytes"]
    assert p1 <= final < p1 + KB + BIG
    assert ex["n_large"] == -(-(p1 - p1 // 5) // (KB + BIG))
    assert r.trailer["live_bytes"][-1] == [r.trailer["n_accesses"], final]


def test_live_bytes_checkpoints(bloat):
    _, _, r = bloat
    pts = r.trailer["live_bytes"]
    idx = [i for i, _ in pts]
    assert idx == sorted(idx) and idx[-1] == r.trailer["n_accesses"]
    assert len(pts) >= 100
    gaps = np.diff([b for _, b in pts])
    # P1 grows in steps of about 1% of the run's operations (~ 36 keys here)
    assert max(gaps) <= max(40 * (KB + VB), KB + BIG)
    for ph in r.phases:
        assert r.trailer["phase_starts"][r.phases.index(ph)] in idx


def test_trace_in_vmas_and_allocator_events(bloat):
    _, p, r = bloat
    _, events, outside, per_phase = walk(p)
    assert outside == 0
    kinds = [k for k, _, _ in events]
    assert MADV_DONTNEED in kinds                          # P2 frees whole runs -> purge
    # P3 values are huge allocations: 4 MiB chunk-aligned mappings
    big = [(a, n) for k, a, n in events if k == 1 and n == 1024]
    assert len(big) >= r.trailer["redis"]["n_large"]
    assert all(a % (2 << 20) == 0 for a, _ in big)
    # P1 writes every value page: at least 4096/64 line writes per value
    assert per_phase["p1_insert"] >= N * 2 * 64


def test_value_pages_written_in_p1(bloat):
    wl, p, r = bloat
    # P2 touches far fewer lines than P1 (deletes do not write values)
    s = r.trailer["phase_starts"]
    p1 = s[1] - s[0]
    p2 = s[2] - s[1]
    assert p2 < p1 / 5


def test_deterministic_and_seeded(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    Redis({"n_keys": 300}, seed=4).write(a)
    Redis({"n_keys": 300}, seed=4).write(b)
    Redis({"n_keys": 300}, seed=5).write(c)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("preset,frac", [("A", 0.5), ("B", 0.95)])
def test_serve_mix(tmp_path, preset, frac):
    p = tmp_path / "s.trace"
    Redis({"n_keys": 500, "bloat": False, "serve_requests": 4000, "ycsb": preset,
           "distribution": "zipfian"}, seed=2).write(p)
    r = TraceReader(p)
    ex = r.trailer["redis"]
    assert r.phases == ["p1_insert", "serve"]
    gets = ex["gets"]
    assert abs(gets / 4000 - frac) < 0.03
    assert ex["sets"] == 500 + 4000 - gets
    assert ex["misses"] == 0                             # no deletes: every key exists
    assert ex["final_live_bytes"] == 500 * (KB + VB)     # updates keep the size
    _, _, outside, _ = walk(p)
    assert outside == 0


def test_serve_after_bloat_misses_deleted_keys(tmp_path):
    p = tmp_path / "s.trace"
    Redis({"n_keys": 500, "serve_requests": 3000, "ycsb": "B",
           "distribution": "uniform"}, seed=2).write(p)
    r = TraceReader(p)
    ex = r.trailer["redis"]
    assert r.phases[-1] == "serve"
    # ~80% of the GETs hit deleted keys
    assert 0.6 < ex["misses"] / ex["gets"] < 0.95


def test_bad_parameters():
    with pytest.raises(ValueError, match="ycsb"):
        Redis({"ycsb": "Z"})
    with pytest.raises(ValueError, match="distribution"):
        Redis({"distribution": "pareto"})
    with pytest.raises(ValueError, match="serve_requests"):
        Redis({"bloat": False})


# -- the big-argument path, request by request ------------------------------

class Out:
    """Records what an Emitter writes: per-page accesses and events, in order."""

    def __init__(self):
        self.log = []              # ("acc", page address, write, lines) or (event, addr, length)
        self.n_accesses = 0

    def access(self, addrs, writes, counts):
        for a, w, c in zip(addrs.tolist(), writes.tolist(), counts.tolist()):
            self.log.append(("acc", a, w, c))
            self.n_accesses += c

    def mmap(self, a, n):
        self.log.append(("mmap", a, n))

    def munmap(self, a, n):
        self.log.append(("munmap", a, n))

    def madvise_dontneed(self, a, n):
        self.log.append(("madvise", a, n))


def big_sets(n_values):
    """A fresh server receiving n_values SETs of 2 MiB values; returns the
    recorder's log split per request and the server."""
    from workloads.jemalloc import Jemalloc
    from workloads.redis import Emitter, RedisModel
    out = Out()
    em = Emitter(out)
    r = RedisModel(em, Jemalloc(em), KB, salt=0)
    em.flush()
    logs = []
    for k in range(n_values):
        start = len(out.log)
        r.set(k, BIG)
        em.flush()
        logs.append(out.log[start:])
    return logs, r


MAP = 4 << 20                      # CHUNK_CEILING of a 2.5 or 3.5 MiB huge class
REGION = 2 << 20


def test_big_value_sizes():
    from workloads.redis import multibulk_bytes, sds_alloc_size
    assert multibulk_bytes(3, KB, BIG) == 40 + BIG + 2      # *3 $3 SET $10 key $2097152
    assert sds_alloc_size(BIG + 2) == 9 + BIG + 2 + 1 == REGION + 12


def test_second_big_set_touches_the_second_region():
    """SET #2 is received into the buffer SET #1 left (sdsnewlen(NULL, ll+2),
    header at +0, value from +9, CRLF at +2097161..2097162); then the next
    buffer is malloc'ed (a new 4 MiB chunk-aligned mapping) and memset over its
    2097164 bytes: pages 0..512, the 513th being the first page of the second
    2 MiB region, written with 12 bytes (one line)."""
    logs, r = big_sets(2)
    log = logs[1]
    q = r.value(1)[0]                                       # SET #2's value: the old buffer
    qb = r.qb[0]
    mm = [e for e in log if e[0] == "mmap"]
    assert mm == [("mmap", qb, MAP)]                        # only the new buffer is mapped
    assert qb % REGION == 0 and q % REGION == 0
    i_map = log.index(mm[0])
    recv = {a for k, a, w, c in (e for e in log[:i_map] if e[0] == "acc")
            if q <= a < q + MAP}
    assert recv == {q + i * 4096 for i in range(513)}
    assert all(w for k, a, w, c in (e for e in log[:i_map] if e[0] == "acc")
               if q + 4 * 4096 < a < q + MAP)               # beyond the first read: writes only
    memset = [(a, w, c) for k, a, w, c in (e for e in log[i_map:] if e[0] == "acc")
              if qb <= a < qb + MAP]
    assert [a for a, _, _ in memset] == [qb + i * 4096 for i in range(513)]
    assert all(w for _, w, _ in memset)
    assert [c for _, _, c in memset] == [64] * 512 + [1]
    assert r.qb_cap == BIG + 2 and r.qb_hdr == 9


def test_first_big_set_grows_the_query_buffer():
    """The first big argument finds the 32 KiB query buffer (sdshdr16) and
    sdsMakeRoomFor grows it to ll+2 + SDS_MAX_PREALLOC: a 9 + 3145730 + 1 byte
    malloc, class 3.5 MiB, which becomes the value; then the 2097164-byte buffer.
    tryObjectEncoding trims the value (1 MiB free > len/10): a realloc to
    9 + ll + 1 bytes, class 2.5 MiB, in place in its 4 MiB chunk, which purges
    [2.5 MiB, 3.5 MiB) of it (huge_ralloc_no_move_similar)."""
    logs, r = big_sets(1)
    mm = [e for e in logs[0] if e[0] == "mmap"]
    assert [n for _, _, n in mm] == [MAP, MAP]
    v, usable = r.value(0)                                  # 9 + BIG + 1 bytes in use
    assert v == mm[0][1] and usable == 2.5 * MiB
    assert r.qb == (mm[1][1], 2.5 * MiB)                    # 9 + BIG + 2 + 1 bytes
    # the old 32 KiB buffer's 10 dirty pages stay (far below the purge threshold)
    assert [e for e in logs[0] if e[0] in ("madvise", "munmap")] == \
        [("madvise", v + (5 << 19), 1 << 20)]
    # the value's pages: 0..512 written (memcpy + reads), nothing beyond
    pages = {a for k, a, *_ in (e for e in logs[0] if e[0] == "acc") if v <= a < v + MAP}
    assert pages == {v + i * 4096 for i in range(513)}


@pytest.mark.parametrize("n_values", [1, 4])
def test_big_values_under_thp_take_two_huge_pages_each(n_values):
    """Under THP enabled=always (linux-thp), a P3-like trace on an empty heap:
    1 huge fault for the arena chunk of the small objects, 2 for the first
    value's buffer, and 2 for each new query buffer (its 12-byte tail faults in
    a whole second huge page): 2 n + 3 faults of 2 MiB, no 4 KiB fault.  The
    first value's trim (madvise of its [2.5, 3.5) MiB) splits one huge page."""
    from sim.testing import run, small_spec
    from workloads.jemalloc import Jemalloc
    from workloads.redis import Emitter, RedisModel

    def body(w):
        em = Emitter(w)
        r = RedisModel(em, Jemalloc(em), KB, salt=0)
        for k in range(n_values):
            r.set(k, BIG)
        em.flush()

    s = run(small_spec("linux-thp", memory_mib=64), [body]).summary().iloc[0]
    assert s["faults_2m"] == 2 * n_values + 3
    assert s["faults_4k"] == 0 and s["oom"] == 0 and s["splits"] == 1
    s4 = run(small_spec("linux-4k", memory_mib=64), [body]).summary().iloc[0]
    assert s4["faults_2m"] == 0


def _purge_stats(tmp_path, **params):
    p = tmp_path / f"r{len(list(tmp_path.iterdir()))}.trace"
    Redis({"n_keys": 3000, **params}, seed=3).write(p)
    _, events, outside, _ = walk(p)
    assert outside == 0
    ex = TraceReader(p).trailer["redis"]
    return ex["purges"], ex["purged_pages"], sum(1 for k, _, _ in events if k == MADV_DONTNEED)


def test_purge_ratio_parameter(tmp_path):
    """lg_dirty_mult -1 never purges (the one madvise left is the first big
    value's trim); 0 lets dirty pages reach the active ones, so it purges less
    than the default 3 (1/8)."""
    assert _purge_stats(tmp_path, lg_dirty_mult=-1) == (0, 0, 1)
    n3, pages3, madv3 = _purge_stats(tmp_path)
    n0, pages0, madv0 = _purge_stats(tmp_path, lg_dirty_mult=0)
    assert n3 > 0 and pages3 > pages0 and madv3 > madv0 >= 1


def test_redis_40_quantum(tmp_path):
    """Redis 4.0's jemalloc (lg_quantum 3): dictEntry in the 24-byte class."""
    from workloads.jemalloc import Jemalloc
    from workloads.redis import Emitter, RedisModel
    em = Emitter(Out())
    r = RedisModel(em, Jemalloc(em, lg_quantum=3), KB, salt=0)
    r.set(0, VB)
    r.set(1, VB)
    assert abs(r.entry_addr(1) - r.entry_addr(0)) == 24
    assert _purge_stats(tmp_path, lg_quantum=3)[0] > 0
