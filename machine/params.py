"""Machine parameters: read from the config's ``machine`` and ``pressure``
sections (units as named there), converted to cycles for the kernel.

Every default lives in ``config/config.yaml`` with its source; this module
holds no model constant of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpsim.units import GIB, HUGE_SIZE, cycles_from_us
from machine.constants import (P_ACCESS_CYCLES, P_COPY_4K, P_CPU_HZ, P_DRAM_LATENCY, P_FAST_PATH,
                               P_FAULT_BASE_2M,
                               P_FAULT_BASE_4K, P_FREE_2M, P_FREE_4K, P_HIST_BINS, P_L2_HIT,
                               P_MIGRATE_4K, P_PROMOTE_INPLACE,
                               P_TLB_L1H_SETS, P_TLB_L1H_WAYS, P_TLB_L1S_SETS, P_TLB_L1S_WAYS,
                               P_TLB_L2_SETS, P_TLB_L2_WAYS, P_WALK_2M, P_WALK_4K, P_ZERO_2M,
                               P_ZERO_4K, P_ZEROPAGE_FAULT, P_ZEROPAGE_ON_READ, HIST_BINS,
                               PAGES_PER_HUGE)


@dataclass
class MachineParams:
    memory_bytes: int
    cpu_hz: float
    tlb: dict
    costs: dict
    zero_page_on_read: bool
    fragmentation: float = 0.0
    tenant_fraction: float = 0.0
    movable_fragmentation: float = 0.0   # share of blocks with movable pages of another user
    movable_pages: int = 1               # movable pages in each such block

    @classmethod
    def from_config(cls, machine: dict, pressure: dict | None = None) -> "MachineParams":
        pressure = pressure or {}
        p = cls(memory_bytes=int(round(machine["memory_gib"] * GIB)) // HUGE_SIZE * HUGE_SIZE,
                cpu_hz=float(machine["cpu_ghz"]) * 1e9,
                tlb=machine["tlb"], costs=machine["costs"],
                zero_page_on_read=bool(machine["zero_page_on_read"]),
                fragmentation=float(pressure.get("fragmentation", 0.0)),
                tenant_fraction=float(pressure.get("tenant_fraction", 0.0)),
                movable_fragmentation=float(pressure.get("movable_fragmentation", 0.0)),
                movable_pages=int(pressure.get("movable_pages", 1)))
        p.validate()
        return p

    def validate(self) -> None:
        if self.memory_bytes < HUGE_SIZE:
            raise ValueError("machine.memory_gib must hold at least one 2 MiB block")
        for level in ("l1_4k", "l1_2m", "l2"):
            e, w = self.tlb[level]["entries"], self.tlb[level]["ways"]
            sets = e // w
            if e % w or sets & (sets - 1):
                raise ValueError(f"machine.tlb.{level}: entries/ways = {e}/{w} must be a power "
                                 "of two sets")
        if not 0 <= self.fragmentation <= 1 or not 0 <= self.tenant_fraction < 1:
            raise ValueError("pressure.fragmentation must be in [0, 1] and "
                             "pressure.tenant_fraction in [0, 1)")
        if not 0 <= self.movable_fragmentation <= 1 or not 1 <= self.movable_pages <= 511:
            raise ValueError("pressure.movable_fragmentation must be in [0, 1] and "
                             "pressure.movable_pages in [1, 511]")

    @property
    def n_blocks(self) -> int:
        return self.memory_bytes // HUGE_SIZE

    @property
    def tlb_geometry(self) -> tuple[int, ...]:
        out = []
        for level in ("l1_4k", "l1_2m", "l2"):
            e, w = self.tlb[level]["entries"], self.tlb[level]["ways"]
            out += [e // w, w]
        return tuple(out)

    def us(self, key: str) -> int:
        """A cost given in microseconds, in cycles."""
        return int(round(cycles_from_us(self.costs[key], self.cpu_hz)))

    def fill(self, P: np.ndarray) -> None:
        c = self.costs
        P[P_CPU_HZ] = int(self.cpu_hz)
        P[P_FAULT_BASE_4K] = self.us("fault_base_4k_us")
        P[P_FAULT_BASE_2M] = self.us("fault_base_2m_us")
        P[P_ZERO_4K] = self.us("zero_4k_us")
        # zeroing 2 MiB is 512 times zeroing 4 KiB (same bandwidth)
        P[P_ZERO_2M] = int(round(cycles_from_us(c["zero_4k_us"] * PAGES_PER_HUGE, self.cpu_hz)))
        P[P_ZEROPAGE_FAULT] = self.us("zeropage_fault_us")
        P[P_COPY_4K] = self.us("copy_4k_us")
        P[P_FREE_4K] = self.us("free_4k_us")
        P[P_FREE_2M] = self.us("free_2m_us")
        P[P_PROMOTE_INPLACE] = self.us("promote_inplace_us")
        P[P_MIGRATE_4K] = self.us("migrate_4k_us")
        P[P_WALK_4K] = int(c["walk_cycles_4k"])
        P[P_WALK_2M] = int(c["walk_cycles_2m"])
        P[P_L2_HIT] = int(c["l2_hit_cycles"])
        P[P_ACCESS_CYCLES] = int(c["access_cycles"])
        # an LLC miss's wait for DRAM, in cycles of this clock (80 ns at 2.3 GHz: 184)
        P[P_DRAM_LATENCY] = int(round(c["dram_latency_ns"] * 1e-9 * self.cpu_hz))
        P[P_ZEROPAGE_ON_READ] = int(self.zero_page_on_read)
        g = self.tlb_geometry
        (P[P_TLB_L1S_SETS], P[P_TLB_L1S_WAYS], P[P_TLB_L1H_SETS], P[P_TLB_L1H_WAYS],
         P[P_TLB_L2_SETS], P[P_TLB_L2_WAYS]) = g
        P[P_HIST_BINS] = HIST_BINS
        P[P_FAST_PATH] = 1     # same results either way (tests/test_fast_path.py)
