"""Redis bloat experiment (HawkEye Fig. 1) and serving phase."""
import numpy as np
import pytest

from workloads.redis import Redis
from workloads.trace import TraceReader, decode, ACCESS, MADV_DONTNEED, MUNMAP
from workloads.tracecheck import walk

N = 2000
KB, VB, BIG = 10, 4096, 2 << 20


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
