"""Import a Valgrind Lackey memory trace (``valgrind --tool=lackey --trace-mem=yes``).

    python -m workloads.lackey INPUT.txt OUTPUT.trace [--include-instr] [--cycles-per-access N]

or through the registry: ``{"kind": "lackey", "params": {"path": "INPUT.txt"}}``.

Input lines (Lackey's own format; addresses hex, sizes decimal)::

    I  0023C790,2      instruction fetch (skipped unless include_instr)
     L BE80199C,4      data load               -> one read
     S BE80199C,4      data store              -> one write
     M 0025747C,4      modify (load + store)   -> one read, then one write

Lines starting with ``==`` (Valgrind's messages) or ``--`` (its debug
messages) and blank lines are skipped; any other line is malformed and
raises ``LackeyFormatError`` naming the line number and the line, and no
output trace is left behind (the writer works on ``OUTPUT.part``).  An
access that straddles a 4 KiB boundary touches both pages (one access each).
Input may be gzip-compressed (``.gz``).

Lackey records no mmap calls, so VMAs are synthesised: pass 1 collects the
2 MiB-aligned regions that any access touches, and the trace starts with one
``mmap`` per maximal run of consecutive touched 2 MiB regions (so every
access falls in a mapped, 2 MiB-aligned VMA; the VMAs over-approximate the
real ones by up to 2 MiB at each end and merge neighbouring real mappings).
Pass 2 streams the accesses in file order.  Both passes read the file in
blocks, so memory stays bounded by the number of touched 2 MiB regions.

Parameters: path (required), include_instr (False), cycles_per_access (3:
Lackey traces every guest instruction; with instruction fetches skipped,
typical code has 2-3 instructions per data access), phase ("run": the
single phase name).

Trailer extras: ``lackey`` = {lines, skipped_lines, instr, loads, stores,
modifies, split_accesses, vmas, mapped_bytes}.
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np

from workloads.base import Workload, register
from workloads.trace import HUGE_SHIFT, HUGE_SIZE, PAGE_SHIFT

BLOCK_LINES = 1 << 16


class LackeyFormatError(ValueError):
    """A line of a Lackey trace is malformed."""


def _open(path: Path):
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="ascii", errors="replace")
    return open(path, "r", encoding="ascii", errors="replace")


def parse_lines(path, include_instr: bool = False, stats: dict | None = None):
    """Yield (line_no, kind, addr, size) for each access line; kind in 'ILSM'."""
    path = Path(path)
    with _open(path) as f:
        for no, line in enumerate(f, 1):
            if line.startswith("==") or line.startswith("--") or not line.strip():
                if stats is not None:
                    stats["skipped_lines"] += 1
                continue
            c0 = line[0]
            if c0 == "I" and line[1:2] == " ":
                kind, rest = "I", line[1:]
            elif c0 == " " and line[1:2] in ("L", "S", "M") and line[2:3] == " ":
                kind, rest = line[1], line[2:]
            else:
                kind = rest = None
            ok = False
            if kind is not None:
                a, comma, s = rest.strip().partition(",")
                if comma and a and s:
                    try:
                        addr = int(a, 16)
                        size = int(s, 10)
                        ok = addr >= 0 and size >= 0 and a.isalnum() and s.isdigit()
                    except ValueError:
                        ok = False
            if not ok:
                raise LackeyFormatError(f"{path}:{no}: malformed Lackey line: "
                                        f"{line.rstrip(chr(10))!r}")
            if stats is not None:
                stats["lines"] += 1
            if kind == "I" and not include_instr:
                if stats is not None:
                    stats["instr"] += 1
                continue
            yield no, kind, addr, size


def _pages(addr: int, size: int):
    first = addr >> PAGE_SHIFT
    last = (addr + max(size, 1) - 1) >> PAGE_SHIFT
    return range(first, last + 1)


def import_lackey(path, out, include_instr: bool = False, cycles_per_access: int = 3,
                  phase: str = "run") -> dict:
    """Convert ``path`` into trace writer ``out``; returns statistics."""
    # pass 1: touched 2 MiB regions (and full syntax check)
    regions: set[int] = set()
    block: list[int] = []
    for _, kind, addr, size in parse_lines(path, include_instr):
        block.append(addr >> HUGE_SHIFT)
        last = (addr + max(size, 1) - 1) >> HUGE_SHIFT
        if last != block[-1]:
            block.append(last)
        if len(block) >= BLOCK_LINES:
            regions.update(np.unique(np.array(block, np.int64)).tolist())
            block.clear()
    regions.update(block)
    stats = {"lines": 0, "skipped_lines": 0, "instr": 0, "loads": 0, "stores": 0,
             "modifies": 0, "split_accesses": 0}
    out.cycles(int(cycles_per_access))
    vmas = 0
    mapped = 0
    rs = sorted(regions)
    i = 0
    while i < len(rs):
        j = i
        while j + 1 < len(rs) and rs[j + 1] == rs[j] + 1:
            j += 1
        out.mmap(rs[i] << HUGE_SHIFT, (j - i + 1) * HUGE_SIZE)
        vmas += 1
        mapped += (j - i + 1) * HUGE_SIZE
        i = j + 1
    out.phase(phase)
    # pass 2: the accesses, in file order
    addrs: list[int] = []
    writes: list[bool] = []
    for _, kind, addr, size in parse_lines(path, include_instr, stats):
        pages = _pages(addr, size)
        if len(pages) > 1:
            stats["split_accesses"] += 1
        for pg in pages:
            a = pg << PAGE_SHIFT
            if kind == "L" or kind == "I":
                addrs.append(a)
                writes.append(False)
            elif kind == "S":
                addrs.append(a)
                writes.append(True)
            else:
                addrs.append(a)
                writes.append(False)
                addrs.append(a)
                writes.append(True)
        stats[{"L": "loads", "S": "stores", "M": "modifies", "I": "instr"}[kind]] += \
            1 if kind != "I" else 0
        if len(addrs) >= BLOCK_LINES:
            out.access(np.array(addrs, np.uint64), np.array(writes, bool))
            addrs.clear()
            writes.clear()
    if addrs:
        out.access(np.array(addrs, np.uint64), np.array(writes, bool))
    if include_instr:
        stats["instr"] = stats["lines"] - stats["loads"] - stats["stores"] - stats["modifies"]
    stats.update(vmas=vmas, mapped_bytes=mapped)
    return stats


def _register(cls):
    # ``python -m workloads.lackey`` runs this file as __main__ after the package
    # import has registered workloads.lackey.Lackey; do not register it twice.
    return cls if __name__ == "__main__" else register("lackey")(cls)


@_register
class Lackey(Workload):
    __doc__ = __doc__  # the module docstring documents the format and parameters
    defaults = {"path": None, "include_instr": False, "cycles_per_access": 3, "phase": "run"}

    def validate(self):
        if not self.params["path"]:
            raise ValueError("lackey: parameter 'path' (the Lackey output file) is required")
        if not Path(self.params["path"]).is_file():
            raise ValueError(f"lackey: no such file {self.params['path']!r}")
        if int(self.params["cycles_per_access"]) < 0:
            raise ValueError("lackey: cycles_per_access must be >= 0")

    def generate(self, out):
        p = self.params
        self.trailer_extra["lackey"] = import_lackey(
            p["path"], out, bool(p["include_instr"]), int(p["cycles_per_access"]), p["phase"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workloads.lackey",
                                 description="Convert valgrind --tool=lackey --trace-mem=yes "
                                             "output into a trace file.")
    ap.add_argument("input", help="Lackey output (text, or .gz)")
    ap.add_argument("output", help="trace file to write")
    ap.add_argument("--include-instr", action="store_true",
                    help="also trace instruction fetches (I lines) as reads")
    ap.add_argument("--cycles-per-access", type=int, default=3)
    a = ap.parse_args(argv)
    from workloads import lackey as canonical   # the registered module, also under -m
    try:
        wl = canonical.Lackey({"path": a.input, "include_instr": a.include_instr,
                     "cycles_per_access": a.cycles_per_access})
        totals = wl.write(a.output)
    except (ValueError, OSError) as e:   # LackeyFormatError is a ValueError
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{a.output}: {totals}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
