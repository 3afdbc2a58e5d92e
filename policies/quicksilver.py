"""quicksilver: FreeBSD reservations with threshold-triggered all-at-once
preparation and proactive defragmentation (Zhu, Cox, Rixner, "A
Comprehensive Analysis of Superpage Management Mechanisms and Policies",
USENIX ATC'20; artifact ``rice-systems/quicksilver``: ``sys/vm/vm_reserv.c``,
``sys/vm/vm_fault.c``, ``System-configs/quicksilver/*-compact.sh``).

Built on ``policies.freebsd`` (subclass): the reservation at first fault,
the in-place promotion of a fully populated reservation and the break of
the least recently changed one under memory shortage are FreeBSD's, as in
Quicksilver's kernel, which is FreeBSD 11.2 with the changes below.

==========================================  ==========================================
Quicksilver (paper, artifact)                this model
==========================================  ==========================================
Aggressive physical allocation: a            Inherited: ``fault_mode = FAULT_RESERVE``.
reservation at first fault
(``vm_reserv_alloc_page``).
4 KiB at a time (zeroed one by one in the    The fault path's 4 KiB reservation faults.
fault) until the reservation's popcnt
reaches the threshold.
**sync** (``vm.enable_syncpromo=1``,         ``population_trigger = max(threshold, 1)``;
``vm_fault.c``): in the fault whose page     ``on_trigger``: ``Machine.fill_reservation``
makes ``popcnt >= sync_popthreshold``        maps every unmapped page onto its frame of
(``vm_reserv_satisfy_sync_promotion``),      the reservation (not touched: bloat until
``vm_page_alloc_contig(RESERVONLY)`` takes   the program uses it), ``promote_in_place``
every free page of the reservation,          maps the region huge; the fault's latency
``pmap_zero_pages_idle`` clears them         grows by (pages cleared x ``zero_4k_us`` +
(non-temporal bulk zeroing) and              ``promote_inplace_us``)
``pmap_enter(psind=1)`` maps 2 MiB.          (``Machine.extend_trigger_fault``: clock,
On failure the reservation is marked bad.    fault and zeroing cycles, histogram).
                                             Failure (no reservation of its own, region
                                             not inside one VMA) counted in
                                             ``qs_sync_failed``.
**async** (``vm.reserv.enable_prezero``):    Thread ``asyncpromo`` every ``wakeup_s``:
the ``asyncpromo`` kthread (idle priority)   the same scan (``Machine.partpopq``), then
wakes every second; ``vm_reserv_scan_``      zeroes the reservations one after another
``partpopq`` walks partpopq from its tail    at the machine's zeroing rate (``zero_4k_``
(most recently changed) and prepopulates     ``us`` per 4 KiB page: 10 GB/s, the cost a
(``vm_reserv_prepopulate``: allocates and    4 KiB fault pays, calibrated to paper
zeroes every free page with                  Table 1) and, when each is done, fills and
``pmap_zero_page_idle``) up to               promotes it in place (``promote_in_place``,
``pop_budget`` reservations with             charged to the thread).  The fault that
``popcnt >= pop_threshold`` that are not     crossed the threshold paid only its 4 KiB
marked bad.                                  cost.
The superpage mapping is made by the next    Code vs model: promoted when the thread is
soft fault in the region                     done (the artifact README: "all-at-once
(``vm_fault_soft_fast`` finds the full       upon threshold (Sync or Async)"); a region
reservation).                                the program never faults again stays 4 KiB
                                             in the code, huge here.
Proactive defragmentation                    Same thread, every pass (all variants):
(``vm.reserv.enable_compact=1``,             partpopq from the head while ``work <``
``vm_reserv_evict_inactive``): walk          ``migrate_budget`` and the reservation is
partpopq from its head (least recently       inactive: ``Machine.evict_reservation``
changed) while ``work < migrate_budget``     migrates its used pages into free frames of
and ``ticks - rv->timestamp >                other partly used blocks
inactive_thre``; ``vm_page_reclaim_run``     (``machine.compaction.migrate_block``: PTEs,
migrates each used page away, the            accessed bits, TLB shootdowns) and frees
reservation's 2 MiB becomes free;            the block; ``migrate_4k_us`` per page to the
``work += popcnt``; stop at the first        thread.  The timestamp is the machine's
active one (the queue is ordered by          change stamp (``change_stamp``), mapped to
time).                                       time by the stamps read at each pass: a
                                             reservation counts as inactive once its last
                                             change precedes a pass older than
                                             ``inactive_thre_ms`` (one pass of slack).
==========================================  ==========================================

Paper, README and code differ in places; the model follows the code:

- "inactive" (README: "reclaim inactive physical superpages"): in the code
  a reservation's ``timestamp`` changes only when a page is populated or
  depopulated (``vm_reserv_populate``/``_depopulate``), not when it is
  accessed; so here too.
- The README lists non-temporal bulk zeroing for *synchronous* preparation;
  the async thread uses ``pmap_zero_page_idle`` (also non-temporal) page by
  page.  Both cost ``zero_4k_us`` per page here (no source gives a bulk
  rate) and, being non-temporal, leave no page cache-hot (the machine's
  only cache model is the page a fault has just cleared,
  ``machine.fault.cleared``, which they do not set).
- The artifact sets both thresholds in every script; only the one its
  ``enable_*`` switch turns on acts (sync-64 sets ``pop_threshold=63`` with
  ``enable_prezero=0``): ``variants`` keeps only the one that acts.

Options (config ``policies.quicksilver``; sources in ``config/schema.yaml``):
``variant`` (``sync-0``, ``sync-64``, ``async-64``, ``async-256``) picks
``preparation`` and ``pop_threshold`` from ``variants``; ``wakeup_s``,
``pop_budget``, ``enable_compact``, ``inactive_thre_ms``,
``migrate_budget``, ``pg_ps_enabled`` (FreeBSD's).

Limits of the model:

- Eviction needs free frames in other partly used blocks (compaction's
  targets); FreeBSD's ``vm_page_reclaim_run`` takes its new pages from the
  buddy allocator and may split a free 2 MiB block.  On an unfragmented
  machine an eviction here can fail (``qs_evict_failed``) where the kernel's
  would succeed.
- The sync trigger fires once per region (re-armed when a page is
  unmapped), as FreeBSD's; a failed sync preparation is not retried, as the
  code marks the reservation bad.
- ``migrate_budget`` is pages per pass and is not scaled in miniatures
  (``wakeup_s`` and ``inactive_thre_ms`` are, as sampling periods).
"""
from __future__ import annotations

