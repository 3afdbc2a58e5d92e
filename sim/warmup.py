"""Compile (or load from numba's cache) every kernel once, before the
workflow's simulations start in parallel, so they do not all compile at once.

    python -m sim.warmup OUT_FLAG_FILE
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from hpsim.cli import cli
from hpsim.numba_cache import announce_compile
from hpsim.units import MIB, PAGE_SIZE
from machine import engine
from policies import REGISTRY
from sim.simulate import COMPILE_S
from sim.testing import run, small_spec
from workloads import planes

A = 0x40000000


def exercise(w):
    """mmap, faults of every kind, madvise (splits), munmap, a long run."""
    w.cycles(100)
    w.mmap(A, 8 * MIB)
    w.access(A + np.arange(0, 2048, 3, dtype=np.uint64) * PAGE_SIZE, True)
    w.access(A + np.arange(1, 2048, 7, dtype=np.uint64) * PAGE_SIZE, False)
    w.madvise_dontneed(A + MIB, MIB)
    w.access([A], False, counts=[30_000_000])
    w.munmap(A, 8 * MIB)


@cli
def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    t0 = time.perf_counter()
    announce_compile(engine.replay, "simulation kernels", COMPILE_S)
    planes.load_kernels()       # the trace codec's, which small test traces do not reach
    for policy in sorted(REGISTRY):
        sim = run(small_spec(policy, memory_mib=64), [exercise])
        sim.m.check_invariants()
        print(f"warm-up: {policy} ok", file=sys.stderr, flush=True)
    print(f"kernels ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if argv:
        Path(argv[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(argv[0]).write_text("numba kernels compiled\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
