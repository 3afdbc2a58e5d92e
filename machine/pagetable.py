"""Page tables: per 2 MiB virtual region, its 512 PTEs or one huge mapping.

Regions of every process live in one table indexed by *slot*; a slot is
never reused, so a policy holding a slot number can always tell (``valid``)
whether its region still exists.  Per page: state bits (``PG_*``) and the
physical frame.  The functions here are the kernel mechanisms that change
mappings — map, zap, split, collapse (promote), promote in place, release
zero pages — each keeping RSS, bloat and the TLB consistent.

Bloat, exactly: resident private frames the program has not accessed since
they were mapped, i.e. zero-filled memory it got only because a huge page
was used (a 4 KiB fault maps only the page it touches).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from hpsim.units import HUGE_SHIFT, PAGE_SHIFT
from machine import physmem, tlb as tlbmod
from machine.constants import (BLK_HUGE, BLK_RESERVED, C_BLOAT_PAGES, C_HUGE, C_PROMOTIONS,
                               C_RSS_PAGES, C_SPLITS, C_THP_FALLBACK, C_TLB_INVALIDATIONS,
                               C_ZERO_RELEASED, G_FREE_FRAMES, P_PREFER_ZEROED,
                               G_RESV_PROMOTED, G_STAMP, HUGE_NONE, HUGE_PMD, HUGE_ZERO, NO_FRAME,
                               P_COPY_4K, P_PROMOTE_INPLACE, P_ZERO_4K, PAGES_PER_HUGE,
                               PG_ACCESSED, PG_MAPPED, PG_TOUCHED, PG_WRITTEN, PG_ZEROPAGE)
from machine.jit import kernel
from machine.physmem import FRAME_DTYPE, check_page_index_range

Regions = namedtuple("Regions", [
    "pid",       # int32: owning process index
    "vaddr",     # int64: virtual base address of the region (2 MiB aligned)
    "huge",      # uint8: HUGE_NONE, HUGE_PMD (one 2 MiB PTE onto a block) or
                 #        HUGE_ZERO (one 2 MiB PTE onto the shared huge zero page)
    "block",     # int64: physical block when huge or reserved, else -1
    "mapped",    # int32: present PTEs (private frames and zero-page mappings)
    "zpages",    # int32: PTEs that map the shared zero page
    "valid",     # uint8: the region still exists
    "trig",      # uint8: the population trigger already fired
    "pg_state",  # uint8 per page: PG_* bits
    "pg_frame",  # int32 per page: physical frame or NO_FRAME (FRAME_DTYPE)
])


def new_regions(capacity: int) -> Regions:
    """Room for capacity region slots, all invalid.  Raises ValueError when
    a page index (slot * 512 + i) would not fit the reverse map's int32."""
    check_page_index_range(capacity)
    return Regions(
        pid=np.full(capacity, -1, np.int32), vaddr=np.zeros(capacity, np.int64),
        huge=np.zeros(capacity, np.uint8), block=np.full(capacity, -1, np.int64),
        mapped=np.zeros(capacity, np.int32), zpages=np.zeros(capacity, np.int32),
        valid=np.zeros(capacity, np.uint8), trig=np.zeros(capacity, np.uint8),
        pg_state=np.zeros(capacity * PAGES_PER_HUGE, np.uint8),
        pg_frame=np.full(capacity * PAGES_PER_HUGE, NO_FRAME, FRAME_DTYPE))


def grow_regions(rg: Regions, capacity: int) -> Regions:
    """A copy of rg with room for capacity slots; new slots as new_regions
    makes them.  Only the new tail is filled (np.full of the whole array
    wrote the copied head twice: ~30% of a grow, which mmap of a big buffer
    pays several times)."""
    n = len(rg.pid)
    assert n <= capacity
    check_page_index_range(capacity)
    proto = new_regions(1)
    out = {}
    for name in Regions._fields:
        old = getattr(rg, name)
        per = len(old) // n           # 1, or PAGES_PER_HUGE for per-page arrays
        new = np.empty(capacity * per, old.dtype)
        new[:len(old)] = old
        new[len(old):] = getattr(proto, name)[0]
        out[name] = new
    return Regions(**out)


