"""HawkEye's access_map and the kbinmanager thread that keeps it.

Paper (hawkeye-facts.md §3.1): per process, 10 buckets indexed by access
coverage (how many of a region's 512 base pages were accessed in a sample
window); bucket i holds coverage 50i..50i+49, bucket 9 holds 450..512.
Every 30 s the accessed bits are cleared, 1 s later the set bits are
counted; coverage is smoothed with an exponential moving average; a region
whose bucket changes goes to the head of its new bucket.

Public code (§3.2, mm/ohp.c, all switches below):

- ``buckets: code``: bin = order_base_2(weight) (ceil log2, 0 for 0 and 1),
  bins 0..9 reachable.
- EMA ``w = (6 w + 4 new) / 10`` in integers, capped at 512 (alpha 0.4); the
  paper gives no weight, so ``ema_alpha`` defaults to the code's 0.4.
- ``sampling: code``: kbinmanager takes the registered processes one after
  the other (clear, 1 s window, count), then sleeps max(5 s, ...) — model 5 s
  (``busy_msecs`` is uninitialised in the code).

Candidates are registered at their first 4 KiB fault (``ohp_enter`` from the
fault path, appended to the tail of bin 0) and leave when promoted, when
found invalid (unmapped, already huge, no longer inside one VMA), or when
their process exits.

Order inside a bucket (``bin_order``, a paper-vs-code switch):

- ``paper`` [K-SUM: "head first (most recently inserted or accessed)"]: a
  sample visits the regions in list order (highest bucket first, head to
  tail); the regions that change bucket are inserted at the head of their
  new bucket, keeping the visiting order among themselves; regions whose
  bucket is unchanged keep their place.
- ``code`` (``ohp_adjust_mm_bins``): every scanned region is ``list_move``d
  to the head of its (new or same) bucket, one after the other, so
  afterwards each bucket holds its regions in reverse scan order: the head
  is the region scanned last.

A region the promotion thread takes and puts back (``ohp_putback_kaddr``)
goes to the tail of bin 0 and keeps its weight, so the next sample re-bins
it from that weight.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from hpsim.units import PAGES_PER_HUGE
from policies.khugepaged import charge_scan

N_BUCKETS = 10          # paper: 10 buckets; code: MAX_BINS 12 but only 0..9 reachable
BUCKET_WIDTH = 50       # paper: bucket i = coverage [50i, 50i + 49]
WEIGHT_CAP = PAGES_PER_HUGE


def bucket_of(weight: int, shape: str) -> int:
    """Bucket index of a smoothed coverage weight (0..512)."""
    if shape == "paper":
        return min(weight // BUCKET_WIDTH, N_BUCKETS - 1)
    # code: order_base_2(weight) = ceil(log2(weight)), 0 for weight <= 1
    return min(0 if weight <= 1 else (weight - 1).bit_length(), N_BUCKETS - 1)


def pending_min_bucket(shape: str) -> int:
    """Lowest bucket whose regions count as 'pending' for HawkEye-PMU.

    code: pending = regions in bins 2..11, i.e. EMA weight >= 3;
    paper: not stated; we count the non-zero buckets (coverage >= 50)."""
    return 1 if shape == "paper" else 2


def ema(old: int, new: int, alpha_milli: int) -> int:
    """Integer EMA, exactly the code's (6 w + 4 new) / 10 when alpha = 0.4."""
    return min((old * (1000 - alpha_milli) + new * alpha_milli) // 1000, WEIGHT_CAP)


class AccessMap:
    """One process's access_map (``init_mm_ohp_bins``): N_BUCKETS ordered
    lists of region slots (head = first), with each region's smoothed weight."""

    def __init__(self, pid: int):
        self.pid = pid
        self.buckets: list[OrderedDict] = [OrderedDict() for _ in range(N_BUCKETS)]
        self.weight: dict[int, int] = {}     # slot -> EMA weight
        self.where: dict[int, int] = {}      # slot -> bucket
        self.by_region: dict[int, int] = {}  # region index (vaddr >> HUGE_SHIFT) -> slot
        self.region_of: dict[int, int] = {}  # slot -> region index
        self.taken: dict[int, int] = {}      # slot -> weight of a region popped, not yet put back

    def __len__(self) -> int:
        return len(self.where)

    def __contains__(self, slot: int) -> bool:
        return slot in self.where

    def add(self, slot: int, region: int) -> None:
        """add_ohp_bin: a new candidate goes to the tail of bin 0, weight 0."""
        if slot in self.where:
            return
        self.buckets[0][slot] = None
        self.weight[slot] = 0
        self.where[slot] = 0
        self.by_region[region] = slot
        self.region_of[slot] = region

    def remove(self, slot: int) -> None:
        """remove_ohp_bins for one region: it leaves the access_map."""
        b = self.where.pop(slot, None)
        if b is None:
            return
        del self.buckets[b][slot]
        del self.weight[slot]
        del self.by_region[self.region_of.pop(slot)]

    def pop_head(self, b: int) -> int:
        """Take the head of bucket b (get_ohp_mm_addr / get_ohp_global_kaddr);
        its weight is held (the kaddr) until ``putback`` or ``drop_taken``."""
        slot = next(iter(self.buckets[b]))
        w = self.weight[slot]
        self.remove(slot)
        self.taken[slot] = w
        return slot

    def putback(self, slot: int, region: int) -> None:
        """ohp_putback_kaddr: a taken region goes back to the tail of bin 0
        with the weight it had (the code's kaddr keeps ``weight``)."""
        w = self.taken.pop(slot, 0)
        self.add(slot, region)
        self.weight[slot] = w

    def drop_taken(self, slot: int) -> None:
        """A taken region was promoted (kfree(kaddr))."""
        self.taken.pop(slot, None)

    def highest(self, lowest: int = 0) -> int:
        """Highest non-empty bucket >= lowest, or -1."""
        for b in range(N_BUCKETS - 1, lowest - 1, -1):
            if self.buckets[b]:
                return b
        return -1

    def count_from(self, lowest: int) -> int:
        """Regions in buckets >= lowest (ohp_mm_pending_promotions)."""
        return sum(len(self.buckets[b]) for b in range(lowest, N_BUCKETS))

    def list_order(self) -> list[int]:
        """All slots, highest bucket first, each bucket head to tail."""
        return [s for b in range(N_BUCKETS - 1, -1, -1) for s in self.buckets[b]]

    def update(self, slots: list[int], counts: np.ndarray, shape: str, alpha_milli: int,
               order: str = "paper") -> int:
        """ohp_adjust_mm_bins: fold one sample (accessed pages per slot, in
        visiting order) into the EMA (update_kaddr_weight) and re-bin, the
        order inside a bucket as ``order`` says (module docstring).
        Returns how many regions changed bucket."""
        moved: dict[int, list[int]] = {}
        changed = 0
        for s, c in zip(slots, counts.tolist()):
            if s not in self.where:
                continue
            w = ema(self.weight[s], int(c), alpha_milli)
            self.weight[s] = w
            nb = bucket_of(w, shape)
            ob = self.where[s]
            changed += nb != ob
            if order == "code":          # list_move: to the head, one after the other
                del self.buckets[ob][s]
                self.where[s] = nb
                self.buckets[nb][s] = None
                self.buckets[nb].move_to_end(s, last=False)
            elif nb != ob:
                del self.buckets[ob][s]
                self.where[s] = nb
                moved.setdefault(nb, []).append(s)
        for nb, lst in moved.items():
            d = self.buckets[nb]
            for s in reversed(lst):
                d[s] = None
                d.move_to_end(s, last=False)
        return changed


class KBinManager:
    """The sampling thread (``kbinmanager`` / ``kbinmanager_do_scan``).  Each window is two wake-ups: clear the accessed
    bits of the candidates at t, count them at t + window_s.

    ``sampling == "paper"``: every ``period_s`` all processes are sampled in
    the same window.  ``sampling == "code"``: the processes are sampled one
    after the other, each in its own window, then the thread sleeps
    ``code_sleep_s``.
    """

    def __init__(self, machine, maps: dict[int, AccessMap], mm_order, cfg: dict):
        self.m = machine
        self.maps = maps
        self.mm_order = mm_order          # callable: pids in the policy's list order
        self.sampling = cfg["sampling"]
        self.period_s = float(cfg["period_s"])
        self.window_s = float(cfg["window_s"])
        self.code_sleep_s = float(cfg["code_sleep_s"])
        self.shape = cfg["buckets"]
        self.bin_order = cfg["bin_order"]
        self.alpha_milli = int(round(cfg["ema_alpha"] * 1000))
        self.ns_per_pte = float(cfg["scan_cost_ns_per_pte"])
        self.counting = False             # paper mode: the bits were cleared, count next
        self.in_window: int | None = None  # code mode: the pid whose window is open
        self.round: list[int] | None = None  # code mode: pids still to sample this round
        self.samples = 0                  # windows completed (per process)
        self.regions_moved = 0

    def _valid_slots(self, am: AccessMap) -> list[int]:
        """Drop candidates that became invalid; return the rest in list order."""
        order = am.list_order()
        if not order:
            return order
        a = np.asarray(order, np.int64)
        bad = ~self.m.base_mask(a)
        for s in a[bad].tolist():
            am.remove(s)
        return a[~bad].tolist() if bad.any() else order

    def _charge(self, n_regions: int) -> None:
        """CPU time of reading (or clearing) the PTEs of ``n_regions`` regions."""
        charge_scan(self.m, "kbinmanager", n_regions, self.ns_per_pte)

    def _candidates(self, pids: list[int]):
        """(access map, its valid candidate slots) of each process that has a map."""
        for pid in pids:
            am = self.maps.get(pid)
            if am is not None:
                yield am, self._valid_slots(am)

    def clear(self, pids: list[int]) -> None:
        """ohp_clear_pte_accessed_mm for each process: clear the accessed bits
        of its candidates."""
        n = 0
        for _, slots in self._candidates(pids):
            self.m.clear_accessed(slots)
            n += len(slots)
        self._charge(n)

    def count(self, pids: list[int]) -> None:
        """ohp_nr_accessed + ohp_adjust_mm_bins for each process: count the
        accessed bits of its candidates and re-bin them."""
        n = 0
        for am, slots in self._candidates(pids):
            if slots:
                counts = self.m.accessed_counts(slots)
                self.regions_moved += am.update(slots, counts, self.shape, self.alpha_milli,
                                                self.bin_order)
            n += len(slots)
            self.samples += 1
        self._charge(n)

    def _running(self) -> list[int]:
        return [p for p in self.mm_order() if self.m.procs[p].running]

    def work(self, now_s: float) -> float:
        """One wake-up of the kbinmanager loop; returns the seconds to sleep."""
        if self.sampling == "paper":
            # all processes share the window; a process (or region) that
            # appeared after the clear is counted too: its bits were set by
            # its faults and accesses since
            if self.counting:
                self.counting = False
                self.count(self._running())
                return self.period_s - self.window_s
            self.clear(self._running())
            self.counting = True
            return self.window_s
        # code: one process per window, the processes in list order, then a sleep
        if self.in_window is not None:
            self.count([self.in_window])
            self.in_window = None
        if self.round is None:
            self.round = list(self.mm_order())
        while self.round:
            pid = self.round.pop(0)
            if self.m.procs[pid].running:
                self.clear([pid])
                self.in_window = pid
                return self.window_s
        self.round = None
        return self.code_sleep_s
