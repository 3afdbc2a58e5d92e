"""Import a Valgrind Lackey memory trace (``valgrind --tool=lackey --trace-mem=yes``).

    python -m workloads.lackey INPUT.txt OUTPUT.trace [--include-instr] [--cycles-per-access N]

or through the registry: ``{"kind": "lackey", "params": {"path": "INPUT.txt"}}``.

Input lines (Lackey's own format; addresses hex, sizes decimal)::

    I  0023C790,2      instruction fetch (skipped unless include_instr)
     L BE80199C,4      data load               -> one read
     S BE80199C,4      data store              -> one write
     M 0025747C,4      modify (load + store)   -> one read, then one write

Lines starting with ``==`` (Valgrind's messages) or ``--`` (its debug
messages), superblock lines (``SB addr``, ``--trace-superblocks=yes``) and
blank lines are skipped; any other line is malformed and
raises ``LackeyFormatError`` naming the line number and the line, and no
output trace is left behind (the writer works on a temporary file beside OUTPUT).  An
access that straddles a 4 KiB boundary touches both pages (one access each).
An address the machine cannot hold (at or above 2^63) or an access above
``MAX_ACCESS_BYTES`` is refused naming its line.  Input may be
gzip-compressed (recognised by its content, whatever the name).

Lackey records no mmap calls, so VMAs are synthesised: pass 1 collects the
2 MiB-aligned regions that any access touches (every one it spans), and the trace starts with one
``mmap`` per maximal run of consecutive touched 2 MiB regions (so every
access falls in a mapped, 2 MiB-aligned VMA; the VMAs over-approximate the
real ones by up to 2 MiB at each end and merge neighbouring real mappings).
Pass 2 streams the accesses in file order.  Both passes read the file in
~8 MB blocks (one regular-expression scan per block, numpy for the rest), so
memory stays bounded by the block size plus the set of touched 2 MiB
regions; throughput is roughly 0.5M input lines per second for both passes
together.  A run of same-page accesses that spans two blocks becomes two
records (same accesses, same counts).

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
import re
import sys
from pathlib import Path

import numpy as np

from hpsim.cli import cli
from workloads.base import Workload, register
from hpsim.units import ADDRESS_LIMIT, GIB, HUGE_SHIFT, HUGE_SIZE, PAGE_SHIFT



class LackeyFormatError(ValueError):
    """A line of a Lackey trace is malformed."""


GZIP_MAGIC = b"\x1f\x8b"            # RFC 1952 §2.3.1: ID1, ID2


def _open(path: Path):
    """Open a Lackey log as text; gzip is recognised by its magic bytes, not
    by the file name."""
    with open(path, "rb") as f:
        gz = f.read(2) == GZIP_MAGIC
    if gz:
        return gzip.open(path, "rt", encoding="ascii", errors="replace")
    return open(path, "r", encoding="ascii", errors="replace")


_LINE = re.compile(r"(?:(I)|\s([LSM]))\s+([0-9A-Fa-f]+),([0-9]+)\s*\Z")
_DATA = re.compile(r"^(?:(I)|[ \t]([LSM]))[ \t]+([0-9A-Fa-f]+),([0-9]+)[ \t\r]*$", re.M)
# Valgrind's messages (==pid==), its debug lines (--pid--), blank lines, and
# superblock lines (``SB addr``, --trace-superblocks=yes; lk_main.c
# trace_superblock) carry no data access
_SKIP = re.compile(r"^(?:==|--).*$|^[ \t\r]*$|^SB[ \t]+[0-9A-Fa-f]+[ \t\r]*$", re.M)
_SKIP_LINE = re.compile(r"(?:==|--).*\Z|\s*\Z|SB[ \t]+[0-9A-Fa-f]+\s*\Z", re.S)
# one access expands to one trace record per 4 KiB page it touches: bound the
# host memory one line may take (Lackey's own accesses are at most a few
# dozen bytes; larger ones come from hand-made or foreign logs)
MAX_ACCESS_BYTES = GIB
KIND_CODE = {"I": 0, "L": 1, "S": 2, "M": 3}
BLOCK_BYTES = 8 << 20


def _check_line(path, no: int, line: str) -> bool:
    """True for an access line, False for a skipped one; raises for a malformed one."""
    if _LINE.match(line):
        return True
    if _SKIP_LINE.match(line):
        return False
    raise LackeyFormatError(f"{path}:{no}: malformed Lackey line: {line.rstrip(chr(10))!r}")


def _check_ranges(path, text: str, line0: int, addrs: list[int], sizes: list[int]) -> None:
    """Refuse an access the machine cannot hold (its last byte at or above
    ``hpsim.units.ADDRESS_LIMIT``) or larger than ``MAX_ACCESS_BYTES``,
    naming its line (``text`` is the block, starting at line ``line0``)."""
    bad = next((k for k, (a, n) in enumerate(zip(addrs, sizes))
                if a + max(n, 1) > ADDRESS_LIMIT or n > MAX_ACCESS_BYTES), None)
    if bad is None:
        return
    k = -1
    for i, line in enumerate(text.split("\n")):
        if _LINE.match(line + "\n"):
            k += 1
            if k == bad:
                a, n = addrs[bad], sizes[bad]
                why = (f"size {n} B is above the importer's bound of {MAX_ACCESS_BYTES} B"
                       if n > MAX_ACCESS_BYTES else
                       f"address {a:#x} + {n} B lies outside the user address space "
                       f"(below {ADDRESS_LIMIT:#x})")
                raise LackeyFormatError(f"{path}:{line0 + i}: {why}: {line.strip()!r}")


def parse_blocks(path, include_instr: bool = False, stats: dict | None = None):
    """Yield arrays (kind codes 0=I 1=L 2=S 3=M, addresses, sizes) per block of lines.

    Blocks of ~8 MB are matched with one regular-expression scan each; if the
    matches and skipped lines do not account for every line, the block is
    re-read line by line to name the first malformed line."""
    path = Path(path)
    line0 = 1
    rest = ""
    with _open(path) as f:
        while True:
            chunk = f.read(BLOCK_BYTES)
            text = rest + chunk
            if not chunk:
                if not text:
                    break
                if not text.endswith("\n"):
                    text += "\n"
                rest = ""
            else:
                cut = text.rfind("\n") + 1
                text, rest = text[:cut], text[cut:]
                if not text:
                    continue
            n_lines = text.count("\n")
            body = text[:-1]
            found = _DATA.findall(body)
            n_skip = len(_SKIP.findall(body))
            if len(found) + n_skip != n_lines:
                for i, line in enumerate(text.split("\n")[:n_lines]):
                    _check_line(path, line0 + i, line + "\n")
                raise LackeyFormatError(f"{path}: lines {line0}..{line0 + n_lines - 1}: "
                                        "cannot be parsed")   # not reached
            kinds = np.array([KIND_CODE[i or k] for i, k, _, _ in found], np.uint8)
            addr_ints = [int(x, 16) for _, _, x, _ in found]
            size_ints = [int(x) for _, _, _, x in found]
            _check_ranges(path, text, line0, addr_ints, size_ints)
            addrs = np.array(addr_ints, np.uint64)
            sizes = np.array(size_ints, np.int64)
            if stats is not None:
                stats["skipped_lines"] += n_skip
                stats["lines"] += len(found)
                stats["instr"] += int((kinds == 0).sum())
            if not include_instr:
                keep = kinds != 0
                kinds, addrs, sizes = kinds[keep], addrs[keep], sizes[keep]
            line0 += n_lines
            if len(kinds):
                yield kinds, addrs, sizes
            if not chunk:
                break


def import_lackey(path, out, include_instr: bool = False, cycles_per_access: int = 3,
                  phase: str = "run", llc_misses_per_access: float = 0.0) -> dict:
    """Convert ``path`` into trace writer ``out``; returns statistics.
    ``llc_misses_per_access`` (0..1, e.g. a perf-measured LLC-load-misses /
    memory accesses of the same program) sets the trace's data cost."""
    # pass 1: touched 2 MiB regions (and full syntax check)
    regions: set[int] = set()
    for kinds, addrs, sizes in parse_blocks(path, include_instr):
        first = addrs >> np.uint64(HUGE_SHIFT)
        last = (addrs + (np.maximum(sizes, 1) - 1).astype(np.uint64)) >> np.uint64(HUGE_SHIFT)
        n = (last - first).astype(np.int64) + 1        # 2 MiB regions each access spans
        k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        regions.update(np.unique(np.repeat(first, n) + k.astype(np.uint64)).tolist())
    stats = {"lines": 0, "skipped_lines": 0, "instr": 0, "loads": 0, "stores": 0,
             "modifies": 0, "split_accesses": 0}
    out.cycles(int(cycles_per_access), float(llc_misses_per_access))
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
    for kinds, addrs, sizes in parse_blocks(path, include_instr, stats):
        stats["loads"] += int((kinds == 1).sum())
        stats["stores"] += int((kinds == 2).sum())
        stats["modifies"] += int((kinds == 3).sum())
        first = addrs >> np.uint64(PAGE_SHIFT)
        last = (addrs + (np.maximum(sizes, 1) - 1).astype(np.uint64)) >> np.uint64(PAGE_SHIFT)
        npg = (last - first + np.uint64(1)).astype(np.int64)
        stats["split_accesses"] += int((npg > 1).sum())
        # one entry per page touched: page = first + k
        idx = np.repeat(np.arange(len(kinds)), npg)
        k = np.arange(len(idx)) - np.repeat(np.cumsum(npg) - npg, npg)
        pages = first[idx] + k.astype(np.uint64)
        kd = kinds[idx]
        # M = read then write of the same page
        rep = np.where(kd == 3, 2, 1)
        pages = np.repeat(pages, rep)
        kd2 = np.repeat(kd, rep)
        second = np.zeros(len(pages), bool)
        second[np.cumsum(rep)[rep == 2] - 1] = True
        write = (kd2 == 2) | ((kd2 == 3) & second)
        out.access(pages << np.uint64(PAGE_SHIFT), write)
    stats.update(vmas=vmas, mapped_bytes=mapped)
    return stats


