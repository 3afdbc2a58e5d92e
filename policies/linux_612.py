"""linux-6.12: Linux THP as in Linux 6.12, with the THP shrinker.

Linux 6.12 merged "mm: split underused THPs" (Usama Arif, Meta; with Yu
Zhao's "remap unused subpages to shared zeropage when splitting isolated
thp"): every THP mapped at fault or by a khugepaged collapse goes on the
deferred split list; under memory pressure the list's shrinker
(``deferred_split_scan``, a shrinker run by kswapd and by direct reclaim)
splits each THP whose zero-filled sub-pages exceed
``khugepaged/max_ptes_none``, and the split maps every zero-filled sub-page
to the shared zero page, freeing its frame.

Defaults, as a 6.12 kernel built with ``CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS``
(the Kconfig default; several distributions build ``madvise`` instead, which
no trace here asks for: as ``never``):

- ``enabled=always``: a huge page at fault (``fault_huge``), the huge zero
  page on a read fault (``use_zero_page`` 1).
- ``defrag=madvise`` (default since 4.6): a huge fault outside
  MADV_HUGEPAGE areas neither compacts nor reclaims (GFP_TRANSHUGE_LIGHT);
  it falls back to 4 KiB at once.
- khugepaged as linux-thp (``policies.linux_thp``: 10 s, 4096 PTEs, 60 s
  after a failed allocation, ``khugepaged/defrag`` 1, the same collapse
  test), with ``max_ptes_none`` = 409, the setting the series was measured
  with (cover letter: 80 % of 512; Meta's production test).  With the kernel
  default 511 ``thp_underused`` returns false at once and the shrinker never
  splits an underused THP (switch: set ``khugepaged.max_ptes_none`` 511).
- ``shrink_underused`` 1 (sysfs, default): THPs are queued.

==========================================  ==========================================
Linux 6.12 (mm/huge_memory.c, mm/vmscan.c)   here
==========================================  ==========================================
``deferred_split_folio(folio, false)`` in    ``Machine.huge_pages_by_age()``: every 2 MiB
``__do_huge_pmd_anonymous_page`` and         page, oldest first (its block's allocation
``collapse_huge_page``: list_add_tail        stamp); ``ThpShrinker.dropped``: ids of
                                             those taken off the list
kswapd woken when free pages fall below      ``kswapd`` thread, woken at the scheduling
the low watermark; balance_pgdat reclaims    step where free memory is below
(shrink_slab included) until the high        ``watermark_low_pct``, shrinks until
watermark                                    ``watermark_high_pct`` or the list ends
direct reclaim (__alloc_pages_direct_        ``on_memory_shortage``: shrink until
reclaim -> shrink_slab) when an allocation   SWAP_CLUSTER_MAX (``direct_reclaim_pages``)
fails                                        pages are freed; the faulting process pays
``deferred_split_scan``: from the list       ``ThpShrinker.shrink``: the same walk; the
head, a THP not underused is removed         whole list when the goal is not reached
(``list_del_init``), an underused one split (kswapd lowers its priority until it has
                                             scanned every object)
``thp_underused``: false at once if          ``thp_underused(mask, max_ptes_none)``:
max_ptes_none == 511; memchr_inv each        the same early exits on the region's
sub-page in order, true once zero pages >    zero sub-pages (``zero_subpage_mask``)
max_ptes_none, false once filled >= 512 -
max_ptes_none
``split_folio`` -> ``__split_huge_page``     ``release_zero_pages(..., to_zero_page=
-> ``remap_page(RMP_USE_SHARED_ZEROPAGE)``   True)``: every zero-filled sub-page onto the
``try_to_map_unused_to_zeropage``            zero page, its frame freed
vmstat ``thp_underused_split_page``          counter ``thp_underused_split_page``
==========================================  ==========================================

Costs (CPU of kswapd, or the faulting process's clock in direct reclaim):
the bytes ``thp_underused`` reads (a zero sub-page whole, a filled one up to
its first non-zero byte: ``policies.hawkeye.bloat_recovery.scan_bytes``) at
``scan_gb_per_s``, and for a split the remap's second read of all 512
sub-pages, ``split_us`` and the machine's ``free_4k_us`` per page freed.

Where kernel versions differ, and what is not modelled:

- A write to the huge zero page: since Linux 5.8 do_huge_pmd_wp_page splits
  the zero PMD and copies one 4 KiB page; the machine allocates a 2 MiB page
  when one is free (Linux 4.3, as linux-thp).
- A THP unmapped in part (munmap, MADV_DONTNEED) is split by the machine at
  once and its unmapped frames freed (Linux 4.3); Linux 6.12 only splits the
  PMD, queues the folio as partially mapped and frees those frames when the
  shrinker splits it under pressure.
- The shrinker's batch size (nr_to_scan from the object count and reclaim
  priority) and kswapd's back-off after failures are not modelled; kswapd
  tests the high watermark after every split (balance_pgdat: after each
  priority's pass).
- Direct reclaim starts when no frame is free; the kernel enters it below
  the min watermark (0.067% of the 96 GiB machine), a few MiB earlier.
- David Hildenbrand's 2025 proposal to drop the 511 early exit of
  thp_underused is not in 6.12 (nor in the kernels checked up to 6.18).
"""
from __future__ import annotations

