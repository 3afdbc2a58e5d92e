"""Throughput benchmark of the simulator: simulated accesses per second.

    python -m sim.bench [--accesses 20000000] [--policies linux-4k linux-thp]
                            [--repeat 1] [--trace-version 2]

Two traces, as the foundation issue asks: the paper's buffer touch
(10 GiB, one write per 4 KiB page: every access faults under 4 KiB pages)
and a uniformly random trace over 8 GiB.  Traces are written to a temporary
directory first (not timed).  Per trace and policy, on one core, after a
warm-up run that loads numba's compiled cache:

  run M/s    a whole ``Simulation.run``: trace decoding, the compiled replay
             loop, faults, mmap/munmap, policy threads;
  loop M/s   the same run on records decoded beforehand (the replay loop,
             fault path and policy work alone);
  decode     nanoseconds per record to stream the trace (zstd and the byte-
             plane join, ``TraceCursor``): the part of "run" that "loop" omits.

``--floor`` also times the bare TLB model on the random trace's pages: an L1
and an L2 true-LRU lookup and one page-state byte per access, nothing else.
No simulator of this TLB can replay the random trace faster than that on
this machine.  With ``--repeat N`` each figure is the fastest of N (the
machine may be shared).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hpsim.cli import cli
from hpsim.units import GIB, PAGE_SHIFT, PAGE_SIZE
from machine import tlb as tlbmod
from machine.jit import kernel
from sim.simulate import Simulation, TraceCursor
from sim.testing import small_spec
from workloads.buffer_touch import BufferTouch
from workloads.trace import (ACCESS, KIND_MASK, SUPPORTED_VERSIONS, VERSION, TraceReader,
                             TraceWriter)

BASE = 0x7F0000000000


def random_trace(path: Path, accesses: int, span_gib: float, seed: int = 1,
                 version: int = VERSION) -> None:
    rng = np.random.default_rng(seed)
    pages = int(span_gib * GIB) // PAGE_SIZE
    with TraceWriter(path, {"workload": "bench_random", "params": {"span_gib": span_gib}},
                     version=version) as w:
        w.cycles(10)
        w.mmap(BASE, pages * PAGE_SIZE)
        left = accesses
        while left:
            n = min(left, 1 << 20)
            idx = rng.integers(0, pages, n, dtype=np.uint64)
            w.access(np.uint64(BASE) + idx * np.uint64(PAGE_SIZE), rng.random(n) < 0.3)
            left -= n


class PreloadedCursor(TraceCursor):
    """A TraceCursor over records decoded before the clock starts."""
    decoded: dict[str, list] = {}

    def __init__(self, path):
        super().__init__(path)
        if path not in self.decoded:
            self.decoded[path] = list(self.reader.columns())
        self._chunks = iter(self.decoded[path])


def measure(policy: str, trace: Path, memory_gib: int, repeat: int = 1,
            cursor=TraceCursor) -> tuple[int, float]:
    best = float("inf")
    for _ in range(repeat):
        spec = small_spec(policy, memory_mib=memory_gib * 1024, sample_interval_s=1.0)
        sim = Simulation(spec, [str(trace)], progress=False, cursor=cursor)
        t0 = time.perf_counter()
        sim.run()
        best = min(best, time.perf_counter() - t0)
        n = int(sim.summary()["accesses"].sum())
        del sim
    return n, best


def decode_time(trace: Path, repeat: int = 1) -> float:
    """Seconds to stream the trace's chunks as the simulation does."""
    best = float("inf")
    for _ in range(repeat):
        cur = TraceCursor(str(trace))
        t0 = time.perf_counter()
        while cur.next_chunk():
            pass
        best = min(best, time.perf_counter() - t0)
    return best


@kernel
def _tlb_floor(words, l1, l2, state):
    m1, m2 = l1.shape[0] - 1, l2.shape[0] - 1
    hits = 0
    for i in range(len(words)):
        vpn = np.int64(words[i] >> PAGE_SHIFT)
        t = tlbmod.tag_4k(vpn)
        s = state[vpn & (len(state) - 1)]
        if not tlbmod.touch(l1, vpn & m1, t):
            hits += tlbmod.touch(l2, vpn & m2, t)
        state[vpn & (len(state) - 1)] = s | 3
    return hits


