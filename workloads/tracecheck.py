"""Walk a trace and check its accesses against the VMAs mapped at that point.

Used by the tests; also `python -m workloads.tracecheck FILE` prints a summary.
"""
from __future__ import annotations

import sys

import numpy as np

from hpsim.cli import cli
from hpsim.io import InputError
from hpsim.units import PAGE_SHIFT
from workloads.trace import ACCESS, MADV_DONTNEED, MMAP, MUNMAP, PHASE, TraceReader, decode


def walk(path):
    """Return (reader, list of events) where events are dicts for non-access records and
    per-segment access arrays; also checks every access lies in a mapped VMA."""
    r = TraceReader(path)
    vmas: dict[int, int] = {}
    outside = 0
    phase = None
    per_phase: dict[str, int] = {}
    events = []
    for recs in r.chunks():
        d = decode(recs)
        kinds = d["kind"]
        idx = list(np.flatnonzero(kinds != ACCESS)) + [len(kinds)]
        prev = 0
        for i in idx:
            sel = slice(prev, i)
            pages = d["addr"][sel] >> np.uint64(PAGE_SHIFT)
            if len(pages):
                starts = np.array(sorted(vmas), dtype=np.uint64)
                ends = np.array([s + vmas[s] for s in sorted(vmas)], dtype=np.uint64)
                if len(starts):
                    j = np.searchsorted(starts, pages, side="right") - 1
                    ok = (j >= 0) & (pages < ends[j.clip(0)])
                else:
                    ok = np.zeros(len(pages), bool)
                outside += int((~ok).sum())
                per_phase[phase] = per_phase.get(phase, 0) + int(d["arg"][sel].sum())
            if i < len(kinds):
                k = int(kinds[i])
                a = int(d["addr"][i]) >> PAGE_SHIFT
                n = int(d["arg"][i])
                if k == MMAP:
                    for s, l in vmas.items():
                        assert a + n <= s or s + l <= a, "overlapping mmap"
                    vmas[a] = n
                elif k == MUNMAP:
                    assert vmas.pop(a) == n, "munmap of something not mapped as one VMA"
                elif k == MADV_DONTNEED:
                    s = max((s for s in vmas if s <= a), default=None)
                    assert s is not None and a + n <= s + vmas[s], "madvise outside a VMA"
                elif k == PHASE:
                    phase = r.phases[n]
                events.append((k, a << PAGE_SHIFT, n))
            prev = i + 1
    return r, events, outside, per_phase


@cli
def main(argv=None) -> int:
    """``python -m workloads.tracecheck FILE``: print a summary; exit 1 if any
    access lies outside the VMAs mapped at that point."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise InputError("usage: python -m workloads.tracecheck TRACE_FILE")
    r, events, outside, per_phase = walk(argv[0])
    print(f"{argv[0]}: {r.trailer['n_accesses']} accesses, {r.trailer['n_records']} records, "
          f"{len(events)} events, {outside} outside mapped VMAs")
    print("accesses per phase:", per_phase)
    return 1 if outside else 0


if __name__ == "__main__":
    sys.exit(main())