import bisect

from machine.constants import PAGES_PER_HUGE
from policies.base import KernelThread, register
from policies.freebsd import FreeBSD


@register("quicksilver")
class Quicksilver(FreeBSD):
    """FreeBSD reservations + threshold preparation (sync or async) +
    eviction of inactive reservations (see the module docstring)."""

    THREAD = "asyncpromo"     # vm_reserv.c's kthread (prepopulation and eviction)
    FAULT = "pmap_promote"    # in-fault promotion work, as FreeBSD's

    def __init__(self, machine, params):
        super().__init__(machine, params)
        v = self.p["variants"][self.p["variant"]]
        self.sync = v["preparation"] == "sync"
        self.threshold = int(v["pop_threshold"])
        # sync: the fault that brings popcnt to the threshold prepares; async:
        # only FreeBSD's promotion at full population happens in the fault
        self.population_trigger = max(self.threshold, 1) if self.sync else PAGES_PER_HUGE
        self.period_s = float(self.p["wakeup_s"])
        self.inactive_s = float(self.p["inactive_thre_ms"]) / 1000
        self.pending: list[tuple[float, int, int]] = []   # (done at, slot, block) being zeroed
        self.busy_until = 0.0                             # the thread zeroes one at a time
        self.next_scan_s = self.period_s
        self.bad: set[tuple[int, int]] = set()            # RV_BADBOY: (slot, block)
        # (time, change stamp) read at each pass: maps a stamp to "changed before t"
        self.stamp_times = [0.0]
        self.stamps = [machine.change_stamp()]
        self.n = dict.fromkeys(("qs_sync_promoted", "qs_sync_failed", "qs_async_queued",
                                "qs_async_promoted", "qs_async_failed", "qs_evicted",
                                "qs_evict_failed", "qs_evict_migrated",
                                "qs_prepared_pages"), 0)

    # --- sync: in the fault ---------------------------------------------------
    def on_trigger(self, proc, slot, now_s):
        """vm_fault's sync promotion when popcnt reaches the threshold; FreeBSD's
        promotion at full population otherwise (async variants, and a
        sync threshold of 512)."""
        if not self.sync or not self.p["pg_ps_enabled"]:
            return super().on_trigger(proc, slot, now_s)
        filled, cleared = self.m.fill_reservation(slot)
        if filled < 0 or not self.m.reservation_full(slot):
            self.n["qs_sync_failed"] += 1    # syncpromo_failed: vm_reserv_mark_bad
            return
        self.m.promote_in_place(slot, self.FAULT, now_s,
                                reason=f"quicksilver sync: popcnt reached {self.threshold}")
        zero = cleared * self.m.params.us("zero_4k_us")
        # pmap_zero_pages_idle + pmap_enter(psind=1), inside the fault
        self.m.extend_trigger_fault(proc, zero + self.m.params.us("promote_inplace_us"), zero)
        self.promoted += 1
        self.n["qs_sync_promoted"] += 1
        self.n["qs_prepared_pages"] += filled

    # --- the asyncpromo thread ----------------------------------------------------
    def threads(self):
        return [KernelThread(self.THREAD, self.work, self.next_scan_s)]

    def work(self, now_s: float) -> float:
        """One wake-up: finish the prepopulations whose zeroing is done, and
        at the period a pass (vm_reserv_asyncpromo: scan, then evict).
        Returns the sleep until the next zeroing ends or the next pass."""
        eps = 1e-9
        while self.pending and self.pending[0][0] <= now_s + eps:
            _, slot, blk = self.pending.pop(0)
            self._finish_prepopulate(slot, blk, now_s)
        if now_s + eps >= self.next_scan_s:
            self.stamp_times.append(now_s)
            self.stamps.append(self.m.change_stamp())
            if not self.sync and self.p["pg_ps_enabled"]:
                self.scan_partpopq(now_s)
            if self.p["enable_compact"]:
                self.evict_inactive(now_s)
            self.next_scan_s = now_s + self.period_s
        nxt = min([self.next_scan_s] + [p[0] for p in self.pending])
        return max(nxt - now_s, 1e-6)

    def scan_partpopq(self, now_s: float) -> None:
        """vm_reserv_scan_partpopq: from the tail (most recently changed),
        queue up to pop_budget reservations with popcnt >= pop_threshold that
        are not marked bad; each is zeroed after the ones before it."""
        slots, _ = self.m.partpopq()
        queued = {p[1] for p in self.pending}
        budget = int(self.p["pop_budget"])
        t = max(now_s, self.busy_until)
        zero_s = self.m.params.costs["zero_4k_us"] * 1e-6
        n = 0
        for slot in slots[::-1]:
            slot = int(slot)
            if n >= budget:
                break
            blk = self.m.reservation_block(slot)
            pop = self.m.populated(slot)
            if slot in queued or (slot, blk) in self.bad or pop < self.threshold:
                continue
            t += (PAGES_PER_HUGE - pop) * zero_s
            self.pending.append((t, slot, blk))
            n += 1
        self.busy_until = t
        self.n["qs_async_queued"] += n

    def _finish_prepopulate(self, slot: int, blk: int, now_s: float) -> None:
        """vm_reserv_prepopulate done: the reservation is full; promote it."""
        if self.m.reservation_block(slot) != blk:
            return                           # pop_broken: freed or broken meanwhile
        filled, cleared = self.m.fill_reservation(slot)
        if filled < 0 or not self.m.reservation_full(slot):
            self.bad.add((slot, blk))        # pop_fail: RV_BADBOY
            self.n["qs_async_failed"] += 1
            return
        self.m.charge_us(self.THREAD, cleared * self.m.params.costs["zero_4k_us"])
        self.m.promote_in_place(slot, self.THREAD, now_s,
                                reason=f"quicksilver async: popcnt >= {self.threshold}")
        self.promoted += 1
        self.n["qs_async_promoted"] += 1
        self.n["qs_prepared_pages"] += filled

    def _changed_before(self, now_s: float) -> int:
        """The change stamp read at the last pass at least inactive_thre
        before now (-1 if none): a reservation whose stamp is not above it
        has not changed for longer than the threshold."""
        k = bisect.bisect_left(self.stamp_times, now_s - self.inactive_s) - 1
        if self.inactive_s == 0:
            k = len(self.stamp_times) - 1
        return self.stamps[k] if k >= 0 else -1

    def evict_inactive(self, now_s: float) -> None:
        """vm_reserv_evict_inactive: from the head of partpopq (least recently
        changed), evict reservations inactive for inactive_thre while the
        pages migrated stay under migrate_budget; stop at the first active one."""
        slots, stamps = self.m.partpopq()
        limit = self._changed_before(now_s)
        work = 0
        for slot, stamp in zip(slots, stamps):
            if work >= self.p["migrate_budget"] or stamp > limit:
                break
            slot = int(slot)
            pop = self.m.populated(slot)
            moved = self.m.evict_reservation(slot, self.THREAD)
            work += pop
            if moved < 0:
                self.n["qs_evict_failed"] += 1
            else:
                self.n["qs_evicted"] += 1
                self.n["qs_evict_migrated"] += moved

    # --- bookkeeping ---------------------------------------------------------------
    def counters(self):
        return {**super().counters(), **self.n}
