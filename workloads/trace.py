"""The trace format: one process's memory-management calls and accesses.

A trace is a single file, written and read in chunks so that memory stays
bounded whatever the workload's size.  Layout (all integers little-endian):

    header   b"HPTRACE\\0" | u16 version | u32 n | n bytes of JSON (header)
    chunk*   b"CHNK" | u32 n_records | u32 compressed bytes | u32 check | payload
    trailer  b"TEND" | u32 n | n bytes of JSON (trailer)

A record is 12 bytes, ``RECORD_DTYPE``:

    word (u64)  bits 12..63: page-aligned virtual address (CYCLES: LLC misses
                             per access in millionths, ``MISS_SCALE``)
                bits 0..3:   kind (ACCESS, MMAP, MUNMAP, MADV_DONTNEED, PHASE, CYCLES)
                bit 4:       write flag (ACCESS only)
    arg  (u32)  ACCESS: repeat count (consecutive accesses to the same page)
                MMAP / MUNMAP / MADV_DONTNEED: length in 4 KiB pages
                PHASE: index into the trailer's ``phases`` list
                CYCLES: compute cycles per access from here on (the
                word's address field: LLC misses per access, in
                millionths; 0 in traces written before it existed)

Chunk payloads by version (the reader takes both; the writer writes the
newest):

    2  zstd frame with its content checksum (``check`` is 0) of the chunk's
       records as 12 byte planes (``workloads/planes.py``): n bytes holding
       byte 0 of every record's word, then byte 1, ... byte 7, then bytes
       0..3 of every arg.  Planes put bytes of like entropy together (the
       constant high address bytes, the kind byte, the mostly-1 repeat
       counts), so they compress to almost nothing and the random ones are
       stored raw: a random trace over 8 GiB decodes about 6x faster than
       version 1 and takes 25% less space (``python -m sim.bench``).
    1  zstd frame of the packed records as they are; ``check`` is the crc32
       of the decompressed records.

Accesses are page-granular: consecutive accesses to the same page with the
same read/write kind are stored once with a repeat count, which changes no
TLB or fault result.  The header carries the generator's parameters
(including any sampling factor); the trailer carries totals and phase names.
A file without its trailer is truncated and is rejected by the reader.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import jsonschema
import numpy as np
import zstandard

from hpsim.io import temp_path
from hpsim.units import (ADDRESS_LIMIT, HUGE_SHIFT, HUGE_SIZE, PAGE_SHIFT,  # noqa: F401
                         PAGE_SIZE)
from workloads.planes import compiled, join_planes, split_planes

MAGIC = b"HPTRACE\x00"
CHUNK_MAGIC = b"CHNK"
END_MAGIC = b"TEND"
VERSION = 2
SUPPORTED_VERSIONS = (1, 2)

# CYCLES records carry LLC misses per access in units of 1/MISS_SCALE.
MISS_SCALE = 1_000_000

# Record kinds (bits 0..3 of word).
ACCESS = 0
MMAP = 1
MUNMAP = 2
MADV_DONTNEED = 3
PHASE = 4
CYCLES = 5
KIND_NAMES = {ACCESS: "access", MMAP: "mmap", MUNMAP: "munmap",
              MADV_DONTNEED: "madvise_dontneed", PHASE: "phase", CYCLES: "cycles"}
KIND_MASK = 0xF
WRITE_BIT = 0x10
MAX_ARG = 0xFFFFFFFF
# cycles one record may add to a process clock (repeat count x cycles per
# access): the clock is an int64 of cycles, so leave it room for 2^31 records
MAX_RECORD_CYCLES = 1 << 62

RECORD_DTYPE = np.dtype([("word", "<u8"), ("arg", "<u4")])  # packed, 12 bytes
RECORD_BYTES = RECORD_DTYPE.itemsize
DEFAULT_CHUNK_RECORDS = 1 << 20


class TraceFormatError(ValueError):
    """A trace file is truncated, malformed or of an unsupported version."""


def _as_addresses(addrs) -> np.ndarray:
    """Byte addresses as a 1-D uint64 array, each below ``ADDRESS_LIMIT``.
    Raises ValueError for a negative, fractional or out-of-range address."""
    a = np.asarray(addrs)
    if a.ndim != 1:
        raise ValueError("access: addresses must be a 1-D array")
    if a.dtype.kind == "O" or a.dtype.kind == "f":
        bad = [x for x in a.tolist() if not (float(x).is_integer() and 0 <= x < ADDRESS_LIMIT)]
        if bad:
            raise ValueError(f"access: address {bad[0]!r} is outside 0..{ADDRESS_LIMIT - 1:#x}")
    elif a.dtype.kind == "i" and len(a) and int(a.min()) < 0:
        raise ValueError(f"access: address {int(a.min())} is negative")
    a = a.astype(np.uint64)
    if len(a) and int(a.max()) >= ADDRESS_LIMIT:
        raise ValueError(f"access: address {int(a.max()):#x} is outside the user address "
                         f"space (below {ADDRESS_LIMIT:#x})")
    return a


class TraceWriter:
    """Write a trace in chunks; the file appears only when ``close`` succeeds.

    Use as a context manager.  Data goes to a temporary file beside it
    (``hpsim.io.temp_path``), renamed into place at the end, so a crash never leaves a half-written trace.
    A full chunk is compressed and written on a second thread while the next
    fills (zstd releases the GIL); its error is raised by the next flush or close.
    """

    def __init__(self, path, header: dict, chunk_records: int = DEFAULT_CHUNK_RECORDS,
                 level: int = 3, version: int = VERSION):
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"trace version {version} cannot be written "
                             f"(supported: {SUPPORTED_VERSIONS})")
        self.version = version
        self.path = Path(path)
        self.tmp = temp_path(self.path)   # renamed into place by close()
        self._f = open(self.tmp, "wb")
        # version 2 checks payloads with zstd's frame checksum, 1 with a crc32
        self._cctx = zstandard.ZstdCompressor(level=level, write_checksum=version >= 2)
        # the chunk being filled, as two columns; another pair is being written
        self._words = np.empty(chunk_records, np.uint64)
        self._args = np.empty(chunk_records, np.uint32)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-write")
        self._planes = np.empty(chunk_records * RECORD_BYTES, np.uint8)  # its payload, reused
        self._spare, self._pending = None, None     # its columns and Future
        self._n = 0
        self.n_records = 0
        self.n_accesses = 0
        self.n_writes = 0
        self.phases: list[str] = []
        self.phase_starts: list[int] = []  # access index at which each phase starts
        self.mapped_pages = 0
        self.peak_mapped_pages = 0
        self._cycles = 0            # the last CYCLES record's value
        hdr = json.dumps({"format": "hptrace", "version": version, **header},
                         sort_keys=True).encode()
        self._f.write(MAGIC + struct.pack("<HI", version, len(hdr)) + hdr)
        self._closed = False

    # --- records -----------------------------------------------------------
    def _append(self, words: np.ndarray, args: np.ndarray) -> None:
        n = len(words)
        pos = 0
        while pos < n:
            take = min(n - pos, len(self._words) - self._n)
            self._words[self._n:self._n + take] = words[pos:pos + take]
            self._args[self._n:self._n + take] = args[pos:pos + take]
            self._n += take
            pos += take
            if self._n == len(self._words):
                self._flush()

    def _event(self, kind: int, addr: int, arg: int) -> None:
        if addr < 0 or addr % PAGE_SIZE:
            raise ValueError(f"{KIND_NAMES[kind]}: address {addr:#x} is not 4 KiB aligned")
        if addr + (arg << PAGE_SHIFT if kind in (MMAP, MUNMAP, MADV_DONTNEED) else 0) \
                > ADDRESS_LIMIT:
            raise ValueError(f"{KIND_NAMES[kind]}: range {addr:#x} + {arg} pages ends beyond "
                             f"the user address space (below {ADDRESS_LIMIT:#x})")
        if not 0 <= arg <= MAX_ARG:
            raise ValueError(f"{KIND_NAMES[kind]}: argument {arg} out of range 0..{MAX_ARG}")
        self._append(np.array([addr | kind], np.uint64), np.array([arg], np.uint32))

    def _pages(self, kind: int, length: int) -> int:
        if length <= 0 or length % PAGE_SIZE:
            raise ValueError(f"{KIND_NAMES[kind]}: length {length} must be a positive "
                             "multiple of 4096 bytes")
        return length // PAGE_SIZE

    def mmap(self, addr: int, length: int) -> None:
        pages = self._pages(MMAP, length)
        self._event(MMAP, addr, pages)
        self.mapped_pages += pages
        self.peak_mapped_pages = max(self.peak_mapped_pages, self.mapped_pages)

    def munmap(self, addr: int, length: int) -> None:
        pages = self._pages(MUNMAP, length)
        self._event(MUNMAP, addr, pages)
        self.mapped_pages -= pages

    def madvise_dontneed(self, addr: int, length: int) -> None:
        self._event(MADV_DONTNEED, addr, self._pages(MADV_DONTNEED, length))

    def phase(self, name: str) -> None:
        self.phases.append(str(name))
        self.phase_starts.append(self.n_accesses)
        self._event(PHASE, 0, len(self.phases) - 1)

    def cycles(self, per_access: int, llc_misses_per_access: float = 0.0) -> None:
        """Compute cycles charged per access from here on (0..2^32-1), and the
        workload's last-level-cache misses per access (0..1, stored in
        millionths); the machine charges each miss its DRAM latency
        (``machine.costs.dram_latency_ns``).  Raises ValueError out of range."""
        if not 0.0 <= llc_misses_per_access <= 1.0:
            raise ValueError(f"cycles: llc_misses_per_access {llc_misses_per_access} "
                             "out of range 0..1")
        self._event(CYCLES, int(round(llc_misses_per_access * MISS_SCALE)) << PAGE_SHIFT,
                    int(per_access))
        self._cycles = int(per_access)

    def access(self, addrs, write, counts=None) -> None:
        """Append accesses: byte addresses, a write flag (scalar or per access),
        optional repeat counts.  Runs to the same page and kind are merged."""
        addrs = _as_addresses(addrs)
        if len(addrs) == 0:
            return
        words = addrs & np.uint64(~(PAGE_SIZE - 1) & 0xFFFFFFFFFFFFFFFF)
        w = np.broadcast_to(np.asarray(write, dtype=bool), addrs.shape)
        words = words | (w.astype(np.uint64) * np.uint64(WRITE_BIT))
        c = (np.ones(len(words), np.uint64) if counts is None
             else np.asarray(counts, dtype=np.uint64))
        if c.shape != words.shape or (c == 0).any():
            raise ValueError("access: counts must be positive, one per address")
        # merge runs of identical words into one record with the summed count
        start = np.flatnonzero(np.r_[True, words[1:] != words[:-1]])
        words = words[start]
        c = np.add.reduceat(c, start)
        if (c > MAX_ARG).any():  # split oversize runs (rare)
            reps = ((c + MAX_ARG - 1) // MAX_ARG).astype(np.int64)
            words = np.repeat(words, reps)
            out = np.full(len(words), MAX_ARG, np.uint64)
            ends = np.cumsum(reps) - 1
            out[ends] = c - (reps.astype(np.uint64) - 1) * np.uint64(MAX_ARG)
            c = out
        self._append_runs("access", words, c.astype(np.uint32), int(c.sum()),
                          int(c[(words & np.uint64(WRITE_BIT)) != 0].sum()), int(c.max()))

    def access_runs(self, words: np.ndarray, counts: np.ndarray) -> None:
        """``access``'s records, built by a compiled generator (xsbench_jit.py): ``words``
        uint64 (n,) page addresses ``| WRITE_BIT`` for writes, ``counts`` (n,) in 1..MAX_ARG,
        equal neighbours merged.  Raises ValueError for any other word or count, or overflow."""
        if counts.shape != words.shape:
            raise ValueError("access_runs: one count per word")
        total, writes, most, bad = compiled(_run_totals)(words, counts)
        if bad >= 0:
            raise ValueError(f"access_runs: record {bad} (word {int(words[bad]):#x}, count "
                             f"{int(counts[bad])}) is not a merged access run")
        self._append_runs("access_runs", words, counts, total, writes, most)

    def _append_runs(self, caller: str, words, counts, total: int, writes: int, most: int):
        """Append merged records (words uint64, counts uint32 (n,); ``most`` the largest
        count).  Raises ValueError if a record's repeats x cycles overflow the clock."""
        if most * self._cycles >= MAX_RECORD_CYCLES:
            raise ValueError(f"{caller}: {most} repeats x {self._cycles} cycles per access "
                             f"overflow the clock (at most {MAX_RECORD_CYCLES} cycles a record)")
        self.n_accesses += total
        self.n_writes += writes
        self._append(words, counts)

    # --- file --------------------------------------------------------------
    def _flush(self) -> None:
        """Hand the full columns to the writing thread, go on in the others."""
        if self._n == 0:
            return
        spare = self._wait() or (np.empty_like(self._words), np.empty_like(self._args))
        n, words, args = self._n, self._words, self._args
        self._pending = self._pool.submit(self._write_chunk, words[:n], args[:n])
        self._spare = (words, args)
        self._words, self._args = spare
        self.n_records += n
        self._n = 0

    def _wait(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Wait for the chunk being written (raising its error); its columns."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()
        spare, self._spare = self._spare, None
        return spare

    def _write_chunk(self, words: np.ndarray, args: np.ndarray) -> None:
        """Compress and append one chunk (on the writing thread)."""
        n = len(words)
        if self.version == 1:
            recs = np.empty(n, RECORD_DTYPE)
            recs["word"], recs["arg"] = words, args
            raw = recs.tobytes()
            comp, check = self._cctx.compress(raw), zlib.crc32(raw)
        else:
            # byte planes: the (n, 12) byte matrix of the records, transposed
            planes = self._planes[:n * RECORD_BYTES]
            split_planes(words, args, planes)
            comp, check = self._cctx.compress(planes), 0
        self._f.write(CHUNK_MAGIC + struct.pack("<III", n, len(comp), check) + comp)

    def close(self, extra: dict | None = None) -> None:
        if self._closed:
            return
        try:
            self._flush()
            self._wait()
        except BaseException:
            self.abort()
            raise
        self._pool.shutdown()
        trailer = {"n_records": self.n_records, "n_accesses": self.n_accesses,
                   "n_writes": self.n_writes, "phases": self.phases,
                   "phase_starts": self.phase_starts,
                   "peak_mapped_bytes": self.peak_mapped_pages * PAGE_SIZE,
                   **(extra or {})}
        t = json.dumps(trailer, sort_keys=True).encode()
        self._f.write(END_MAGIC + struct.pack("<I", len(t)) + t)
        self._f.close()
        os.replace(self.tmp, self.path)
        self._closed = True

    def abort(self) -> None:
        if not self._closed:
            self._pool.shutdown()       # the chunk being written, if any, ends first
            self._f.close()
            self.tmp.unlink(missing_ok=True)
            self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


# What a reader needs of the header and trailer (other keys are free-form).
_COUNT = {"type": "integer", "minimum": 0}
HEADER_SCHEMA = {"type": "object", "properties": {"params": {"type": "object"},
                                                  "workload": {"type": "string"}}}
TRAILER_SCHEMA = {
    "type": "object",
    "required": ["n_records", "n_accesses", "phases"],
    "properties": {
        "n_records": _COUNT, "n_accesses": _COUNT, "n_writes": _COUNT,
        "peak_mapped_bytes": _COUNT,
        "phases": {"type": "array", "items": {"type": "string"}},
        "phase_starts": {"type": "array", "items": _COUNT},
        "pauses": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        "live_bytes": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                                  "items": {"type": "number", "minimum": 0}}},
    },
}


