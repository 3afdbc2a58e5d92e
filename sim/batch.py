"""Simulate every policy of one run in one process, one policy after another.

    python -m sim.batch --spec RUN_SPEC_JSON --trace A.trace [--trace B.trace ...] \\
        --out-dir results/runs/table1 [--mem-mb MB]

RUN_SPEC_JSON is ``python -m sim.simulate``'s spec with ``policies`` (a list
of {name, params}) in place of ``policy``; each policy's six tables go to
OUT_DIR/<policy name>/, byte-identical to what ``sim.simulate`` writes for
that policy alone (``tests/test_batch.py``).

Why one process: the workflow's simulations of the default profile each did
a few hundred ms of work after 0.6-0.9 s of start-up (imports, numba's
dispatchers loading the cached kernels); here the start-up, the kernels and
the decoded traces are paid once per run instead of once per policy.

Memory: the policies run one after the other and each one's machine is freed
before the next starts, so the run needs the largest policy's memory, not
the sum.  The decoded traces are kept for the next policies (``TraceCache``)
only when they fit in the budget beside the machine's estimate
(``sim.budget.estimate``); each simulation's budget is then ``--mem-mb``
minus the cache.  Otherwise a run of one trace replays it with all its
policies side by side, decoding it once (``sim.lockstep``), when their
machines together and the decoded window fit the budget; failing that, every
policy decodes the traces again.
"""
from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import Callable

from hpsim.cli import cli
from hpsim.io import InputError, atomic_paths
from hpsim.numba_cache import announce_compile
from hpsim.units import MIB
from machine import engine
from machine.constants import C_ACCESSES
from policies.base import policy_class
from sim import budget, lockstep
from sim.simulate import (COMPILE_S, TABLES, Simulation, TraceCursor, machine_params,
                          parse_run_args)
from workloads.trace import RECORD_BYTES, TraceReader


class TraceCache:
    """Decoded traces shared by the simulations of one run.

    ``cursor(path)`` is a ``TraceCursor`` whose chunks are decoded once, on
    the first call for ``path``, and replayed from memory afterwards (the
    replay loop only reads a chunk's arrays).  Holds 12 bytes per record
    (``nbytes``): u64 words and u32 args."""

    def __init__(self):
        self.decoded: dict[str, list] = {}

    def cursor(self, path) -> TraceCursor:
        cur = TraceCursor(path, ahead=False)
        key = str(path)
        if key not in self.decoded:
            self.decoded[key] = list(cur.reader.columns())
        cur._chunks = iter(self.decoded[key])
        return cur

    @staticmethod
    def nbytes(readers: list[TraceReader]) -> int:
        """Host bytes the decoded records of these traces take."""
        return sum(int(r.trailer["n_records"]) * RECORD_BYTES for r in readers)


def policy_specs(spec: dict) -> list[dict]:
    """One ``sim.simulate`` spec per entry of ``spec["policies"]``, in order.
    Raises InputError when ``policies`` is missing, empty, not a list of
    objects, names a policy twice, or ``policy`` is given too."""
    pols = spec.get("policies")
    if "policy" in spec or not isinstance(pols, list) or not pols \
            or not all(isinstance(p, dict) for p in pols):
        raise InputError("--spec must be a JSON object with a non-empty 'policies' list of "
                         "{name, params} objects and no 'policy' key (see --help)")
    names = [p.get("name") for p in pols]
    for n in names:
        policy_class(n)      # an unknown name: ValueError naming the known ones
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"--spec: policies {dup} listed more than once")
    rest = {k: v for k, v in spec.items() if k != "policies"}
    return [{**rest, "policy": p} for p in pols]


def cache_fits(spec: dict, traces: list[str], mem_mb: float | None) -> int:
    """Bytes of decoded records to keep across the policies: all the traces'
    when they fit beside the machine's estimate in the budget, else 0."""
    readers = [TraceReader(t) for t in traces]
    need = budget.estimate([int(r.trailer.get("peak_mapped_bytes", 0)) for r in readers],
                           machine_params(spec).n_blocks)
    cached = TraceCache.nbytes(readers)
    return cached if need + cached <= budget.budget_bytes(mem_mb) else 0


