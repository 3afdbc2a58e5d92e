"""sim.bench and its C reference loop; the trace reader's decode-ahead."""
import numpy as np
import pytest

from hpsim.options import default_config
from hpsim.units import HUGE_SIZE, PAGE_SIZE
from machine.params import MachineParams
from sim import bench, bench_ref
from sim.simulate import Simulation, TraceCursor
from sim.testing import A, pages, small_spec, write_trace
from workloads.trace import TraceFormatError, TraceReader, TraceWriter

GEO = MachineParams.from_config(default_config()["machine"]).tlb_geometry


def test_geometry_is_what_the_hand_counts_assume():
    # L1 4 KiB: 16 sets x 4, L1 2 MiB: 8 x 4, L2: 128 x 8 (machine.tlb in config.yaml)
    assert GEO == (16, 4, 8, 4, 128, 8)


def small_4k(w):
    """Pages 0..63 (64 walks), again (64 L1 hits), 64..127 (64 walks, each L1
    set now holds only new pages), 0..63 again (L1 misses, 64 L2 hits), then
    page 5 five times in one record (a walk? no: page 5 was just touched, an
    L1 hit plus 4 repeats)."""
    w.mmap(A, 1 << 20)
    w.access(pages(0, 64), True)
    w.phase(bench.TIMED)
    w.access(pages(0, 64), False)
    w.access(pages(64, 64), False)
    w.access(pages(0, 64), False)
    w.access(pages(5, 1), False, counts=[5])


def small_2m(w):
    """40 regions written (40 2 MiB faults and walks), then read again: the
    L1 2 MiB (8 sets x 4 ways) holds 5 regions per set in a cycle, so every
    read misses it; the L2 (128 sets) holds all 40: 40 L2 hits."""
    w.mmap(A, 40 * HUGE_SIZE)
    base = A + np.arange(40, dtype=np.uint64) * HUGE_SIZE
    w.access(base, True)
    w.phase(bench.TIMED)
    w.access(base + PAGE_SIZE, False)


# (policy, body, huge, access records in the trace,
#  the timed part's (accesses, L1 hits, L2 hits, walks), the warm-up's walks)
EXPECTED = {
    "4k": ("linux-4k", small_4k, False, 64 * 4 + 1, (197, 64 + 5, 64, 64), 64),
    "2m": ("linux-thp", small_2m, True, 80, (40, 0, 40, 0), 40),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_simulator_timed_part_counts(tmp_path, case):
    pol, body, _, _, want, _ = EXPECTED[case]
    t = write_trace(tmp_path / "t.trace", body)
    r = bench.measure(pol, t, 0.125)
    assert (r.accesses, r.l1_hits, r.l2_hits, r.walks) == want
    # the 4 KiB trace's first reads of pages 64..127 map the zero page
    assert (r.faults, r.faults_4k) == ((64, 0) if case == "4k" else (0, 0))


@pytest.mark.skipif(bench_ref.compiler() is None, reason="no C compiler")
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_reference_loop_agrees_with_simulator(tmp_path, case):
    pol, body, huge, n_rec, want, warm_walks = EXPECTED[case]
    t = write_trace(tmp_path / "t.trace", body)
    exe = bench_ref.build(tmp_path)
    rec = tmp_path / "t.records"
    assert bench_ref.write_records(t, rec, bench.TIMED) == n_rec
    runs = bench_ref.run(exe, rec, huge, GEO, 2)
    assert len(runs) == 2
    for r in runs:
        assert (r.accesses, r.l1_hits, r.l2_hits, r.walks) == want
    # the whole trace timed: the warm-up's walks count too
    bench_ref.write_records(t, rec, None)
    r = bench_ref.run(exe, rec, huge, GEO, 1)[0]
    # (each warm-up access is a first touch of its page: one walk each)
    assert (r.accesses, r.walks) == (want[0] + warm_walks, want[3] + warm_walks)


def test_write_records_refuses_a_missing_phase(tmp_path):
    t = write_trace(tmp_path / "t.trace", lambda w: (w.mmap(A, 1 << 20),
                                                    w.access(pages(0, 2), True)))
    with pytest.raises(ValueError, match="no phase 'timed'"):
        bench_ref.write_records(t, tmp_path / "r", bench.TIMED)


@pytest.mark.parametrize("argv, needle", [
    (["--accesses", "0"], "must be > 0"),
    (["--span-gib", "-1"], "must be > 0"),
    (["--fault-gib", "0"], "must be > 0"),
    (["--repeat", "0"], "--repeat must be >= 1"),
    (["--policies", "nope"], "unknown policy"),
    (["--traces", "random"], "invalid choice"),
    (["--accesses", "x"], "invalid int value"),
    (["--scale-spans", "1", "0"], "--scale-spans and --redis-keys must be > 0"),
    (["--redis-keys", "0"], "--scale-spans and --redis-keys must be > 0"),
])
def test_cli_argument_errors(capsys, argv, needle):
    with pytest.raises(SystemExit) as e:
        bench.main(argv)
    assert e.value.code == 2
    assert needle in capsys.readouterr().err


def test_scaling_rows_and_kept_traces(tmp_path, capsys):
    """--scale-spans: one row per span and policy, the first of each policy
    at ratio 1.00, only the scaling table; the traces stay in --trace-dir
    and are reused (not rewritten) by the next invocation."""
    argv = ["--scale-spans", "0.01", "0.02", "--accesses", "3000", "--repeat", "2",
            "--policies", "linux-4k", "linux-thp", "--trace-dir", str(tmp_path)]
    assert bench.main(argv) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines()
            if ln.startswith("hit ")]
    assert [(r[1], r[2]) for r in rows] == [("linux-4k", "0.0G"), ("linux-4k", "0.0G"),
                                           ("linux-thp", "0.0G"), ("linux-thp", "0.0G")]
    assert all(r[3] == "3,000" for r in rows)
    assert rows[0][-2] == "1.00" and rows[2][-2] == "1.00"
    kept = sorted(tmp_path.glob("hit-*.trace"))
    assert [k.name for k in kept] == ["hit-0.01gib-3000.trace", "hit-0.02gib-3000.trace"]
    stamps = [k.stat().st_mtime_ns for k in kept]
    assert bench.main(argv) == 0
    assert [k.stat().st_mtime_ns for k in kept] == stamps


