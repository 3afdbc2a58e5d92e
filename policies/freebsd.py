"""freebsd: reservation-based superpages (Navarro et al., OSDI'02; FreeBSD
``sys/vm/vm_reserv.c`` by Alan Cox and the amd64 ``pmap_promote_pde``).

Read side by side with hawkeye-facts.md §4.2 [FBSD]:

==========================================  ==========================================
FreeBSD / Navarro                            this model
==========================================  ==========================================
``vm_reserv_alloc_page``: first fault in a   ``fault_mode = FAULT_RESERVE``: the compiled
2 MiB-aligned extent that fits the object    fault path takes a wholly free 2 MiB block
reserves a physically contiguous order-9     as a reservation (``BLK_RESERVED``,
block; the faulting page is the frame at     ``blk_owner`` = region slot) when the region
the same offset; ``popcnt = 1``.             lies inside one VMA, and maps page *i* to
                                             frame *i* of it (``G_RESERVATIONS`` += 1).
Later faults in the extent use the           Later faults take their frame in the
reservation's frame (``popcnt++``).          reservation; no free block -> an ordinary
                                             4 KiB frame, as ``vm_phys_alloc_pages``.
Only the touched 4 KiB page is zeroed and    One 4 KiB fault (and zeroing) per page:
mapped; FreeBSD has no anonymous zero page.  ``zero_page_on_read = False``.
``pmap_enter`` promotes (``pmap_promote_``   ``population_trigger = 512``: when the
``pde``) when the page-table page is full    region's 512th private page is mapped,
and ``vm_reserv_level_iffullpop`` == 0       ``on_trigger`` promotes the reservation in
(popcnt == 512): promotion on full           place (``Machine.promote_region``: no copy,
population, so never any bloat.              only the PDE changes; ``G_RESV_PROMOTED``).
                                             The cost (``promote_inplace_us``) is paid by
                                             the faulting process (it runs inside its
                                             fault), i.e. added to its clock.
``partpopq``: partially populated            ``ph.blk_stamp`` is the last-change stamp of
reservations, LRU by last change             each block (updated by the machine on every
(populate/depopulate move to the tail).      frame taken from or returned to it).
When the page allocator fails,               ``on_memory_shortage`` breaks the partially
``vm_reserv_reclaim_inactive`` breaks the    populated reservation with the smallest stamp
head (least recently changed): its free      (``Machine.break_reservation``: free frames
pages go back, its used ones stay as 4 KiB.  go back, used ones stay; ``G_RESV_BROKEN``)
                                             and the fault is retried; none -> OOM.
A reservation whose popcnt drops to 0 is     Done by the machine when the last frame of a
freed whole.                                 reservation is freed.
Demotion on partial unmap / protection       The machine splits the huge mapping on a
change.                                      partial unmap; see "Limits" below.
==========================================  ==========================================

Option (config ``policies.freebsd``):

- ``pg_ps_enabled`` (default true, the amd64 sysctl ``vm.pmap.pg_ps_enabled``
  default): promote full reservations.  With false, reservations are still
  made and broken but nothing is ever mapped huge.

Limits of the model (machine behaviour, not policy choices):

- The machine's population trigger fires once per region and is never re-armed
  by the machine.  ``rearm_population_triggers`` re-arms it for regions whose
  population dropped below the trigger (madvise/munmap), at every Python hook
  this policy gets (mmap, munmap, trigger, memory shortage) when pages may
  have been unmapped since the last sweep (``TriggerRearm``).  A region emptied
  by ``MADV_DONTNEED`` and refilled with no such hook in between is not
  promoted again.
- A split (demoted) region loses its reservation in the machine (FreeBSD
  keeps it).  ``on_trigger`` promotes only when ``Machine.reservation_full``
  holds (all 512 frames are the region's own reservation) and counts the
  others in ``freebsd_not_promotable``.
"""
from __future__ import annotations

import numpy as np

from machine.constants import (BLK_RESERVED, C_CLOCK, C_MADVISED_PAGES, FAULT_RESERVE,
                               P_PROMOTE_INPLACE, PAGES_PER_HUGE)
