"""policies.khugepaged (collapse test, scan) and the machine's promotion
results and event rows, on hand-made machine states with exact values."""
import pytest

from machine.constants import FAULT_BASE
from machine.machine import Machine
from machine.params import MachineParams
from machine.results import ScanResult as R
from policies.khugepaged import scan_pmd
from sim.testing import A, MIB, access, compute, default_config, pages, run, small_spec


def machine(memory_mib=8):
    cfg = default_config()
    cfg["machine"]["memory_gib"] = memory_mib / 1024
    m = Machine(MachineParams.from_config(cfg["machine"]), seed=1)
    m.set_fault_mode(FAULT_BASE)
    return m


def region_with_writes(m, n_writes, n_reads=0):
    """One process, one 2 MiB region at A: n_writes written pages, then
    n_reads read pages (zero-page mappings).  Returns (process, slot)."""
    pr = m.add_process("p")
    m.mmap(pr, A, 2 * MIB)
    for i in range(n_writes):
        access(m, pr, A + i * 4096, True)
    for i in range(n_writes, n_writes + n_reads):
        access(m, pr, A + i * 4096, False)
    return pr, pr.region_slot[A >> 21]


def test_pte_summary_counts_as_khugepaged_scan_pmd():
    m = machine()
    pr, slot = region_with_writes(m, 10, n_reads=5)
    assert m.pte_summary(slot) == (502, 15, 10)   # none_or_zero, referenced, writable
    assert m.populated(slot) == 10
    m.clear_accessed([slot])
    assert m.pte_summary(slot) == (502, 0, 10)


def test_scan_pmd_verdicts_in_the_kernels_order():
    m = machine()
    pr, slot = region_with_writes(m, 10)
    assert scan_pmd(m, slot, 511) is R.SCAN_SUCCEED
    assert scan_pmd(m, slot, 501) is R.SCAN_EXCEED_NONE_PTE     # 502 empty PTEs
    assert scan_pmd(m, slot, 502) is R.SCAN_SUCCEED
    assert scan_pmd(m, slot, 511, min_populated=11) is R.SCAN_LOW_UTILIZATION
    assert scan_pmd(m, slot, 511, min_populated=10) is R.SCAN_SUCCEED
    m.clear_accessed([slot])
    assert scan_pmd(m, slot, 511) is R.SCAN_NO_REFERENCED_PAGE
    assert scan_pmd(m, slot, 511, young=True) is R.SCAN_SUCCEED


def test_scan_pmd_writable_test_can_be_dropped():
    """Only zero-page PTEs (reads): Linux refuses (no writable page); Ingens,
    which comments that test out, does not."""
    m = machine()
    pr, slot = region_with_writes(m, 0, n_reads=3)
    assert m.pte_summary(slot) == (512, 3, 0)
    assert scan_pmd(m, slot, 512) is R.SCAN_PAGE_RO
    assert scan_pmd(m, slot, 512, writable=False) is R.SCAN_SUCCEED
    assert scan_pmd(m, slot, 511, writable=False) is R.SCAN_EXCEED_NONE_PTE


def test_promote_region_results_and_event_rows():
    m = machine(memory_mib=4)                     # two 2 MiB blocks
    pr, slot = region_with_writes(m, 1)           # takes a frame of one block
    assert m.free_huge_blocks() == 1
    assert m.promote_region(slot, "khugepaged", now_s=2.5, reason="test") is R.SCAN_SUCCEED
    assert m.promote_region(slot, "khugepaged") is R.SCAN_PMD_MAPPED
    assert m.events == [{"time_s": 2.5, "process": "p", "event": "collapse",
                         "region": "0x40000000", "reason": "test"}]
    # a second region: no free block is left once the first collapse took it
    m.mmap(pr, A + 2 * MIB, 2 * MIB)
    access(m, pr, A + 2 * MIB, True)
    s2 = pr.region_slot[(A >> 21) + 1]
    assert m.free_huge_blocks() == 0
    assert m.promote_region(s2, "khugepaged") is R.SCAN_ALLOC_HUGE_PAGE_FAIL
    # half of the huge region unmapped: split, recorded at the process's clock
    m.munmap(pr, A, MIB)
    assert not m.region_huge(slot) and m.populated(slot) == 256
    assert m.events[-1] == {"time_s": pr.clock_cycles / m.params.cpu_hz, "process": "p",
                            "event": "split", "region": "0x40000000", "reason": "munmap"}
    m.munmap(pr, A + MIB, 3 * MIB)
    assert m.promote_region(slot, "khugepaged") is R.SCAN_PMD_NULL
    assert len(m.events) == 2
    m.check_invariants()