def tlb_floor_ns(trace: Path, repeat: int = 1) -> float:
    """Nanoseconds per record of the bare TLB model (see the module doc)."""
    from machine.params import MachineParams
    from sim.testing import default_config
    words = np.concatenate([w for w, _ in TraceReader(trace).columns()])
    words = words[(words & np.uint64(KIND_MASK)) == ACCESS] - np.uint64(BASE)
    span = 1 << int(np.ceil(np.log2(max(2, int(words.max() >> PAGE_SHIFT) + 1))))
    geo = MachineParams.from_config(default_config()["machine"]).tlb_geometry
    best = float("inf")
    for k in range(repeat + 1):       # the first call compiles or loads
        tlb = tlbmod.new_tlb(*geo)
        state = np.zeros(span, np.uint8)
        t0 = time.perf_counter()
        _tlb_floor(words, tlb.l1s_tag, tlb.l2_tag, state)
        if k:
            best = min(best, time.perf_counter() - t0)
    return best / len(words) * 1e9


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accesses", type=int, default=20_000_000,
                    help="accesses in the random trace (default 20M)")
    ap.add_argument("--buffer-gib", type=float, default=10.0)
    ap.add_argument("--random-gib", type=float, default=8.0)
    ap.add_argument("--policies", nargs="+", default=["linux-4k", "linux-thp"])
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each run N times and keep the fastest (default 1)")
    ap.add_argument("--trace-version", type=int, default=VERSION, choices=SUPPORTED_VERSIONS,
                    help=f"trace format to write and read (default {VERSION})")
    ap.add_argument("--floor", action="store_true",
                    help="also time the bare TLB model on the random trace")
    a = ap.parse_args(argv)
    if a.accesses <= 0 or a.buffer_gib <= 0 or a.random_gib <= 0 or a.repeat <= 0:
        ap.error("--accesses, --buffer-gib, --random-gib and --repeat must be > 0")
    from policies import REGISTRY
    unknown = sorted(set(a.policies) - set(REGISTRY))
    if unknown:
        ap.error(f"unknown policy {unknown}; known: {sorted(REGISTRY)}")
    tmp = Path(tempfile.mkdtemp(prefix="hpsim-bench-"))
    try:
        print(f"writing traces (format version {a.trace_version}) to {tmp} ...",
              file=sys.stderr)
        buf = tmp / "buffer.trace"
        BufferTouch({"size_gib": a.buffer_gib}).write(buf, version=a.trace_version)
        rnd = tmp / "random.trace"
        random_trace(rnd, a.accesses, a.random_gib, version=a.trace_version)
        # warm-up: loads (or compiles, the first time) the numba cache
        warm = tmp / "warm.trace"
        BufferTouch({"size_gib": 0.01}).write(warm)
        for pol in a.policies:
            measure(pol, warm, 1)
        print(f"{'trace':<24}{'policy':<13}{'accesses':>12}{'run s':>8}{'run M/s':>9}"
              f"{'loop M/s':>10}{'decode ns':>11}")
        for name, trace in ((f"buffer touch {a.buffer_gib:g} GiB", buf),
                            (f"uniform random {a.random_gib:g} GiB", rnd)):
            n_rec = TraceReader(trace).trailer["n_records"]
            dec = decode_time(trace, a.repeat) / n_rec * 1e9
            for pol in a.policies:
                n, dt = measure(pol, trace, 96, a.repeat)
                _, dl = measure(pol, trace, 96, a.repeat, cursor=PreloadedCursor)
                print(f"{name:<24}{pol:<13}{n:>12,}{dt:>8.2f}{n / dt / 1e6:>9.1f}"
                      f"{n / dl / 1e6:>10.1f}{dec:>11.1f}", flush=True)
            PreloadedCursor.decoded.clear()
        if a.floor:
            ns = tlb_floor_ns(rnd, a.repeat)
            print(f"bare TLB model on the random trace: {ns:.1f} ns/access = "
                  f"{1e3 / ns:.1f} M/s at most")
    finally:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
