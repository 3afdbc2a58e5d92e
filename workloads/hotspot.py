"""Hotspot: a buffer whose hot data sits at high (or low) addresses.

The paper's fine-grained promotion argument (§2, "Within a process"): Linux
and Ingens promote in virtual-address order, which is unfair to programs whose
hot data lies at high addresses.  This workload makes that case explicit:
map ``size_gib``, write every page once (initialisation, in address order),
then make ``accesses`` random reads and writes of which ``hot_access_fraction``
go to the ``hot_fraction`` of pages at the ``hot_position`` end of the buffer
and the rest uniformly to the cold part.
"""
from __future__ import annotations

import numpy as np

from hpsim.units import GIB
from workloads.base import Workload, register
from workloads.trace import PAGE_SIZE


@register("hotspot")
class Hotspot(Workload):
    defaults = {
        "size_gib": 1.0,
        "hot_fraction": 0.1,          # share of pages that are hot
        "hot_access_fraction": 0.9,   # share of accesses that go to them
        "hot_position": "high",       # high | low end of the buffer
        "accesses": 20_000_000,
        "write_fraction": 0.3,
        "cycles_per_access": 20,      # a load or store plus loop overhead (estimate)
        "llc_misses_per_access": 0.0,   # data cost off unless configured (config.yaml)
        "base_addr": 0x7F0000000000,
        "chunk": 1 << 20,
    }

    def min_resident_bytes(self) -> int:
        """Every page is written once at initialisation and kept."""
        return int(self.params["size_gib"] * GIB) // PAGE_SIZE * PAGE_SIZE

    def generate(self, out):
        p = self.params
        n = int(p["size_gib"] * GIB) // PAGE_SIZE
        base = np.uint64(p["base_addr"])
        n_hot = max(1, int(round(p["hot_fraction"] * n)))
        hot0 = n - n_hot if p["hot_position"] == "high" else 0
        cold0 = 0 if p["hot_position"] == "high" else n_hot
        n_cold = n - n_hot
        rng = np.random.default_rng(self.seed)
        out.cycles(int(p["cycles_per_access"]), float(p["llc_misses_per_access"]))
        out.mmap(int(base), n * PAGE_SIZE)
        out.phase("init")
        step = int(p["chunk"])
        for s in range(0, n, step):
            out.access(base + np.arange(s, min(s + step, n), dtype=np.uint64)
                       * np.uint64(PAGE_SIZE), True)
            self.progress(min(s + step, n), n + int(p["accesses"]))
        out.phase("run")
        left = int(p["accesses"])
        while left:
            k = min(left, step)
            hot = rng.random(k) < p["hot_access_fraction"]
            page = np.where(hot, hot0 + rng.integers(0, n_hot, k),
                            cold0 + rng.integers(0, max(n_cold, 1), k))
            out.access(base + page.astype(np.uint64) * np.uint64(PAGE_SIZE),
                       rng.random(k) < p["write_fraction"])
            left -= k
            self.progress(n + int(p["accesses"]) - left, n + int(p["accesses"]))
        self.trailer_extra["hotspot"] = {"hot_first_page": int(hot0), "hot_pages": int(n_hot)}
