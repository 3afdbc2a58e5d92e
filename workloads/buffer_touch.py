"""Buffer touch: the paper's Table 1 microbenchmark.

map a buffer, write one byte in every 4 KiB page, then free it
(``ftrace-pgfault-latency-tracker/vm-pgfault.c``: malloc, 1 byte every 4096 B,
free).  ``order`` picks sequential (the paper), strided or random page order.
"""
from __future__ import annotations

import numpy as np

from hpsim.units import GIB
from workloads.base import Workload, register
from workloads.trace import PAGE_SIZE



@register("buffer_touch")
class BufferTouch(Workload):
    work_unit = "pages"
    defaults = {
        "size_gib": 10.0,          # paper Table 1: 10 GB buffer
        "base_addr": 0x7F0000000000,  # 2 MiB aligned, like a large glibc malloc -> mmap
        "order": "sequential",     # sequential | strided | random
        "stride_pages": 512,       # strided: visit page i, i+stride, ... then the next offset
        "write": True,             # the paper writes one byte per page
        "cycles_per_access": 10,   # a store plus loop overhead (estimate)
        "llc_misses_per_access": 0.0,   # data cost off unless configured (config.yaml)
        "free_at_end": True,       # the paper frees the buffer
        "chunk_pages": 1 << 20,
    }

    def page_order(self, n_pages: int):
        """Yield arrays of page indices covering 0..n_pages-1 once each."""
        p = self.params
        step = int(p["chunk_pages"])
        if p["order"] == "sequential":
            for s in range(0, n_pages, step):
                yield np.arange(s, min(s + step, n_pages), dtype=np.uint64)
        elif p["order"] == "strided":
            stride = int(p["stride_pages"])
            for off in range(min(stride, n_pages)):
                idx = np.arange(off, n_pages, stride, dtype=np.uint64)
                for s in range(0, len(idx), step):
                    yield idx[s:s + step]
        else:
            perm = np.random.default_rng(self.seed).permutation(n_pages).astype(np.uint64)
            for s in range(0, n_pages, step):
                yield perm[s:s + step]

    def min_resident_bytes(self) -> int:
        """Every page of the buffer is written and held until it is freed."""
        return int(round(self.params["size_gib"] * GIB)) // PAGE_SIZE * PAGE_SIZE

    def generate(self, out):
        p = self.params
        size = int(round(p["size_gib"] * GIB)) // PAGE_SIZE * PAGE_SIZE
        base = int(p["base_addr"])
        out.cycles(int(p["cycles_per_access"]), float(p["llc_misses_per_access"]))
        out.mmap(base, size)
        out.phase("touch")
        done = 0
        for pages in self.page_order(size // PAGE_SIZE):
            out.access(np.uint64(base) + pages * np.uint64(PAGE_SIZE), bool(p["write"]))
            done += len(pages)
            self.progress(done, size // PAGE_SIZE)
        if p["free_at_end"]:
            out.phase("free")
            out.munmap(base, size)