# bit positions of two flags, for shifts instead of branches
WRITTEN_SHIFT, TOUCHED_SHIFT = PG_WRITTEN.bit_length() - 1, PG_TOUCHED.bit_length() - 1


@kernel(inline="always")
def mark_accessed(pg_state, p, st, wbit):
    """Set page p's accessed (and, on a write, written) bits; st is its state
    before.  Returns 1 when the page was not touched yet: a zero-filled frame
    the program now uses, so one page less of bloat.  wbit: 0 or 1."""
    nst = st | PG_ACCESSED | PG_TOUCHED | (wbit << WRITTEN_SHIFT)
    if nst != st:
        pg_state[np.uint64(p)] = nst
    return ((st >> TOUCHED_SHIFT) & 1) ^ 1



@kernel
def map_huge(ph, G, rg, C, tlb, slot, blk):
    """Map an empty or 4 KiB-populated region (whose frames the caller has
    already released) with block blk."""
    base = slot * PAGES_PER_HUGE
    bloat = 0
    for i in range(PAGES_PER_HUGE):
        st = rg.pg_state[base + i]
        if st & PG_ZEROPAGE or not st & PG_MAPPED:
            st = PG_MAPPED            # a fresh zero frame, not accessed yet
            bloat += 1
        rg.pg_state[base + i] = st
        rg.pg_frame[base + i] = blk * PAGES_PER_HUGE + i
        ph.frame_page[blk * PAGES_PER_HUGE + i] = base + i   # reverse map
    rg.huge[slot] = HUGE_PMD
    rg.block[slot] = blk
    rg.mapped[slot] = PAGES_PER_HUGE
    rg.zpages[slot] = 0
    ph.blk_owner[blk] = slot
    C[C_RSS_PAGES] += PAGES_PER_HUGE
    C[C_BLOAT_PAGES] += bloat
    C[C_HUGE] += 1
    C[C_TLB_INVALIDATIONS] += tlbmod.invalidate_region(tlb, rg.vaddr[slot] >> HUGE_SHIFT)


@kernel(inline="always")
def zap_page(ph, G, rg, C, tlb, slot, i, shoot=True):
    """Remove one 4 KiB PTE of a non-huge region and free its private frame.
    shoot=False leaves the TLB shootdown to the caller (one scan for a range)."""
    p = slot * PAGES_PER_HUGE + i
    st = rg.pg_state[p]
    if not st & PG_MAPPED:
        return 0
    freed = 0
    if st & PG_ZEROPAGE:
        rg.zpages[slot] -= 1
    else:
        f = rg.pg_frame[p]
        if physmem.free_frame(ph, G, f) >= 0:
            rg.block[slot] = -1       # the reservation emptied and was freed
        C[C_RSS_PAGES] -= 1
        if not st & PG_TOUCHED:
            C[C_BLOAT_PAGES] -= 1
        freed = 1
    rg.pg_state[p] = 0
    rg.pg_frame[p] = NO_FRAME
    rg.mapped[slot] -= 1
    rg.trig[slot] = 0          # re-arm the population trigger
    if shoot:
        tlbmod.invalidate_page(tlb, (rg.vaddr[slot] >> PAGE_SHIFT) + i)
    return freed


