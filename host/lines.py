"""How many cache lines a trace's accesses touch when replayed natively.

    python -m host.lines TRACE [TRACE ...]

A trace records pages, not lines: a record is ``count`` accesses to one
4 KiB page, each standing for ``access_bytes`` (its generator's: 8, a
word, or 64, a line for Redis: ``host.replay.access_bytes``).  ``host.replay`` (``host/native.c``,
``place``) puts a record's accesses on consecutive units from a
pseudo-random one of the page, as the program walked a neighbour list or
copied a value: ``1 + (count - 1) / 8`` lines for words (from a random
word, within the page), ``count`` for lines (at most 64).  Until
2026-11-30 it sent each access to a pseudo-random word of its page, which
touches on average ``64 (1 - (63/64)^count)`` lines: for graph500's
neighbour lists, more lines than the program, each a miss where the page
is not in the cache (README "Against the real kernel").  Per trace this
prints the access records, the accesses, lines per access both ways, and
the records by count (powers of two, the last bin 512 and more).

Only ACCESS records count (mmap, CYCLES, phases and the rest are skipped).
A missing or corrupt trace ends with a one-line error (``TraceReader``'s).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from hpsim.cli import cli
from hpsim.io import require_file
from host.replay import access_bytes
from workloads.trace import ACCESS, KIND_MASK, TraceReader

LINES_PER_PAGE = 64          # 4 KiB / 64-byte lines
WORDS_PER_LINE = 8           # 64 B / 8-byte accesses (host/native.c)
COUNT_BINS = 10              # counts 1, 2-3, 4-7, ..., 512+


def line_counts(counts: np.ndarray, unit: int = 8) -> tuple[float, float]:
    """Expected distinct lines touched by records of ``counts`` accesses
    (uint32 or int array, each >= 1) of ``unit`` bytes (8 or 64): (sum over
    records with each access on a uniformly random 8-byte word of its page,
    sum with the accesses on consecutive units from a random one)."""
    c = np.asarray(counts, dtype=np.float64)
    random_words = LINES_PER_PAGE * (1.0 - (1.0 - 1.0 / LINES_PER_PAGE) ** c)
    per_line = WORDS_PER_LINE if unit == 8 else 1
    consecutive = np.minimum(1.0 + (c - 1.0) / per_line, LINES_PER_PAGE)
    return float(random_words.sum()), float(consecutive.sum())


def summarise(path) -> dict:
    """Per trace: its access_bytes, records, accesses, lines per access both ways
    (``line_counts``), and ``by_count``: records per power-of-two count bin
    (list of COUNT_BINS ints).  Raises InputError (or TraceReader's errors)
    for a missing or corrupt trace."""
    require_file(path, "trace")
    reader = TraceReader(path)
    unit = access_bytes(reader.header)
    out = {"access_bytes": unit, "records": 0, "accesses": 0, "random_words": 0.0,
           "consecutive_words": 0.0}
    by_count = np.zeros(COUNT_BINS, dtype=np.int64)
    for chunk in reader.chunks():
        cnt = chunk["arg"][(chunk["word"] & np.uint64(KIND_MASK)) == ACCESS]
        if not len(cnt):
            continue
        r, s = line_counts(cnt, unit)
        out["records"] += len(cnt)
        out["accesses"] += int(cnt.sum(dtype=np.int64))
        out["random_words"] += r
        out["consecutive_words"] += s
        by_count += np.bincount(np.minimum(np.log2(cnt).astype(np.int64), COUNT_BINS - 1),
                                minlength=COUNT_BINS)
    out["by_count"] = by_count.tolist()
    return out


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host.lines", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("traces", nargs="+", help="trace files (workloads.trace format)")
    a = ap.parse_args(argv)
    print("| trace | access bytes | records | accesses | lines/access, random words "
          "| lines/access, consecutive units (native replay) "
          "| records by count 1, 2-3, 4-7, ..., 512+ |")
    print("|---|---|---|---|---|---|---|")
    for t in a.traces:
        s = summarise(t)
        n = max(s["accesses"], 1)
        print(f"| {t} | {s['access_bytes']} | {s['records']:,} | {s['accesses']:,} "
              f"| {s['random_words'] / n:.3f} "
              f"| {s['consecutive_words'] / n:.3f} | {' '.join(map(str, s['by_count']))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
