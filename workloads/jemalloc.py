"""A page-level model of jemalloc 4 (the allocator Redis 3.2-5 bundles).

What is modelled (enough for page faults, RSS, bloat and madvise behaviour):

* Size classes of jemalloc 4 with a 16-byte quantum and 4 KiB pages: 8, then
  16..128 in steps of 16, then four classes per doubling (160, 192, 224, 256,
  320, ... 3584, 4096, 5120, ...).  ``small`` up to 14336 B, ``large`` up to
  ``chunk - header``, ``huge`` above.
* Chunks: ``chunk_bytes`` (2 MiB in jemalloc 4, 4 MiB in 3.x) obtained by a
  chunk-aligned anonymous ``mmap``; the first ``header_pages`` pages hold the
  chunk map (``map_bits`` in the first header page, the per-page
  ``map_misc`` records after it), and every page-run allocation or free
  writes the map entries of the run's first page.  Allocating or freeing a
  small region writes no allocator metadata: jemalloc's thread cache absorbs
  those (its batched fills and flushes are not modelled).
* Small classes live in runs of ``lcm(size, 4096)`` bytes (5120 B objects:
  4 per 5-page run), one region bitmap per run; a bin allocates from its
  current run, else from its lowest-address non-full run, else a new run,
  and always the lowest free region (``bitmap_sfu``).  A run whose last
  region is freed goes back to the chunk's free pages.
* Page runs (small-bin runs and large objects) come from the free page
  extents of all chunks, best fit by size then lowest address, split from
  the extent's start; freed runs coalesce with free neighbours.  A chunk
  whose pages are all free again is ``munmap``-ed at once (jemalloc's
  one-chunk "spare" cache is not modelled).
* Freed pages are dirty; after ``decay_ops`` further allocator operations
  (0: immediately) those still free and dirty are returned with
  ``madvise(MADV_DONTNEED)`` (jemalloc's purge), one call per maximal run.
* Huge objects (> large_max) get their own chunk-aligned mapping of
  ``CHUNK_CEILING(usable size)`` bytes (``huge_map="chunk"``, jemalloc 4) or of
  the page-rounded usable size (``huge_map="page"``) and are ``munmap``-ed on free.
* Mappings are placed top-down from ``mmap_top`` in the highest hole that
  fits (as Linux's mmap), so unmapped ranges are reused.
* Not modelled: the thread cache's own memory, arena structures in base chunks,
  the "spare" chunk, run quantisation, ``lg_dirty_mult`` ratio purging.

The allocator does not write object contents; it emits its own metadata
accesses through ``emit.access(addr, write, count)`` and mmap/madvise/munmap
events through ``emit.event(kind, addr, length)`` (the caller flushes queued
accesses before each event so the order is preserved).
"""
from __future__ import annotations

import heapq
from collections import deque
from math import lcm

import numpy as np

from hpsim.units import PAGE_SIZE

SMALL_MAX = 14336
MISC_BYTES = 56          # sizeof(arena_chunk_map_misc_t), roughly

# per-page state inside a chunk
ALLOCATED, DIRTY, CLEAN = 0, 1, 2


_SC_CACHE: dict[int, int] = {}


def size_class(n: int) -> int:
    """jemalloc 4 usable size for a request of n bytes (lg_quantum 4, 4 per doubling)."""
    c = _SC_CACHE.get(n)
    if c is None:
        c = _SC_CACHE[n] = _size_class(n)
    return c


def _size_class(n: int) -> int:
    n = max(int(n), 1)
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) // 16 * 16
    k = (n - 1).bit_length() - 1       # 2^k < n <= 2^(k+1)
    step = 1 << (k - 2)
    return (n + step - 1) // step * step


