"""hawkeye-pmu and hawkeye-g: HawkEye (Panwar et al., ASPLOS'19) on Linux 4.3.

Read side by side with hawkeye-facts.md §3 (paper §3.1, public code §3.2,
parameters §3.3).  Every paper-vs-code disagreement is a switch whose default
is the paper:

==================  ==========================  ====================================
switch              paper (default)             public code
==================  ==========================  ====================================
fault_huge          true: 2 MiB at first fault  false: huge pages only by promotion
                                                (fault-time THP off 241e67df..9b5a9776)
access_map.buckets  paper: 10 x 50 linear       code: order_base_2(weight)
access_map.sampling paper: every 30 s, 1 s      code: each process in turn, 1 s
                    window, all processes       window each, then 5 s sleep
access_map.ema_alpha  (paper: unspecified)      0.4 = (6 w + 4 new) / 10  <- default
pmu.smoothing       paper: measured overhead    code: (8 old + 2 new) / 10
pmu.stop_below_pct  2 (paper: stop below 2 %)   0 (the check is commented out)
bloat_recovery.min_zero_pages  ("many")         1 (any zero sub-page)  <- default
bloat_recovery.     true: also woken when free  false: on its 120 s period only
wake_on_pressure    memory falls below the      (remove.c msleep(sleep))
                    trigger ("under high
                    memory pressure")
==================  ==========================  ====================================

Pieces (one module each):

1. Fault path (machine): FAULT_HUGE with ``prefer_zeroed``: a pre-zeroed
   free block is taken first and then not zeroed, so the 2 MiB fault costs
   the base cost only.
2. ``prezero.PreZeroer`` (thread ``asynczero``): zeroes free blocks at
   a limited rate.
3. ``bloat_recovery.BloatRecovery`` (thread ``bloat_recovery``).
4. ``access_map`` (thread ``kbinmanager``): access coverage buckets.
5. ``promotion.Promotion`` (thread ``khugepaged``): at most ``pages_to_scan`` / 512 =
   8 promotions per pass, then ``scan_sleep_millisecs``.

   - hawkeye-pmu: once per pass, the target process is the one with the
     highest MMU overhead (``profiler.MMUProfiler``, thread ``mmu_profiler``)
     among those with at least ``min_pending`` pending regions and an
     overhead of at least ``stop_below_pct``; strict ">" in list order, and
     the chosen process moves to the list tail (round-robin on ties, code
     commit 990db7cc).  The whole pass promotes for it (``ohp_get_target_mm``
     then ``khugepaged_promote_mm``): each time the head of its highest
     non-empty bucket, bucket 0 included, until 8 promotions, 100 failures
     or no candidate left.
   - hawkeye-g: for each bucket from 9 down to 1 (bucket 0 excluded, as in
     ``get_ohp_global_kaddr``), the first process in list order with a region
     there gives its head and moves to the list tail.

   A promotion is khugepaged's collapse: it needs at most ``max_ptes_none``
   empty PTEs, one young and one writable PTE.  A region that fails that
   goes back to the tail of bucket 0, keeping its weight
   (``ohp_putback_kaddr``), and counts 1 failure; an
   allocation failure (``SCAN_ALLOC_HUGE_PAGE_FAIL``) does the same, counts 100 and so ends the
   pass; a gone region is dropped and counts 1; a pass ends at 100 failures
   (code: ``failed >= 100``).  ``alloc_sleep_millisecs`` is 0 in the code, so
   the next pass comes after the normal sleep.

   "Pending" regions of a process are those in buckets >= 2 with
   ``buckets: code`` (weight >= 3, code) and >= 1 with ``buckets: paper``
   (coverage >= 50; the paper gives no rule).  As in the code, a process
   with fewer than ``min_pending`` (8) pending regions gets no promotion
   under hawkeye-pmu, so its last 7 warm regions stay at 4 KiB; a process
   never measured has weight 0 and is not chosen either.

Candidates are registered when a fault maps the only private page of a
non-huge region that lies whole inside one VMA (``ohp_enter``; via the
machine's population trigger at 1 page), at the tail of bucket 0.  At equal
wake-up times the threads run in the order mmu_profiler, khugepaged,
kbinmanager, asynczero, bloat_recovery.  Bloat recovery orders processes by
the profiler's last measured overhead; hawkeye-g has no profiler, so all are
0 and the order is the pid order.

All promotions are logged in ``policy.promotion_log`` as
(time_s, process name, region vaddr), and by the machine as ``collapse``
rows of events.csv whose reason names the variant and the bucket.
"""
from __future__ import annotations


from hpsim.units import HUGE_SHIFT
from machine.constants import FAULT_BASE, FAULT_HUGE
from policies.base import KernelThread, Policy, register
from policies.hawkeye.access_map import (N_BUCKETS, AccessMap, KBinManager,
                                         pending_min_bucket)
from policies.hawkeye.bloat_recovery import BloatRecovery
from policies.hawkeye.prezero import PreZeroer
from policies.hawkeye.profiler import MMUProfiler
from policies.hawkeye.promotion import Promotion

