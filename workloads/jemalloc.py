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

The arena runs compiled (``workloads/jemalloc_jit.py``, on the arrays of
``workloads/arena_state.py``); ``Jemalloc`` is its Python face.
"""
from __future__ import annotations

import numpy as np

from workloads import arena_state as A
from workloads.arena_state import new_state
from workloads.jemalloc_jit import free as _free, malloc as _malloc, ralloc as _ralloc
from workloads.jemalloc_jit import size_class as _size_class

SMALL_MAX = A.SMALL_MAX
_KINDS = "slh"
_EVENTS = {A.MMAP: "mmap", A.MUNMAP: "munmap", A.MADVISE: "madvise"}


def size_class(n: int, lg_quantum: int = 4) -> int:
    """jemalloc 4 usable size in bytes for a request of n bytes (size_classes.sh
    with LG_SIZE_CLASS_GROUP 2: four classes per doubling; quantum
    ``2**lg_quantum``: 4 is the x86-64 default (Redis 3.2), 3 what Redis 4.0
    configures).  Requests up to 8 bytes get the 8-byte class."""
    return int(_size_class(int(n), int(lg_quantum)))


class Jemalloc:
    """One jemalloc 4.0.3 arena at page level (see the module docstring).

    ``emit`` is a ``workloads.redis.Emitter`` (its output is then drained to
    the trace by the emitter) or any object with ``access(addr, write,
    count)`` (page address; consecutive accesses to one page merged) and
    ``event(kind, addr, length)`` with kind "mmap", "munmap" or "madvise",
    called after each call here.  ``chunk_bytes`` (B) a multiple of 4 KiB;
    ``lg_dirty_mult`` >= -1 (-1: never purge); ``huge_map`` "chunk" or
    "page"; ``lg_quantum`` 3 or 4.  Raises ValueError on other values,
    MemoryError when the address space is full.

    Handles are (kind, address, code): kind "s" (small), "l" (large) or "h"
    (huge); ``code`` the compiled arena's handle."""

    def __init__(self, emit, chunk_bytes: int = 2 << 20, header_pages: int = 8,
                 lg_dirty_mult: int = 3, huge_map: str = "chunk",
                 mmap_top: int = 0x7F0000000000, mmap_bottom: int = 0x100000000,
                 lg_quantum: int = 4):
        if chunk_bytes % A.PAGE:
            raise ValueError("chunk size must be a multiple of 4 KiB")
        if huge_map not in ("chunk", "page"):
            raise ValueError(f"huge_map must be 'chunk' or 'page', got {huge_map!r}")
        if int(lg_dirty_mult) < -1:
            raise ValueError(f"lg_dirty_mult must be >= -1, got {lg_dirty_mult}")
        if int(lg_quantum) not in (3, 4):
            raise ValueError(f"lg_quantum must be 3 or 4, got {lg_quantum}")
        self.emit = emit
        self.st = new_state(int(chunk_bytes), int(header_pages), int(lg_dirty_mult),
                            huge_map == "page", int(mmap_top), int(mmap_bottom), int(lg_quantum))
        self.chunk = int(chunk_bytes)
        self.large_max = int(self.st.S[A.LARGE_MAX])
        self.lg_quantum = int(lg_quantum)
        if hasattr(emit, "bind"):
            emit.bind(self)

    def grow(self, n_keys: int = 0, n_seq: int = 0) -> None:
        """Enlarge the state's arrays (``arena_state.grow``) for the next call."""
        self.st = A.grow(self.st, n_keys, n_seq)

    def _done(self) -> None:
        """Hand the output to a plain ``emit`` (an Emitter drains it itself)."""
        if hasattr(self.emit, "bind"):
            return
        st = self.st
        A.flush(st)
        n = int(st.S[A.ON])
        for w, c in zip(st.ow[:n].tolist(), st.oc[:n].tolist()):
            kind = w & 0xF
            if kind == 0:
                self.emit.access(w & ~0x1F, bool(w & A.WBIT), c)
            elif kind != A.BOUNDARY:
                self.emit.event(_EVENTS[kind], w & ~0xFFF, c * A.PAGE)
        st.S[A.ON] = 0

    def _handle(self, a: int, h: int) -> tuple:
        return (_KINDS[h & 3], a, h)

    def size_class(self, n: int) -> int:
        """Usable size in bytes of a request of n bytes with this arena's quantum."""
        return size_class(n, self.lg_quantum)

    def malloc(self, size: int):
        """``je_malloc(size)``: returns (address, usable size in bytes, handle)."""
        self.grow()
        a, h = _malloc(self.st, int(size))
        self._done()
        return int(a), self.size_class(size), self._handle(int(a), int(h))

    def ralloc(self, handle, size: int):
        """``je_realloc`` to ``size`` bytes: returns (address, usable size, handle,
        moved).  A huge object whose ``CHUNK_CEILING`` does not change is resized
        in place (huge.c ``huge_ralloc_no_move_similar``): shrinking purges the
        tail [new usable, old usable) with one madvise.  Anything else is a
        new malloc, ``moved`` True: the caller copies, then frees the old handle
        (in-place growth of large runs and huge chunks is not modelled)."""
        self.grow()
        a, h, moved = _ralloc(self.st, handle[1], handle[2], int(size))
        self._done()
        return int(a), self.size_class(size), self._handle(int(a), int(h)), bool(moved)

    def free(self, handle) -> None:
        """``je_free`` of a handle from ``malloc``."""
        self.grow()
        _free(self.st, handle[1], handle[2])
        self._done()

    def run_pages(self, handle) -> int:
        """Pages of the small-object run holding a small handle's object."""
        return int(self.st.bpages[self.st.rcls[handle[2] >> 2] >> 3])

    # -- counters of the arena (arena_t) and statistics ------------------------
    nactive = property(lambda self: int(self.st.S[A.NACTIVE]), doc="arena->nactive (pages)")
    ndirty = property(lambda self: int(self.st.S[A.NDIRTY]), doc="arena->ndirty (pages)")
    mapped = property(lambda self: int(self.st.S[A.MAPPED]), doc="bytes mapped now")
    peak_mapped = property(lambda self: int(self.st.S[A.PEAK]), doc="peak bytes mapped")
    n_chunks = property(lambda self: int(self.st.S[A.NCHUNKS]), doc="chunks mapped")
    n_chunk_unmaps = property(lambda self: int(self.st.S[A.NUNMAPS]), doc="chunks unmapped")
    n_huge = property(lambda self: int(self.st.S[A.NHUGE]), doc="huge mappings made")
    purged_pages = property(lambda self: int(self.st.S[A.PURGED]), doc="pages madvised")
    n_purges = property(lambda self: int(self.st.S[A.NPURGES]), doc="arena_purge calls")

    @property
    def dirty(self) -> dict:
        """Dirty free runs, oldest first: {first page: pages}."""
        st, out, g = self.st, {}, int(self.st.S[A.DHEAD])
        while g >= 0:
            out[int(st.sbase[g // st.S[A.CP]] + g % st.S[A.CP])] = int(st.fs[g])
            g = int(st.dn[g])
        return out

    @property
    def free_start(self) -> dict:
        """Free runs: {first page: pages}."""
        st, cp = self.st, int(self.st.S[A.CP])
        gs = np.flatnonzero(st.fs[:int(st.S[A.NSLOTS]) * cp] > 0)   # freed slots hold none
        return {int(st.sbase[g // cp] + g % cp): int(st.fs[g]) for g in gs}
