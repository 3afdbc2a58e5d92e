"""The huge zero page (case 07: read faults on untouched memory under THP).

Linux >= 3.8 with transparent_hugepage/use_zero_page = 1 (the default): a
read fault in an empty huge-eligible region maps the shared huge zero page
with one PMD (Linux 4.3 mm/huge_memory.c do_huge_pmd_anonymous_page,
set_huge_zero_page): no frame, RSS 0, no zeroing, one 2 MiB TLB entry.  A
write (do_huge_pmd_wp_page, is_huge_zero_pmd) allocates and clears a huge
page, or without a free block splits the PMD into 512 zero-page PTEs
(__split_huge_zero_page_pmd) and copies the written page.
"""
from __future__ import annotations

import numpy as np
import pytest

from hpsim.units import HUGE_SHIFT, MIB, PAGE_SIZE, PAGES_PER_HUGE
from machine.constants import HUGE_ZERO
from machine.results import ScanResult
from sim.testing import A, HZ, pages, run, small_spec

N_REGIONS = 8
ZERO_4K_US = 0.4        # config.yaml machine.costs.zero_4k_us (checked below)


def read_every_page(w, n_regions=N_REGIONS):
    """Case 07's readonly.lackey: one load in every 4 KiB page of fresh 2 MiB regions."""
    w.mmap(A, n_regions << HUGE_SHIFT)
    w.access(pages(0, n_regions * PAGES_PER_HUGE), False)


def slot_of(sim, addr=A, proc=0):
    return sim.m.procs[proc].region_slot[addr >> HUGE_SHIFT]


def test_linux_4k_maps_4096_zero_pages():
    s = run(small_spec("linux-4k"), [read_every_page]).summary().iloc[0]
    assert (s.faults_zeropage, s.faults_huge_zero, s.faults_2m, s.faults_4k) == (4096, 0, 0, 0)
    assert (s.peak_rss_bytes, s.peak_bloat_bytes, s.zeroing_time_s) == (0, 0, 0.0)


def test_linux_thp_read_maps_the_huge_zero_page():
    sim = run(small_spec("linux-thp"), [read_every_page])
    s = sim.summary().iloc[0]
    assert (s.faults_huge_zero, s.faults_2m, s.faults_zeropage, s.faults_4k) == (8, 0, 0, 0)
    assert s.faults == 8
    assert (s.peak_rss_bytes, s.peak_bloat_bytes, s.zeroing_time_s) == (0, 0, 0.0)
    assert s.final_huge_pages == 0             # no 2 MiB page was allocated
    assert sim.m.free_huge_blocks() == 32      # 64 MiB: every block still free
    # one 2 MiB translation per region: 8 walks, the other 4088 loads hit
    assert (s.tlb_misses, s.tlb_l1_hits) == (8, 4096 - 8)
    m = sim.m
    sl = slot_of(sim)
    assert m.region_huge(sl) and m.populated(sl) == 0
    assert m.promote_region(sl, "khugepaged") is ScanResult.SCAN_PMD_MAPPED   # skipped
    m.check_invariants()


def test_use_zero_page_off_allocates_huge_pages():
    spec = small_spec("linux-thp", policy_params={"use_zero_page": False})
    s = run(spec, [read_every_page]).summary().iloc[0]
    assert (s.faults_huge_zero, s.faults_2m) == (0, 8)
    assert s.peak_rss_bytes == 16 * MIB


def test_write_after_read_allocates_and_clears_a_huge_page():
    def body(w):
        read_every_page(w)
        w.access([A + 5 * PAGE_SIZE], True)    # one store in the first region
    sim = run(small_spec("linux-thp"), [body])
    s = sim.summary().iloc[0]
    assert sim.spec["machine"]["costs"]["zero_4k_us"] == ZERO_4K_US
    assert (s.faults_huge_zero, s.faults_2m, s.faults_cow, s.thp_fallbacks) == (8, 1, 0, 0)
    assert s.final_huge_pages == 1
    assert s.peak_rss_bytes == 2 * MIB
    assert s.zeroing_time_s == pytest.approx(round(ZERO_4K_US * 512 * HZ / 1e6) / HZ)
    assert s.peak_bloat_bytes == 511 * PAGE_SIZE   # 511 fresh pages never accessed since
    # the read's 2 MiB translation was flushed (pmdp_huge_clear_flush_notify):
    # 8 walks for the reads, one more for the retried store
    assert s.tlb_misses == 9
    sim.m.check_invariants()