def lockstep_fits(specs: list[dict], traces: list[str], mem_mb: float | None) -> bool:
    """Whether the run can replay its one trace with all its policies side by
    side (``sim.lockstep``): more than one policy, and every policy's machine
    estimate together with the decoded window within the budget."""
    readers = [TraceReader(t) for t in traces]
    peaks = [int(r.trailer.get("peak_mapped_bytes", 0)) for r in readers]
    side = lockstep.side_by_side_bytes(
        readers, [budget.estimate(peaks, machine_params(one).n_blocks) for one in specs])
    return side is not None and side <= budget.budget_bytes(mem_mb)


def simulate_all(spec: dict, traces: list[str], out_dir, mem_mb: float | None = None,
                 progress: float | bool | None = True) -> dict[str, int]:
    """Run every policy of ``spec`` (see module doc) on ``traces`` and write
    each one's tables into ``out_dir``/<policy>/, all policies' or none
    (written beside their names as each policy ends, renamed into place
    when the last one is done: ``hpsim.io.atomic_paths``); returns each policy's
    accesses replayed (the machines themselves are freed).  progress: each
    simulation's progress lines (``Simulation``), named by its policy and
    place in the run, e.g. "linux-thp [2/6]".  Raises what
    ``Simulation`` raises (InputError, ValueError) for a bad spec, trace or
    budget."""
    specs = policy_specs(spec)
    cached = cache_fits(specs[0], traces, mem_mb)
    cache = TraceCache() if cached else None
    shared = None
    if not cached and lockstep_fits(specs, traces, mem_mb):
        shared = lockstep.SharedTrace(traces[0], len(specs))
    # each simulation's budget: the run's less the cache (None: the host's memory)
    sim_mb = (budget.budget_bytes(mem_mb) - cached) / MIB if cached else mem_mb
    cursor = cache.cursor if cache else shared.cursor if shared else TraceCursor
    done = {}
    paths = [Path(out_dir, one["policy"]["name"], f) for one in specs for f in TABLES]

    def one_policy(k: int, one: dict, tmps: list) -> Callable[[], None]:
        name = one["policy"]["name"]
        print(f"simulating {name} on {', '.join(traces)}", file=sys.stderr, flush=True)
        sim = Simulation(one, traces, progress=progress, mem_mb=sim_mb, cursor=cursor,
                         desc=f"{name} [{k + 1}/{len(specs)}]")

        def run() -> None:
            nonlocal sim
            t0 = time.perf_counter()
            sim.run()
            for data, tmp in zip(sim.tables().values(), tmps[k * len(TABLES):]):
                tmp.write_bytes(data)
            done[name] = sum(int(p.C[C_ACCESSES]) for p in sim.m.procs)
            print(f"done {name}: {done[name]:,} accesses in {time.perf_counter() - t0:.2f} s "
                  f"wall, {sim.end_s:.2f} s simulated", file=sys.stderr, flush=True)
            sim = None     # free this machine before the next (its policy refers back to it)
            gc.collect()
        return run

    with atomic_paths(*paths) as tmps:
        if shared:
            print(f"{len(specs)} policies side by side on {traces[0]}, decoded once "
                  "(sim.lockstep)", file=sys.stderr, flush=True)
            lockstep.run_all(shared, [one_policy(k, one, tmps) for k, one in enumerate(specs)])
        else:
            for k, one in enumerate(specs):
                one_policy(k, one, tmps)()
    return {one["policy"]["name"]: done[one["policy"]["name"]] for one in specs}


@cli
def main(argv=None) -> int:
    a, spec = parse_run_args(argv, "python -m sim.batch", __doc__,
                             "the run's folder; one sub-folder per policy",
                             "host-memory budget in MiB of the whole run (the workflow passes "
                             "the rule's mem_mb; default: the host's memory)")
    # what is imported by now lives as long as the process: the collector
    # need not walk it again at every collection of the simulations' objects
    gc.freeze()
    if not isinstance(spec, dict):
        raise InputError("--spec must be a JSON object (see --help)")
    t0 = time.perf_counter()
    announce_compile(engine.replay, "simulation kernels", COMPILE_S)
    simulate_all(spec, a.trace, a.out_dir, mem_mb=a.mem_mb, progress=a.progress)
    print(f"run done in {time.perf_counter() - t0:.1f} s wall", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
