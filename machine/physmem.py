"""Physical memory: 4 KiB frames grouped in 2 MiB blocks.

Mechanism only: allocate and free frames and whole blocks, keep the free,
pre-zeroed and partially-used block lists.  Which block a caller should get
is decided by the caller's arguments (``prefer_zeroed``), not here.

``frame_page`` is the reverse map frame -> page (the kernel's
page->mapping/index, which rmap walks to find the PTE that maps a page):
the page index ``slot * 512 + i`` of the process page mapped there, or an
``FP_*`` code.  The fault path and ``pagetable.map_huge`` set it; the frees
here reset it.  Compaction (machine.compaction) uses it to update the PTE
of each page it migrates.

Blocks sit on intrusive doubly linked lists (arrays ``blk_next``/``blk_prev``,
heads/tails/counts in ``lst``) so every operation is O(1) and deterministic.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from machine.jit import kernel

from machine.constants import (BLK_BASE, BLK_FREE, BLK_HUGE, BLK_RESERVED, FP_MOVABLE, FP_NONE,
                               FP_TENANT, FP_UNMOVABLE, G_FREE_FRAMES, G_WMARK,
                               G_STAMP, G_TOTAL_FRAMES, L_FREE_DIRTY, L_FREE_ZEROED, L_PARTIAL,
                               N_GLOBAL, N_LISTS, OWNER_NONE, OWNER_TENANT, PAGES_PER_HUGE)

Phys = namedtuple("Phys", [
    "blk_used",     # int32: frames in use in the block
    "blk_state",    # int8: BLK_*
    "blk_zeroed",   # uint8: every free frame of the block holds zeros
    "blk_unmov",    # uint8: holds an unmovable page
    "blk_owner",    # int64: region slot (HUGE/RESERVED), OWNER_TENANT, or OWNER_NONE
    "blk_stamp",    # int64: last change (LRU order of reservations)
    "blk_list",     # int8: list the block is on, -1 for none
    "blk_next", "blk_prev",  # int64 list links
    "blk_hint",     # int32: next frame index to try in a BASE block
    "lst",          # int64 [N_LISTS, 3]: head, tail, count
    "frame_used",   # uint8 per 4 KiB frame
    "frame_page",   # int32 per 4 KiB frame: page index slot * 512 + i, or FP_*
])

# Frame numbers (Regions.pg_frame) and page indices (frame_page) are 4-byte:
# one slot per simulated 4 KiB page or frame, read and written at random on
# a big footprint, so half the bytes are half the cache and DRAM traffic.
# 2^31 4 KiB frames = 8 TiB of simulated memory (or of region slots).
FRAME_DTYPE = np.int32
MAX_INDEX = int(np.iinfo(FRAME_DTYPE).max)


def check_page_index_range(capacity: int) -> None:
    """Raise ValueError unless every index of capacity 2 MiB regions or
    blocks (capacity * 512 4 KiB pages) fits FRAME_DTYPE."""
    if capacity * PAGES_PER_HUGE - 1 > MAX_INDEX:
        raise ValueError(f"{capacity} x 2 MiB = {capacity * PAGES_PER_HUGE} pages: more than "
                         f"the {MAX_INDEX + 1} that a {np.dtype(FRAME_DTYPE).name} frame or "
                         "page index can name (8 TiB)")


def new_phys(n_blocks: int) -> tuple[Phys, np.ndarray]:
    """All blocks free and dirty (memory is not zeroed at boot).  Raises
    ValueError when a frame number would not fit FRAME_DTYPE (> 8 TiB)."""
    check_page_index_range(n_blocks)
    ph = Phys(
        blk_used=np.zeros(n_blocks, np.int32),
        blk_state=np.full(n_blocks, BLK_FREE, np.int8),
        blk_zeroed=np.zeros(n_blocks, np.uint8),
        blk_unmov=np.zeros(n_blocks, np.uint8),
        blk_owner=np.full(n_blocks, OWNER_NONE, np.int64),
        blk_stamp=np.zeros(n_blocks, np.int64),
        blk_list=np.full(n_blocks, -1, np.int64),
        blk_next=np.full(n_blocks, -1, np.int64),
        blk_prev=np.full(n_blocks, -1, np.int64),
        blk_hint=np.zeros(n_blocks, np.int32),
        lst=np.full((N_LISTS, 3), -1, np.int64),
        frame_used=np.zeros(n_blocks * PAGES_PER_HUGE, np.uint8),
        frame_page=np.full(n_blocks * PAGES_PER_HUGE, FP_NONE, FRAME_DTYPE),
    )
    ph.lst[:, 2] = 0
    G = np.zeros(N_GLOBAL, np.int64)
    G[G_TOTAL_FRAMES] = n_blocks * PAGES_PER_HUGE
    G[G_FREE_FRAMES] = n_blocks * PAGES_PER_HUGE
    G[G_WMARK] = -1                 # disarmed (Machine.arm_watermark)
    _link_all_free(ph)
    return ph, G


@kernel
def _link_all_free(ph):
    for b in range(len(ph.blk_used)):
        list_push_tail(ph, L_FREE_DIRTY, b)


# --- lists -----------------------------------------------------------------
@kernel(inline="always")
def list_push_tail(ph, li, b):
    tail = ph.lst[li, 1]
    ph.blk_prev[b] = tail
    ph.blk_next[b] = -1
    if tail >= 0:
        ph.blk_next[tail] = b
    else:
        ph.lst[li, 0] = b
    ph.lst[li, 1] = b
    ph.lst[li, 2] += 1
    ph.blk_list[b] = li


@kernel(inline="always")
def list_remove(ph, b):
    li = ph.blk_list[b]
    if li < 0:
        return
    p = ph.blk_prev[b]
    n = ph.blk_next[b]
    if p >= 0:
        ph.blk_next[p] = n
    else:
        ph.lst[li, 0] = n
    if n >= 0:
        ph.blk_prev[n] = p
    else:
        ph.lst[li, 1] = p
    ph.lst[li, 2] -= 1
    ph.blk_list[b] = -1
    ph.blk_next[b] = -1
    ph.blk_prev[b] = -1


@kernel
def free_blocks(ph):
    """Number of wholly free blocks (zeroed + dirty)."""
    return ph.lst[L_FREE_ZEROED, 2] + ph.lst[L_FREE_DIRTY, 2]


# --- blocks ----------------------------------------------------------------
@kernel(inline="always")
def alloc_block(ph, G, prefer_zeroed, owner, state):
    """Take a wholly free block for a huge page or a reservation.

    Returns (block, was_zeroed) or (-1, False) when no free block exists.
    """
    if prefer_zeroed and ph.lst[L_FREE_ZEROED, 2] > 0:
        b = ph.lst[L_FREE_ZEROED, 0]
    elif ph.lst[L_FREE_DIRTY, 2] > 0:
        b = ph.lst[L_FREE_DIRTY, 0]
    elif ph.lst[L_FREE_ZEROED, 2] > 0:
        b = ph.lst[L_FREE_ZEROED, 0]
    else:
        return -1, False
    zeroed = ph.blk_zeroed[b] == 1
    list_remove(ph, b)
    ph.blk_state[b] = state
    ph.blk_owner[b] = owner
    G[G_STAMP] += 1
    ph.blk_stamp[b] = G[G_STAMP]
    if state == BLK_HUGE:
        ph.blk_used[b] = PAGES_PER_HUGE
        ph.frame_used[b * PAGES_PER_HUGE:(b + 1) * PAGES_PER_HUGE] = 1
        G[G_FREE_FRAMES] -= PAGES_PER_HUGE
        ph.blk_zeroed[b] = 0
    return b, zeroed


@kernel
def free_block(ph, G, b):
    """Return a block to the dirty free list with all its frames: a HUGE
    block, or a BASE block off every list whose pages compaction moved away."""
    ph.frame_used[b * PAGES_PER_HUGE:(b + 1) * PAGES_PER_HUGE] = 0
    ph.frame_page[b * PAGES_PER_HUGE:(b + 1) * PAGES_PER_HUGE] = FP_NONE
    G[G_FREE_FRAMES] += ph.blk_used[b]
    ph.blk_used[b] = 0
    ph.blk_state[b] = BLK_FREE
    ph.blk_owner[b] = OWNER_NONE
    ph.blk_zeroed[b] = 0
    ph.blk_hint[b] = 0
    list_push_tail(ph, L_FREE_DIRTY, b)


@kernel
def mark_block_zeroed(ph, b):
    """A free dirty block was zeroed (by a pre-zeroing thread): move lists."""
    if ph.blk_state[b] != BLK_FREE or ph.blk_zeroed[b]:
        return False
    list_remove(ph, b)
    ph.blk_zeroed[b] = 1
    list_push_tail(ph, L_FREE_ZEROED, b)
    return True


# --- frames ----------------------------------------------------------------
@kernel(inline="always")
def _take_frame_in(ph, G, b):
    """Take one free frame of block b (caller knows it has one)."""
    base = b * PAGES_PER_HUGE
    i = ph.blk_hint[b]
    for _ in range(PAGES_PER_HUGE):
        if ph.frame_used[base + i] == 0:
            break
        i += 1
        if i == PAGES_PER_HUGE:
            i = 0
    ph.frame_used[base + i] = 1
    ph.blk_hint[b] = (i + 1) % PAGES_PER_HUGE
    ph.blk_used[b] += 1
    G[G_FREE_FRAMES] -= 1
    return base + i


@kernel(inline="always")
def alloc_frame(ph, G):
    """Allocate one 4 KiB frame, buddy-like: partially used blocks first, then
    a dirty free block, then a zeroed one (zeroed blocks are kept for huge pages).

    Returns (frame, frame_is_zeroed) or (-1, False) when memory is exhausted
    outside reservations.
    """
    if ph.lst[L_PARTIAL, 2] > 0:
        b = ph.lst[L_PARTIAL, 0]
    elif ph.lst[L_FREE_DIRTY, 2] > 0:
        b = ph.lst[L_FREE_DIRTY, 0]
        list_remove(ph, b)
        ph.blk_state[b] = BLK_BASE
        list_push_tail(ph, L_PARTIAL, b)
    elif ph.lst[L_FREE_ZEROED, 2] > 0:
        b = ph.lst[L_FREE_ZEROED, 0]
        list_remove(ph, b)
        ph.blk_state[b] = BLK_BASE
        list_push_tail(ph, L_PARTIAL, b)
    else:
        return -1, False
    f = _take_frame_in(ph, G, b)
    if ph.blk_used[b] == PAGES_PER_HUGE:
        list_remove(ph, b)
    return f, ph.blk_zeroed[b] == 1


@kernel(inline="always")
def alloc_frame_at(ph, G, f):
    """Take a specific frame of a reservation (the caller checked it is free)."""
    b = f // PAGES_PER_HUGE
    ph.frame_used[f] = 1
    ph.blk_used[b] += 1
    G[G_FREE_FRAMES] -= 1
    G[G_STAMP] += 1
    ph.blk_stamp[b] = G[G_STAMP]
    return ph.blk_zeroed[b] == 1


@kernel(inline="always")
def free_frame(ph, G, f):
    """Free one 4 KiB frame of a BASE or RESERVED block.

    Returns the block if it was a reservation that became empty (the caller
    must drop the region's reference to it), else -1.
    """
    G[G_FREE_FRAMES] += 1
    G[G_STAMP] += 1
    return free_frame_stamped(ph, f, G[G_STAMP])


@kernel(inline="always")
def free_frame_stamped(ph, f, stamp):
    """free_frame without its two global counter updates: the caller adds 1
    to G[G_FREE_FRAMES] and G[G_STAMP] per frame itself (a loop freeing many
    frames keeps them in registers) and passes the new stamp."""
    b = f // PAGES_PER_HUGE
    ph.frame_used[f] = 0
    ph.frame_page[f] = FP_NONE
    ph.blk_used[b] -= 1
    ph.blk_zeroed[b] = 0
    ph.blk_stamp[b] = stamp
    st = ph.blk_state[b]
    if st == BLK_RESERVED:
        if ph.blk_used[b] == 0:
            ph.blk_state[b] = BLK_FREE
            ph.blk_owner[b] = OWNER_NONE
            list_push_tail(ph, L_FREE_DIRTY, b)
            return b
        return -1
    # BASE
    if ph.blk_used[b] == 0:
        list_remove(ph, b)
        ph.blk_state[b] = BLK_FREE
        ph.blk_hint[b] = 0
        list_push_tail(ph, L_FREE_DIRTY, b)
    elif ph.blk_list[b] < 0:
        list_push_tail(ph, L_PARTIAL, b)
    return -1


@kernel
def release_reservation(ph, G, b):
    """Break a reservation: its free frames return to the allocator, its used
    frames stay where they are as ordinary 4 KiB frames."""
    ph.blk_owner[b] = OWNER_NONE
    if ph.blk_used[b] == 0:
        ph.blk_state[b] = BLK_FREE
        list_push_tail(ph, L_FREE_DIRTY, b)
    else:
        ph.blk_state[b] = BLK_BASE
        if ph.blk_used[b] < PAGES_PER_HUGE:
            list_push_tail(ph, L_PARTIAL, b)


@kernel(inline="always")
def huge_to_base(ph, b):
    """A HUGE block is split into 512 mapped 4 KiB frames."""
    ph.blk_state[b] = BLK_BASE
    ph.blk_owner[b] = OWNER_NONE


@kernel(inline="always")
def reserved_to_huge(ph, b):
    ph.blk_state[b] = BLK_HUGE


# --- pressure setup ---------------------------------------------------------
def apply_pressure(ph: Phys, G: np.ndarray, tenant_fraction: float, fragmentation: float,
                   rng: np.random.Generator, movable_fragmentation: float = 0.0,
                   movable_pages: int = 1) -> dict:
    """Hold memory for other tenants and scatter unmovable and movable pages.

    tenant_fraction: share of all blocks taken whole by other tenants (from
    the top of memory).  fragmentation: share of the remaining blocks that get
    one unmovable 4 KiB page at a random offset, as in the Quicksilver
    Frag-50/Frag-100 setups ("one non-movable page in every 2MB region").
    movable_fragmentation: share of the blocks left after that which get
    ``movable_pages`` movable pages of another user (page cache, a
    fragmenting program) at random distinct offsets; compaction can migrate
    them (no simulated PTE maps them).  Offsets and blocks are drawn from
    ``rng``; the unmovable draw comes first, so adding movable pages does
    not move the unmovable ones.  Returns the counts of each kind of block.
    """
    n = len(ph.blk_used)
    n_tenant = int(round(tenant_fraction * n))
    for b in range(n - n_tenant, n):
        list_remove(ph, b)
        ph.blk_state[b] = BLK_BASE
        ph.blk_owner[b] = OWNER_TENANT
        ph.blk_used[b] = PAGES_PER_HUGE
        ph.frame_used[b * PAGES_PER_HUGE:(b + 1) * PAGES_PER_HUGE] = 1
        ph.frame_page[b * PAGES_PER_HUGE:(b + 1) * PAGES_PER_HUGE] = FP_TENANT
    G[G_FREE_FRAMES] -= n_tenant * PAGES_PER_HUGE
    rest = n - n_tenant
    n_frag = int(round(fragmentation * rest))
    chosen = np.sort(rng.choice(rest, size=n_frag, replace=False)) if n_frag else []
    offsets = rng.integers(0, PAGES_PER_HUGE, size=n_frag)
    for b, off in zip(chosen, offsets):
        b = int(b)
        list_remove(ph, b)
        ph.blk_state[b] = BLK_BASE
        ph.blk_unmov[b] = 1
        ph.blk_used[b] = 1
        ph.frame_used[b * PAGES_PER_HUGE + int(off)] = 1
        ph.frame_page[b * PAGES_PER_HUGE + int(off)] = FP_UNMOVABLE
        list_push_tail(ph, L_PARTIAL, b)
    G[G_FREE_FRAMES] -= n_frag
    n_mov = 0
    if movable_fragmentation > 0:
        left = np.flatnonzero(ph.blk_state[:rest] == BLK_FREE)
        n_mov = int(round(movable_fragmentation * len(left)))
        for b in np.sort(rng.choice(left, size=n_mov, replace=False)):
            b = int(b)
            offs = rng.choice(PAGES_PER_HUGE, size=movable_pages, replace=False)
            list_remove(ph, b)
            ph.blk_state[b] = BLK_BASE
            ph.blk_used[b] = movable_pages
            ph.frame_used[b * PAGES_PER_HUGE + offs] = 1
            ph.frame_page[b * PAGES_PER_HUGE + offs] = FP_MOVABLE
            if movable_pages < PAGES_PER_HUGE:
                list_push_tail(ph, L_PARTIAL, b)
        G[G_FREE_FRAMES] -= n_mov * movable_pages
    return {"tenant_blocks": n_tenant, "unmovable_blocks": n_frag, "movable_blocks": n_mov}


def check_invariants(ph: Phys, G: np.ndarray) -> None:
    """Raise AssertionError when the block bookkeeping is inconsistent."""
    used = ph.frame_used.reshape(-1, PAGES_PER_HUGE).sum(1)
    assert (used == ph.blk_used).all(), "blk_used disagrees with frame_used"
    assert G[G_FREE_FRAMES] == G[G_TOTAL_FRAMES] - used.sum(), "frames not conserved"
    free = ph.blk_state == BLK_FREE
    assert (ph.blk_used[free] == 0).all(), "a free block has used frames"
    assert (ph.blk_used[ph.blk_state == BLK_HUGE] == PAGES_PER_HUGE).all()
    on = ph.blk_list
    assert ((on == L_FREE_ZEROED) | (on == L_FREE_DIRTY))[free].all(), "free block off list"
    assert (free[(on == L_FREE_ZEROED) | (on == L_FREE_DIRTY)]).all(), "non-free on free list"
    part = on == L_PARTIAL
    assert (ph.blk_state[part] == BLK_BASE).all() and (ph.blk_used[part] < PAGES_PER_HUGE).all()
    for li in range(N_LISTS):
        assert ph.lst[li, 2] == (on == li).sum(), f"list {li} count wrong"
    fu = ph.frame_used != 0
    assert (ph.frame_page[~fu] == FP_NONE).all(), "a free frame has a reverse-map entry"
    assert (ph.frame_page[fu] != FP_NONE).all(), "a used frame has no reverse-map entry"
    unmov = (ph.frame_page == FP_UNMOVABLE).reshape(-1, PAGES_PER_HUGE).any(1)
    assert (unmov == (ph.blk_unmov != 0)).all(), "blk_unmov disagrees with the unmovable pages"
