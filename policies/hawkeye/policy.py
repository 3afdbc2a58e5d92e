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
==================  ==========================  ====================================

Pieces (one module each):

1. Fault path (machine): FAULT_HUGE with ``prefer_zeroed``: a pre-zeroed
   free block is taken first and then not zeroed, so the 2 MiB fault costs
   the base cost only.
2. ``prezero.PreZeroer`` (thread ``asynczero``): zeroes free blocks at
   a limited rate.
3. ``bloat_recovery.BloatRecovery`` (thread ``bloat_recovery``).
4. ``access_map`` (thread ``kbinmanager``): access coverage buckets.
5. Promotion (thread ``khugepaged``, here): at most ``pages_to_scan`` / 512 =
   8 promotions per pass, then ``scan_sleep_millisecs``.

   - hawkeye-pmu: the target process is the one with the highest MMU
     overhead (``profiler.MMUProfiler``, thread ``mmu_profiler``)
     among those with at least ``min_pending`` pending regions and an
     overhead of at least ``stop_below_pct``; strict ">" in list order, and
     the chosen process moves to the list tail (round-robin on ties, code
     commit 990db7cc).  Within it: the head of its highest non-empty bucket.
   - hawkeye-g: for each bucket from 9 down to 1 (bucket 0 excluded, as in
     ``get_ohp_global_kaddr``), the first process in list order with a region
     there gives its head and moves to the list tail.

   A promotion is khugepaged's collapse: it needs at most ``max_ptes_none``
   empty PTEs, one young and one writable PTE.  A region that fails that
   goes back to the tail of bucket 0 (weight 0) and counts 1 failure; an
   allocation failure ("nomem") does the same, counts 100 and so ends the
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
(time_s, process name, region vaddr).
"""
from __future__ import annotations

import copy

from machine.constants import FAULT_BASE, FAULT_HUGE, PAGES_PER_HUGE
from policies.base import KernelThread, Policy, register
from policies.hawkeye.access_map import (N_BUCKETS, AccessMap, KBinManager,
                                         pending_min_bucket)
from policies.hawkeye.bloat_recovery import BloatRecovery
from policies.hawkeye.prezero import PreZeroer
from policies.hawkeye.profiler import MMUProfiler
from policies.linux_thp import region_pte_counts

MAX_FAILED = 100          # code: a promotion pass stops at failed >= 100
ALLOC_FAIL_PENALTY = 100  # code: failed += 100 on a huge-page allocation failure
SWITCHES = ("paper", "code")

COMMON_DEFAULTS = {
    "fault_huge": True,                   # paper: huge page at the first fault
    "prezero": {
        "enabled": True,
        "blocks_per_wake": 20,            # asynczero.c count=10 blocks of 4 MiB = 20 x 2 MiB
        "sleep_ms": 1000,                 # asynczero.c sleep=1000 ms -> 40 MiB/s
        "start_zeroed_fraction": 0.0,     # free memory already zeroed at t=0 (0 = boot state)
    },
    "bloat_recovery": {
        "enabled": True,
        "period_s": 120,                  # remove.c sleep=120000 ms; CBMM runner
        "trigger_free_pct": 15,           # remove.c: free < 15 % of managed memory
        "target_free_pct": 30,            # remove.c: recover until free >= 30 %
        "min_zero_pages": 1,              # remove.c: any zero sub-page (paper: "many")
        "scan_gb_per_s": 10.0,            # estimate: one core streaming reads, ~ clear_page rate
        "nonzero_scan_bytes": 9.11,       # paper (detect.c): mean distance to first non-zero byte
        "split_us": 2.0,                  # estimate: PMD split + TLB shootdown
        "on_shortage": False,             # extension: also run at a fault with no free frame
    },
    "access_map": {
        "sampling": "paper",              # paper: every period_s; code: per process + 5 s sleep
        "period_s": 30,                   # paper §3.1
        "window_s": 1,                    # paper and code (msleep(1000) in kbinmanager)
        "code_sleep_s": 5,                # code: max(5000 ms, 19 x (busy - idle)), busy unset
        "ema_alpha": 0.4,                 # code update_kaddr_weight; paper: unspecified
        "buckets": "paper",               # paper: 10 x 50 linear; code: order_base_2(weight)
        "scan_cost_ns_per_pte": 2.0,      # estimate, as linux-thp's khugepaged scan
    },
    "promotion": {
        "scan_sleep_millisecs": 10000,    # Linux 4.3 / HawkEye default; 1000 for Fig. 8 runs
        "pages_to_scan": 4096,            # Linux 4.3 default: 8 promotions per pass
        "max_ptes_none": 511,             # Linux 4.3 default (collapse test)
        "scan_cost_ns_per_pte": 2.0,      # estimate, as linux-thp
    },
}

PMU_DEFAULTS = {
    "interval_s": 10,       # global_profile -i default 10 s
    "window_s": 1,          # global_profile measures for 1 s
    "smoothing": "paper",   # paper: measured value; code: (8 old + 2 new) / 10
    "stop_below_pct": 2,    # paper: stop promoting below 2 % MMU overhead (code: commented out)
    "min_pending": 8,       # code ohp_get_target_mm: pending >= 8
    "min_rss_mib": 0,       # code: skip anon <= 1,000,000 kB (~977 MiB); 0 = off
}


class HawkEye(Policy):
    duration_keys = ("bloat_recovery.period_s", "access_map.period_s", "access_map.window_s",
                     "access_map.code_sleep_s", "promotion.scan_sleep_millisecs")
    """Shared by both variants; ``select`` picks the next region."""
    fault_mode = FAULT_HUGE
    prefer_zeroed = True       # pre-zeroed blocks first, at faults and promotions
    population_trigger = 1     # first 4 KiB fault of a region: register it (ohp_enter)
    defaults = COMMON_DEFAULTS
    uses_pmu = False

    def __init__(self, machine, params):
        super().__init__(machine, params)
        self.fault_mode = FAULT_HUGE if self.p["fault_huge"] else FAULT_BASE
        self.maps: dict[int, AccessMap] = {}
        self.mm_list: list[int] = []          # pids, promotion round-robin order
        self.kbin = KBinManager(machine, self.maps, lambda: list(self.mm_list),
                                self.p["access_map"])
        self.shape = self.p["access_map"]["buckets"]
        self.prezero = PreZeroer(machine, self.p["prezero"])
        self.bloat = BloatRecovery(machine, self.p["bloat_recovery"], self.overhead_of)
        self.promotion_log: list[tuple[float, str, int]] = []
        self.alloc_failures = 0
        self.collapse_failures = 0
        self.registered = 0

    # --- options -------------------------------------------------------------
    def validate(self) -> None:
        p, n = self.p, f"policies.{self.name}"

        def need(ok: bool, key: str, what: str) -> None:
            if not ok:
                raise ValueError(f"{n}.{key} {what}")

        need(isinstance(p["fault_huge"], bool), "fault_huge", "must be true or false")
        z = p["prezero"]
        need(isinstance(z["blocks_per_wake"], int) and z["blocks_per_wake"] >= 1,
             "prezero.blocks_per_wake", "must be an integer >= 1")
        need(z["sleep_ms"] > 0, "prezero.sleep_ms", "must be > 0")
        need(0 <= z["start_zeroed_fraction"] <= 1, "prezero.start_zeroed_fraction",
             "must be in [0, 1]")
        b = p["bloat_recovery"]
        need(b["period_s"] > 0, "bloat_recovery.period_s", "must be > 0")
        for key in ("trigger_free_pct", "target_free_pct"):
            need(0 <= b[key] <= 100, f"bloat_recovery.{key}", "must be in [0, 100]")
        need(b["target_free_pct"] >= b["trigger_free_pct"], "bloat_recovery.target_free_pct",
             "must be >= trigger_free_pct")
        need(1 <= b["min_zero_pages"] <= PAGES_PER_HUGE, "bloat_recovery.min_zero_pages",
             "must be in 1..512")
        need(b["scan_gb_per_s"] > 0, "bloat_recovery.scan_gb_per_s", "must be > 0")
        need(0 <= b["nonzero_scan_bytes"] <= 4096, "bloat_recovery.nonzero_scan_bytes",
             "must be in [0, 4096]")
        need(b["split_us"] >= 0, "bloat_recovery.split_us", "must be >= 0")
        a = p["access_map"]
        need(a["sampling"] in SWITCHES, "access_map.sampling", f"must be one of {SWITCHES}")
        need(a["buckets"] in SWITCHES, "access_map.buckets", f"must be one of {SWITCHES}")
        need(a["window_s"] > 0, "access_map.window_s", "must be > 0")
        need(a["period_s"] > a["window_s"], "access_map.period_s", "must be > window_s (> 0)")
        need(a["code_sleep_s"] > 0, "access_map.code_sleep_s", "must be > 0")
        need(0 < a["ema_alpha"] <= 1, "access_map.ema_alpha", "must be in (0, 1]")
        need(a["scan_cost_ns_per_pte"] >= 0, "access_map.scan_cost_ns_per_pte", "must be >= 0")
        k = p["promotion"]
        need(k["scan_sleep_millisecs"] > 0, "promotion.scan_sleep_millisecs", "must be > 0")
        need(k["pages_to_scan"] >= PAGES_PER_HUGE, "promotion.pages_to_scan", "must be >= 512")
        need(0 <= k["max_ptes_none"] <= 511, "promotion.max_ptes_none", "must be in 0..511")
        need(k["scan_cost_ns_per_pte"] >= 0, "promotion.scan_cost_ns_per_pte", "must be >= 0")
        if "pmu" in p:
            u = p["pmu"]
            need(u["window_s"] > 0, "pmu.window_s", "must be > 0")
            need(u["interval_s"] > u["window_s"], "pmu.interval_s", "must be > window_s (> 0)")
            need(u["smoothing"] in SWITCHES, "pmu.smoothing", f"must be one of {SWITCHES}")
            need(0 <= u["stop_below_pct"] <= 100, "pmu.stop_below_pct", "must be in [0, 100]")
            need(isinstance(u["min_pending"], int) and u["min_pending"] >= 0,
                 "pmu.min_pending", "must be an integer >= 0")
            need(u["min_rss_mib"] >= 0, "pmu.min_rss_mib", "must be >= 0")

    # --- hooks ---------------------------------------------------------------
    def _enter(self, pid: int) -> AccessMap:
        am = self.maps.get(pid)
        if am is None:
            am = self.maps[pid] = AccessMap(pid)
            self.mm_list.append(pid)
        return am

    def on_mmap(self, proc, vma) -> None:
        self._enter(proc.pid)

    def on_trigger(self, proc, slot: int, now_s: float) -> None:
        """A fault mapped a private 4 KiB page in a non-huge region.  Register
        the region (ohp_enter) when that page is its only one, i.e. the region
        was empty: the first fault, or a fault after the machine re-armed the
        trigger of a region that was emptied.  Regions split by bloat recovery
        are not registered again (in the code their PMD is no longer empty, so
        ohp_enter is not called)."""
        m, rg = self.m, self.m.rg
        if (rg.mapped[slot] - rg.zpages[slot] != 1 or slot in self.bloat.split_slots
                or rg.huge[slot] or not m.region_eligible(slot)):
            return
        am = self._enter(proc.pid)
        if slot not in am:
            am.add(slot, int(rg.vaddr[slot]) >> 21)
            self.registered += 1

    def on_munmap(self, proc, start: int, end: int) -> None:
        """remove_ohp_bins: drop candidates that are gone or no longer inside
        one VMA."""
        am = self.maps.get(proc.pid)
        if am is None:
            return
        m = self.m
        for r in range(start >> 21, ((end - 1) >> 21) + 1):
            s = am.by_region.get(r)
            if s is not None and not m.region_eligible(s):
                am.remove(s)

    def on_memory_shortage(self, proc, now_s: float) -> bool:
        if self.p["bloat_recovery"]["enabled"] and self.p["bloat_recovery"]["on_shortage"]:
            return self.bloat.recover(now_s) > 0
        return False

    def overhead_of(self, pid: int) -> float:
        """MMU overhead for the bloat-recovery order (the last profiler value;
        0 for all under hawkeye-g, which has no profiler: pid order)."""
        return self.m.procs[pid].mmu_overhead_pct

    # --- promotion -------------------------------------------------------------
    def select(self) -> tuple[int, int] | None:
        """Pop the next (pid, slot) to promote, or None."""
        raise NotImplementedError

    def _to_tail(self, pid: int) -> None:
        self.mm_list.remove(pid)
        self.mm_list.append(pid)

    def collapse_ok(self, slot: int) -> bool:
        none, young, writable = region_pte_counts(self.m, slot)
        return none <= self.p["promotion"]["max_ptes_none"] and young and writable

    def khugepaged(self, now_s: float) -> float:
        m, k = self.m, self.p["promotion"]
        progress = failed = examined = 0
        while progress < k["pages_to_scan"] and failed < MAX_FAILED:
            pick = self.select()
            if pick is None:
                break
            pid, slot = pick
            examined += 1
            rg = m.rg
            if not rg.valid[slot] or rg.huge[slot] or not m.region_eligible(slot):
                failed += 1                      # invalid: dropped
                continue
            region = int(rg.vaddr[slot]) >> 21
            if not self.collapse_ok(slot):
                self.maps[pid].add(slot, region)  # back to bin 0
                self.collapse_failures += 1
                failed += 1
                continue
            res = m.promote_region(slot, "khugepaged", prefer_zeroed=True)
            if res == "ok":
                progress += PAGES_PER_HUGE
                self.promotion_log.append((now_s, m.procs[pid].name, int(rg.vaddr[slot])))
            elif res == "nomem":
                self.maps[pid].add(slot, region)
                self.alloc_failures += 1
                failed += ALLOC_FAIL_PENALTY
            else:
                failed += 1
        m.charge("khugepaged", examined * PAGES_PER_HUGE * k["scan_cost_ns_per_pte"] * 1e-9
                 * m.params.cpu_hz)
        return k["scan_sleep_millisecs"] / 1000

    # --- threads and results -----------------------------------------------------
    def threads(self) -> list[KernelThread]:
        # at equal wake-up times khugepaged runs before kbinmanager, so a pass
        # never sees accessed bits that were cleared in the same instant
        out = [KernelThread("khugepaged", self.khugepaged,
                            self.p["promotion"]["scan_sleep_millisecs"] / 1000),
               KernelThread("kbinmanager", self.kbin.work, 0.0)]
        if self.p["prezero"]["enabled"]:
            out.append(KernelThread(PreZeroer.name, self.prezero.work, 0.0))
        if self.p["bloat_recovery"]["enabled"]:
            out.append(KernelThread(BloatRecovery.name, self.bloat.work,
                                    float(self.p["bloat_recovery"]["period_s"])))
        return out

    def counters(self) -> dict[str, int]:
        return {
            "hawkeye_promotions": len(self.promotion_log),
            "hawkeye_alloc_failures": self.alloc_failures,
            "hawkeye_collapse_failures": self.collapse_failures,
            "hawkeye_regions_registered": self.registered,
            "hawkeye_samples": self.kbin.samples,
            "hawkeye_prezeroed_blocks": self.prezero.zeroed,
            "hawkeye_bloat_passes": self.bloat.passes_triggered,
            "hawkeye_bloat_regions_split": self.bloat.regions_split,
            "hawkeye_bloat_pages_released": self.bloat.pages_released,
        }


@register("hawkeye-pmu")
class HawkEyePMU(HawkEye):
    duration_keys = HawkEye.duration_keys + ("pmu.interval_s", "pmu.window_s")
    """Promote for the process with the highest measured MMU overhead."""
    defaults = {**copy.deepcopy(COMMON_DEFAULTS), "pmu": PMU_DEFAULTS}
    uses_pmu = True

    def __init__(self, machine, params):
        super().__init__(machine, params)
        self.profiler = MMUProfiler(machine, self.p["pmu"])
        self.pmin = pending_min_bucket(self.shape)

    def select(self):
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
        if best is None:
            return None
        self._to_tail(best)
        am = self.maps[best]
        return best, am.pop_head(am.highest(0))

    def threads(self):
        return [KernelThread(MMUProfiler.name, self.profiler.work, 0.0), *super().threads()]

    def counters(self):
        return {**super().counters(), "hawkeye_pmu_samples": self.profiler.samples}


@register("hawkeye-g")
class HawkEyeG(HawkEye):
    """No PMU: the hottest bucket across all processes, round-robin."""
    defaults = copy.deepcopy(COMMON_DEFAULTS)

    def select(self):
        for b in range(N_BUCKETS - 1, 0, -1):      # bucket 0 excluded (code)
            for pid in self.mm_list:
                am = self.maps[pid]
                if self.m.procs[pid].running and am.buckets[b]:
                    self._to_tail(pid)
                    return pid, am.pop_head(b)
        return None