def _register(cls):
    # ``python -m workloads.lackey`` runs this file as __main__ after the package
    # import has registered workloads.lackey.Lackey; do not register it twice.
    return cls if __name__ == "__main__" else register("lackey")(cls)


@_register
class Lackey(Workload):
    __doc__ = __doc__  # the module docstring documents the format and parameters
    defaults = {"path": None, "include_instr": False, "cycles_per_access": 3,
                "llc_misses_per_access": 0.0, "phase": "run"}

    def validate(self):
        path = self.params["path"]
        if not path:
            raise ValueError("lackey.params.path: missing parameter (the Lackey output file)")
        if not Path(path).is_file():
            raise ValueError(f"lackey.params.path: no such file {path!r}")

    def generate(self, out):
        p = self.params
        self.trailer_extra["lackey"] = import_lackey(
            p["path"], out, bool(p["include_instr"]), int(p["cycles_per_access"]), p["phase"],
            float(p["llc_misses_per_access"]))


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workloads.lackey",
                                 description="Convert valgrind --tool=lackey --trace-mem=yes "
                                             "output into a trace file.")
    ap.add_argument("input", help="Lackey output (text, or .gz)")
    ap.add_argument("output", help="trace file to write")
    ap.add_argument("--include-instr", action="store_true",
                    help="also trace instruction fetches (I lines) as reads")
    ap.add_argument("--cycles-per-access", type=int, default=3)
    ap.add_argument("--llc-misses-per-access", type=float, default=0.0,
                    help="LLC misses per access, 0..1 (each pays machine.costs.dram_latency_ns)")
    a = ap.parse_args(argv)
    if Path(a.output).resolve() == Path(a.input).resolve():
        raise ValueError(f"output {a.output} is the input file: it would overwrite the "
                         "Lackey log (give another output path)")
    from workloads import lackey as canonical   # the registered module, also under -m
    wl = canonical.Lackey({"path": a.input, "include_instr": a.include_instr,
                           "cycles_per_access": a.cycles_per_access,
                           "llc_misses_per_access": a.llc_misses_per_access})
    totals = wl.write(a.output)   # a LackeyFormatError is a ValueError: hpsim.cli reports it
    print(f"{a.output}: {totals}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