class AddressSpace:
    """Top-down placement of mappings in the highest fitting hole."""

    def __init__(self, top: int, bottom: int):
        self.holes = [(bottom, top)]   # sorted, disjoint [start, end)

    def alloc(self, size: int, align: int) -> int:
        for i in range(len(self.holes) - 1, -1, -1):
            s, e = self.holes[i]
            a = (e - size) // align * align
            if a >= s:
                new = []
                if s < a:
                    new.append((s, a))
                if a + size < e:
                    new.append((a + size, e))
                self.holes[i:i + 1] = new
                return a
        raise MemoryError("address space exhausted")

    def free(self, addr: int, size: int) -> None:
        s, e = addr, addr + size
        holes = [h for h in self.holes]
        holes.append((s, e))
        holes.sort()
        merged = []
        for hs, he in holes:
            if merged and merged[-1][1] >= hs:
                merged[-1] = (merged[-1][0], max(merged[-1][1], he))
            else:
                merged.append((hs, he))
        self.holes = merged


class _Run:
    __slots__ = ("addr", "cls", "nregs", "free_mask", "nfree", "page0")

    def __init__(self, addr: int, cls: int, nregs: int):
        self.addr = addr
        self.cls = cls
        self.nregs = nregs
        self.free_mask = (1 << nregs) - 1
        self.nfree = nregs
        self.page0 = addr // PAGE_SIZE


class _Bin:
    __slots__ = ("cls", "run_pages", "nregs", "cur", "heap")

    def __init__(self, cls: int):
        self.cls = cls
        run_bytes = lcm(cls, PAGE_SIZE)
        self.run_pages = run_bytes // PAGE_SIZE
        self.nregs = run_bytes // cls
        self.cur = None
        self.heap = []     # (addr, id, run) of non-full runs, lazily cleaned