from policies.base import Policy, register


def rearm_population_triggers(m, trigger: int) -> int:
    """Re-arm the population trigger of live 4 KiB-mapped regions whose
    private-page count fell below ``trigger`` since it fired (Ingens clears its
    ``committed`` bit on unmap, FreeBSD's popcnt just drops).  Vectorised over
    all region slots.  Returns how many were re-armed.  (Shared with ingens.)"""
    n = m.n_slots
    rg = m.rg
    pop = rg.mapped[:n].astype(np.int64) - rg.zpages[:n]
    s = np.flatnonzero((rg.trig[:n] != 0) & (rg.valid[:n] != 0) & (rg.huge[:n] == 0)
                       & (pop < trigger))
    rg.trig[s] = 0
    return len(s)


class TriggerRearm:
    """Calls ``rearm_population_triggers`` only when a region may have lost
    pages since the last sweep: after an munmap (``force``) or when some
    process's madvise(DONTNEED) page count changed."""

    def __init__(self, m, trigger: int):
        self.m = m
        self.trigger = trigger
        self.madvised = -1
        self.rearmed = 0

    def __call__(self, force: bool = False) -> None:
        madv = sum(int(p.C[C_MADVISED_PAGES]) for p in self.m.procs)
        if force or madv != self.madvised:
            self.madvised = madv
            self.rearmed += rearm_population_triggers(self.m, self.trigger)


@register("freebsd")
class FreeBSD(Policy):
    fault_mode = FAULT_RESERVE
    zero_page_on_read = False      # FreeBSD maps no shared zero page for anonymous memory
    population_trigger = PAGES_PER_HUGE
    defaults = {
        "pg_ps_enabled": True,     # amd64 sysctl vm.pmap.pg_ps_enabled default (1)
    }

    def validate(self):
        if not isinstance(self.p["pg_ps_enabled"], bool):
            raise ValueError("policies.freebsd.pg_ps_enabled must be true or false")

    def __init__(self, machine, params):
        super().__init__(machine, params)
        self.promoted = 0          # in-place promotions (pmap_promote_pde)
        self.reclaimed = 0         # reservations broken by vm_reserv_reclaim_inactive
        self.not_promotable = 0    # full regions whose frames are not one reservation
        self.rearm = TriggerRearm(machine, self.population_trigger)

    # --- promotion ----------------------------------------------------------
    def on_trigger(self, proc, slot, now_s):
        self.rearm()
        if not self.p["pg_ps_enabled"]:
            return
        if not self.m.reservation_full(slot):
            self.not_promotable += 1
            return
        self.m.promote_in_place(slot, "pmap_promote")
        self.promoted += 1
        proc.C[C_CLOCK] += int(self.m.P[P_PROMOTE_INPLACE])   # inside the fault

    # --- pressure -------------------------------------------------------------
    def lru_reservation(self) -> int:
        """Head of partpopq: the partially populated reservation changed least
        recently, or -1."""
        ph = self.m.ph
        cand = np.flatnonzero((ph.blk_state == BLK_RESERVED) & (ph.blk_used < PAGES_PER_HUGE))
        if len(cand) == 0:
            return -1
        return int(cand[np.argmin(ph.blk_stamp[cand])])

    def on_memory_shortage(self, proc, now_s):
        b = self.lru_reservation()
        if b < 0:
            return False
        self.m.break_reservation(int(self.m.ph.blk_owner[b]))
        self.reclaimed += 1
        self.rearm()
        return True

    # --- bookkeeping ------------------------------------------------------------
    def on_mmap(self, proc, vma):
        self.rearm()

    def on_munmap(self, proc, start, end):
        self.rearm(force=True)

    def counters(self):
        return {"freebsd_promoted": self.promoted,
                "freebsd_reclaimed": self.reclaimed,
                "freebsd_not_promotable": self.not_promotable,
                "population_triggers_rearmed": self.rearm.rearmed}
