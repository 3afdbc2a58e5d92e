"""The C reference loop of ``python -m sim.bench --reference``.

``sim/bench_ref.c`` is a plain C -O2 loop with the simulator's TLB model
(``machine/tlb.py``: L1 4 KiB, L1 2 MiB and a shared L2, set-associative,
true LRU; the lookup order of ``machine/engine.py`` ``tlb_access``).  It is
compiled at run time into a temporary directory with the system's C compiler
and reads the access records of a trace from a raw binary file that
``write_records`` writes.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpsim.cc import compiler
from hpsim.units import HUGE_SHIFT, PAGE_SHIFT
from workloads.trace import ACCESS, KIND_MASK, PHASE, TraceReader

SOURCE = Path(__file__).with_name("bench_ref.c")
CFLAGS = ["-O2"]


@dataclass
class RefRun:
    """One timed run of the reference loop: wall-clock and CPU seconds and
    the counts of the timed records (accesses, L1 hits, L2 hits, walks =
    L2 misses)."""
    seconds: float
    cpu: float
    accesses: int
    l1_hits: int
    l2_hits: int
    walks: int


def build(tmp: Path) -> Path | None:
    """Compile ``bench_ref.c`` into tmp; the executable's path, or None when
    no C compiler is found.  Raises RuntimeError when compilation fails."""
    cc = compiler()
    if cc is None:
        return None
    exe = Path(tmp) / "bench_ref"
    r = subprocess.run([cc, *CFLAGS, "-o", str(exe), str(SOURCE)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{cc} failed on {SOURCE}:\n{r.stderr}")
    return exe


def write_records(trace: Path, out: Path, timed_phase: str | None = None) -> int:
    """Write the access records of trace to out, the C loop's input:
    u64 n, u64 n_warm, n u64 byte addresses, n u32 repeat counts.

    timed_phase: the records before this phase's marker are warm-up (n_warm,
    not timed); None: all are timed.  Returns n.  Raises ValueError when the
    trace has no such phase."""
    reader = TraceReader(trace)
    if timed_phase is not None and timed_phase not in reader.phases:
        raise ValueError(f"{trace}: no phase {timed_phase!r}")
    idx = reader.phases.index(timed_phase) if timed_phase is not None else None
    addrs, counts, warm, seen = [], [], 0, timed_phase is None
    for words, args in reader.columns():
        kind = words & np.uint64(KIND_MASK)
        acc = kind == ACCESS
        if not seen:
            mark = np.flatnonzero((kind == PHASE) & (args == idx))
            cut = int(mark[0]) if len(mark) else len(words)
            warm += int(acc[:cut].sum())
            seen = bool(len(mark))
        addrs.append(words[acc] >> np.uint64(PAGE_SHIFT) << np.uint64(PAGE_SHIFT))
        counts.append(args[acc])
    if not seen:
        raise ValueError(f"{trace}: no marker of phase {timed_phase!r}")
    a, c = np.concatenate(addrs), np.concatenate(counts)
    with open(out, "wb") as f:
        f.write(np.array([len(a), warm], np.uint64).tobytes())
        f.write(a.astype("<u8").tobytes())
        f.write(c.astype("<u4").tobytes())
    return len(a)


def run(exe: Path, records: Path, huge: bool, geometry: tuple[int, ...],
        repeat: int) -> list[RefRun]:
    """Run the reference loop repeat times on records (``write_records``),
    every page 2 MiB if huge else 4 KiB, with the TLB geometry
    ``MachineParams.tlb_geometry`` (sets, ways of L1 4 KiB, L1 2 MiB, L2).
    Raises RuntimeError when the program fails."""
    shift = HUGE_SHIFT if huge else PAGE_SHIFT
    r = subprocess.run([str(exe), str(records), str(shift), *map(str, geometry), str(repeat)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{exe} failed ({r.returncode}): {r.stderr}")
    out = []
    for line in r.stdout.split("\n"):
        if line.strip():
            s, c, *n = line.split()
            out.append(RefRun(float(s), float(c), *map(int, n)))
    return out