import math

import numpy as np

from hpsim.units import PAGES_PER_HUGE
from policies.base import KernelThread, register
from policies.hawkeye.bloat_recovery import cycle_costs, scan_bytes
from policies.linux_thp import LinuxTHP


def thp_underused(zero_mask: np.ndarray, max_ptes_none: int) -> tuple[bool, int, int]:
    """Linux 6.12 ``thp_underused`` on one THP: ``zero_mask`` (bool, 512, page
    order) says which sub-pages are zero-filled.  Scans in order and stops
    as soon as more than ``max_ptes_none`` are zero (underused) or at least
    512 - ``max_ptes_none`` are filled (used); ``max_ptes_none`` = 511 means
    not underused without a scan.  Returns (underused, zero pages read,
    filled pages read)."""
    if max_ptes_none == PAGES_PER_HUGE - 1:
        return False, 0, 0
    zeros = np.cumsum(zero_mask)
    filled = np.arange(1, PAGES_PER_HUGE + 1) - zeros
    stop = np.flatnonzero((zeros > max_ptes_none) | (filled >= PAGES_PER_HUGE - max_ptes_none))
    k = int(stop[0]) if len(stop) else PAGES_PER_HUGE - 1
    z = int(zeros[k])
    return z > max_ptes_none, z, k + 1 - z