def test_write_without_a_free_block_splits_into_zero_ptes():
    """Every block holds an unmovable page: the store falls back to one
    4 KiB frame and 511 zero-page PTEs."""
    def body(w):
        w.mmap(A, 2 << 20)
        w.access([A], False)
        w.access([A + 7 * PAGE_SIZE], True)
        w.access(pages(0, PAGES_PER_HUGE), False)
    sim = run(small_spec("linux-thp", fragmentation=1.0), [body])
    s = sim.summary().iloc[0]
    assert (s.faults_huge_zero, s.faults_2m, s.faults_cow, s.thp_fallbacks) == (1, 0, 1, 1)
    assert (s.faults_zeropage, s.faults_4k, s.splits, s.final_huge_pages) == (0, 0, 0, 0)
    assert s.peak_rss_bytes == PAGE_SIZE
    assert s.zeroing_time_s == pytest.approx(round(ZERO_4K_US * HZ / 1e6) / HZ)
    m, sl = sim.m, slot_of(sim)
    assert not m.region_huge(sl)
    assert (m.populated(sl), m.populated(sl, count_zero_page=True)) == (1, PAGES_PER_HUGE)
    # after the split, the 512 reads walk 4 KiB translations: 1 (huge read)
    # + 1 (retried store) + 511 (the other pages) misses
    assert s.tlb_misses == 1 + 1 + 511
    m.check_invariants()


@pytest.mark.parametrize("unmap", ["munmap", "madvise"])
def test_unmapping_a_huge_zero_region(unmap):
    def body(w):
        w.mmap(A, 4 << 20)
        w.access([A, A + (2 << 20)], False)           # two huge zero regions
        getattr(w, unmap if unmap == "munmap" else "madvise_dontneed")(A, 2 << 20)
        w.madvise_dontneed(A + (2 << 20), 4 * PAGE_SIZE)   # part of the second: split
        w.access([A + (2 << 20) + PAGE_SIZE], False)  # now an empty 4 KiB PTE: zero page
        w.access([A + (2 << 20) + 100 * PAGE_SIZE], False)   # still a zero-page PTE
    sim = run(small_spec("linux-thp"), [body])
    s = sim.summary().iloc[0]
    assert (s.faults_huge_zero, s.faults_zeropage, s.splits, s.free_time_s) == (2, 1, 0, 0.0)
    assert s.peak_rss_bytes == 0
    m = sim.m
    sl = slot_of(sim, A + (2 << 20))
    assert not m.region_huge(sl)
    assert m.populated(sl, count_zero_page=True) == PAGES_PER_HUGE - 4 + 1
    assert not any(e["event"] == "split" for e in m.events)
    m.check_invariants()


def test_hawkeye_code_without_fault_allocation_still_maps_the_huge_zero_page():
    """HawkEye's code disables the fault-time allocation (241e67df) but keeps
    the huge-zero read path; the write then always falls back."""
    def body(w):
        w.mmap(A, 2 << 20)
        w.access([A], False)
        w.access([A], True)
    spec = small_spec("hawkeye-g", policy_params={"fault_huge": False})
    s = run(spec, [body]).summary().iloc[0]
    assert (s.faults_huge_zero, s.faults_2m, s.faults_cow, s.thp_fallbacks) == (1, 0, 1, 1)
    assert s.peak_rss_bytes == PAGE_SIZE


def test_ingens_deferred_mode_has_no_huge_zero_page():
    s = run(small_spec("ingens"), [read_every_page]).summary().iloc[0]
    assert (s.faults_huge_zero, s.faults_zeropage) == (0, 4096)


def test_huge_zero_state_is_a_2m_mapping_without_frames():
    sim = run(small_spec("linux-thp"), [lambda w: (w.mmap(A, 2 << 20), w.access([A], False))])
    rg, sl = sim.m.rg, slot_of(sim)
    assert rg.huge[sl] == HUGE_ZERO and rg.block[sl] == -1
    assert (rg.pg_frame[sl * PAGES_PER_HUGE:(sl + 1) * PAGES_PER_HUGE] == -1).all()
    assert sim.m.free_frames == sim.m.total_frames      # no frame taken


def test_hawkeye_recovery_scan_finds_512_zero_subpages_and_zaps_the_pmd():
    """remove.c: follow_page returns the huge zero page (PageTransHuge), its
    512 sub-pages read zero, zap_page_range removes the PMD; nothing freed."""
    sim = run(small_spec("linux-thp"), [lambda w: (w.mmap(A, 4 << 20),
                                                   w.access([A], False),
                                                   w.access([A + (2 << 20)], True))])
    m, hz, huge = sim.m, slot_of(sim), slot_of(sim, A + (2 << 20))
    assert m.zero_subpages([hz, huge]).tolist() == [512, 511]
    free = m.free_frames
    assert m.release_zero_pages(hz) == (0, 512, 0)
    assert m.free_frames == free and not m.region_huge(hz)
    assert m.populated(hz, count_zero_page=True) == 0
    assert not any(e["event"] == "split" for e in m.events)
    m.check_invariants()


def test_huge_zero_faults_are_counted_alike_in_summary_and_phases():
    """summary.csv ``faults`` and phases.csv ``faults`` are one count (8 huge-zero
    faults, then a write: one 2 MiB fault), so the phase spans add up to the total."""
    def body(w):
        read_every_page(w)
        w.phase("write")
        w.access(pages(0, 1), True)
    sim = run(small_spec("linux-thp"), [body])
    s = sim.summary().iloc[0]
    assert (s.faults, s.faults_huge_zero, s.faults_2m) == (9, 8, 1)
    ph = sim.phases_table()
    assert list(ph["faults"]) == [8, 1]
