"""Memory access cost against footprint on this host: the pointer chases of
``host.calibrate`` at several buffer sizes instead of one.

    python -m host.footprint [--sizes 4 8 16 32 128 512 1024] [--repeat 3] [--csv FILE]

The simulator charges one DRAM latency per LLC miss and one page-walk cost
per TLB miss, whatever the footprint, and the validation traces state their
LLC misses per access from the LLC's nominal size (``config/config.yaml``,
e.g. 1 - 32 MiB / S for a uniform gather over S bytes).  This command shows
how far the host is from that: per buffer size S (MiB), medians over
``--repeat`` runs of ``host/native.c``'s ``chase`` (one dependent load per
hop, in a random cycle, CPU ns per hop):

| column | chase |
|---|---|
| ``line_2m_ns`` | every 64-byte line of S on 2 MiB pages: the data latency, hits in the caches while S fits them, DRAM beyond (plus any 2 MiB TLB misses) |
| ``page_4k_ns`` | one line per 4 KiB page of S on 4 KiB pages (MADV_NOHUGEPAGE) |
| ``page_2m_ns`` | the same lines on 2 MiB pages (MADV_HUGEPAGE) |
| ``walk_4k_ns`` | ``page_4k_ns - page_2m_ns``: what 4 KiB pages add per access, the page walk (host.calibrate's ``walk_cycles_4k``, measured at 512 MiB only) |

and the **effective LLC**: the first size whose ``line_2m_ns`` is past half
way from the smallest size's to the largest's (the data stopped fitting the
caches).  On a VM it can be far below the LLC the guest's sysfs reports.

Each size is measured only if it fits the native runs' memory cap (half of
MemAvailable, as ``host.calibrate``); bad arguments, a host without Linux,
THP or a C compiler end with a one-line error before any measurement.
"""
from __future__ import annotations

import argparse
import statistics
import sys

from hpsim.cli import cli
from hpsim.io import InputError, atomic_write_text, log
from host import calibrate, kernel

MIB = 1 << 20
SIZES_MIB = (4, 8, 16, 32, 128, 512, 1024)
COLUMNS = ("size_mib", "line_2m_ns", "page_4k_ns", "page_2m_ns", "walk_4k_ns")
MEMORY_SHARE = 0.5           # as host.calibrate: at most half of MemAvailable mapped


def measure(sizes_mib: list[int], repeat: int) -> list[dict]:
    """One row per size (``COLUMNS``; ns per hop, medians of ``repeat`` chases
    with seeds 1..repeat).  Raises InputError where the host cannot run the
    chases (not Linux, no THP, no C compiler, a size above the memory cap)."""
    for policy in ("host-4k", "host-thp"):
        why = kernel.unavailable(policy)
        if why:
            raise InputError(f"cannot measure the footprint curve: {why}")
    refuse = kernel.memory_refusal(max(sizes_mib) * MIB + 2 * MIB, MEMORY_SHARE)
    if refuse:
        raise InputError(f"--sizes up to {max(sizes_mib)} MiB: {refuse}")
    rows = []
    for s in sizes_mib:
        seeds = range(1, repeat + 1)

        def med(mode: int, stride: int) -> float:
            return statistics.median(calibrate.chase(s * MIB, mode, stride, k) for k in seeds)
        line = med(2, 64)
        p4k, p2m = med(1, 4096), med(2, 4096)
        rows.append({"size_mib": s, "line_2m_ns": round(line, 1), "page_4k_ns": round(p4k, 1),
                     "page_2m_ns": round(p2m, 1), "walk_4k_ns": round(p4k - p2m, 1) + 0.0})   # + 0.0: no "-0.0"
        log(f"  {s} MiB: line {line:.1f} ns, 4 KiB page {p4k:.1f} ns, 2 MiB page {p2m:.1f} ns")
    return rows


def effective_llc_mib(rows: list[dict]) -> tuple[int, int] | None:
    """(last size that fits, first that does not): the sizes around the point
    where ``line_2m_ns`` passes half way from the smallest size's value to the
    largest's; None with fewer than two sizes or no rise."""
    if len(rows) < 2:
        return None
    lo, hi = rows[0]["line_2m_ns"], rows[-1]["line_2m_ns"]
    if hi <= lo:
        return None
    half = (lo + hi) / 2
    for prev, row in zip(rows, rows[1:]):
        if row["line_2m_ns"] > half:
            return prev["size_mib"], row["size_mib"]
    return None


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table, then the effective LLC line."""
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in rows]
    llc = effective_llc_mib(rows)
    out.append("")
    out.append(f"effective LLC: between {llc[0]} and {llc[1]} MiB (line_2m_ns past half way)"
               if llc else "effective LLC: not bracketed by these sizes")
    return "\n".join(out) + "\n"


def _size(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1 or v & (v - 1):
        raise argparse.ArgumentTypeError(f"{text!r}: a size in MiB must be a power of two >= 1")
    return v


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host.footprint", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=_size, nargs="+", default=list(SIZES_MIB),
                    help="buffer sizes in MiB, powers of two (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="chases per size and kind, >= 1 "
                                                         "(default %(default)s)")
    ap.add_argument("--csv", help="also write the rows to this CSV file")
    a = ap.parse_args(argv)
    if a.repeat < 1:
        raise InputError(f"--repeat {a.repeat}: must be >= 1")
    rows = measure(sorted(set(a.sizes)), a.repeat)
    if a.csv:
        atomic_write_text(a.csv, ",".join(COLUMNS) + "\n" + "".join(
            ",".join(str(r[c]) for c in COLUMNS) + "\n" for r in rows))
    sys.stdout.write(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