class TraceReader:
    """Read and validate a trace chunk by chunk."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise TraceFormatError(f"{self.path}: no such trace file")
        with open(self.path, "rb") as f:
            head = f.read(len(MAGIC) + 6)
            if len(head) < len(MAGIC) + 6 or head[:len(MAGIC)] != MAGIC:
                raise TraceFormatError(f"{self.path}: not a trace file (bad magic; "
                                       f"expected {MAGIC!r})")
            version, n = struct.unpack("<HI", head[len(MAGIC):])
            if version not in SUPPORTED_VERSIONS:
                raise TraceFormatError(f"{self.path}: trace version {version} is not "
                                       f"supported (supported: {SUPPORTED_VERSIONS})")
            self.version = version
            raw = f.read(n)
            if len(raw) < n:
                raise TraceFormatError(f"{self.path}: truncated header")
            self.header = self._json("header", raw, HEADER_SCHEMA)
            self._data_start = f.tell()
            self.trailer = self._json("trailer", self._scan(f), TRAILER_SCHEMA)

    def _json(self, what: str, raw: bytes, schema: dict) -> dict:
        """Decode the header or trailer (UTF-8 JSON) and check its fields."""
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise TraceFormatError(f"{self.path}: {what} is not UTF-8 text: {e}") from None
        except json.JSONDecodeError as e:
            raise TraceFormatError(f"{self.path}: {what} is not valid JSON: {e}") from None
        err = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(schema).iter_errors(obj))
        if err is not None:
            where = ".".join(str(k) for k in err.absolute_path) or "(top level)"
            raise TraceFormatError(f"{self.path}: {what} field {where}: {err.message}")
        return obj

    def _scan(self, f) -> bytes:
        """Walk chunk headers to the trailer, checking framing (not payloads);
        returns the trailer's bytes."""
        size = os.fstat(f.fileno()).st_size
        i = 0
        while True:
            pos = f.tell()
            tag = f.read(4)
            if tag == CHUNK_MAGIC:
                hdr = f.read(12)
                if len(hdr) < 12:
                    raise TraceFormatError(f"{self.path}: chunk {i} at byte {pos}: truncated "
                                           "chunk header")
                _, clen, _ = struct.unpack("<III", hdr)
                if f.seek(clen, os.SEEK_CUR) > size:
                    raise TraceFormatError(f"{self.path}: chunk {i} at byte {pos}: truncated "
                                           f"payload ({clen} bytes announced, "
                                           f"{size - pos - 16} present)")
                i += 1
            elif tag == END_MAGIC:
                hdr = f.read(4)
                n = struct.unpack("<I", hdr)[0] if len(hdr) == 4 else -1
                raw = f.read(n) if n >= 0 else b""
                if n < 0 or len(raw) < n:
                    raise TraceFormatError(f"{self.path}: truncated trailer")
                self.n_chunks = i
                return raw
            elif tag == b"":
                raise TraceFormatError(f"{self.path}: truncated after chunk {i} at byte "
                                       f"{pos}: no trailer (the writer did not finish)")
            else:
                raise TraceFormatError(f"{self.path}: chunk {i} at byte {pos}: bad chunk "
                                       f"tag {tag!r} (expected {CHUNK_MAGIC!r})")

    @property
    def phases(self) -> list[str]:
        return list(self.trailer.get("phases", []))

    def columns(self, reuse: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield each chunk's validated records as two contiguous columns,
        words (u64) and args (u32): what the simulator's replay loop reads.

        reuse: 0 (default) gives every chunk arrays of its own; k > 0 decodes
        into a ring of k sets of arrays (sized for the largest chunk so far),
        so the arrays yielded for chunk j are overwritten by chunk j + k: a
        caller that keeps at most k - 1 chunks besides the newest saves the
        allocation (and page faults) of 12 bytes a record per chunk.  Raises
        TraceFormatError for a truncated or corrupt chunk or an unknown kind."""
        dctx = zstandard.ZstdDecompressor()
        ring: list[tuple[np.ndarray, np.ndarray]] = []
        with open(self.path, "rb") as f:
            f.seek(self._data_start)
            for i in range(self.n_chunks):
                pos = f.tell()
                tag = f.read(4)
                n, clen, check = struct.unpack("<III", f.read(12))
                comp = f.read(clen)
                where = f"{self.path}: chunk {i} at byte {pos}"
                if tag != CHUNK_MAGIC or len(comp) < clen:
                    raise TraceFormatError(f"{where}: truncated chunk")
                try:
                    raw = dctx.decompress(comp, max_output_size=n * RECORD_BYTES)
                except zstandard.ZstdError as e:
                    raise TraceFormatError(f"{where}: corrupt payload: {e}") from None
                if len(raw) != n * RECORD_BYTES or (self.version == 1
                                                    and zlib.crc32(raw) != check):
                    raise TraceFormatError(f"{where}: payload does not match its length or "
                                           "checksum")
                words, args = _buffers(ring, reuse, i, n)
                if self.version == 1:
                    recs = np.frombuffer(raw, RECORD_DTYPE)
                    words[:], args[:] = recs["word"], recs["arg"]
                    bad = _first_unknown_kind(words)
                else:
                    bad = join_planes(np.frombuffer(raw, np.uint8), words, args,
                                      KIND_MASK, CYCLES)
                if bad >= 0:
                    raise TraceFormatError(f"{where}: record {bad} has unknown kind "
                                           f"{int(words[bad]) & KIND_MASK} (known: "
                                           f"{KIND_NAMES})")
                yield words, args

    def columns_ahead(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``columns`` with chunk j + 1 decoded on a second thread while the
        caller works on chunk j (zstd's decompress and ``planes.join_planes``
        release the GIL, and so does the replay kernel, ``machine.jit``).

        Same chunks in the same order as ``columns`` (one decode at a time,
        in file order), into a ring of two sets of arrays: asking for chunk
        j + 1 starts the decode of chunk j + 2 into chunk j's arrays, so the
        caller must be done with chunk j when it asks for chunk j + 1.  A
        corrupt chunk raises TraceFormatError when the caller asks for it."""
        return _read_ahead(self.columns(reuse=2))

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield validated record arrays (``RECORD_DTYPE``), one per chunk."""
        for words, args in self.columns():
            recs = np.empty(len(words), RECORD_DTYPE)
            recs["word"], recs["arg"] = words, args
            yield recs


def _run_totals(words, counts):
    """``access_runs``'s check, compiled (``planes.compiled``): (accesses, writes,
    largest count, first record that is no merged access run with a count in
    1..MAX_ARG, or -1)."""
    total, writes, most = 0, 0, 0
    low = np.uint64(PAGE_SIZE - 1 - WRITE_BIT)
    for i in range(len(words)):
        w, c = words[i], np.int64(counts[i])
        if ((w & low) != 0 or w >= np.uint64(ADDRESS_LIMIT) or c < 1 or c > MAX_ARG
                or (i > 0 and w == words[i - 1])):
            return total, writes, most, i
        total += c
        if w & np.uint64(WRITE_BIT):
            writes += c
        most = max(most, c)
    return total, writes, most, -1


_DECODER: list[ThreadPoolExecutor] = []     # one decode thread, shared by all readers


def _read_ahead(items: Iterator):
    """Yield items' values, computing value j + 1 on the decode thread while
    the caller holds value j."""
    if not _DECODER:
        _DECODER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-decode"))
    pool = _DECODER[0]
    pending = pool.submit(next, items, None)
    while True:
        item = pending.result()
        if item is None:
            return
        pending = pool.submit(next, items, None)
        yield item


def _buffers(ring: list, reuse: int, i: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunk i's words (u64, n) and args (u32, n): new arrays, or with reuse > 0
    views of the ring's set i % reuse (grown when n exceeds it)."""
    if reuse <= 0:
        return np.empty(n, np.uint64), np.empty(n, np.uint32)
    k = i % reuse
    if k == len(ring):
        ring.append((np.empty(n, np.uint64), np.empty(n, np.uint32)))
    elif len(ring[k][0]) < n:
        ring[k] = (np.empty(n, np.uint64), np.empty(n, np.uint32))
    return ring[k][0][:n], ring[k][1][:n]


def _first_unknown_kind(words: np.ndarray) -> int:
    bad = np.flatnonzero((words & np.uint64(KIND_MASK)) > CYCLES)
    return int(bad[0]) if len(bad) else -1


def decode(recs: np.ndarray) -> dict[str, np.ndarray]:
    """Split records into columns (for tests and tools; the simulator reads words)."""
    w = recs["word"]
    return {"kind": (w & np.uint64(KIND_MASK)).astype(np.uint8),
            "write": ((w & np.uint64(WRITE_BIT)) != 0),
            "addr": w & np.uint64(~(PAGE_SIZE - 1) & 0xFFFFFFFFFFFFFFFF),
            "arg": recs["arg"].astype(np.uint64)}
