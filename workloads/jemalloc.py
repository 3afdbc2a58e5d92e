"""A page-level model of jemalloc 4.0.3, the allocator Redis 3.2 and 4.0 bundle
(``deps/jemalloc/VERSION`` of every 3.2.x and 4.0.x release: 4.0.3-0-ge9192ea).

What is modelled (enough for page faults, RSS, bloat and madvise behaviour):

* Size classes of jemalloc 4 with four classes per doubling and a quantum of
  ``2**lg_quantum`` bytes: Redis 3.2 builds jemalloc with the x86-64 default
  (lg_quantum 4: 8, 16..128 in steps of 16, then 160, 192, 224, 256, 320, ...),
  Redis 4.0 with ``--with-lg-quantum=3`` (``deps/Makefile``: 8..64 in steps of
  8, then 80..128 in steps of 16, then the same).  ``small`` up to 14336 B,
  ``large`` up to ``chunk - header``, ``huge`` above.
* Chunks: ``chunk_bytes`` (2 MiB in jemalloc 4, 4 MiB in 3.x) obtained by a
  chunk-aligned anonymous ``mmap``; the first ``header_pages`` pages hold the
  chunk map (``map_bits`` in the first header page, the per-page
  ``map_misc`` records after it), and every page-run allocation, free or purge
  writes the map entries of the run's first page.  Allocating or freeing a
  small region writes no allocator metadata: jemalloc's thread cache absorbs
  those (its batched fills and flushes are not modelled).
* Small classes live in runs of ``lcm(size, 4096)`` bytes (5120 B objects:
  4 per 5-page run; ``bin_info_run_size_calc``), one region bitmap per run; a
  bin allocates from its current run, else from its lowest-address non-full
  run, else a new run, and always the lowest free region (``bitmap_sfu``).  A
  run whose last region is freed goes back to the chunk's free pages.
* Free page runs are dirty (freed after use) or clean (never used, or
  purged); a freed run coalesces only with free neighbours of the same state
  (``arena_run_coalesce``).  Page runs (small-bin runs and large objects) come
  from all free runs, best fit by size then lowest address
  (``arena_run_first_best_fit``; run quantisation not modelled), split from the
  run's start; a dirty remainder goes to the tail of the dirty list
  (``arena_run_split_remove``).
* Purging by ratio (``arena_maybe_purge``, src/arena.c of 4.0.3): the arena
  counts ``nactive`` (pages of allocated runs, plus ``usize / 4096`` for each
  huge object) and ``ndirty`` (pages of dirty free runs).  After every dirty
  free, while ``ndirty > max(nactive >> lg_dirty_mult, chunk pages)``,
  ``arena_purge`` takes whole dirty runs from the head of the dirty list (the
  oldest first) until at least ``ndirty - threshold`` pages are taken
  (``arena_stash_dirty``), returns each with one ``madvise(MADV_DONTNEED)``
  (``arena_purge_stashed``; Linux builds define
  ``JEMALLOC_PURGE_MADVISE_DONTNEED``) and frees it as clean
  (``arena_unstash_purged``).  ``lg_dirty_mult`` -1 never purges; the default 3
  is ``LG_DIRTY_MULT_DEFAULT``.
* A chunk whose pages are all free in one run of one state is ``munmap``-ed at
  once; huge objects (> large_max) get their own chunk-aligned mapping of
  ``CHUNK_CEILING(usable size)`` bytes (``huge_map="chunk"``,
  ``arena_chunk_alloc_huge``) or of the page-rounded usable size
  (``huge_map="page"``) and are ``munmap``-ed on free.  (jemalloc 4.0.3 keeps
  one empty "spare" chunk, caches freed chunks as dirty pages counted in
  ``ndirty``, and on Linux never unmaps them (``default_munmap="0"`` in
  configure.ac): a purged chunk is ``madvise``-d and retained for reuse.  Not
  modelled; in the memory the machine sees, unmapping and purging both free the
  pages.)
* Mappings are placed top-down from ``mmap_top`` in the highest hole that
  fits (as Linux's mmap), so unmapped ranges are reused.
* ``realloc`` of a huge object within its chunk ceiling is done in place
  (shrinking purges the tail); any other ``realloc`` moves.
* Not modelled: the thread cache's own memory, arena structures in base chunks,
  the spare and cached chunks (above), run quantisation, in-place growth.

The allocator does not write object contents; it emits its own metadata
accesses through ``emit.access(addr, write, count)`` and mmap/madvise/munmap
events through ``emit.event(kind, addr, length)`` (the caller flushes queued
accesses before each event so the order is preserved).
"""
from __future__ import annotations

import heapq
from math import lcm

from hpsim.units import PAGE_SIZE

SMALL_MAX = 14336
MISC_BYTES = 56          # sizeof(arena_chunk_map_misc_t), roughly

