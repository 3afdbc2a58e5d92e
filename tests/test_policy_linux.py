"""linux-4k and linux-thp decisions on small hand-made traces, exact counts."""
import numpy as np
import pytest

from sim.testing import A, HZ, MIB, compute, pages, run, small_spec





def test_linux_4k_maps_every_page_with_its_own_fault():
    def body(w):
        w.mmap(A, 8 * MIB)
        w.access(pages(0, 2048), True)
        compute(w, 25)
    s = run(small_spec("linux-4k"), [body]).summary().iloc[0]
    assert s.faults_4k == 2048 and s.faults_2m == 0 and s.promotions == 0
    assert s.mean_fault_latency_us == pytest.approx(1.6)   # 1.2 base + 0.4 zeroing
    assert s.peak_bloat_bytes == 0


def test_linux_thp_faults_huge_when_region_is_inside_the_vma():
    def body(w):
        w.mmap(A + 4096, 8 * MIB - 4096)   # first region is not whole
        w.access(pages(1, 4 * 512 - 1), True)
    s = run(small_spec("linux-thp"), [body]).summary().iloc[0]
    assert s.faults_2m == 3            # regions 1..3
    assert s.faults_4k == 511          # region 0, 4 KiB faults
    assert s.mean_fault_latency_us == pytest.approx((3 * 211.1 + 511 * 1.6) / 514)


def test_khugepaged_recollapses_split_regions_in_address_order_8_per_pass():
    """16 huge regions; madvise away half of each (splits them, frees the
    pages); khugepaged (10 s period, 8 regions per pass) collapses the 8 lowest
    regions in its first pass and the other 8 in the second, refilling the
    freed halves with zeros: that zero-filled memory is bloat."""
    def body(w):
        w.mmap(A, 32 * MIB)
        w.access(pages(0, 16, 512), True)            # one write per region: 16 huge faults
        for r in range(16):
            w.madvise_dontneed(A + r * 2 * MIB + MIB, MIB)  # second half of every region
        compute(w, 25)
    sim = run(small_spec("linux-thp", sample_interval_s=1.0), [body])
    s = sim.summary().iloc[0]
    ts = sim.rows
    assert s.faults_2m == 16 and s.splits == 16 and s.promotions == 16
    by_t = {round(r["time_s"]): r["huge_pages"] for r in ts}
    assert by_t[9] == 0 and by_t[10] == 8 and by_t[19] == 8 and by_t[20] == 16
    # each region holds 1 written page + 255 untouched zero pages from the first
    # huge fault + 256 zero pages filled in by the collapse
    assert s.peak_bloat_bytes == 16 * 511 * 4096
    sim.m.check_invariants()


def test_khugepaged_first_pass_takes_lowest_addresses():
    def body(w):
        w.mmap(A, 32 * MIB)
        w.access(pages(0, 16, 512), True)
        for r in range(16):
            w.madvise_dontneed(A + r * 2 * MIB + MIB, MIB)
        compute(w, 25)
    spec = small_spec("linux-thp")
    spec["run"]["max_time_s"] = 15
    sim = run(spec, [body])
    pr = sim.m.procs[0]
    huge = [r - (A >> 21) for r, s in sorted(pr.region_slot.items()) if sim.m.rg.huge[s]]
    assert huge == list(range(8))


def test_khugepaged_needs_a_referenced_and_writable_page():
    """A region whose only PTEs map the zero page (reads) is not collapsed."""
    def body(w):
        w.mmap(A + 4096, 4 * MIB)   # region 0 unaligned: 4 KiB faults only
        w.access(pages(1, 10), False)   # read faults: zero page
        compute(w, 25, addr=A + 4096)
    spec = small_spec("linux-thp", policy_params={"khugepaged": {"max_ptes_none": 511}})
    s = run(spec, [body]).summary().iloc[0]
    assert s.faults_zeropage == 10 and s.promotions == 0
