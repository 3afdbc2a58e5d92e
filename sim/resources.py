"""Host resources the workflow's jobs ask for: Snakemake's ``resources:``
``mem_mb`` (MB) and ``runtime`` (minutes), which a cluster executor turns into
``sbatch --mem`` and ``--time`` (profiles/slurm), derived from what each job
will hold and do, so that a paper-scale run asks for what it needs and a
test-profile run for little.  ``workflows/common.smk`` calls these.

A simulation job (``python -m sim.batch``) is sized from its run: the
machine's 2 MiB blocks (``machine.memory_gib``) and the traces' trailers
(records, accesses, peak mapped bytes), read when the traces exist (before
that Snakemake holds the value as "TBD" and asks again when the job is
ready: ``trace_readers``).  Its memory is what ``sim.budget.estimate`` and
``sim.batch.cache_fits`` count, plus the process itself:

    mem_mb = SIM_BASE_MB + HEADROOM x (estimate + decoded traces) / MiB

where the decoded traces are all the run's records (12 bytes each) when they
fit in ``SIM_CACHE_MAX_MB`` beside the estimate (then ``sim.batch`` keeps
them for every policy: the job's ``--mem-mb`` is this number, so its own
``cache_fits`` agrees), else ``DECODE_CHUNKS`` chunks per trace being decoded.
A run of one trace too big to keep, whose policies' machines together and
the decoded window (``sim.lockstep``) fit in ``SIM_CACHE_MAX_MB``, asks for

    mem_mb = SIM_BASE_MB + HEADROOM x (policies x estimate + window) / MiB

and replays the trace with all its policies side by side (``sim.batch``'s
``lockstep_fits`` agrees, given this as ``--mem-mb``).

Measured (``benchmarks/simulate/*.tsv`` of the default profile,
``snakemake --cores 2``, 2026-11-29, commit cd8bf96, 2-vCPU EPYC VM): over the
23 runs, max_rss less the estimate and the decoded traces is 135-230 MB
(fig_bloat 230), the interpreter with numpy and numba's kernels loaded; the
largest job, fig_fairness, held 1023 MB (asks 1298) for an estimate of 10 MB
and 823 MB of decoded records.  Paper profile (2026-11-29, the same VM at
load average about 10), 96 GiB machine: sweep/redis_f0_t60 (359 M records,
too many to keep: streamed) held 511 MB in 468 s (asks 1050 MB, 74 min);
sweep/graph500_f0_t60 374 MB in 108 s (asks 486 MB, 21 min);
sweep/buffer_small_f90_t0 376 MB in 44 s (asks 499 MB, 10 min).

Limits: the estimate counts region-table slots for each trace's peak mapped
bytes; slots are never reused (``machine.pagetable``), so a trace that maps
and unmaps much more than its peak needs more (``sim.simulate`` then stops
with an error naming the budget).
"""
from __future__ import annotations

import errno
import math
import os

from hpsim.units import MIB, PAGE_SIZE
from sim import budget
from sim.batch import TraceCache
from sim.lockstep import side_by_side_bytes
from workloads.trace import DEFAULT_CHUNK_RECORDS, RECORD_BYTES, TraceReader

SIM_BASE_MB = 256        # the process without its machine or records: measured 135-230 MB
HEADROOM = 1.25          # over the estimate (the estimate already counts a table's growth)
SIM_CACHE_MAX_MB = 7000  # decoded records kept with the estimate up to this: the paper
                         # profile's graph500 (6266 MiB) and Redis (4110 MiB) traces are
                         # decoded once per run, not once per policy, and a job's peak RSS
                         # stays under issue 12's 8 GB (7000 MiB + the interpreter's 230)
DECODE_CHUNKS = 4        # chunks per trace alive while streaming: current, next, their planes

# runtime: per policy, every access replayed plus a fault for every page
# mapped at peak, each at the slowest cost measured: per access, fig_bloat's
# 32 ns (default profile, load about 1: 21.3 M accesses, 0.68 s per policy
# after 0.8 s of start-up); per page, the paper profile's sweep/buffer_small_f90
# 2.7 us (2.62 M pages, every access a first touch, 7.1 s per policy, on the VM
# shared with other work at load average about 11; the default profile's
# table1: 151 ns).  Times SLOWDOWN for a slower node.  The start-up allows a
# compilation of the kernels on a node of another CPU model (numba's cache is
# per CPU: compile_kernels took 33.8 s default, 36.6 s paper profile).
SIM_NS_PER_ACCESS = 40
SIM_NS_PER_PAGE = 3000
SLOWDOWN = 3
SIM_START_S = 120
MIN_RUNTIME_MIN = 10

