"""Helpers that turn vectorised loop bodies into page-granular access streams.

A loop such as ``for v in frontier: read a[v]; for e in adj(v): read b[e] ...``
is described as *groups* of *rows*: every row belongs to an *owner* (one
iteration of the outer loop, numbered in execution order) and has a fixed list
of *slots* (the accesses of one inner iteration, in program order).  Within an
owner, the rows of group 0 come first, then those of group 1, and so on, each
group in its own row order.  ``emit_rows`` lays all rows out in that order and
writes the present slots to the trace, which merges same-page runs.

``hoist`` models a sequential stream read (or written) inside a loop whose
other accesses go elsewhere: instead of one access per element interleaved
with the others, the first element of every same-page run carries the whole
run's count and the later elements of the run are dropped.  That moves a few
hits on a most-recently-used page earlier; it changes no page that is touched
and no count, and it makes the trace several times smaller.
"""
from __future__ import annotations

import numpy as np

from workloads.trace import PAGE_SHIFT, PAGE_SIZE


class Slot:
    """One access of a row: byte addresses (per row), write flag, optional
    presence mask and repeat counts (per row or scalar)."""
    __slots__ = ("addr", "write", "mask", "count")

    def __init__(self, addr, write: bool, mask=None, count=1):
        self.addr = addr
        self.write = bool(write)
        self.mask = mask
        self.count = count


def hoist(addr: np.ndarray, breaks: np.ndarray | None = None, per_elem: int = 1):
    """Mask and counts that collapse runs of same-page ``addr`` into their first row.

    ``breaks[k]`` True forces a new run at row k (e.g. a new outer iteration)."""
    addr = np.asarray(addr, dtype=np.uint64)
    n = len(addr)
    if n == 0:
        return np.zeros(0, bool), np.zeros(0, np.uint64)
    page = addr >> np.uint64(PAGE_SHIFT)
    start = np.empty(n, bool)
    start[0] = True
    start[1:] = page[1:] != page[:-1]
    if breaks is not None:
        start |= breaks
    idx = np.flatnonzero(start)
    runs = np.diff(np.append(idx, n)).astype(np.uint64)
    counts = np.zeros(n, np.uint64)
    counts[idx] = runs * np.uint64(per_elem)
    return start, counts


def emit_rows(out, n_owners: int, groups: list[tuple[np.ndarray, list[Slot]]]) -> None:
    """Write the accesses of ``groups`` (each ``(owner, slots)``, owner sorted
    non-decreasing) in program order; see the module docstring."""
    sizes = [np.bincount(np.asarray(o, np.int64), minlength=n_owners) for o, _ in groups]
    total_per_owner = np.sum(sizes, axis=0) if sizes else np.zeros(n_owners, np.int64)
    owner_start = np.concatenate(([0], np.cumsum(total_per_owner)[:-1])).astype(np.int64)
    n_rows = int(total_per_owner.sum())
    if n_rows == 0:
        return
    k = max(len(slots) for _, slots in groups)
    addr = np.zeros((n_rows, k), np.uint64)
    write = np.zeros((n_rows, k), bool)
    present = np.zeros((n_rows, k), bool)
    count = np.ones((n_rows, k), np.uint64)
    before = np.zeros(n_owners, np.int64)  # rows of earlier groups per owner
    for (owner, slots), size in zip(groups, sizes):
        owner = np.asarray(owner, np.int64)
        if len(owner):
            first_in_group = np.concatenate(([0], np.cumsum(size)[:-1]))
            pos = owner_start[owner] + before[owner] + (np.arange(len(owner)) -
                                                        first_in_group[owner])
            for s, slot in enumerate(slots):
                addr[pos, s] = np.asarray(slot.addr, np.uint64)
                write[pos, s] = slot.write
                present[pos, s] = True if slot.mask is None else slot.mask
                count[pos, s] = np.asarray(slot.count, np.uint64)
        before += size
    m = present.ravel()
    c = count.ravel()[m]
    keep = c > 0
    out.access(addr.ravel()[m][keep], write.ravel()[m][keep], c[keep])


def sweep(out, base: int, nbytes: int, read: bool = False, write: bool = True,
          elem: int = 8, chunk_pages: int = 1 << 20) -> None:
    """A sequential loop over ``nbytes`` at ``base``: per page, ``read`` then
    ``write`` accesses, each with a count of the elements in that page."""
    if nbytes <= 0:
        return
    first = base // PAGE_SIZE
    last = (base + nbytes - 1) // PAGE_SIZE
    for p0 in range(first, last + 1, chunk_pages):
        pages = np.arange(p0, min(p0 + chunk_pages, last + 1), dtype=np.uint64)
        lo = np.maximum(pages * np.uint64(PAGE_SIZE), np.uint64(base))
        hi = np.minimum((pages + np.uint64(1)) * np.uint64(PAGE_SIZE), np.uint64(base + nbytes))
        cnt = np.maximum((hi - lo) // np.uint64(elem), np.uint64(1))
        a = pages * np.uint64(PAGE_SIZE)
        kinds = [w for w, on in ((False, read), (True, write)) if on]
        if not kinds:
            return
        addr = np.repeat(a, len(kinds))
        wr = np.tile(np.array(kinds, bool), len(a))
        out.access(addr, wr, np.repeat(cnt, len(kinds)))
