"""Compaction: empty one 2 MiB block by migrating its movable 4 KiB pages.

What Linux 4.3 ``mm/compaction.c`` achieves, in effect, for one order-9
request (``compact_zone`` -> ``isolate_migratepages_block`` +
``isolate_freepages`` -> ``migrate_pages``): a block whose used frames are
all movable is emptied, each page copied to a free frame elsewhere, and the
block returns to the free lists whole.  Linux's two scanners (migrate from
the bottom of the zone, free from the top) are replaced by one exact choice:

- source (``pick_block``): the BASE block needing the fewest moves (fewest
  used frames; ties: the lowest block index, for determinism) among blocks
  that are neither free, huge, reserved nor held by a tenant, and hold no
  unmovable page (``blk_unmov``: ``isolate_migratepages_block`` gives up on
  a pageblock with an unmovable page, which compaction can never empty);
- targets (``_take_target``): free frames of *other partially used* blocks,
  in the allocator's order (the ``L_PARTIAL`` list).  Never a wholly free
  block: ``suitable_migration_target`` refuses a free page of order >=
  pageblock_order, so compaction does not break one free block to fill
  another.  When the other partial blocks hold fewer free frames than the
  source has pages, compaction fails and changes nothing
  (``compact_finished``: the scanners met).

Per migrated page (``migrate_pages`` -> ``__unmap_and_move``):
``try_to_unmap`` replaces the PTE by a migration entry and flushes the TLB,
the content is copied, ``remove_migration_pte`` installs a PTE to the new
frame made *old* (``pte_mkold``: the accessed bit is clear afterwards).  A
page of another user (``FP_MOVABLE``: page cache) has no simulated PTE; it
moves and costs the same.  The cost is ``P_MIGRATE_4K`` cycles per page.

The TLB shootdowns are the caller's (``Mechanisms.compact``): the pages may
belong to any process, and a kernel here holds no process's TLB.
"""
from __future__ import annotations

import numpy as np

from machine import physmem
from machine import tlb as tlbmod
from machine.constants import (BLK_BASE, G_STAMP, L_PARTIAL, OWNER_TENANT, P_MIGRATE_4K,
                               PAGE_SHIFT, PAGES_PER_HUGE, PG_ACCESSED)
from machine.jit import kernel


@kernel
def pick_block(ph):
    """The block compaction would empty, or -1 (see the module docstring).

    Returns (block, used frames).  O(blocks): a scan of ``blk_*`` arrays."""
    best = -1
    best_used = PAGES_PER_HUGE + 1
    for b in range(len(ph.blk_used)):
        u = ph.blk_used[b]
        # the used count first: it rules out most blocks once a candidate is found
        if (u < best_used and u > 0 and ph.blk_state[b] == BLK_BASE
                and ph.blk_unmov[b] == 0 and ph.blk_owner[b] != OWNER_TENANT):
            best = b
            best_used = u
            if u == 1:
                break       # no block needs fewer moves; ties go to the lowest index
    return best, best_used


@kernel
def free_target_frames(ph, src, need):
    """Free frames compaction may migrate into: those of partial blocks other
    than ``src`` (int), counted along the partial list until ``need`` are
    found (the callers only ask whether ``need`` pages fit: the list holds
    up to one block per block of memory, the first few usually suffice).
    Returns a count that is >= ``need`` exactly when all of them are."""
    b = ph.lst[L_PARTIAL, 0]
    n = 0
    while b >= 0 and n < need:
        if b != src:
            n += PAGES_PER_HUGE - ph.blk_used[b]
        b = ph.blk_next[b]
    return n


@kernel(inline="always")
def _take_target(ph, G):
    """One free frame of the first partial block (the source is off the list)."""
    b = ph.lst[L_PARTIAL, 0]
    f = physmem._take_frame_in(ph, G, b)
    if ph.blk_used[b] == PAGES_PER_HUGE:
        physmem.list_remove(ph, b)
    return f


@kernel
def compact_block(ph, G, rg, P, moved):
    """Compact once: pick the source block, migrate each of its used frames
    to a target frame, update the PTE through the reverse map (``frame_page``)
    and clear its accessed bit, and put the emptied block on the dirty free
    list.

    ``moved``: int64 array of at least 512 entries; on return its first
    ``n`` entries are the page indices (slot * 512 + i) of the process pages
    that moved, whose 4 KiB TLB entries the caller must shoot down.
    Returns (block, pages migrated, n, cycles), or (-1, 0, 0, 0) when no
    block is eligible or the other partial blocks lack free frames (nothing
    changed then)."""
    src, used = pick_block(ph)
    if src < 0 or free_target_frames(ph, src, used) < used:
        return -1, 0, 0, 0
    return migrate_block(ph, G, rg, P, moved, src)


@kernel
def migrate_block(ph, G, rg, P, moved, src):
    """compact_block's migration of one chosen BASE block ``src`` (the
    caller checked that ``free_target_frames(ph, src, used)`` covers its used
    frames): each used frame moves to a target frame, the block is freed.
    Also Quicksilver's eviction of an inactive reservation
    (vm_page_reclaim_run on its 512 frames, after the caller broke it).
    Returns (src, pages migrated, n, cycles) as compact_block."""
    physmem.list_remove(ph, src)       # never a target of its own pages
    base = src * PAGES_PER_HUGE
    migrated = 0
    n = 0
    for i in range(PAGES_PER_HUGE):
        f = base + i
        if ph.frame_used[f] == 0:
            continue
        owner = ph.frame_page[f]
        g = _take_target(ph, G)
        ph.frame_page[g] = owner
        if owner >= 0:               # a process page: remove_migration_pte
            rg.pg_frame[owner] = g
            rg.pg_state[owner] = rg.pg_state[owner] & (0xFF ^ PG_ACCESSED)
            moved[n] = owner
            n += 1
        migrated += 1
    G[G_STAMP] += 1
    ph.blk_stamp[src] = G[G_STAMP]
    # the emptied block: its frames (and reverse-map entries) freed, on the dirty list
    physmem.free_block(ph, G, src)
    return src, migrated, n, migrated * P[P_MIGRATE_4K]


@kernel
def shoot_down_moved(tlb, rg, moved, n, pid):
    """try_to_unmap's TLB flush of the moved pages of process ``pid``: each
    page index of ``moved[:n]`` (int64, as compact_block/migrate_block
    leave them) whose region belongs to ``pid`` has its 4 KiB translation
    shot down in ``tlb`` (that process's), in the order of ``moved``.
    Returns the translations removed (int).  One compiled call per process
    and compaction instead of one call from Python per page."""
    removed = 0
    for j in range(n):
        p = moved[j]
        slot = p // PAGES_PER_HUGE
        if rg.pid[slot] == pid:
            removed += tlbmod.invalidate_page(tlb, (rg.vaddr[slot] >> PAGE_SHIFT)
                                              + p % PAGES_PER_HUGE)
    return removed


def new_moved_buffer() -> np.ndarray:
    """The ``moved`` array compact_block fills (int64[512])."""
    return np.empty(PAGES_PER_HUGE, np.int64)


__all__ = ["pick_block", "free_target_frames", "compact_block", "migrate_block",
           "shoot_down_moved", "new_moved_buffer"]
