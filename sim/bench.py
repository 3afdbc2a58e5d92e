"""Throughput benchmark of the simulator: simulated accesses per second.

    python -m sim.bench [--accesses 50000000] [--repeat 3] [--reference]
                        [--policies linux-4k linux-thp] [--span-gib 8] [--fault-gib 128]
                        [--scale-spans 11.6 46 121] [--redis-keys 1048576 11000000]
                        [--trace-dir DIR]

Three traces, written to a temporary directory first (not timed):

  hit     every page of an 8 GiB mapping written once (the pre-touch, not
          timed), then ``--accesses`` uniformly random accesses over it
          (30% writes): the hit path, no fault in the timed part;
  mixed   the same pre-touch, then ``--accesses`` accesses in blocks of
          1024 that take turns: sequential (64-byte steps), uniformly random,
          and Zipf 0.99 over the pages (popular pages scattered by a fixed
          permutation), 30% writes: the loop of issue 12;
  fault   one write to every 4 KiB page of a fresh mapping of the span, then
          its munmap, in rounds until ``--fault-gib`` GiB are touched: the
          fault path, every access a first touch (all 4 KiB pages fault;
          under a policy that maps 2 MiB at fault, one in 512).

The timed part starts at the trace's "timed" phase marker (the whole trace for
"fault").  Per trace and policy, after a warm-up that loads numba's compiled
kernels, each figure is the median over ``--repeat`` runs with the spread
[min-max] in brackets:

  run M/s     a whole ``Simulation.run``: the replay loop, faults, policy
              threads and trace decoding, the next chunk decoded on a second
              thread while the current one replays (``TraceCursor``);
  serial M/s  the same with each chunk decoded when it is needed (no overlap);
  loop M/s    the same on records decoded before the clock starts;
  decode      nanoseconds per record to decode the trace on one thread;
  busy        CPU time of the replaying thread / wall-clock time in "loop"
              (median): well below 100%, the machine was busy with other work
              and every M/s figure is low.

M/s is million simulated accesses (a record's repeat count included) per
wall-clock second.  "faults" counts the faults of the timed part; a timed run
shorter than 1 s is flagged with "!" (use more accesses).

``--reference`` also runs the mixed trace's access records through a small C
loop (``sim/bench_ref.c``, compiled at run time with -O2) with the project's
TLB geometry, all pages 4 KiB (against linux-4k) and all 2 MiB (against
linux-thp, whose every fault on this unfragmented machine is a 2 MiB one),
and prints its speed, the simulator's loop and run speed as a ratio of it
(wall clock; "cpu l/C": the loop's ratio in CPU time of the replaying thread,
less disturbed by other work on the machine), and whether the accesses and
the L1-hit, L2-hit and walk counts of the timed part agree.

Scaling (issue 12: the cost per record should not grow with the footprint):
``--scale-spans`` times the hit trace at each of these spans (GiB) and
``--redis-keys`` a whole simulation of config/paper.yaml's Redis bloat trace
(P1-P3, its 10 s pause) with each of these key counts (11M: the paper's,
121 GiB of peak mapped memory), on fig_bloat's machine of the paper profile
(96 GiB) scaled by n_keys / its n_keys.  Each row: nanoseconds of CPU time
of the replaying thread per trace record (of the timed part; of the whole
Redis trace, decode on the other thread not counted), median [min-max] over
``--repeat`` runs, and its ratio to the first row of the same trace and
policy (one untimed run of the first row per policy first: the kernels the
warm-up did not reach, such as khugepaged's collapse, compile there).
``--trace-dir`` keeps these traces between invocations (the Redis generator
takes ~10 CPU-s per million keys).  Only the scaling tables are printed when
either is given (add ``--traces`` for the others).
"""
from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpsim.cli import cli
from hpsim.units import GIB, PAGE_SIZE
from machine.constants import C_ACCESSES, C_FAULTS_4K, C_L1_HITS, C_L2_HITS, C_WALKS
from sim import bench_ref
from sim.batch import TraceCache
from sim.simulate import Simulation, TraceCursor, fault_count
from sim.testing import small_spec
from workloads.trace import KIND_MASK, PHASE, TraceReader, TraceWriter
from workloads.zipf import ZipfianGenerator

BASE = 0x7F0000000000       # 2 MiB aligned: every region of a mapping is whole
TIMED = "timed"              # the phase whose start the clock starts at
LINE = 64                    # sequential step, bytes
BLOCK = 1024                 # accesses per block of one kind in the mixed trace
WRITE_SHARE = 0.3
BATCH = 1 << 21              # accesses generated at a time (bounded memory)
MIN_TIMED_S = 1.0
REF_POLICIES = {"linux-4k": False, "linux-thp": True}   # policy: all pages 2 MiB