@kernel
def map_huge_zero(rg, C, tlb, slot):
    """Map an empty region with one read-only PMD onto the shared huge zero
    page (Linux 4.3 mm/huge_memory.c do_huge_pmd_anonymous_page, read fault
    with transparent_hugepage_use_zero_page(): set_huge_zero_page).  No
    frame, no RSS, no bloat; every page reads as the zero page, so the
    region is kept as 512 zero-page PTE states (PG_TOUCHED: no frame the
    program did not use) under one 2 MiB translation."""
    base = slot * PAGES_PER_HUGE
    for i in range(PAGES_PER_HUGE):
        rg.pg_state[base + i] = PG_MAPPED | PG_ZEROPAGE | PG_TOUCHED
        rg.pg_frame[base + i] = NO_FRAME
    rg.huge[slot] = HUGE_ZERO
    rg.mapped[slot] = PAGES_PER_HUGE
    rg.zpages[slot] = PAGES_PER_HUGE
    # the PMD was none, so nothing is cached; kept for symmetry with map_huge
    C[C_TLB_INVALIDATIONS] += tlbmod.invalidate_region(tlb, rg.vaddr[slot] >> HUGE_SHIFT)


@kernel
def split_huge_zero(rg, C, tlb, slot):
    """__split_huge_zero_page_pmd (Linux 4.3): the huge zero PMD becomes 512
    PTEs onto the 4 KiB zero page.  pmdp_huge_clear_flush_notify drops the
    2 MiB translation.  Not a THP split (no THP_SPLIT event, C_SPLITS and
    C_HUGE unchanged: no huge page existed)."""
    rg.huge[slot] = HUGE_NONE
    C[C_TLB_INVALIDATIONS] += tlbmod.invalidate_region(tlb, rg.vaddr[slot] >> HUGE_SHIFT)


@kernel
def wp_huge_zero(ph, G, rg, P, C, tlb, slot, alloc):
    """A write to a huge zero mapping (Linux 4.3 mm/huge_memory.c
    do_huge_pmd_wp_page, is_huge_zero_pmd): with ``alloc`` (fault-time THP
    allocation on), take a free block and map it huge (map_huge drops the
    old 2 MiB translation: pmdp_huge_clear_flush_notify); the caller charges
    clear_huge_page.  Otherwise, or with no free block: THP_FAULT_FALLBACK,
    split_huge_page_pmd into 512 zero-page PTEs, and the retried fault copies
    the written page (do_wp_page; the caller's copy-on-write path).  Since
    3.15 this replaces do_huge_pmd_wp_zero_page_fallback, with the same
    result: one frame and 511 zero-page PTEs.  Returns (block or -1, zeroed)."""
    if alloc:
        blk, z = physmem.alloc_block(ph, G, P[P_PREFER_ZEROED] != 0, slot, BLK_HUGE)
        if blk >= 0:
            map_huge(ph, G, rg, C, tlb, slot, blk)
            return blk, z
    C[C_THP_FALLBACK] += 1
    split_huge_zero(rg, C, tlb, slot)
    return np.int64(-1), False


@kernel
def split_region(ph, rg, C, tlb, slot):
    """Replace a huge mapping by 512 4 KiB PTEs onto the same frames (a huge
    zero mapping: 512 zero-page PTEs, ``split_huge_zero``)."""
    if rg.huge[slot] == HUGE_ZERO:
        split_huge_zero(rg, C, tlb, slot)
        return
    blk = rg.block[slot]
    physmem.huge_to_base(ph, blk)
    rg.huge[slot] = HUGE_NONE
    rg.block[slot] = -1
    C[C_HUGE] -= 1
    C[C_SPLITS] += 1
    C[C_TLB_INVALIDATIONS] += tlbmod.invalidate_region(tlb, rg.vaddr[slot] >> HUGE_SHIFT)