class HawkEye(Policy):
    """HawkEye's pieces, shared by both variants: fault-time allocation (by
    the machine, pre-zeroed blocks first), candidate registration
    (``ohp_enter``), the access_map and kbinmanager, asynchronous
    pre-zeroing, bloat recovery and the promotion thread.  A variant
    defines ``select``: which candidate the promotion thread takes next."""
    fault_mode = FAULT_HUGE
    prefer_zeroed = True       # pre-zeroed blocks first, at faults and promotions
    population_trigger = 1     # first 4 KiB fault of a region: register it (ohp_enter)
    uses_pmu = False

    def __init__(self, machine, params):
        super().__init__(machine, params)
        self.fault_mode = FAULT_HUGE if self.p["fault_huge"] else FAULT_BASE
        # Linux 4.3 THP defrag (HawkEye's kernel keeps it): direct compaction at fault
        self.defrag_fault = self.p["defrag"] == "always"
        # the code keeps do_huge_pmd_anonymous_page's huge-zero read path
        # even where it disables the fault-time allocation (241e67df)
        self.huge_zero_page = self.p["use_zero_page"]
        self.maps: dict[int, AccessMap] = {}
        self.mm_list: list[int] = []          # pids, promotion round-robin order
        self.kbin = KBinManager(machine, self.maps, lambda: list(self.mm_list),
                                self.p["access_map"])
        self.shape = self.p["access_map"]["buckets"]
        self.prezero = PreZeroer(machine, self.p["prezero"])
        self.bloat = BloatRecovery(machine, self.p["bloat_recovery"], self.overhead_of)
        self.promotion = Promotion(machine, self.maps, self.p["promotion"], self.begin_pass)
        self.registered = 0

    @property
    def promotion_log(self) -> list[tuple[float, str, int]]:
        """Every promotion as (time_s, process name, region vaddr)."""
        return self.promotion.log

    # --- options -------------------------------------------------------------
    def validate(self) -> None:
        """The checks across options (types and ranges are the schema's:
        config/schema.yaml $defs/hawkeye, hawkeye-pmu)."""
        p, n = self.p, f"policies.{self.name}"

        def need(ok: bool, key: str, what: str) -> None:
            if not ok:
                raise ValueError(f"{n}.{key} {what}")

        b = p["bloat_recovery"]
        need(b["target_free_pct"] >= b["trigger_free_pct"], "bloat_recovery.target_free_pct",
             "must be >= trigger_free_pct")
        a = p["access_map"]
        need(a["period_s"] > a["window_s"], "access_map.period_s", "must be > window_s")
        if "pmu" in p:
            u = p["pmu"]
            need(u["interval_s"] > u["window_s"], "pmu.interval_s", "must be > window_s")

    # --- hooks ---------------------------------------------------------------
    def _enter(self, pid: int) -> AccessMap:
        """init_mm_ohp_bins: the process's access_map, made at its first mmap."""
        am = self.maps.get(pid)
        if am is None:
            am = self.maps[pid] = AccessMap(pid)
            self.mm_list.append(pid)
        return am

    def on_mmap(self, proc, vma) -> None:
        """The process gets its access_map at its first mmap."""
        self._enter(proc.pid)

    def on_trigger(self, proc, slot: int, now_s: float) -> None:
        """A fault mapped a private 4 KiB page in a non-huge region.  Register
        the region (ohp_enter) when that page is its only one, i.e. the region
        was empty: the first fault, or a fault after the machine re-armed the
        trigger of a region that was emptied.  Regions split by bloat recovery
        are not registered again (in the code their PMD is no longer empty, so
        ohp_enter is not called)."""
        m = self.m
        if (m.populated(slot) != 1 or slot in self.bloat.split_slots
                or m.region_huge(slot) or not m.region_eligible(slot)):
            return
        am = self._enter(proc.pid)
        if slot not in am:
            am.add(slot, m.region_index(slot))    # add_ohp_bin
            self.registered += 1

    def on_munmap(self, proc, start: int, end: int) -> None:
        """remove_ohp_bins: drop candidates that are gone or no longer inside
        one VMA."""
        am = self.maps.get(proc.pid)
        if am is None:
            return
        m = self.m
        for r in range(start >> HUGE_SHIFT, ((end - 1) >> HUGE_SHIFT) + 1):
            s = am.by_region.get(r)
            if s is not None and not m.region_eligible(s):
                am.remove(s)

    def on_memory_shortage(self, proc, now_s: float) -> bool:
        """Extension (``bloat_recovery.on_shortage``): run a bloat-recovery
        pass when a fault finds no free frame."""
        if self.p["bloat_recovery"]["enabled"] and self.p["bloat_recovery"]["on_shortage"]:
            return self.bloat.recover(now_s) > 0
        return False

    def overhead_of(self, pid: int) -> float:
        """MMU overhead for the bloat-recovery order (the last profiler value;
        0 for all under hawkeye-g, which has no profiler: pid order)."""
        return self.m.procs[pid].mmu_overhead_pct

    # --- promotion -------------------------------------------------------------
    def begin_pass(self):
        """A promotion pass's picker (see ``Promotion``): a callable popping
        the next candidate as (pid, slot, reason), or None for no pass."""
        raise NotImplementedError

    def _to_tail(self, pid: int) -> None:
        """The chosen process moves to the tail of the list (round-robin)."""
        self.mm_list.remove(pid)
        self.mm_list.append(pid)

    # --- threads and results -----------------------------------------------------
    def threads(self) -> list[KernelThread]:
        # at equal wake-up times khugepaged runs before kbinmanager, so a pass
        # never sees accessed bits that were cleared in the same instant
        out = [KernelThread(Promotion.name, self.promotion.ohp_scan_mm,
                            self.p["promotion"]["scan_sleep_millisecs"] / 1000),
               KernelThread("kbinmanager", self.kbin.work, 0.0)]
        if self.p["prezero"]["enabled"]:
            out.append(KernelThread(PreZeroer.name, self.prezero.work, 0.0))
        if self.p["bloat_recovery"]["enabled"]:
            b = self.p["bloat_recovery"]
            wake = b["wake_on_pressure"]
            out.append(KernelThread(BloatRecovery.name, self.bloat.work,
                                    0.0 if b["run_at_start"] else float(b["period_s"]),
                                    self.bloat.pressure if wake else None,
                                    self.bloat.trigger_frames if wake else None))
        return out

    def counters(self) -> dict[str, int]:
        return {
            "hawkeye_promotions": len(self.promotion_log),
            "hawkeye_alloc_failures": self.promotion.alloc_failures,
            "hawkeye_collapse_failures": self.promotion.collapse_failures,
            "hawkeye_regions_registered": self.registered,
            "hawkeye_samples": self.kbin.samples,
            "hawkeye_prezeroed_blocks": self.prezero.zeroed,
            "hawkeye_bloat_passes": self.bloat.passes_triggered,
            "hawkeye_bloat_regions_split": self.bloat.regions_split,
            "hawkeye_bloat_pages_released": self.bloat.pages_released,
        }


