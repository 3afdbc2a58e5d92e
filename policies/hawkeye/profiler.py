"""The MMU-overhead feed of HawkEye-PMU (x86-MMU-Profiler's global_profile).

Paper, Table 2: MMU overhead = page-walk cycles (C1 + C2) x 100 / unhalted
user cycles (C3); here the simulated process counters ``walk_cycles`` and
``user_cycles``.

Public code (hawkeye-facts.md §3.2): every ``-i`` seconds (default 10) the
profiler measures each process's counters for 1 s and reports
max(1, integer percent) to the kernel (syscall 325).  The kernel then keeps
``(8 old + 2 new) / 10`` (integers) as the process weight
(``update_mm_ohp_stats``); the paper just uses the measured overhead.
Switch ``smoothing``: ``paper`` (the measured value) or ``code`` (the EMA).
The profiler skips processes with at most 1,000,000 kB of anonymous memory;
``min_rss_mib`` models that filter (0 = off).

Two wake-ups per sample: snapshot the counters at t, compute at t + window_s.
"""
from __future__ import annotations

from hpsim.units import MIB, PAGE_SIZE


class MMUProfiler:
    """x86-MMU-Profiler's ``global_profile`` loop and the kernel side that
    keeps each process's weight (``update_mm_ohp_stats``)."""

    name = "mmu_profiler"

    def __init__(self, machine, cfg: dict):
        self.m = machine
        self.interval_s = float(cfg["interval_s"])
        self.window_s = float(cfg["window_s"])
        self.smoothing = cfg["smoothing"]
        self.min_rss_pages = int(cfg["min_rss_mib"] * (MIB // PAGE_SIZE))
        self.snap: dict[int, tuple[int, int]] | None = None
        self.weight: dict[int, int] = {}     # pid -> weight the promotion thread compares
        self.measured: dict[int, int] = {}   # pid -> last measured integer percent
        self.samples = 0

    def work(self, now_s: float) -> float:
        """One wake-up: snapshot the counters, or (``window_s`` later) compute
        each process's overhead and weight."""
        m = self.m
        if self.snap is None:
            self.snap = {pr.pid: (pr.walk_cycles, pr.user_cycles)
                         for pr in m.procs if pr.running}
            return self.window_s
        for pid, (w0, u0) in self.snap.items():
            pr = m.procs[pid]
            if not pr.running:
                continue
            if self.min_rss_pages > 0 and pr.rss_pages <= self.min_rss_pages:
                continue
            dw = pr.walk_cycles - w0
            du = pr.user_cycles - u0
            if du <= 0:
                continue            # the process did not run in the window
            pct = max(1, dw * 100 // du)
            self.measured[pid] = pct
            pr.mmu_overhead_pct = float(pct)
            if self.smoothing == "code":
                self.weight[pid] = (8 * self.weight.get(pid, 0) + 2 * pct) // 10
            else:
                self.weight[pid] = pct
            self.samples += 1
        self.snap = None
        return self.interval_s - self.window_s
