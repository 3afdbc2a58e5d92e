"""Helpers for tests and notebooks: a small machine and one-call simulation.

    from sim.testing import small_spec, run
    sim = run(small_spec("linux-thp"), [lambda w: (w.mmap(A, 4 << 20), w.access(...))])
    sim.summary()  # pandas DataFrame, one row per process
"""
from __future__ import annotations

import atexit
import copy
import shutil
import tempfile
from pathlib import Path

from hpsim.units import MIB, PAGE_SHIFT, PAGE_SIZE
from hpsim.options import default_config, defaults, merge  # noqa: F401  (default_config: for tests)
from sim.simulate import Simulation
from workloads.trace import TraceWriter

# Hand-made traces: a 2 MiB-aligned base address and the default clock.
A = 0x40000000
HZ = float(default_config()["machine"]["cpu_ghz"]) * 1e9   # the default profile's clock


def pages(first, n, step=1, base=A):
    """Addresses of n pages from page index first, every step pages."""
    import numpy as np
    return base + (first + np.arange(n, dtype=np.uint64) * step) * PAGE_SIZE


def compute(w, seconds, cycles=1000, addr=A):
    """Spend simulated time cheaply: one page hit many times."""
    w.cycles(cycles)
    w.access([addr], False, counts=[int(seconds * HZ / cycles)])


def small_spec(policy: str, memory_mib: int = 64, policy_params: dict | None = None,
               sample_interval_s: float = 1.0, **pressure) -> dict:
    """A run spec on a small machine with the default profile's constants:
    the policy's complete options (``hpsim.options.defaults``) with
    ``policy_params`` merged in."""
    cfg = default_config()
    machine = copy.deepcopy(cfg["machine"])
    machine["memory_gib"] = memory_mib / 1024
    params = merge(defaults(policy), policy_params)
    return {"machine": machine, "pressure": {"fragmentation": 0.0, "tenant_fraction": 0.0,
                                             **pressure},
            "policy": {"name": policy, "params": params},
            "run": {"sample_interval_s": sample_interval_s}, "seed": 1}


def write_trace(path, body, header: dict | None = None) -> Path:
    """Write a trace by calling body(writer)."""
    with TraceWriter(path, header or {"workload": "test"}) as w:
        body(w)
    return Path(path)


def access(m, pr, addr: int, write: bool, count: int = 1) -> int:
    """Replay a single access on machine m for process pr; returns the status."""
    import numpy as np
    from machine import engine
    from workloads.trace import WRITE_BIT
    words = np.array([(addr >> PAGE_SHIFT << PAGE_SHIFT) | (WRITE_BIT if write else 0)], np.uint64)
    args = np.array([count], np.uint32)
    _, st = engine.replay(words, args, 0, 1 << 62, m.ph, m.G, m.rg, m.P, pr.arrays, pr.tlb)
    return int(st)


def run(spec: dict, bodies, starts=None, run_sim: bool = True) -> Simulation:
    """Simulate one process per body (a function writing a trace).  The
    traces go to a temporary folder removed when the Python process exits."""
    tmp = Path(tempfile.mkdtemp(prefix="hpsim-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    paths = [write_trace(tmp / f"p{i}.trace", b) for i, b in enumerate(bodies)]
    spec = dict(spec)
    spec.setdefault("processes", [{"name": f"p{i}", "start_s": (starts or [0] * len(paths))[i]}
                                  for i in range(len(paths))])
    sim = Simulation(spec, [str(p) for p in paths], progress=False)
    if run_sim:
        sim.run()
    return sim
