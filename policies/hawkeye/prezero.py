"""HawkEye's asynchronous pre-zeroing thread.

Paper (hawkeye-facts.md §3.1): a rate-limited background thread zeroes free
pages with non-temporal stores, so the fault path can skip zeroing and the
application's cache is not polluted.  Zeroed and dirty free pages are kept
on separate lists (the machine's pre-zeroed and dirty free block lists).

Public code (§3.2, hawkeye_modules/async-zero/asynczero.c): take the first
free 4 MiB block, zero it with ``movnti``, put it back at the tail flagged
zeroed; ``msleep(sleep)`` every ``count`` blocks; defaults sleep = 1000 ms,
count = 10, i.e. at most 10 x 4 MiB = 40 MiB/s.

Model: each wake-up zeroes up to ``blocks_per_wake`` free dirty 2 MiB blocks
(20 = 10 x 4 MiB / 2 MiB, so the rate matches) and sleeps ``sleep_ms``.
Non-temporal stores: the cost is CPU time of this thread only (512 x the
machine's ``zero_4k_us`` per block), and nothing of the block is left in the
cache: a fault onto it leaves no cache-hot page, so the application's first
accesses to it pay their data cycles, where a fault that clears its page
leaves it hot (``machine.fault.cleared``).  A block loses its zeroed state
when it is allocated (the machine does that).
"""
from __future__ import annotations

from hpsim.units import PAGES_PER_HUGE, cycles_from_us


class PreZeroer:
    """The pre-zeroing thread (asynczero.c's kthread); ``work`` is one wake-up."""

    name = "asynczero"

    def __init__(self, machine, cfg: dict):
        self.m = machine
        self.blocks_per_wake = int(cfg["blocks_per_wake"])
        self.sleep_s = cfg["sleep_ms"] / 1000
        self.start_fraction = float(cfg["start_zeroed_fraction"])
        self.block_cycles = int(round(cycles_from_us(
            PAGES_PER_HUGE * machine.params.costs["zero_4k_us"], machine.params.cpu_hz)))
        self.zeroed = 0
        self._started = False

    def _start(self) -> None:
        """Blocks already zeroed when the run starts (a machine that was idle
        before it): not charged, they were zeroed before time 0."""
        n = int(self.start_fraction * self.m.free_dirty_blocks())
        for _ in range(n):
            if self.m.zero_free_block() < 0:
                break

    def work(self, now_s: float) -> float:
        """Zero up to ``blocks_per_wake`` free dirty blocks, then sleep
        ``sleep_ms`` (asynczero.c's loop with ``msleep(sleep)``)."""
        if not self._started:
            self._started = True
            self._start()
        done = 0
        while done < self.blocks_per_wake and self.m.zero_free_block() >= 0:
            done += 1
        self.zeroed += done
        self.m.charge(self.name, done * self.block_cycles)
        return self.sleep_s