class ThpShrinker:
    """The deferred split list and its shrinker (``deferred_split_scan``), run
    by kswapd below the low watermark and by direct reclaim."""

    def __init__(self, machine, cfg: dict, max_ptes_none: int):
        """``cfg``: the policy's ``shrinker`` options; ``max_ptes_none``: the
        khugepaged threshold thp_underused reads."""
        self.m = machine
        self.cfg = cfg
        self.max_ptes_none = max_ptes_none
        self.dropped: set[int] = set()   # ids of THPs taken off the list as used
        self.examined = 0                # THPs thp_underused looked at
        self.split = 0                   # vmstat thp_underused_split_page
        self.pages_released = 0
        self.bytes_scanned = 0.0
        self.kswapd_runs = 0
        self.direct_reclaims = 0

    def shrink(self, now_s: float, done) -> tuple[int, float]:
        """Walk the list from its head: each THP is taken off it, split when
        underused (its zero sub-pages remapped to the zero page), until
        ``done(pages released so far)`` or the list ends.  Returns (pages
        released, cycles spent)."""
        m, c = self.m, self.cfg
        cyc_per_byte, split_cyc, free_cyc = cycle_costs(m, c["scan_gb_per_s"], c["split_us"])
        nsb = c["nonzero_scan_bytes"]
        released, cycles = 0, 0.0
        slots, ids = m.huge_pages_by_age()
        for s, i in zip(slots.tolist(), ids.tolist()):
            if done(released):
                break
            if i in self.dropped:
                continue
            self.examined += 1
            mask = m.zero_subpage_mask(s)
            underused, z, f = thp_underused(mask, self.max_ptes_none)
            scanned = scan_bytes(z, f, nsb)
            if not underused:
                self.dropped.add(i)        # list_del_init: considered used for good
            else:
                rel, _, _ = m.release_zero_pages(s, PAGES_PER_HUGE, now_s,
                                                 "thp_shrinker: underused", to_zero_page=True)
                # the remap reads every sub-page again (try_to_map_unused_to_zeropage)
                scanned += scan_bytes(rel, PAGES_PER_HUGE - rel, nsb)
                cycles += split_cyc + rel * free_cyc
                released += rel
                self.split += 1
            self.bytes_scanned += scanned
            cycles += scanned * cyc_per_byte
        self.pages_released += released
        return released, cycles

    # --- kswapd -----------------------------------------------------------------
    def low_frames(self) -> int:
        """The low watermark in free 4 KiB frames (``watermark_low_pct``)."""
        return self.m.watermark_frames(self.cfg["watermark_low_pct"])

    def below_low(self) -> bool:
        """Free memory is below the low watermark (wakeup_kswapd)."""
        return self.m.free_frames < self.low_frames()

    def kswapd(self, now_s: float) -> float:
        """One kswapd wake-up: shrink until free memory reaches the high
        watermark (balance_pgdat), charged to the thread; then sleep until
        woken again."""
        self.kswapd_runs += 1
        high = self.m.watermark_frames(self.cfg["watermark_high_pct"])
        _, cycles = self.shrink(now_s, lambda rel: self.m.free_frames >= high)
        self.m.charge("kswapd", int(cycles))
        return math.inf

    def direct_reclaim(self, pr, now_s: float) -> bool:
        """A fault found no free frame: shrink until ``direct_reclaim_pages``
        are freed, in the faulting process's time.  True if any page was freed."""
        self.direct_reclaims += 1
        goal = self.cfg["direct_reclaim_pages"]
        released, cycles = self.shrink(now_s, lambda rel: rel >= goal)
        self.m.charge_process(pr, int(cycles))
        return released > 0


@register("linux-6.12")
class Linux612(LinuxTHP):
    """Linux THP with 6.12's defaults and the THP shrinker (module docstring);
    fault path and khugepaged are linux-thp's."""

    def __init__(self, machine, params):
        super().__init__(machine, params)
        s = self.p["shrinker"]
        self.shrinker = ThpShrinker(machine, s, self.p["khugepaged"]["max_ptes_none"])

    def validate(self) -> None:
        s = self.p["shrinker"]
        if s["watermark_high_pct"] < s["watermark_low_pct"]:
            raise ValueError(f"policies.{self.name}.shrinker.watermark_high_pct "
                             "must be >= watermark_low_pct")

    def on_memory_shortage(self, proc, now_s: float) -> bool:
        if not self.p["shrinker"]["shrink_underused"]:
            return False
        return self.shrinker.direct_reclaim(proc, now_s)

    def threads(self):
        out = super().threads()
        if self.p["shrinker"]["shrink_underused"]:
            out.append(KernelThread("kswapd", self.shrinker.kswapd, math.inf,
                                    self.shrinker.below_low, self.shrinker.low_frames))
        return out

    def counters(self):
        s = self.shrinker
        return {**super().counters(), "thp_shrinker_examined": s.examined,
                "thp_underused_split_page": s.split,
                "thp_shrinker_pages_released": s.pages_released,
                "kswapd_runs": s.kswapd_runs, "direct_reclaims": s.direct_reclaims}