def test_mixed_trace_takes_turns(tmp_path):
    p = tmp_path / "m.trace"
    bench.mixed_trace(p, 3 * bench.BLOCK + 10, 0.0625)
    r = TraceReader(p)
    assert r.phases == ["pretouch", bench.TIMED]
    assert r.trailer["n_accesses"] == 3 * bench.BLOCK + 10 + 0.0625 * 2**30 // PAGE_SIZE


def multi_chunk(path, chunk):
    with TraceWriter(path, {"workload": "t"}, chunk_records=chunk) as w:
        w.mmap(A, 64 * HUGE_SIZE)
        rng = np.random.default_rng(3)
        w.access(A + rng.integers(0, 64 * HUGE_SIZE, 5000).astype(np.uint64),
                 rng.random(5000) < 0.3)
        w.phase("two")
        w.access(pages(0, 700, step=3), True)


def test_columns_ahead_yields_the_same_chunks(tmp_path):
    p = tmp_path / "t.trace"
    multi_chunk(p, 333)
    want = [(w.copy(), a.copy()) for w, a in TraceReader(p).columns()]
    got = []
    for w, a in TraceReader(p).columns_ahead():
        got.append((w.copy(), a.copy()))    # the ring reuses the arrays later
    assert len(got) == len(want) > 3
    for (w0, a0), (w1, a1) in zip(want, got):
        assert (w0 == w1).all() and (a0 == a1).all()


def test_columns_reuse_ring(tmp_path):
    p = tmp_path / "t.trace"
    multi_chunk(p, 333)
    chunks = list(TraceReader(p).columns(reuse=2))
    # chunk j and j + 2 share memory, j and j + 1 do not
    assert np.shares_memory(chunks[0][0], chunks[2][0])
    assert not np.shares_memory(chunks[0][0], chunks[1][0])


def test_columns_ahead_raises_at_the_corrupt_chunk(tmp_path):
    p = tmp_path / "t.trace"
    with TraceWriter(p, {}, chunk_records=4) as w:
        w.mmap(0x200000, 0x200000)
        w.access([0x200000, 0x201000, 0x202000, 0x203000], True)
        w._append(np.array([0x200000 | 9], np.uint64), np.array([1], np.uint32))
    it = TraceReader(p).columns_ahead()
    assert len(next(it)[0]) == 4        # chunk 0 is fine; chunk 1 fails when asked for
    with pytest.raises(TraceFormatError, match=r"chunk 1 .*record 1 has unknown kind 9"):
        next(it)


def test_decode_ahead_changes_no_result(tmp_path):
    p = tmp_path / "t.trace"
    multi_chunk(p, 97)
    tables = []
    for ahead in (False, True):
        sim = Simulation(small_spec("linux-thp", memory_mib=256, sample_interval_s=1e-4),
                         [str(p)], progress=False,
                         cursor=lambda t, ahead=ahead: TraceCursor(t, ahead=ahead))
        sim.run()
        tables.append((sim.summary().to_csv(), sim.events_table().to_csv(),
                       sim.phases_table().to_csv(), str(sim.rows)))
    assert tables[0] == tables[1]


def test_fault_trace_rounds(tmp_path):
    p = tmp_path / "f.trace"
    bench.fault_trace(p, 5 / 1024, 2 / 1024)     # 5 MiB in rounds of 2, 2 and 1 MiB
    r = bench.measure("linux-4k", p, 0.125)
    assert (r.accesses, r.faults, r.faults_4k) == (1280, 1280, 1280)
    kinds = np.concatenate([w for w, _ in TraceReader(p).columns()]) & np.uint64(15)
    assert [(k, int((kinds == k).sum())) for k in (1, 2)] == [(1, 3), (2, 3)]   # mmap, munmap