class Jemalloc:
    def __init__(self, emit, chunk_bytes: int = 2 << 20, header_pages: int = 8,
                 decay_ops: int = 0, huge_map: str = "chunk",
                 mmap_top: int = 0x7F0000000000, mmap_bottom: int = 0x100000000):
        if chunk_bytes % (2 << 20) and chunk_bytes % PAGE_SIZE:
            raise ValueError("chunk size must be a multiple of 4 KiB")
        if huge_map not in ("chunk", "page"):
            raise ValueError(f"huge_map must be 'chunk' or 'page', got {huge_map!r}")
        self.emit = emit
        self.chunk = int(chunk_bytes)
        self.chunk_pages = self.chunk // PAGE_SIZE
        self.header_pages = int(header_pages)
        self.large_max = self.chunk - self.header_pages * PAGE_SIZE
        self.decay_ops = int(decay_ops)
        self.huge_map = huge_map
        self.vas = AddressSpace(mmap_top, mmap_bottom)
        self.bins: dict[int, _Bin] = {}
        self.chunks: dict[int, np.ndarray] = {}    # chunk first page -> page states
        self.chunk_used: dict[int, int] = {}       # chunk first page -> allocated data pages
        self.free_start: dict[int, int] = {}       # extent start page -> npages
        self.free_end: dict[int, int] = {}         # extent end page -> start page
        self.buckets: dict[int, list] = {}         # npages -> heap of start pages
        self.nonempty = 0                          # bit n set: bucket n may be non-empty
        self.purge_q: deque = deque()              # (due op, start page, npages, chunk serial)
        self.chunk_serial: dict[int, int] = {}
        self.op = 0
        self._rid = 0
        # statistics
        self.mapped = 0
        self.peak_mapped = 0
        self.n_chunks = 0
        self.n_chunk_unmaps = 0
        self.n_huge = 0
        self.purged_pages = 0

    # -- mappings -------------------------------------------------------
    def _mmap(self, size: int) -> int:
        a = self.vas.alloc(size, self.chunk)
        self.emit.event("mmap", a, size)
        self.mapped += size
        self.peak_mapped = max(self.peak_mapped, self.mapped)
        return a

    def _munmap(self, a: int, size: int) -> None:
        self.emit.event("munmap", a, size)
        self.vas.free(a, size)
        self.mapped -= size

    # -- chunk header metadata -------------------------------------------
    def _map_touch(self, page: int) -> None:
        """Write map_bits and map_misc of the page run starting at ``page``."""
        i = page % self.chunk_pages
        base = (page - i) * PAGE_SIZE
        acc = self.emit.access
        acc(base, True, 1)
        misc_page = 1 + (i * MISC_BYTES) // PAGE_SIZE
        if misc_page < self.header_pages:
            acc(base + misc_page * PAGE_SIZE, True, 1)

    # -- free extents -----------------------------------------------------
    def _add_extent(self, s: int, n: int) -> None:
        self.free_start[s] = n
        self.free_end[s + n] = s
        h = self.buckets.get(n)
        if h is None:
            h = self.buckets[n] = []
        heapq.heappush(h, s)
        self.nonempty |= 1 << n

    def _del_extent(self, s: int) -> int:
        n = self.free_start.pop(s)
        del self.free_end[s + n]
        return n

    def _find_extent(self, need: int):
        mask = self.nonempty >> need
        while mask:
            low = (mask & -mask).bit_length() - 1
            n = need + low
            h = self.buckets[n]
            while h and self.free_start.get(h[0]) != n:
                heapq.heappop(h)
            if h:
                return h[0], n
            self.nonempty &= ~(1 << n)
            mask &= ~(1 << low)
        return None

    def _new_chunk(self) -> None:
        a = self._mmap(self.chunk)
        c0 = a // PAGE_SIZE
        st = np.full(self.chunk_pages, CLEAN, np.uint8)
        st[:self.header_pages] = ALLOCATED
        self.chunks[c0] = st
        self.chunk_used[c0] = 0
        self.n_chunks += 1
        self.chunk_serial[c0] = self.n_chunks
        for p in range(self.header_pages):          # header initialisation
            self.emit.access(a + p * PAGE_SIZE, True, PAGE_SIZE // 64)
        self._add_extent(c0 + self.header_pages, self.chunk_pages - self.header_pages)

    def _alloc_pages(self, n: int) -> int:
        """A run of n pages; returns its first page number."""
        got = self._find_extent(n)
        if got is None:
            self._new_chunk()
            got = self._find_extent(n)
        s, m = got
        self._del_extent(s)
        if m > n:
            self._add_extent(s + n, m - n)
        c0 = s - s % self.chunk_pages
        self.chunks[c0][s - c0:s - c0 + n] = ALLOCATED
        self.chunk_used[c0] += n
        self._map_touch(s)
        return s

    def _free_pages(self, s: int, n: int) -> None:
        c0 = s - s % self.chunk_pages
        self._map_touch(s)
        st = self.chunks[c0]
        st[s - c0:s - c0 + n] = DIRTY
        self.chunk_used[c0] -= n
        if self.chunk_used[c0] == 0:                # whole chunk free: unmap it
            for es in list(self._extents_in(c0)):
                self._del_extent(es)
            del self.chunks[c0]
            del self.chunk_used[c0]
            del self.chunk_serial[c0]
            self.n_chunk_unmaps += 1
            self._munmap(c0 * PAGE_SIZE, self.chunk)
            return
        start, length = s, n
        left = self.free_end.get(start)
        if left is not None:
            length += self._del_extent(left)
            start = left
        right_n = self.free_start.get(s + n)
        if right_n is not None:
            self._del_extent(s + n)
            length += right_n
        self._add_extent(start, length)
        if self.decay_ops <= 0:
            self._purge(s, n)
        else:
            self.purge_q.append((self.op + self.decay_ops, s, n, self.chunk_serial[c0]))

    def _extents_in(self, c0: int):
        p = c0 + self.header_pages
        end = c0 + self.chunk_pages
        while p < end:
            n = self.free_start.get(p)
            if n is None:
                p += 1
            else:
                yield p
                p += n

    def _purge(self, s: int, n: int, serial: int | None = None) -> None:
        c0 = s - s % self.chunk_pages
        st = self.chunks.get(c0)
        if st is None or (serial is not None and self.chunk_serial[c0] != serial):
            return                                   # chunk unmapped (and maybe reused) since
        seg = st[s - c0:s - c0 + n]
        dirty = np.flatnonzero(seg == DIRTY)
        if len(dirty) == 0:
            return
        brk = np.flatnonzero(np.diff(dirty) != 1) + 1
        for run in np.split(dirty, brk):
            a = (s + int(run[0])) * PAGE_SIZE
            self.emit.event("madvise", a, len(run) * PAGE_SIZE)
            self.purged_pages += len(run)
        seg[dirty] = CLEAN

    def tick(self) -> None:
        """One allocator operation passed; run due purges."""
        self.op += 1
        q = self.purge_q
        if q and q[0][0] <= self.op:
            self._run_due()

    def _run_due(self) -> None:
        q = self.purge_q
        while q and q[0][0] <= self.op:
            _, s, n, serial = q.popleft()
            self._purge(s, n, serial)

    # -- public API ---------------------------------------------------------
    def malloc(self, size: int):
        """Returns (address, usable size, handle)."""
        self.op += 1
        q = self.purge_q
        if q and q[0][0] <= self.op:
            self._run_due()
        cls = _SC_CACHE.get(size) or size_class(size)
        if cls <= SMALL_MAX:
            b = self.bins.get(cls)
            if b is None:
                b = self.bins[cls] = _Bin(cls)
            run = b.cur
            if run is None or run.nfree == 0:
                run = None
                while b.heap:
                    _, _, r = heapq.heappop(b.heap)
                    if r.nfree > 0 and r.addr >= 0:
                        run = r
                        break
                if run is None:
                    p = self._alloc_pages(b.run_pages)
                    run = _Run(p * PAGE_SIZE, cls, b.nregs)
                b.cur = run
            fm = run.free_mask
            i = (fm & -fm).bit_length() - 1
            run.free_mask = fm & ~(1 << i)
            run.nfree -= 1
            return run.addr + i * cls, cls, ("s", run, i)
        if cls <= self.large_max:
            n = (cls + PAGE_SIZE - 1) // PAGE_SIZE
            p = self._alloc_pages(n)
            return p * PAGE_SIZE, cls, ("l", p, n)
        length = (cls + self.chunk - 1) // self.chunk * self.chunk if self.huge_map == "chunk" \
            else (cls + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE
        a = self._mmap(length)
        self.n_huge += 1
        return a, cls, ("h", a, length)

    def free(self, handle) -> None:
        self.op += 1
        q = self.purge_q
        if q and q[0][0] <= self.op:
            self._run_due()
        kind = handle[0]
        if kind == "s":
            _, run, i = handle
            b = self.bins[run.cls]
            was_full = run.nfree == 0
            run.free_mask |= 1 << i
            run.nfree += 1
            if run.nfree == run.nregs:                  # empty run: give its pages back
                if b.cur is run:
                    b.cur = None
                run.addr = -1 - run.addr               # mark dead for the lazy heap
                self._free_pages(run.page0, b.run_pages)
            elif was_full:
                if b.cur is not None and b.cur.nfree > 0 and run.addr < b.cur.addr:
                    self._rid += 1
                    heapq.heappush(b.heap, (b.cur.addr, self._rid, b.cur))
                    b.cur = run
                elif b.cur is None or b.cur.nfree == 0:
                    b.cur = run
                else:
                    self._rid += 1
                    heapq.heappush(b.heap, (run.addr, self._rid, run))
        elif kind == "l":
            _, p, n = handle
            self._free_pages(p, n)
        else:
            _, a, length = handle
            self._munmap(a, length)

    def flush_purges(self) -> None:
        """Run every pending purge now (e.g. at a pause)."""
        while self.purge_q:
            _, s, n, serial = self.purge_q.popleft()
            self._purge(s, n, serial)