def test_events_csv_lists_promotions_in_promotion_order():
    """khugepaged-only linux-thp: 3 regions written at 4 KiB, collapsed in
    address order by the first pass at 10 s; then half of region 1 unmapped."""
    def body(w):
        w.mmap(A, 6 * MIB)
        w.access(pages(0, 3, 512), True)
        compute(w, 11)
        w.munmap(A + 2 * MIB, MIB)
    sim = run(small_spec("linux-thp", policy_params={"fault_huge": False}), [body])
    ev = sim.events_table()
    rows = ev[ev["event"] != "phase"][["time_s", "event", "region", "reason"]]
    assert list(ev.columns[-6:]) == ["time_s", "process", "event", "region", "reason", "detail"]
    assert rows.values.tolist()[:3] == [
        [10.0, "collapse", f"{A + k * 2 * MIB:#x}", "khugepaged: address-order scan"]
        for k in range(3)]
    assert rows.values.tolist()[3][1:] == ["split", f"{A + 2 * MIB:#x}", "munmap"]
    assert len(rows) == 4


def test_scan_result_strings_are_the_kernels_trace_strings():
    assert [str(r) for r in (R.SCAN_SUCCEED, R.SCAN_EXCEED_NONE_PTE, R.SCAN_PAGE_RO,
                             R.SCAN_PMD_NULL)] == \
        ["succeeded", "exceed_none_pte", "no_writable_page", "pmd_null"]
    assert R.SCAN_SUCCEED.ok and not R.SCAN_ALLOC_HUGE_PAGE_FAIL.ok


@pytest.mark.parametrize("policy", ["freebsd", "hawkeye-g"])
def test_other_promotion_paths_are_recorded(policy):
    """FreeBSD promotes a full reservation in place inside the fault;
    HawkEye-G collapses the head of its hottest bucket (fault-time huge pages off)."""
    params = {"fault_huge": False} if policy == "hawkeye-g" else {}

    def body(w):
        w.mmap(A, 2 * MIB)
        for _ in range(3):
            w.access(pages(0, 512), True)
            compute(w, 10)
    sim = run(small_spec(policy, policy_params=params), [body])
    rows = [e for e in sim.m.events if e["event"] != "phase"]
    assert len(rows) == 1 and rows[0]["region"] == f"{A:#x}"
    kind, reason = {"freebsd": ("promote_in_place",
                                "pmap_promote_pde: reservation fully populated"),
                    # one sample (at 1 s) before the 10 s pass: EMA 0.4 x 512 = 204 -> bucket 4
                    "hawkeye-g": ("collapse", "hawkeye-g: bucket 4")}[policy]
    assert (rows[0]["event"], rows[0]["reason"]) == (kind, reason)


def test_madvise_splits_are_recorded_by_the_machine():
    """madvise(DONTNEED) of the second half of region 0 and the first half of
    region 1 splits both huge pages (one record, two split rows); region 2
    advised whole is freed, not split; region 3 stays huge."""
    def body(w):
        w.mmap(A, 8 * MIB)
        w.access(pages(0, 4, 512), True)             # 4 huge faults
        w.madvise_dontneed(A + MIB, 2 * MIB)
        w.madvise_dontneed(A + 4 * MIB, 2 * MIB)
        compute(w, 1)
    sim = run(small_spec("linux-thp", policy_params={"khugepaged": {"enabled": False}}), [body])
    s = sim.summary().iloc[0]
    rows = [e for e in sim.m.events if e["event"] != "phase"]
    assert [(e["event"], e["region"], e["reason"]) for e in rows] == [
        ("split", f"{A:#x}", "madvise"), ("split", f"{A + 2 * MIB:#x}", "madvise")]
    assert rows[0]["time_s"] == rows[1]["time_s"] > 0
    assert s.faults_2m == 4 and s.splits == 2 and s.final_huge_pages == 1
    assert sim.m.procs[0].rss_pages == 2 * 256 + 512   # two half regions + region 3
    sim.m.check_invariants()