def _pretouch(w: TraceWriter, pages: int) -> None:
    """Map the span and write every page once (phase "pretouch"), then mark
    the timed phase."""
    w.cycles(10)
    w.mmap(BASE, pages * PAGE_SIZE)
    w.phase("pretouch")
    for p in range(0, pages, BATCH):
        idx = np.arange(p, min(p + BATCH, pages), dtype=np.uint64)
        w.access(np.uint64(BASE) + idx * np.uint64(PAGE_SIZE), True)
    w.phase(TIMED)


def hit_trace(path: Path, accesses: int, span_gib: float, seed: int = 1) -> None:
    """The hit-path trace (module doc): pre-touch, then uniform random."""
    rng = np.random.default_rng(seed)
    span = int(span_gib * GIB) // PAGE_SIZE * PAGE_SIZE
    with TraceWriter(path, {"workload": "bench_hit", "params": {"span_gib": span_gib}}) as w:
        _pretouch(w, span // PAGE_SIZE)
        for left in range(accesses, 0, -BATCH):
            n = min(left, BATCH)
            off = rng.integers(0, span // LINE, n, dtype=np.uint64) * np.uint64(LINE)
            w.access(np.uint64(BASE) + off, rng.random(n) < WRITE_SHARE)


def mixed_trace(path: Path, accesses: int, span_gib: float, seed: int = 1) -> None:
    """The mixed trace (module doc): pre-touch, then blocks of sequential,
    uniform random and Zipf 0.99 accesses in turn."""
    rng = np.random.default_rng(seed)
    span = int(span_gib * GIB) // PAGE_SIZE * PAGE_SIZE
    pages = span // PAGE_SIZE
    zipf = ZipfianGenerator(pages, 0.99)
    scatter = rng.permutation(pages).astype(np.uint64)
    seq = 0                                  # next sequential line
    with TraceWriter(path, {"workload": "bench_mixed", "params": {"span_gib": span_gib}}) as w:
        _pretouch(w, pages)
        for g in range(0, accesses, BATCH):
            n = min(BATCH, accesses - g)
            kind = ((g + np.arange(n)) // BLOCK) % 3
            off = np.empty(n, np.uint64)
            s, r, z = kind == 0, kind == 1, kind == 2
            ns = int(s.sum())
            off[s] = ((seq + np.arange(ns, dtype=np.uint64)) * LINE) % span
            seq += ns
            off[r] = rng.integers(0, span // LINE, int(r.sum()), dtype=np.uint64) * LINE
            nz = int(z.sum())
            off[z] = (scatter[zipf.sample(rng, nz)] * np.uint64(PAGE_SIZE)
                      + rng.integers(0, PAGE_SIZE // LINE, nz, dtype=np.uint64) * LINE)
            w.access(np.uint64(BASE) + off, rng.random(n) < WRITE_SHARE)


def fault_trace(path: Path, gib: float, span_gib: float) -> None:
    """The fault-path trace (module doc): rounds of mmap, one write to every
    page, munmap, gib GiB touched in all."""
    total = int(gib * GIB) // PAGE_SIZE
    span = max(1, int(span_gib * GIB) // PAGE_SIZE)
    with TraceWriter(path, {"workload": "bench_fault",
                            "params": {"size_gib": gib, "span_gib": span_gib}}) as w:
        w.cycles(10)
        for r0 in range(0, total, span):
            pages = min(span, total - r0)
            w.mmap(BASE, pages * PAGE_SIZE)
            for p in range(0, pages, BATCH):
                idx = np.arange(p, min(p + BATCH, pages), dtype=np.uint64)
                w.access(np.uint64(BASE) + idx * np.uint64(PAGE_SIZE), True)
            w.munmap(BASE, pages * PAGE_SIZE)


class _TimedSimulation(Simulation):
    """Notes the wall clock, this thread's CPU time and the process's counters
    at the "timed" phase."""
    t_timed = cpu_timed = None
    c_timed = None

    def event(self, pr, cur, word, arg):
        super().event(pr, cur, word, arg)
        if word & KIND_MASK == PHASE and arg < len(cur.phases) and cur.phases[arg] == TIMED:
            self.t_timed, self.cpu_timed = time.perf_counter(), time.thread_time()
            self.c_timed = pr.C.copy()


@dataclass
class Timed:
    """The timed part of one run: wall seconds, CPU seconds of the thread
    that replays (not the decode thread's) and counter increases."""
    seconds: float
    cpu: float
    accesses: int
    faults: int
    faults_4k: int
    l1_hits: int
    l2_hits: int
    walks: int


def measure(policy: str, trace: Path, memory_gib: float, cursor=TraceCursor) -> Timed:
    """Simulate trace under policy (one process, an unfragmented machine of
    memory_gib); the timed part's figures."""
    spec = small_spec(policy, memory_mib=int(memory_gib * 1024), sample_interval_s=1e6)
    sim = _TimedSimulation(spec, [str(trace)], progress=False, cursor=cursor)
    t0, cpu0 = time.perf_counter(), time.thread_time()
    sim.run()
    t1, cpu1 = time.perf_counter(), time.thread_time()
    C = sim.m.procs[0].C
    C0 = sim.c_timed if sim.c_timed is not None else np.zeros_like(C)
    start, cpu_start = (sim.t_timed, sim.cpu_timed) if sim.t_timed is not None else (t0, cpu0)
    f0 = fault_count(C0) if sim.c_timed is not None else 0
    out = Timed(t1 - start, cpu1 - cpu_start, int(C[C_ACCESSES] - C0[C_ACCESSES]),
                 fault_count(C) - f0,
                 int(C[C_FAULTS_4K] - C0[C_FAULTS_4K]), int(C[C_L1_HITS] - C0[C_L1_HITS]),
                 int(C[C_L2_HITS] - C0[C_L2_HITS]), int(C[C_WALKS] - C0[C_WALKS]))
    del sim, C
    gc.collect()     # the machine and its policy refer to each other: free it now
    return out


def decode_seconds(trace: Path) -> float:
    """Seconds to decode every chunk of trace on this thread."""
    t0 = time.perf_counter()
    for _ in TraceReader(trace).columns():
        pass
    return time.perf_counter() - t0


def spread(values: list[float]) -> str:
    """'median [min-max]' with one decimal."""
    return f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"


def rate(runs, cpu: bool = False) -> list[float]:
    """Million accesses per wall-clock (cpu: CPU) second of each run
    (``Timed`` or ``bench_ref.RefRun``)."""
    return [r.accesses / (r.cpu if cpu else r.seconds) / 1e6 for r in runs]


def bench_trace(name: str, trace: Path, policies: list[str], memory_gib: float,
                repeat: int) -> dict[str, dict[str, list[Timed]]]:
    """Time every policy on trace in the three cursor modes; print one row
    per policy; return {policy: {mode: runs}}."""
    n_rec = TraceReader(trace).trailer["n_records"]
    dec = statistics.median(decode_seconds(trace) for _ in range(repeat)) / n_rec * 1e9
    # loop: records decoded once, before the first timed run (sim.batch's cache)
    modes = {"run": TraceCursor, "serial": functools.partial(TraceCursor, ahead=False),
             "loop": TraceCache().cursor}
    out = {}
    for pol in policies:
        runs = {m: [] for m in modes}
        for _ in range(repeat):          # modes interleaved: load changes hit all alike
            for m, cur in modes.items():
                runs[m].append(measure(pol, trace, memory_gib, cur))
        r0 = runs["run"][0]
        short = "!" if min(r.seconds for rs in runs.values() for r in rs) < MIN_TIMED_S else ""
        busy = statistics.median(r.cpu / r.seconds for r in runs["loop"])
        print(f"{name:<8}{pol:<12}{r0.accesses:>12,}{r0.faults:>12,}"
              f"{spread(rate(runs['run'])):>19}{spread(rate(runs['serial'])):>19}"
              f"{spread(rate(runs['loop'])):>19}{dec:>8.1f}{busy:>6.0%}{short}", flush=True)
        out[pol] = runs
    return out


def reference(tmp: Path, trace: Path, sims: dict[str, dict[str, list[Timed]]],
              repeat: int) -> None:
    """The C reference on the mixed trace (module doc), printed against the
    simulator's runs of REF_POLICIES in sims."""
    from machine.params import MachineParams
    from hpsim.options import default_config
    exe = bench_ref.build(tmp)
    if exe is None:
        print("reference: no C compiler found ($CC, cc, gcc, clang): skipped")
        return
    rec = tmp / "mixed.records"
    bench_ref.write_records(trace, rec, TIMED)
    geo = MachineParams.from_config(default_config()["machine"]).tlb_geometry
    print(f"\nreference: {bench_ref.SOURCE.name} ({' '.join(bench_ref.CFLAGS)}) on the mixed "
          f"trace, TLB sets x ways {geo}")
    print(f"{'pages':<8}{'policy':<12}{'C M/s':>19}{'loop/C':>8}{'run/C':>8}{'cpu l/C':>8}"
          "  counts (L1 hits, L2 hits, walks)")
    for pol, huge in REF_POLICIES.items():
        ref = bench_ref.run(exe, rec, huge, geo, repeat)
        c_rate, c_cpu = statistics.median(rate(ref)), statistics.median(rate(ref, True))
        runs = sims[pol]
        mine = runs["loop"][0]
        ok = all((r.l1_hits, r.l2_hits, r.walks, r.accesses)
                 == (ref[0].l1_hits, ref[0].l2_hits, ref[0].walks, ref[0].accesses)
                 for rs in runs.values() for r in rs)
        all_huge = "" if not huge or all(r.faults_4k == 0 for r in runs["run"]) else \
            " (not all 2 MiB: 4 KiB faults in the timed part)"
        counts = (f"agree: {mine.l1_hits:,} {mine.l2_hits:,} {mine.walks:,}" if ok else
                  f"DIFFER: simulator {mine.l1_hits:,} {mine.l2_hits:,} {mine.walks:,}, "
                  f"C {ref[0].l1_hits:,} {ref[0].l2_hits:,} {ref[0].walks:,}")
        print(f"{'2 MiB' if huge else '4 KiB':<8}{pol:<12}"
              f"{spread(rate(ref)):>19}"
              f"{statistics.median(rate(runs['loop'])) / c_rate:>8.2f}"
              f"{statistics.median(rate(runs['run'])) / c_rate:>8.2f}"
              f"{statistics.median(rate(runs['loop'], True)) / c_cpu:>8.2f}"
              f"  {counts}{all_huge}")


def paper_profile() -> dict:
    """config/config.yaml with config/paper.yaml merged in (as snakemake
    --configfile config/paper.yaml does)."""
    import yaml
    from hpsim.options import CONFIG_DIR, default_config, merge
    with open(CONFIG_DIR / "paper.yaml") as f:
        return merge(default_config(), yaml.safe_load(f))


def redis_trace(path: Path, n_keys: int, cfg: dict) -> Path:
    """cfg's Redis workload (and seed) with n_keys keys, written to path
    unless a trace is there already (``--trace-dir``)."""
    from workloads import base
    if not path.exists():
        wl = cfg["workloads"]["redis"]
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        # Workload.write is atomic: a trace there is whole
        base.get(wl["kind"])({**wl["params"], "n_keys": n_keys}, cfg["seed"]).write(
            path, progress=False)
    return path


def ns_per_record(runs: list[Timed], records: int) -> list[float]:
    """CPU nanoseconds of the replaying thread per record, per run."""
    return [r.cpu / records * 1e9 for r in runs]


def scaling(tdir: Path, spans: list[float], keys: list[int], policies: list[str],
            accesses: int, repeat: int) -> None:
    """The scaling tables (module doc): hit trace per span, Redis per key count."""
    print(f"{'trace':<8}{'policy':<12}{'footprint':>10}{'records':>14}{'ns/record (cpu)':>22}"
          f"{'ratio':>7}{'busy':>6}")
    rows = []        # (name, trace path, footprint GiB, records, memory GiB, timed part only)
    for g in spans:
        t = tdir / f"hit-{g:g}gib-{accesses}.trace"
        if not t.exists():
            print(f"generating {t} ...", file=sys.stderr, flush=True)
            hit_trace(t, accesses, g)
        rows.append(("hit", t, g, accesses, g + 1))
    cfg = paper_profile() if keys else {}
    for n in keys:
        t = redis_trace(tdir / f"redis-{n}.trace", n, cfg)
        tr = TraceReader(t).trailer
        # fig_bloat's machine at the trace's scale
        paper_keys = cfg["workloads"]["redis"]["params"]["n_keys"]
        memory = cfg["experiments"]["fig_bloat"]["machine"]["memory_gib"] * n / paper_keys
        rows.append(("redis", t, tr["peak_mapped_bytes"] / GIB, tr["n_records"],
                     max(1.0, memory)))
    for pol in policies:
        first = {}
        # untimed: the policy's kernels that the warm-up trace did not reach
        # (khugepaged's collapse, a scanner's) compile here, not in a timed run
        measure(pol, rows[0][1], rows[0][4])
        for name, t, g, records, mem in rows:
            runs = [measure(pol, t, mem) for _ in range(repeat)]
            ns = ns_per_record(runs, records)
            first.setdefault(name, statistics.median(ns))
            busy = statistics.median(r.cpu / r.seconds for r in runs)
            print(f"{name:<8}{pol:<12}{g:>9.1f}G{records:>14,}{spread(ns):>22}"
                  f"{statistics.median(ns) / first[name]:>7.2f}{busy:>6.0%}", flush=True)


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accesses", type=int, default=50_000_000,
                    help="accesses in the timed part of the hit and mixed traces (default 50M)")
    ap.add_argument("--span-gib", type=float, default=8.0,
                    help="mapping of the hit and mixed traces, GiB (default 8)")
    ap.add_argument("--fault-gib", type=float, default=128.0,
                    help="GiB the fault trace touches, in rounds of --span-gib (default 128)")
    ap.add_argument("--policies", nargs="+", default=["linux-4k", "linux-thp"])
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed runs of each figure; median and [min-max] (default 3)")
    ap.add_argument("--traces", nargs="+", default=None, choices=["hit", "mixed", "fault"],
                    help="default: all three, none with --scale-spans or --redis-keys")
    ap.add_argument("--reference", action="store_true",
                    help="also run the mixed trace through the C reference loop")
    ap.add_argument("--scale-spans", type=float, nargs="+", default=[], metavar="GIB",
                    help="time the hit trace at each of these spans (GiB): ns/record")
    ap.add_argument("--redis-keys", type=int, nargs="+", default=[], metavar="N",
                    help="time the paper's Redis trace with each of these key counts")
    ap.add_argument("--trace-dir", type=Path, default=None,
                    help="keep the scaling traces in this directory between runs")
    a = ap.parse_args(argv)
    if a.accesses <= 0 or not a.span_gib > 0 or not a.fault_gib > 0:
        ap.error("--accesses, --span-gib and --fault-gib must be > 0")
    if a.repeat < 1:
        ap.error("--repeat must be >= 1")
    if any(not g > 0 for g in a.scale_spans) or any(n <= 0 for n in a.redis_keys):
        ap.error("--scale-spans and --redis-keys must be > 0")
    scale = bool(a.scale_spans or a.redis_keys)
    if a.traces is None:
        a.traces = [] if scale else ["hit", "mixed", "fault"]
    from policies import REGISTRY
    unknown = sorted(set(a.policies) - set(REGISTRY))
    if unknown:
        ap.error(f"unknown policy {unknown}; known: {sorted(REGISTRY)}")
    traces = list(dict.fromkeys(a.traces + (["mixed"] if a.reference else [])))
    with tempfile.TemporaryDirectory(prefix="hpsim-bench-") as d:
        tmp = Path(d)
        if a.trace_dir is not None:
            a.trace_dir.mkdir(parents=True, exist_ok=True)
        print(f"writing traces to {tmp} ...", file=sys.stderr, flush=True)
        paths = {"hit": tmp / "hit.trace", "mixed": tmp / "mixed.trace",
                 "fault": tmp / "fault.trace"}
        writers = {"hit": lambda p: hit_trace(p, a.accesses, a.span_gib),
                   "mixed": lambda p: mixed_trace(p, a.accesses, a.span_gib),
                   "fault": lambda p: fault_trace(p, a.fault_gib, a.span_gib)}
        for t in traces:
            writers[t](paths[t])
        warm = tmp / "warm.trace"       # loads (or compiles) the numba cache
        hit_trace(warm, 1000, 0.01)
        for pol in set(a.policies) | (set(REF_POLICIES) if a.reference else set()):
            measure(pol, warm, 1)
        if traces:
            print(f"{'trace':<8}{'policy':<12}{'accesses':>12}{'faults':>12}{'run M/s':>19}"
                  f"{'serial M/s':>19}{'loop M/s':>19}{'decode':>8}{'busy':>6}")
        memory = a.span_gib + 1
        results = {}
        for t in traces:
            pols = list(a.policies)
            if t == "mixed" and a.reference:
                pols += [p for p in REF_POLICIES if p not in pols]
            results[t] = bench_trace(t, paths[t], pols, memory, a.repeat)
        if a.reference:
            reference(tmp, paths["mixed"], results["mixed"], a.repeat)
        if scale:
            scaling(a.trace_dir or tmp, a.scale_spans, a.redis_keys, a.policies, a.accesses,
                    a.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