# trace generation: memory is the generator's own estimate (Workload.host_bytes,
# measured per generator) x GEN_MEM_FACTOR.  Paper profile (max_rss, asked):
# graph500 5382 MB (5928) before its kernel 1 counted in blocks (2026-11-30: 1760 MB
# at scale 22, 129 CPU s), redis 3620 MB (4908), redis_serving 1976 MB (2051).
GEN_MEM_FACTOR = 1.2
GEN_MIN_MB = 1000
# runtime: GEN_MIN_PER_GB per GB of that estimate on top of GEN_START_MIN.  The
# slowest measured per GB: the paper profile's graph500, 2159 s for 4.94 GB
# (7.3 min per GB, on the VM at load average about 10; asks 105 min); redis
# 1541 s for 4.09 GB (asks 92 min); redis_serving 305 s for 1.71 GB.
# GEN_START_MIN covers generators whose work does not grow with memory: the
# paper profile's hotspot makes 2e9 accesses in 0.24 GB (the default
# profile's made 3e7 in 2.4 s: about 160 s).
GEN_MIN_PER_GB = 15
GEN_START_MIN = 30


def trace_readers(traces) -> list[TraceReader]:
    """A reader of each trace (its header and trailer read, chunk framing
    checked).  Raises FileNotFoundError naming the first trace not written
    yet: Snakemake then defers a resource that reads its input (the value is
    "TBD" until the job is ready).  Raises TraceFormatError for a bad trace."""
    for t in traces:
        if not os.path.exists(t):
            raise FileNotFoundError(errno.ENOENT, "trace not written yet", str(t))
    return [TraceReader(t) for t in traces]


def simulation_mem_mb(readers: list[TraceReader], n_blocks: int, n_policies: int = 1) -> int:
    """Host memory (MB, Snakemake's mem_mb) of a simulation job replaying the
    traces of ``readers`` with ``n_policies`` policies on a machine of
    ``n_blocks`` 2 MiB blocks (see the module doc for the formula and its
    measurements)."""
    need = budget.estimate([int(r.trailer.get("peak_mapped_bytes", 0)) for r in readers],
                           n_blocks)
    cached = TraceCache.nbytes(readers)
    limit = SIM_CACHE_MAX_MB * MIB
    if need + cached > limit:
        # too many records to keep: one trace is replayed by all the policies
        # side by side (sim.lockstep) when their machines and the window fit
        side = side_by_side_bytes(readers, [need] * n_policies)
        if side is not None and side <= limit:
            return math.ceil(SIM_BASE_MB + HEADROOM * side / MIB)
        cached = len(readers) * DECODE_CHUNKS * DEFAULT_CHUNK_RECORDS * RECORD_BYTES
    return math.ceil(SIM_BASE_MB + HEADROOM * (need + cached) / MIB)


def simulation_runtime_min(readers: list[TraceReader], n_policies: int) -> int:
    """Wall-clock minutes (Snakemake's runtime) a simulation job may take: every
    policy replays every access of the traces and faults each page they map
    (see the constants above)."""
    accesses = sum(int(r.trailer["n_accesses"]) for r in readers)
    pages = sum(int(r.trailer.get("peak_mapped_bytes", 0)) for r in readers) // PAGE_SIZE
    per_policy = (accesses * SIM_NS_PER_ACCESS + pages * SIM_NS_PER_PAGE) * 1e-9
    return max(MIN_RUNTIME_MIN, math.ceil((SIM_START_S + SLOWDOWN * n_policies * per_policy) / 60))


def generator_mem_mb(host_bytes: int) -> int:
    """Host memory (MB) of a trace generator whose estimate is ``host_bytes``
    (``Workload.host_bytes``)."""
    return max(GEN_MIN_MB, int(host_bytes * GEN_MEM_FACTOR / 1e6))


def generator_runtime_min(host_bytes: int) -> int:
    """Wall-clock minutes a trace generator of estimate ``host_bytes`` may take."""
    return math.ceil(GEN_START_MIN + GEN_MIN_PER_GB * host_bytes / 1e9)
