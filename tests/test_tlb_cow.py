"""Copy-on-write of the zero page flushes the page's cached translation
(Linux 4.3 mm/memory.c wp_page_copy: ptep_clear_flush_notify), so the retried
write walks the page table again."""
from __future__ import annotations

from sim.simulate import Simulation
from sim.testing import A, small_spec, write_trace


def test_load_store_load_of_a_fresh_page_walks_twice(tmp_path):
    def body(w):
        w.cycles(3)
        w.mmap(A, 2 << 20)
        w.access([A], False)      # read fault: the shared zero page; TLB miss, walk
        w.access([A], True)       # COW: a fresh frame, the entry flushed, walk again
        w.access([A], False)      # L1 hit
    trace = write_trace(tmp_path / "cow.trace", body)
    sim = Simulation(small_spec("linux-4k"), [str(trace)], progress=False)
    sim.run()
    s = sim.summary().iloc[0]
    walk = sim.spec["machine"]["costs"]["walk_cycles_4k"]
    assert (s.faults_zeropage, s.faults_cow) == (1, 1)
    assert (s.tlb_misses, s.tlb_l1_hits, s.walk_cycles) == (2, 1, 2 * walk) == (2, 1, 160)