@register("hawkeye-pmu")
class HawkEyePMU(HawkEye):
    """Promote for the process with the highest measured MMU overhead
    (``profiler.MMUProfiler``, thread ``mmu_profiler``)."""
    uses_pmu = True

    def __init__(self, machine, params):
        super().__init__(machine, params)
        self.profiler = MMUProfiler(machine, self.p["pmu"])
        self.pmin = pending_min_bucket(self.shape)

    def begin_pass(self):
        """ohp_get_target_mm once per pass: among processes with at least
        ``min_pending`` pending regions and a weight of at least
        ``stop_below_pct``, the highest weight (strict ">" in list order); it
        moves to the list tail.  The pass then takes its candidates from that
        process only (get_ohp_mm_addr: the head of its highest non-empty
        bucket, bucket 0 included), up to the pass's budget."""
        best = self.target_mm()
        if best is None:
            return None
        am = self.maps[best]
        w = self.profiler.weight.get(best, 0)

        def pick():
            b = am.highest(0)
            if b < 0 or not self.m.procs[best].running:
                return None        # OHP_NO_WORK: the pass ends
            return best, am.pop_head(b), f"hawkeye-pmu: bucket {b}, mmu overhead {w}%"
        return pick

    def target_mm(self) -> int | None:
        """ohp_get_target_mm (mm/ohp.c): the pid chosen, moved to the list tail."""
        u = self.p["pmu"]
        best, best_w = None, 0
        for pid in self.mm_list:
            am = self.maps[pid]
            if not self.m.procs[pid].running or not len(am):
                continue
            if am.count_from(self.pmin) < u["min_pending"]:
                continue
            w = self.profiler.weight.get(pid, 0)
            if w < u["stop_below_pct"]:
                continue
            if w > best_w:                 # strict: the first in list order wins a tie
                best, best_w = pid, w
        if best is not None:
            self._to_tail(best)
        return best

    def threads(self):
        return [KernelThread(MMUProfiler.name, self.profiler.work, 0.0), *super().threads()]

    def counters(self):
        return {**super().counters(), "hawkeye_pmu_samples": self.profiler.samples}


@register("hawkeye-g")
class HawkEyeG(HawkEye):
    """No PMU: the hottest bucket across all processes, round-robin."""

    def begin_pass(self):
        """No target: every candidate of the pass is ``select``'s."""
        return self.select

    def select(self):
        """get_ohp_global_kaddr: from bucket 9 down to 1 (bucket 0 excluded, as
        in the code), the first process in list order with a region there
        gives its head and moves to the list tail."""
        for b in range(N_BUCKETS - 1, 0, -1):
            for pid in self.mm_list:
                am = self.maps[pid]
                if self.m.procs[pid].running and am.buckets[b]:
                    self._to_tail(pid)
                    return pid, am.pop_head(b), f"hawkeye-g: bucket {b}"
        return None
