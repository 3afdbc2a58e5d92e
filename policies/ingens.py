"""ingens: utilisation-based asynchronous promotion (Kwon et al., OSDI'16),
modelled on the public code (``ut-osa/ingens``: ``ingens.diff``,
``mm/huge_memory.c``, ``osa/hugepage_scan.c``); hawkeye-facts.md §4.3.

Read side by side with the code (``deferred_mode = 1``, the default):

==========================================  ==========================================
Ingens code                                  this model
==========================================  ==========================================
``__handle_mm_fault`` never maps a huge      ``fault_mode = FAULT_BASE``.
page at fault in deferred mode.
Each 4 KiB anon fault sets a bit in the      The machine counts the region's present
region's 512-bit population map (a read      PTEs, zero-page ones included
fault mapping the zero page too: it also     (``population_counts_zero_page``);
reaches ``setpte:``); at                     ``population_trigger`` =
``weight >= util_threshold*512/100``         ``max(1, util_threshold*512 // 100)``
(integer division: 460 at 90) and not        (the code's integer division; 460 at 90).
``committed`` the region goes on             ``on_trigger`` appends the region to
``hugepage_worklist`` and khugepaged is      ``worklist`` (once while queued, only if the
woken.                                       region is THP-eligible) and wakes khugepaged
                                             (``KernelThread.wake_now``).
Unmap clears bits and ``committed``          The machine re-arms a region's one-shot
(``osa_clear_poplmap_range``).               trigger whenever one of its pages is
                                             unmapped (munmap, madvise DONTNEED).
khugepaged serves worklist entries first     Each pass: worklist entries first, each
(``osa_khugepaged_schedule_mm_slot``);       costing 1 + 512 of the ``pages_to_scan``
each ``khugepaged_scan_mm_slot`` call        budget (the code's ``progress++`` per call
costs ``progress++`` and +512 per PMD, a     and +512 per PMD; a collapse ends the call),
collapse ends the call: at most 8            so at most 8 promotions per pass at 4096.
promotions per 4096-page pass.
No sleep while the worklist is non-empty     While entries remain, the next pass starts
(``khugepaged_wait_work`` returns at once).  when this pass's CPU time has elapsed (the
                                             thread is busy, never asleep); floor 1 us.
Otherwise, with ``fairness``: the mm with    ``fairness``: same metric from the access
the largest ``M = weight*(hpage_requirement  scanner's last statistics, strict ``>``
*100)/max(1,total_hpage_count)``, metric     over an initial maximum of 1 (first in
floored at 1, strict ``>`` over an initial   khugepaged_enter order wins a tie, metric 1
maximum of 1; weight 0 mms skipped; the      never wins), weight-0 processes skipped;
chosen mm is scanned from its own saved      the chosen process is scanned from its own
address.                                     cursor until a collapse, budget, or its end.
Else FCFS scanning as Linux.                 Else ``khugepaged.AddressOrderScan``.
``khugepaged_scan_pmd``: collapse only if    ``collapse_ok`` (``khugepaged.scan_pmd``):
population >= threshold, ``none_or_zero <=   empty-or-zero PTEs <= max_ptes_none, present
max_ptes_none`` and referenced; the          PTEs >= trigger count, and referenced (a
"writable" test is commented out.            young PTE or a page left young by the access
                                             scanner); no writable test.
Allocation failure: ``alloc_sleep``.         Allocation failure: sleep alloc_sleep_millisecs
                                             (a new worklist entry wakes it earlier, as
                                             ``wake_up_interruptible(&khugepaged_wait)``).
``osa_hpage_scand`` every 4 s walks every    ``scand`` thread, every
registered mm with weight != 0 using idle    ``scand.scan_sleep_millisecs``: counts total
page tracking: counts idle/total base and    and idle (accessed bit clear) base pages and
huge pages, sets ``hpage_requirement =       huge pages, clears the accessed bits (the
anon_rss/512``.                              page-young flag is kept per region), sets
                                             ``hpage_requirement = rss_pages // 512`` and
                                             ``total_hpage_count``; charges
                                             ``cost_ns_per_pte`` per PTE/PMD walked.  Its
                                             data feeds fairness only.
==========================================  ==========================================

The summary column ``population_triggers_rearmed`` is kept (always 0: the
machine re-arms the trigger itself) so the result tables keep their columns.

Options (config ``policies.ingens``):

- ``util_threshold`` (90, ingens.diff): percent of a region's 4 KiB pages
  that must be populated before it is promoted; 0..100.
- ``fairness`` (false, ingens.diff ``hugepage_fairness``), ``default_weight``
  (1: ``scripts/set_weight.sh`` writes 1 to ``/proc/<pid>/hugepage_stats``;
  an mm never given a weight presumably keeps 0 (no initialiser found in the
  released code, unverified), which excludes it from fairness and the access
  scan) and
  ``process_weights`` (null, or {process name: weight}).
- ``fairness_skip_exhausted`` (false = the code): when true, the fairness
  choice ignores processes with no region left to collapse.  In the released
  code a process with nothing to promote can keep the largest metric (ties go
  to the earlier mm) and starve the others until the access scan changes the
  metrics; the default reproduces that.
- ``adaptive_fmfi`` (false) and ``fmfi_threshold`` (0.5): **described in the
  Ingens paper, absent from the public code** (which only prints
  ``fragmentation_index``).  When on, at start-up and at each access-scan
  wake-up: while ``machine.fmfi() < fmfi_threshold`` Ingens is aggressive like
  Linux (``FAULT_HUGE`` at fault, khugepaged collapses regardless of the
  utilisation threshold); otherwise the conservative deferred mode above.
  The 0.5 value is from hawkeye-facts.md §4.3 and unconfirmed.
- ``khugepaged``: ``scan_sleep_millisecs`` (10000), ``alloc_sleep_millisecs``
  (60000), ``pages_to_scan`` (4096), ``max_ptes_none`` (511): Linux 4.3
  defaults, unchanged by ingens.diff; ``scan_cost_ns_per_pte`` (estimate).
  ``khugepaged.defrag`` (true: Linux 4.3 khugepaged/defrag = 1, ingens.sh keeps
  it): a collapse that finds no free block compacts first (charged to khugepaged).
- ``scand``: ``enabled`` (true), ``scan_sleep_millisecs`` (4000, ingens.diff
  default), ``cost_ns_per_pte`` (estimate).
- ``compactd`` (ingens.diff ``osa_hpage_compactd``): every
  ``compact_sleep_millisecs`` (0 = off, the code's default: the thread waits
  until it is set; 100 = the "aggressively tuned" setting) it runs
  ``compact_pgdat_periodic(pgdat, 9)``: compact_zone with ``osa_cc_counts =
  cc_counts`` (20), which ignores compaction_suitable/deferred and continues
  until that many isolation batches of up to ``cluster_max`` (32,
  COMPACT_CLUSTER_MAX) pages succeeded.  Modelled as whole blocks emptied,
  fewest moves first, while the next fits in ``cc_counts * cluster_max``
  pages (see ``compactd``).  Fault-time compaction does not arise: deferred
  mode never allocates a huge page at fault (with ``adaptive_fmfi`` it would:
  then faults fall back without compacting, a simplification).

Simplifications (documented, not switches): a worklist entry whose region no
longer qualifies is dropped (the code starts an mm scan at that address and
goes on to the following regions); the FCFS scan is Linux's round-robin over
mms (the released code, in deferred mode, keeps rescanning the same mm after
finishing it unless the worklist or fairness moves it); an allocation failure
on a worklist entry drops the entry (as the code does) and the region is left
to the scans.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from hpsim.units import PAGES_PER_HUGE
from machine.constants import FAULT_BASE, FAULT_HUGE
from machine.results import ScanResult
from policies.base import KernelThread, Policy, register
from policies.khugepaged import AddressOrderScan, charge_scan, scan_mm, scan_pmd

_NAME = "policies.ingens"


def util_trigger(util_threshold: int) -> int:
    """Population count that makes a region a candidate: the code's
    ``(util_threshold * 512) / 100`` in integers, at least 1 (the machine's
    trigger 0 means "off")."""
    return max(1, int(util_threshold) * PAGES_PER_HUGE // 100)


@register("ingens")
class Ingens(Policy):
    """4 KiB faults; regions reaching the utilisation threshold are queued
    for khugepaged, which serves that worklist first, then scans (FCFS or,
    with ``fairness``, the most deserving mm); the access scanner ``scand``
    feeds fairness (see the module docstring)."""
    fault_mode = FAULT_BASE
    prefer_zeroed = False
    population_trigger = util_trigger(90)   # set per instance from util_threshold
    # the population map's bit is set after do_anonymous_page's setpte: label,
    # which the zero-page read path reaches too (linux-4.3-ingens mm/memory.c)
    population_counts_zero_page = True

    # --- options: config/config.yaml policies.ingens, declared in config/schema.yaml
    def validate(self):
        """The one check across options (types and ranges are the schema's)."""
        if self.p["adaptive_fmfi"] and not self.p["scand"]["enabled"]:
            raise ValueError(f"{_NAME}.adaptive_fmfi needs scand.enabled (FMFI is "
                             "re-evaluated at each access-scan wake-up)")

    # --- state ------------------------------------------------------------------
    def __init__(self, machine, params):
        super().__init__(machine, params)
        k = self.p["khugepaged"]
        self.population_trigger = util_trigger(self.p["util_threshold"])
        self.scan = AddressOrderScan(machine)
        self.worklist: deque[tuple[int, int]] = deque()   # (pid, slot), FIFO
        self.queued: set[int] = set()
        self.cursor: dict[int, int] = {}      # fairness: per-mm saved address (region index)
        self.stats: dict[int, dict] = {}      # per pid, from the last access scan
        self._young = np.zeros(0, dtype=bool)  # page-young kept when scand clears A bits
        self.aggressive = False
        self.promotion_log: list[tuple[float, int, int, str]] = []  # (t, pid, slot, via)
        self.n = {"worklist_added": 0, "worklist_promoted": 0, "worklist_dropped": 0,
                  "scan_promoted": 0, "alloc_failures": 0, "fmfi_switches": 0,
                  "compactd_blocks": 0}
        # compact_sleep_millisecs = 0: the thread waits until it is set (off)
        sleep = self.p["compactd"]["compact_sleep_millisecs"]
        self.compactd_thread = (KernelThread("osa_hpage_compactd", self.compactd, sleep / 1000)
                                if sleep > 0 else None)
        if self.p["adaptive_fmfi"]:
            self.aggressive = machine.fmfi() < float(self.p["fmfi_threshold"])
            self.fault_mode = FAULT_HUGE if self.aggressive else FAULT_BASE   # read by attach
        # deferred mode never calls create_huge_pmd (__handle_mm_fault), so
        # the huge zero page exists only while faults are aggressive
        self.huge_zero_page = self.p["use_zero_page"] and self.fault_mode == FAULT_HUGE
        s = self.p["scand"]
        self.khugepaged_thread = KernelThread("khugepaged", self.khugepaged,
                                              k["scan_sleep_millisecs"] / 1000)
        self.scand_thread = (KernelThread("ingens-scand", self.scand,
                                          s["scan_sleep_millisecs"] / 1000)
                             if s["enabled"] else None)

    def weight(self, pid: int) -> int:
        pw = self.p["process_weights"] or {}
        return int(pw.get(self.m.procs[pid].name, self.p["default_weight"]))

    def young(self, slot: int) -> bool:
        return slot < len(self._young) and bool(self._young[slot])

    def collapse_ok(self, slot: int) -> ScanResult:
        """khugepaged_scan_pmd with Ingens's changes: no writable test; below
        the utilisation threshold "does not promote under-utilized region"
        (unless FMFI made Ingens aggressive); a page left young by the access
        scanner counts as referenced."""
        return scan_pmd(self.m, slot, self.p["khugepaged"]["max_ptes_none"], writable=False,
                        min_populated=0 if self.aggressive else self.population_trigger,
                        count_zero_page=True, young=self.young(slot))

    def candidate(self, slot: int) -> bool:
        """A worklist entry can still be collapsed."""
        m = self.m
        return (m.region_valid(slot) and not m.region_huge(slot)
                and m.procs[m.region_owner(slot)].running
                and m.region_eligible(slot) and self.collapse_ok(slot).ok)

    # --- hooks ------------------------------------------------------------------
    def on_mmap(self, proc, vma):
        self.scan.enter(proc.pid)         # khugepaged_enter

    def on_trigger(self, proc, slot, now_s):
        """A region reached the utilisation threshold: queue it on
        hugepage_worklist and wake khugepaged."""
        if slot in self.queued or not self.m.region_eligible(slot):
            return
        self.worklist.append((proc.pid, slot))
        self.queued.add(slot)
        self.n["worklist_added"] += 1
        # khugepaged runs on another core: the collapse it starts now becomes
        # visible once it has copied the populated pages and zeroed the rest
        # (meanwhile the program goes on faulting in 4 KiB pages).
        c = self.m.params.costs
        pop = self.m.populated(slot)
        copy_s = (pop * c["copy_4k_us"] + (PAGES_PER_HUGE - pop) * c["zero_4k_us"]) * 1e-6
        self.khugepaged_thread.wake_now(now_s + copy_s)

    # --- khugepaged -------------------------------------------------------------
    def _promote(self, slot: int, now_s: float, via: str) -> ScanResult:
        """collapse_huge_page, logged in ``promotion_log`` with how it was chosen."""
        res = self.m.promote_region(slot, "khugepaged", now_s=now_s, reason=f"ingens: {via}",
                                    compact=self.p["khugepaged"]["defrag"])
        if res.ok:
            self.promotion_log.append((now_s, self.m.region_owner(slot), slot, via))
        return res

    def pick_fair(self):
        """osa_khugepaged_schedule_mm_slot's fairness choice, or None."""
        best, best_metric = None, 1
        for pid in self.scan.mm_slots:
            if not self.m.procs[pid].running:
                continue
            w = self.weight(pid)
            if w == 0:
                continue
            st = self.stats.get(pid, {"hpage_requirement": 0, "total_hpage_count": 0})
            metric = w * st["hpage_requirement"] * 100 // max(1, st["total_hpage_count"])
            metric = max(metric, 1)
            if metric > best_metric:
                if self.p["fairness_skip_exhausted"] and not any(
                        self.candidate(s) for s in self.m.procs[pid].region_slot.values()):
                    continue
                best, best_metric = pid, metric
        return best

    def _scan_mm(self, pid: int, budget: int, now_s: float):
        """One khugepaged_scan_mm_slot call on pid from its own saved address
        (``progress++`` per call; a collapse ends the call)."""
        r = scan_mm(self.m, pid, self.cursor.get(pid, 0), budget, self.collapse_ok,
                    lambda slot: self._promote(slot, now_s, "fairness"),
                    call_cost=1, stop_after_collapse=True)
        self.cursor[pid] = r.address
        return r

    def khugepaged(self, now_s: float) -> float:
        """One khugepaged pass (khugepaged_do_scan with Ingens's
        osa_khugepaged_schedule_mm_slot): worklist entries first, then the
        fairness choice or the FCFS scan.  Returns the seconds to sleep."""
        m = self.m
        k = self.p["khugepaged"]
        c0 = m.thread_cycles.get("khugepaged", 0)
        budget = k["pages_to_scan"]
        progress = examined = 0
        failed = False
        while progress < budget and not failed:
            if self.worklist:                          # deferred promotions first
                pid, slot = self.worklist.popleft()
                self.queued.discard(slot)
                progress += 1 + PAGES_PER_HUGE
                examined += 1
                if not self.candidate(slot):
                    self.n["worklist_dropped"] += 1
                    continue
                res = self._promote(slot, now_s, "worklist")
                if res.ok:
                    self.n["worklist_promoted"] += 1
                elif res is ScanResult.SCAN_ALLOC_HUGE_PAGE_FAIL:
                    failed = True
                continue
            if self.p["fairness"]:
                pid = self.pick_fair()
                if pid is not None:
                    r = self._scan_mm(pid, budget - progress, now_s)
                    progress += r.progress
                    examined += r.examined
                    failed = r.failed
                    self.n["scan_promoted"] += r.collapsed
                    if r.reached_end and r.examined == 0:
                        break                          # nothing to scan in that mm
                    continue
            ex, col, failed = self.scan.do_scan(                  # FCFS, as Linux
                budget - progress, self.collapse_ok,
                lambda slot: self._promote(slot, now_s, "scan"))
            examined += ex
            self.n["scan_promoted"] += col
            break
        charge_scan(m, "khugepaged", examined, k["scan_cost_ns_per_pte"])
        if failed:
            self.n["alloc_failures"] += 1
            return k["alloc_sleep_millisecs"] / 1000
        if self.worklist:        # no sleep while deferred work remains: busy for this pass
            return max((m.thread_cycles.get("khugepaged", 0) - c0) / m.params.cpu_hz, 1e-6)
        return k["scan_sleep_millisecs"] / 1000

    # --- access-bit scanner (osa_hpage_scand) -------------------------------------
    def scand(self, now_s: float) -> float:
        """osa_hpage_scand: per registered process with weight != 0, count
        total and idle base and huge pages, keep page-young per region, clear
        the accessed bits, set hpage_requirement = anon RSS / 512."""
        m = self.m
        s = self.p["scand"]
        if self.p["adaptive_fmfi"]:
            self.evaluate_fmfi()
        if len(self._young) < m.n_slots:
            grown = np.zeros(max(m.n_slots, 2 * len(self._young)), dtype=bool)
            grown[:len(self._young)] = self._young
            self._young = grown
        walked = 0
        for pr in m.procs:
            if not pr.running or self.weight(pr.pid) == 0:
                continue
            slots = np.fromiter(pr.region_slot.values(), dtype=np.int64,
                                count=len(pr.region_slot))
            c = m.idle_page_counts(slots)
            base = ~c.huge
            total_b = int(c.private[base].sum())
            idle_b = int(c.idle[base].sum())
            total_h = int(c.huge.sum())
            idle_h = int((c.referenced[c.huge] == 0).sum())
            self._young[slots[base & (c.referenced > 0)]] = True
            m.clear_accessed(slots)
            self.stats[pr.pid] = {
                "hpage_requirement": pr.rss_pages // PAGES_PER_HUGE,
                "total_hpage_count": total_h, "idle_hpage_count": idle_h,
                "total_bpage_count": total_b, "idle_bpage_count": idle_b}
            walked += total_b + total_h
        m.charge_ns("ingens-scand", walked * s["cost_ns_per_pte"])
        return s["scan_sleep_millisecs"] / 1000

    def evaluate_fmfi(self) -> None:
        """Ingens paper (not in the public code): aggressive while FMFI is low."""
        aggressive = self.m.fmfi() < float(self.p["fmfi_threshold"])
        if aggressive != self.aggressive:
            self.aggressive = aggressive
            self.n["fmfi_switches"] += 1
        self.m.set_fault_mode(FAULT_HUGE if aggressive else FAULT_BASE)
        self.m.set_huge_zero_page(self.p["use_zero_page"] and aggressive)

    # --- plumbing -----------------------------------------------------------------
    # --- proactive compaction (ingens.diff osa_hpage_compactd) -------------------
    def compactd(self, now_s: float) -> float:
        """One pass of osa_hpage_check_and_do_compact: compact_pgdat_periodic
        (pgdat, 9) runs compact_zone with ``osa_cc_counts`` = ``cc_counts``,
        which bypasses compaction_suitable and compaction_deferred and goes
        on until that many isolation batches of up to ``cluster_max`` pages
        succeeded or the scanners met.  Modelled as: empty blocks (fewest
        moves first, machine.compaction) while the next one fits in the
        remaining ``cc_counts * cluster_max`` pages.  (The fragmentation
        index it computes is only printed: trace_printk.)  Sleeps
        ``compact_sleep_millisecs``."""
        c = self.p["compactd"]
        budget = c["cc_counts"] * c["cluster_max"]
        while True:
            moves = self.m.compaction_moves()
            if moves < 0 or moves > budget or self.m.compact("osa_hpage_compactd") < 0:
                break
            budget -= moves
            self.n["compactd_blocks"] += 1
        return c["compact_sleep_millisecs"] / 1000

    def threads(self):
        # the access scanner first: at equal wake times it runs before khugepaged
        return [t for t in (self.scand_thread, self.khugepaged_thread, self.compactd_thread)
                if t is not None]

    def counters(self):
        return {"khugepaged_collapsed": self.n["worklist_promoted"] + self.n["scan_promoted"],
                "khugepaged_alloc_failures": self.n["alloc_failures"],
                "ingens_worklist_added": self.n["worklist_added"],
                "ingens_worklist_promoted": self.n["worklist_promoted"],
                "ingens_worklist_dropped": self.n["worklist_dropped"],
                "ingens_scan_promoted": self.n["scan_promoted"],
                "ingens_fmfi_switches": self.n["fmfi_switches"],
                "ingens_compactd_blocks": self.n["compactd_blocks"],
                "population_triggers_rearmed": 0}   # column kept; the machine re-arms