_SC_CACHE: dict[tuple[int, int], int] = {}


def size_class(n: int, lg_quantum: int = 4) -> int:
    """jemalloc 4 usable size in bytes for a request of n bytes (size_classes.sh
    with LG_SIZE_CLASS_GROUP 2: four classes per doubling; quantum
    ``2**lg_quantum``: 4 is the x86-64 default (Redis 3.2), 3 what Redis 4.0
    configures).  Requests up to 8 bytes get the 8-byte class."""
    c = _SC_CACHE.get((n, lg_quantum))
    if c is None:
        c = _SC_CACHE[(n, lg_quantum)] = _size_class(n, lg_quantum)
    return c


def _size_class(n: int, lg_quantum: int) -> int:
    n = max(int(n), 1)
    q = 1 << lg_quantum
    if n <= 8:
        return 8
    if n <= 4 * q:                     # the first group: multiples of the quantum
        return (n + q - 1) // q * q
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
    """One jemalloc 4.0.3 arena at page level (see the module docstring).

    ``emit`` receives ``access(addr, write, count)`` and
    ``event(kind, addr, length)`` with kind "mmap", "munmap" or "madvise";
    ``chunk_bytes`` (B) a multiple of 4 KiB; ``lg_dirty_mult`` >= -1 (-1: never
    purge); ``huge_map`` "chunk" or "page"; ``lg_quantum`` 3 or 4.  Raises
    ValueError on other values, MemoryError when the address space is full."""

    def __init__(self, emit, chunk_bytes: int = 2 << 20, header_pages: int = 8,
                 lg_dirty_mult: int = 3, huge_map: str = "chunk",
                 mmap_top: int = 0x7F0000000000, mmap_bottom: int = 0x100000000,
                 lg_quantum: int = 4):
        if chunk_bytes % PAGE_SIZE:
            raise ValueError("chunk size must be a multiple of 4 KiB")
        if huge_map not in ("chunk", "page"):
            raise ValueError(f"huge_map must be 'chunk' or 'page', got {huge_map!r}")
        if int(lg_dirty_mult) < -1:
            raise ValueError(f"lg_dirty_mult must be >= -1, got {lg_dirty_mult}")
        if int(lg_quantum) not in (3, 4):
            raise ValueError(f"lg_quantum must be 3 or 4, got {lg_quantum}")
        self.emit = emit
        self.chunk = int(chunk_bytes)
        self.chunk_pages = self.chunk // PAGE_SIZE
        self.header_pages = int(header_pages)
        self.large_max = self.chunk - self.header_pages * PAGE_SIZE
        self.lg_dirty_mult = int(lg_dirty_mult)
        self.lg_quantum = int(lg_quantum)
        self.huge_map = huge_map
        self.vas = AddressSpace(mmap_top, mmap_bottom)
        self.bins: dict[int, _Bin] = {}
        self.chunk_used: dict[int, int] = {}       # chunk first page -> allocated data pages
        self.free_start: dict[int, int] = {}       # free run start page -> npages
        self.free_end: dict[int, int] = {}         # free run end page -> start page
        self.dirty: dict[int, int] = {}            # dirty free runs, oldest first (runs_dirty)
        self.buckets: dict[int, list] = {}         # npages -> heap of start pages
        self.nonempty = 0                          # bit n set: bucket n may be non-empty
        self.nactive = 0                           # arena->nactive (pages)
        self.ndirty = 0                            # arena->ndirty (pages)
        self._rid = 0
        # statistics
        self.mapped = 0
        self.peak_mapped = 0
        self.n_chunks = 0
        self.n_chunk_unmaps = 0
        self.n_huge = 0
        self.purged_pages = 0
        self.n_purges = 0                          # arena_purge calls

    def size_class(self, n: int) -> int:
        """Usable size in bytes of a request of n bytes with this arena's quantum."""
        return size_class(n, self.lg_quantum)

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

    # -- free runs ----------------------------------------------------------
    def _add_extent(self, s: int, n: int, dirty: bool) -> None:
        self.free_start[s] = n
        self.free_end[s + n] = s
        if dirty:
            self.dirty[s] = n                      # arena_run_dirty_insert: at the tail
            self.ndirty += n
        h = self.buckets.get(n)
        if h is None:
            h = self.buckets[n] = []
        heapq.heappush(h, s)
        self.nonempty |= 1 << n

    def _del_extent(self, s: int) -> tuple[int, bool]:
        n = self.free_start.pop(s)
        del self.free_end[s + n]
        dirty = self.dirty.pop(s, None) is not None
        if dirty:
            self.ndirty -= n
        return n, dirty

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

    def _coalesce_add(self, s: int, n: int, dirty: bool) -> None:
        """Free run [s, s+n) joined with free neighbours in the same state
        (``arena_run_coalesce``); a chunk left with one free run of all its
        data pages is unmapped (``arena_chunk_dalloc``; see the module docstring)."""
        start, length = s, n
        left = self.free_end.get(start)
        if left is not None and (left in self.dirty) == dirty:
            length += self._del_extent(left)[0]
            start = left
        right_n = self.free_start.get(s + n)
        if right_n is not None and ((s + n) in self.dirty) == dirty:
            self._del_extent(s + n)
            length += right_n
        self._add_extent(start, length, dirty)
        if length == self.chunk_pages - self.header_pages:
            c0 = start - self.header_pages
            self._del_extent(start)
            del self.chunk_used[c0]
            self.n_chunk_unmaps += 1
            self._munmap(c0 * PAGE_SIZE, self.chunk)

    def _new_chunk(self) -> None:
        a = self._mmap(self.chunk)
        c0 = a // PAGE_SIZE
        self.chunk_used[c0] = 0
        self.n_chunks += 1
        for p in range(self.header_pages):          # header initialisation
            self.emit.access(a + p * PAGE_SIZE, True, PAGE_SIZE // 64)
        self._add_extent(c0 + self.header_pages, self.chunk_pages - self.header_pages, False)

    def _alloc_pages(self, n: int) -> int:
        """A run of n pages; returns its first page number."""
        got = self._find_extent(n)
        if got is None:
            self._new_chunk()
            got = self._find_extent(n)
        s, m = got
        _, dirty = self._del_extent(s)
        if m > n:
            self._add_extent(s + n, m - n, dirty)
        c0 = s - s % self.chunk_pages
        self.chunk_used[c0] += n
        self.nactive += n
        self._map_touch(s)
        return s

    def _free_pages(self, s: int, n: int) -> None:
        """``arena_run_dalloc`` of a used (dirty) run, then ``arena_maybe_purge``."""
        c0 = s - s % self.chunk_pages
        self._map_touch(s)
        self.chunk_used[c0] -= n
        self.nactive -= n
        self._coalesce_add(s, n, True)
        self._maybe_purge()

    def _maybe_purge(self) -> None:
        """``arena_maybe_purge``: purge while ndirty exceeds the threshold."""
        if self.lg_dirty_mult < 0:
            return
        while True:
            threshold = max(self.nactive >> self.lg_dirty_mult, self.chunk_pages)
            if self.ndirty <= threshold:
                return
            self._purge(self.ndirty - threshold)

    def _purge(self, npurge: int) -> None:
        """``arena_purge``: the oldest dirty runs, whole, until >= npurge pages;
        one madvise each; each then freed as a clean run."""
        self.n_purges += 1
        stashed = []
        got = 0
        for s, n in self.dirty.items():              # arena_stash_dirty
            stashed.append((s, n))
            got += n
            if got >= npurge:
                break
        for s, _ in stashed:
            self._del_extent(s)
        for s, n in stashed:                         # arena_purge_stashed
            self.emit.event("madvise", s * PAGE_SIZE, n * PAGE_SIZE)
            self._map_touch(s)
            self.purged_pages += n
        for s, n in stashed:                         # arena_unstash_purged
            self._coalesce_add(s, n, False)

    # -- public API ---------------------------------------------------------
    def malloc(self, size: int):
        """``je_malloc(size)``: returns (address, usable size in bytes, handle)."""
        cls = size_class(size, self.lg_quantum)
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
        self.nactive += cls // PAGE_SIZE             # arena_chunk_alloc_huge
        return a, cls, ("h", a, length, cls)

    def ralloc(self, handle, size: int):
        """``je_realloc`` to ``size`` bytes: returns (address, usable size, handle,
        moved).  A huge object whose ``CHUNK_CEILING`` does not change is resized
        in place (huge.c ``huge_ralloc_no_move_similar``): shrinking purges the
        tail [new usable, old usable) with one madvise.  Anything else is a
        new malloc, ``moved`` True: the caller copies, then frees the old handle
        (in-place growth of large runs and huge chunks is not modelled)."""
        cls = size_class(size, self.lg_quantum)
        if handle[0] == "h" and self.huge_map == "chunk" and cls > self.large_max:
            _, a, length, old = handle
            if (cls + self.chunk - 1) // self.chunk * self.chunk == length:
                if cls < old:
                    self.emit.event("madvise", a + cls, old - cls)
                self.nactive += (cls - old) // PAGE_SIZE   # arena_chunk_ralloc_huge_similar
                return a, cls, ("h", a, length, cls), False
        a, cls, h = self.malloc(size)
        return a, cls, h, True

    def free(self, handle) -> None:
        """``je_free`` of a handle from ``malloc``."""
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
            _, a, length, cls = handle
            self._munmap(a, length)
            self.nactive -= cls // PAGE_SIZE         # arena_chunk_dalloc_huge
            self._maybe_purge()                      # chunk_dalloc_cache