@kernel
def zap_range(ph, G, rg, C, tlb, slot, i0, i1, shoot=True):
    """Unmap pages [i0, i1) of a region (munmap, madvise DONTNEED).  A huge
    mapping is freed whole when the range covers it, else split first (as
    Linux 4.3's zap_pmd_range does).  Returns frames freed.  shoot=False: the
    caller shoots down the range's 4 KiB translations itself.  A huge zero
    mapping covered whole only loses its PMD (zap_huge_pmd: no frame to free,
    put_huge_zero_page); covered in part, it is split into zero-page PTEs."""
    if rg.huge[slot] == HUGE_ZERO and i0 == 0 and i1 == PAGES_PER_HUGE:
        base = slot * PAGES_PER_HUGE
        for i in range(PAGES_PER_HUGE):
            rg.pg_state[base + i] = 0
        rg.huge[slot] = HUGE_NONE
        rg.mapped[slot] = 0
        rg.zpages[slot] = 0
        rg.trig[slot] = 0
        C[C_TLB_INVALIDATIONS] += tlbmod.invalidate_region(tlb, rg.vaddr[slot] >> HUGE_SHIFT)
        return 0
    if rg.huge[slot]:
        if i0 == 0 and i1 == PAGES_PER_HUGE:
            base = slot * PAGES_PER_HUGE
            bloat = 0
            for i in range(PAGES_PER_HUGE):
                if not rg.pg_state[base + i] & PG_TOUCHED:
                    bloat += 1
                rg.pg_state[base + i] = 0
                rg.pg_frame[base + i] = NO_FRAME
            physmem.free_block(ph, G, rg.block[slot])
            rg.huge[slot] = HUGE_NONE
            rg.block[slot] = -1
            rg.mapped[slot] = 0
            rg.trig[slot] = 0
            C[C_BLOAT_PAGES] -= bloat
            C[C_RSS_PAGES] -= PAGES_PER_HUGE
            C[C_HUGE] -= 1
            C[C_TLB_INVALIDATIONS] += tlbmod.invalidate_region(tlb, rg.vaddr[slot] >> HUGE_SHIFT)
            return PAGES_PER_HUGE
        split_region(ph, rg, C, tlb, slot)
    if shoot:
        freed = 0
        for i in range(i0, i1):
            freed += zap_page(ph, G, rg, C, tlb, slot, i, True)
        return freed
    # zap_page's work for each page, its counter updates summed in locals
    base = slot * PAGES_PER_HUGE
    freed = zeropages = bloat = mapped = 0
    stamp = G[G_STAMP]
    for i in range(i0, i1):
        p = base + i
        st = rg.pg_state[p]
        if not st & PG_MAPPED:
            continue
        mapped += 1
        if st & PG_ZEROPAGE:
            zeropages += 1
        else:
            stamp += 1
            if physmem.free_frame_stamped(ph, rg.pg_frame[p], stamp) >= 0:
                rg.block[slot] = -1       # the reservation emptied and was freed
            bloat += (st & PG_TOUCHED) == 0
            freed += 1
        rg.pg_state[p] = 0
        rg.pg_frame[p] = NO_FRAME
    G[G_STAMP] = stamp
    G[G_FREE_FRAMES] += freed
    if mapped:
        rg.zpages[slot] -= zeropages
        rg.mapped[slot] -= mapped
        rg.trig[slot] = 0          # re-arm the population trigger
        C[C_RSS_PAGES] -= freed
        C[C_BLOAT_PAGES] -= bloat
    return freed


@kernel
def collapse_region(ph, G, rg, P, C, tlb, slot, blk, blk_zeroed):
    """khugepaged's collapse: copy present pages into the new block blk,
    zero-fill the missing ones, free the old frames, map huge.  Returns the
    CPU cycles it cost (charged to the background thread)."""
    base = slot * PAGES_PER_HUGE
    cost = 0
    for i in range(PAGES_PER_HUGE):
        p = base + i
        st = rg.pg_state[p]
        if st & PG_MAPPED and not st & PG_ZEROPAGE:
            cost += P[P_COPY_4K]
            f = rg.pg_frame[p]
            if physmem.free_frame(ph, G, f) >= 0:
                rg.block[slot] = -1
            C[C_RSS_PAGES] -= 1
            rg.pg_frame[p] = NO_FRAME
        elif not blk_zeroed:
            cost += P[P_ZERO_4K]
    # The reservation (if any) is gone once its frames were copied out.
    rg.block[slot] = -1
    map_huge(ph, G, rg, C, tlb, slot, blk)
    C[C_PROMOTIONS] += 1
    return cost


