"""Ingens's population map counts a read fault that maps the zero page
(linux-4.3-ingens mm/memory.c do_anonymous_page: the zero-page path jumps to
``setpte:``, where the bit is set).  util_threshold 90 -> 460 pages."""
from __future__ import annotations

from hpsim.units import HUGE_SIZE, PAGE_SIZE
from sim.testing import A, compute, run, small_spec


def regions_trace(reads: dict[int, int], writes: dict[int, int]):
    def body(w):
        w.cycles(10)
        w.mmap(A, 5 * HUGE_SIZE)          # region 4: where the idle loop reads
        for r in range(4):
            base = A + r * HUGE_SIZE
            nr, nw = reads.get(r, 0), writes.get(r, 0)
            if nr:
                w.access([base + k * PAGE_SIZE for k in range(nr)], False)
            if nw:
                w.access([base + k * PAGE_SIZE for k in range(nr, nr + nw)], True)
        compute(w, 25.0, addr=A + 4 * HUGE_SIZE)   # 25 s idle: khugepaged passes
    return body


def test_zero_page_reads_count_towards_the_utilisation_threshold():
    # R0: 459 written (below), R1: 460 written, R2: 459 read + 1 written (460 in the
    # code), R3: 460 read only (queued; all PTEs none or zero: not collapsed)
    sim = run(small_spec("ingens"),
              [regions_trace(reads={2: 459, 3: 460}, writes={0: 459, 1: 460, 2: 1})])
    huge = [bool(sim.m.region_huge(sim.m.procs[0].region_slot[(A >> 21) + r])) for r in range(4)]
    assert huge == [False, True, True, False]
    assert sim.summary().iloc[0].promotions == 2
