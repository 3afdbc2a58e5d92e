"""freebsd: reservation-based superpages (Navarro et al., OSDI'02; FreeBSD
``sys/vm/vm_reserv.c`` by Alan Cox and the amd64 ``pmap_promote_pde``).

Read side by side with hawkeye-facts.md §4.2 [FBSD]:

==========================================  ==========================================
FreeBSD / Navarro                            this model
==========================================  ==========================================
``vm_reserv_alloc_page``: first fault in a   ``fault_mode = FAULT_RESERVE``: the compiled
2 MiB-aligned extent that fits the object    fault path takes a wholly free 2 MiB block
reserves a physically contiguous order-9     as the region's reservation when the
block; the faulting page is the frame at     region lies inside one VMA, and maps page
the same offset; ``popcnt = 1``.             *i* to frame *i* of it (counted in the
                                             summary's ``reservations``).
Later faults in the extent use the           Later faults take their frame in the
reservation's frame (``popcnt++``).          reservation; no free block -> an ordinary
                                             4 KiB frame, as ``vm_phys_alloc_pages``.
Only the touched 4 KiB page is zeroed and    One 4 KiB fault (and zeroing) per page:
mapped; FreeBSD has no anonymous zero page.  ``zero_page_on_read = False``.
``pmap_enter`` promotes (``pmap_promote_``   ``population_trigger = 512``: when the
``pde``) when the page-table page is full    region's 512th private page is mapped,
and ``vm_reserv_level_iffullpop`` == 0       ``on_trigger`` promotes the reservation in
(popcnt == 512): promotion on full           place (``Machine.promote_in_place``: no
population, so never any bloat.              copy, only the PDE changes; counted in
                                             ``reservations_promoted``).  The cost
                                             (``promote_inplace_us``) is paid by the
                                             faulting process (it runs inside its fault):
                                             ``Machine.charge_process`` adds it to its clock.
``partpopq``: partially populated            The machine stamps each block at every frame
reservations, LRU by last change             taken from or returned to it;
(populate/depopulate move to the tail).      ``Machine.partpopq_head`` is the partially
                                             populated reservation with the oldest stamp.
When the page allocator fails,               ``on_memory_shortage`` breaks that head
``vm_reserv_reclaim_inactive`` breaks the    (``Machine.break_reservation``: free frames
head (least recently changed): its free      go back, used ones stay; counted in
pages go back, its used ones stay as 4 KiB.  ``reservations_broken``) and the fault is
                                             retried; none -> OOM.
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

- The machine's population trigger fires once per region, when the 512th
  private page is mapped; the machine re-arms it whenever a page of the
  region is unmapped (munmap, madvise DONTNEED), so a region emptied and
  refilled is promoted again, as popcnt reaching 512 again would.  The
  summary column ``population_triggers_rearmed`` is kept (always 0) so the
  result tables keep their columns.
- A split (demoted) region loses its reservation in the machine (FreeBSD
  keeps it).  ``on_trigger`` promotes only when ``Machine.reservation_full``
  holds (all 512 frames are the region's own reservation) and counts the
  others in ``freebsd_not_promotable``.
"""
from __future__ import annotations

from machine.constants import FAULT_RESERVE, PAGES_PER_HUGE
from policies.base import Policy, register


@register("freebsd")
class FreeBSD(Policy):
    """Reservations at first fault, in-place promotion at full population,
    the least recently changed partial reservation broken under memory
    shortage (see the module docstring)."""
    fault_mode = FAULT_RESERVE
    # no compaction (defrag_fault stays False): FreeBSD 11 does not migrate pages to
    # rebuild a reservation; it only breaks reservations (vm_reserv_reclaim_inactive)
    zero_page_on_read = False      # FreeBSD maps no shared zero page for anonymous memory
    population_trigger = PAGES_PER_HUGE
    # options: config/config.yaml policies.freebsd, declared in config/schema.yaml

    def __init__(self, machine, params):
        super().__init__(machine, params)
        self.promoted = 0          # in-place promotions (pmap_promote_pde)
        self.reclaimed = 0         # reservations broken by vm_reserv_reclaim_inactive
        self.not_promotable = 0    # full regions whose frames are not one reservation

    # --- promotion ----------------------------------------------------------
    def on_trigger(self, proc, slot, now_s):
        """pmap_enter's promotion test: the 512th page of a region was mapped;
        promote when it is a full reservation (vm_reserv_level_iffullpop)."""
        if not self.p["pg_ps_enabled"]:
            return
        if not self.m.reservation_full(slot):
            self.not_promotable += 1
            return
        self.m.promote_in_place(slot, "pmap_promote", now_s,
                                reason="pmap_promote_pde: reservation fully populated")
        self.promoted += 1
        # inside the fault: the faulting process pays
        self.m.charge_process(proc, self.m.params.us("promote_inplace_us"))

    # --- pressure -------------------------------------------------------------
    def on_memory_shortage(self, proc, now_s):
        """vm_reserv_reclaim_inactive: break the head of partpopq and retry the
        fault; nothing to break -> out of memory."""
        slot = self.m.partpopq_head()
        if slot < 0:
            return False
        self.m.break_reservation(slot)
        self.reclaimed += 1
        return True

    # --- bookkeeping ------------------------------------------------------------
    def counters(self):
        return {"freebsd_promoted": self.promoted,
                "freebsd_reclaimed": self.reclaimed,
                "freebsd_not_promotable": self.not_promotable,
                "population_triggers_rearmed": 0}   # column kept; the machine re-arms