@kernel
def promote_in_place(ph, G, rg, P, C, tlb, slot):
    """Promote a fully populated reservation: the frames are already the
    aligned block, so only the mapping changes (FreeBSD pmap_promote_pde)."""
    blk = rg.block[slot]
    physmem.reserved_to_huge(ph, blk)
    rg.huge[slot] = HUGE_PMD
    C[C_HUGE] += 1
    C[C_PROMOTIONS] += 1
    G[G_RESV_PROMOTED] += 1
    C[C_TLB_INVALIDATIONS] += tlbmod.invalidate_region(tlb, rg.vaddr[slot] >> HUGE_SHIFT)
    return P[P_PROMOTE_INPLACE]


@kernel(inline="always")
def map_zero_page(ph, G, rg, C, tlb, slot, i):
    """Replace the private frame of page i of a non-huge region by a PTE onto
    the shared zero page and free the frame (Linux >= 6.12 mm/migrate.c
    try_to_map_unused_to_zeropage: a new special PTE, not young; a later
    read hits it, a later write copies it).  Returns 1 (one frame freed)."""
    p = slot * PAGES_PER_HUGE + i
    st = rg.pg_state[p]
    if physmem.free_frame(ph, G, rg.pg_frame[p]) >= 0:
        rg.block[slot] = -1
    C[C_RSS_PAGES] -= 1
    if not st & PG_TOUCHED:
        C[C_BLOAT_PAGES] -= 1
    rg.pg_state[p] = PG_MAPPED | PG_ZEROPAGE | PG_TOUCHED
    rg.pg_frame[p] = NO_FRAME
    rg.zpages[slot] += 1
    tlbmod.invalidate_page(tlb, (rg.vaddr[slot] >> PAGE_SHIFT) + i)
    return 1


@kernel
def fill_reservation(ph, G, rg, C, slot):
    """Map every unmapped page i of a region onto frame i of its reservation
    (Quicksilver's all-at-once preparation: vm_page_alloc with
    VM_ALLOC_RESERVONLY for each clear popmap bit).  The caller checked that
    the region is 4 KiB-mapped, holds no zero-page PTE and owns its
    reservation.  The new pages are resident but not touched by the program
    (bloat until it accesses them).  Returns (pages mapped, pages of them
    that need clearing: all unless the block was pre-zeroed)."""
    b = rg.block[slot]
    base = slot * PAGES_PER_HUGE
    filled = 0
    cleared = 0
    for i in range(PAGES_PER_HUGE):
        p = base + i
        if rg.pg_state[p] & PG_MAPPED:
            continue
        f = b * PAGES_PER_HUGE + i
        if not physmem.alloc_frame_at(ph, G, f):
            cleared += 1
        rg.pg_state[p] = PG_MAPPED
        rg.pg_frame[p] = f
        ph.frame_page[f] = p
        rg.mapped[slot] += 1
        filled += 1
    C[C_RSS_PAGES] += filled
    C[C_BLOAT_PAGES] += filled
    return filled, cleared


@kernel
def release_zero_pages(ph, G, rg, C, tlb, slot, max_pages, to_zero_page=False):
    """Bloat recovery on one region: split a huge mapping and release its
    zero-filled pages.  HawkEye (remove.c) unmaps them (a later read maps
    the zero page, a later write faults in a fresh page); with
    ``to_zero_page`` (Linux >= 6.12 __split_huge_page -> remap_page with
    RMP_USE_SHARED_ZEROPAGE) each is remapped to the shared zero page
    (``map_zero_page``).  Returns (released, zero_pages_scanned,
    nonzero_pages_scanned).  A huge zero mapping: remove.c's follow_page
    returns the huge zero page (PageTransHuge), all 512 sub-pages read zero
    and zap_page_range removes the PMD; no frame is freed."""
    if rg.huge[slot] == HUGE_ZERO:
        zap_range(ph, G, rg, C, tlb, slot, 0, PAGES_PER_HUGE)
        return 0, PAGES_PER_HUGE, 0
    if rg.huge[slot]:
        split_region(ph, rg, C, tlb, slot)
    base = slot * PAGES_PER_HUGE
    released = 0
    nonzero = 0
    for i in range(PAGES_PER_HUGE):
        if released >= max_pages:
            break
        st = rg.pg_state[base + i]
        if not st & PG_MAPPED or st & PG_ZEROPAGE:
            continue
        if st & PG_WRITTEN:
            nonzero += 1
            continue
        if to_zero_page:
            released += map_zero_page(ph, G, rg, C, tlb, slot, i)
        else:
            released += zap_page(ph, G, rg, C, tlb, slot, i)
    C[C_ZERO_RELEASED] += released
    return released, released, nonzero


@kernel
def clear_accessed(rg, slot):
    """Clear the accessed bits of a region's PTEs (policies sample them)."""
    base = slot * PAGES_PER_HUGE
    for i in range(PAGES_PER_HUGE):
        rg.pg_state[base + i] = rg.pg_state[base + i] & (0xFF ^ PG_ACCESSED)


@kernel
def clear_accessed_slots(rg, slots):
    """clear_accessed on each region of ``slots`` (int64 array), in one
    compiled call (a scanner clears thousands of regions per pass)."""
    for k in range(len(slots)):
        clear_accessed(rg, slots[k])


@kernel
def idle_counts(rg, slots, out):
    """Per region of ``slots`` (int64 array), into ``out`` (int64
    [3, len(slots)]): private frames mapped (mapped, not the zero page),
    those of them whose accessed bit is clear, and PTEs whose accessed bit
    is set."""
    for k in range(len(slots)):
        base = slots[k] * PAGES_PER_HUGE
        p = d = r = 0
        for i in range(PAGES_PER_HUGE):
            st = rg.pg_state[base + i]
            acc = (st & PG_ACCESSED) != 0
            if (st & PG_MAPPED) != 0 and (st & PG_ZEROPAGE) == 0:
                p += 1
                d += not acc
            r += acc
        out[0, k] = p
        out[1, k] = d
        out[2, k] = r


def accessed_counts(rg: Regions, slots: np.ndarray) -> np.ndarray:
    """Number of pages with the accessed bit set, per region (vectorised)."""
    st = rg.pg_state.reshape(-1, PAGES_PER_HUGE)[slots]
    return ((st & PG_ACCESSED) != 0).sum(axis=1)


def zero_page_counts(rg: Regions, slots: np.ndarray) -> np.ndarray:
    """Resident private pages with zero content (never written), per region
    (vectorised); a huge zero mapping counts its 512 sub-pages (a byte scan
    of the huge zero page finds them zero)."""
    st = rg.pg_state.reshape(-1, PAGES_PER_HUGE)[slots]
    n = ((st & PG_MAPPED != 0) & (st & PG_ZEROPAGE == 0) & (st & PG_WRITTEN == 0)).sum(axis=1)
    return np.where(rg.huge[slots] == HUGE_ZERO, PAGES_PER_HUGE, n)


__all__ = ["Regions", "new_regions", "grow_regions", "map_huge", "map_huge_zero",
           "split_huge_zero", "wp_huge_zero", "zap_page", "zap_range",
           "split_region", "collapse_region", "promote_in_place", "map_zero_page",
           "release_zero_pages",
           "clear_accessed", "clear_accessed_slots", "idle_counts", "accessed_counts",
           "zero_page_counts",
           "BLK_HUGE", "BLK_RESERVED"]
