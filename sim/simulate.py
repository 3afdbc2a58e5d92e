"""Replay traces on the machine under one policy and write tidy result tables.

    python -m sim.simulate --spec SPEC_JSON --trace A.trace [--trace B.trace ...] \\
        --out-dir results/runs/table1/linux-thp

SPEC_JSON keys: machine, pressure, policy {name, params}, run {sample_interval_s,
max_time_s}, processes [{name, start_s}] (one per --trace, same order), seed,
labels (copied into every output row, e.g. experiment and workload names).
machine, pressure and policy.params are merged over the default profile's
machine and pressure sections and the policy's block in config/config.yaml
(the workflow passes complete ones; by hand, give only what differs, but
give machine and policy: "machine": {} for the default profile's machine).

Scheduling: processes run on their own cores with their own clocks;
physical memory is shared.  Time advances in steps that end at the next
background-thread wake-up or sample point, or earlier at the fault that takes
free memory below the watermark of a thread woken by pressure (kswapd-like);
within a step, processes run in pid order.  Background threads run on other cores: their CPU time is
accounted separately and does not delay the processes.

Outputs (CSV, documented in README.md "Result tables"): summary.csv,
timeseries.csv, events.csv, threads.csv, fault_hist.csv, phases.csv.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hpsim import options
from hpsim.cli import cli
from hpsim.io import InputError, atomic_paths
from hpsim.numba_cache import announce_compile
from hpsim.progress import Progress, progress_interval, progress_options
from hpsim.units import HUGE_SHIFT, PAGE_SHIFT, PAGE_SIZE
from machine import engine
from machine.constants import (C_ACCESSES, C_BLOAT_PAGES, C_CLOCK, C_COMPACT_MIGRATED,
                               C_COMPACT_STALL, C_DATA_CYCLES, C_FAULT_CYCLES,
                               C_FAULTS_2M, C_FAULTS_4K, C_FAULTS_COW, C_FAULTS_HUGE_ZERO,
                               C_FAULTS_PREZEROED,
                               C_FAULTS_ZEROPAGE, C_FREE_CYCLES, C_HUGE, C_L1_HITS, C_L2_HITS,
                               C_PROMOTIONS, C_RSS_PAGES, C_SEGV_ADDR, C_SPLITS, C_THP_FALLBACK,
                               C_TRIG_SLOT, C_USER_CYCLES, C_WALK_CYCLES, C_WALKS, C_WRITES,
                               C_ZERO_CYCLES, C_ZERO_RELEASED, G_RESERVATIONS, G_RESV_BROKEN,
                               G_RESV_PROMOTED, G_WMARK, ST_COMPACT, ST_END, ST_EVENT, ST_NOMEM, ST_SEGV,
                               ST_TIME, ST_TRIGGER, ST_WMARK)
from machine.machine import Machine, Process
from machine.params import MachineParams
from policies import create
from policies.base import policy_class
from sim import budget
from sim.csvout import csv_bytes
from sim.cursor import TraceCursor
from workloads.trace import KIND_MASK, MADV_DONTNEED, MMAP, MUNMAP, PHASE

if TYPE_CHECKING:
    import pandas

SPEC_KEYS = {"machine", "pressure", "policy", "run", "processes", "seed", "labels"}
REQUIRED_SPEC_KEYS = {"machine", "policy"}
# seconds of the first compilation of the kernels (all policies'): `python -m sim.warmup`
# with an empty NUMBA_CACHE_DIR took 42 s of CPU (this project's 2-core VM, 2026-11-29)
COMPILE_S = 40
# the result tables a run writes per policy (README.md "Result tables")
TABLES = ("summary.csv", "timeseries.csv", "events.csv", "threads.csv", "fault_hist.csv",
          "phases.csv")


class SimulationError(InputError):
    """The trace asks for something the machine cannot do (an access outside
    every mapped VMA); the message names the file and record."""


def machine_params(spec: dict) -> MachineParams:
    """The machine of a run spec: its ``machine`` and ``pressure`` sections
    merged over the default profile's.  Like policy.params, a hand-written
    spec may give only what differs from the default profile (and a spec
    written before a key existed still runs).  Raises ValueError for a bad
    value."""
    profile = options.default_config()
    return MachineParams.from_config(options.merge(profile["machine"], spec["machine"]),
                                     options.merge(profile["pressure"], spec.get("pressure")))


class Simulation:
    def __init__(self, spec: dict, traces: list[str], progress: float | bool | None = True,
                 cursor=TraceCursor, mem_mb: float | None = None, desc: str | None = None):
        """progress: ``hpsim.progress.Progress``'s interval (True or None: the
        default, lines on stderr at most every 10 s in a log; seconds; False:
        none); desc names the run in its lines (default: the policy).
        cursor: what streams a trace's records (``sim.bench`` passes
        one that replays records decoded beforehand, to time the loop alone).
        mem_mb: the host-memory budget in MiB (default: the host's memory);
        a run that would need more is refused before it starts
        (``sim.budget``), and one that outgrows it stops with an error.
        Raises ValueError (InputError) for a bad spec, trace or budget."""
        unknown = set(spec) - SPEC_KEYS
        if unknown:
            raise ValueError(f"spec: unknown key(s) {sorted(unknown)}; allowed: {sorted(SPEC_KEYS)}")
        missing = sorted(REQUIRED_SPEC_KEYS - set(spec))
        if missing:
            raise ValueError(f"spec: missing key(s) {missing}; required: {sorted(REQUIRED_SPEC_KEYS)}")
        procs = spec.get("processes") or [{"name": Path(t).stem, "start_s": 0.0} for t in traces]
        if len(procs) != len(traces):
            raise ValueError(f"spec lists {len(procs)} processes but {len(traces)} traces given")
        self.spec = spec
        self.labels = dict(spec.get("labels", {}))
        self.params = machine_params(spec)
        self.hz = self.params.cpu_hz
        run = spec.get("run", {})
        self.sample_s = float(run.get("sample_interval_s", 1.0))
        self.max_time_s = run.get("max_time_s")
        if not self.sample_s > 0:
            raise ValueError("run.sample_interval_s must be > 0")
        self.budget = budget.budget_bytes(mem_mb)
        self.cursors: list[TraceCursor] = [cursor(t) for t in traces]
        peaks = [int(c.reader.trailer.get("peak_mapped_bytes", 0)) for c in self.cursors]
        need = budget.estimate(peaks, self.params.n_blocks)
        if need > self.budget:
            raise InputError(
                f"this run needs at least {budget.gib(need)} of host memory (page tables for "
                f"{budget.gib(sum(peaks))} mapped at peak, {self.params.n_blocks} blocks of "
                f"physical memory) but its budget is {budget.gib(self.budget)} "
                f"({'--mem-mb' if mem_mb else 'the host'}); use a smaller workload or memory_gib")
        self.m = Machine(self.params, seed=int(spec.get("seed", 0)))
        pol = spec["policy"]
        policy_class(pol["name"])    # an unknown name: ValueError naming the known ones
        self.policy = create(pol["name"], self.m,
                             options.merge(options.defaults(pol["name"]), pol.get("params")))
        self.m.attach(self.policy)
        for p in procs:
            self.m.add_process(p["name"], float(p.get("start_s", 0.0)))
        self.threads = self.policy.threads()
        self.rows: list[dict] = []
        self.phase_rows: list[dict] = []
        # per pid: (phase name, counters at its start); closed spans in phase_spans
        self._phase_open = {pr.pid: (pr.phase, _phase_counters(pr)) for pr in self.m.procs}
        self.phase_spans: list[dict] = []
        self.progress = progress
        self.desc = desc or pol["name"]
        self._bar = None
        self._t_s = 0.0          # the simulated time the progress lines show
        self._prev = {}
        self._row_bytes = None   # host bytes of one time-series row, measured on the first

    # --- running ---------------------------------------------------------
    def advance(self, pr: Process, cur: TraceCursor) -> None:
        """Run pr until its clock reaches the end of the step (``t_next``,
        which a policy may bring forward by waking a thread) or its trace ends."""
        m = self.m
        while pr.running:
            limit = int(self.t_next * self.hz)
            if cur.words is None or cur.i >= len(cur.words):
                self.report_progress(pr.C[C_CLOCK] / self.hz)   # between chunks
                if not cur.next_chunk():
                    pr.running = False
                    pr.exit_cycles = int(pr.C[C_CLOCK])
                    return
            i, st = engine.replay(cur.words, cur.args, cur.i, limit, m.ph, m.G, m.rg, m.P,
                                  pr.arrays, pr.tlb)
            cur.i = i
            if st == ST_END:
                continue
            if st == ST_TIME:
                return
            now_s = pr.C[C_CLOCK] / self.hz
            if st == ST_EVENT:
                self.event(pr, cur, int(cur.words[i]), int(cur.args[i]))
                cur.i += 1
            elif st == ST_TRIGGER:
                self.policy.on_trigger(pr, int(pr.C[C_TRIG_SLOT]), now_s)
                # a thread woken by the policy ends the step early
                wake = min([t.next_wake_s for t in self.threads], default=float("inf"))
                self.t_next = min(self.t_next, max(wake, now_s))
            elif st == ST_COMPACT:     # the policy's defrag asked for it; replay retries
                m.direct_compact(pr)
            elif st == ST_NOMEM:
                if not self.policy.on_memory_shortage(pr, now_s):
                    m.kill(pr, "oom")
                    return
            elif st == ST_SEGV:
                raise SimulationError(
                    f"{cur.path}: record {cur.record_base + i}: access to "
                    f"{int(pr.C[C_SEGV_ADDR]):#x} lies outside every mapped VMA of process "
                    f"{pr.name!r} (the trace must mmap before it accesses)")
            if st == ST_WMARK or m.free_frames < m.G[G_WMARK]:
                # free memory crossed a waiting thread's watermark (at a fault,
                # or in the policy's own allocation): the step ends here
                m.arm_watermark(-1)
                self.t_next = min(self.t_next, now_s)
                return

    def event(self, pr: Process, cur: TraceCursor, word: int, arg: int) -> None:
        kind = word & KIND_MASK
        addr = word >> PAGE_SHIFT << PAGE_SHIFT
        if kind == MMAP:
            regions = ((addr + arg * PAGE_SIZE - 1) >> HUGE_SHIFT) - (addr >> HUGE_SHIFT) + 1
            need = budget.table_bytes(self.m.n_slots + regions)
            if need > self.budget:
                raise SimulationError(
                    f"{cur.path}: record {cur.record_base + cur.i}: mmap of "
                    f"{budget.gib(arg * PAGE_SIZE)} at {addr:#x} would need "
                    f"{budget.gib(need)} of host memory for page tables; the budget is "
                    f"{budget.gib(self.budget)}")
            self.m.mmap(pr, addr, arg * PAGE_SIZE)
        elif kind == MUNMAP:
            pr.C[C_CLOCK] += self.m.munmap(pr, addr, arg * PAGE_SIZE)
        elif kind == MADV_DONTNEED:   # handed over by the replay: it splits a huge page
            pr.C[C_CLOCK] += self.m.madvise_dontneed(pr, addr, arg * PAGE_SIZE)
        elif kind == PHASE:
            name = cur.phases[arg] if arg < len(cur.phases) else f"phase{arg}"
            self._close_phase(pr)
            pr.phase = name
            self._phase_open[pr.pid] = (name, _phase_counters(pr))
            self.phase_rows.append({"time_s": pr.C[C_CLOCK] / self.hz, "process": pr.name,
                                    "event": "phase", "detail": name})
            pause = float(cur.pauses.get(name, 0.0))
            if pause > 0:   # the program sleeps; background threads go on
                pr.C[C_CLOCK] += int(pause * self.hz)

    def run(self) -> None:
        """Replay the traces to their ends (or ``run.max_time_s``); progress
        on stderr: records replayed of the traces' (their ``n_records``)."""
        if self.progress is not False:
            self._bar = Progress(self.desc, sum(int(c.reader.trailer["n_records"])
                                                for c in self.cursors),
                                 interval=self.progress, note=self._note)
        m = self.m
        self.sample(0.0)
        t_sample = self.sample_s
        t_prev, stalled = -1.0, 0
        while any(p.running for p in m.procs):
            wake = min([t.next_wake_s for t in self.threads], default=float("inf"))
            stop = float("inf") if self.max_time_s is None else float(self.max_time_s)
            self.t_next = min(t_sample, wake, stop)
            self.arm_watermark()
            for pr, cur in zip(m.procs, self.cursors):
                if pr.running:
                    self.advance(pr, cur)
            t_now = self.t_next
            for t in self.threads:            # pressure wake-ups (at the crossing fault:
                                              # the step ended there, arm_watermark)
                if t.wake_when is not None and t.next_wake_s > t_now and t.wake_when():
                    t.next_wake_s = t_now
            for t in self.threads:            # in the policy's declared order
                if t.next_wake_s <= t_now:
                    t.run(t_now)
            if t_now >= t_sample:
                self.sample(t_now)
                t_sample = t_now + self.sample_s
            self.report_progress(t_now)
            if t_now >= stop:
                break
            stalled = stalled + 1 if not t_now > t_prev else 0
            if stalled >= budget.STALL_STEPS or not math.isfinite(t_now):
                raise SimulationError(
                    f"the simulated clock stopped advancing at {t_now} s ({stalled} steps "
                    f"without progress; threads wake at "
                    f"{[t.next_wake_s for t in self.threads]}): a period or interval of 0, "
                    "NaN or infinity?")
            t_prev = t_now
        end = max(p.C[C_CLOCK] for p in m.procs) / self.hz if m.procs else 0.0
        if self.max_time_s is not None:
            end = min(end, float(self.max_time_s))
        if end > t_sample - self.sample_s:   # else the last sample already shows the end
            self.sample(end, final=True)
        self.end_s = end
        self.report_progress(end)
        if self._bar is not None:
            self._bar.close()

    def arm_watermark(self) -> None:
        """Arm the highest watermark of the threads woken by pressure that
        free memory has not crossed yet (``KernelThread.watermark``)."""
        free = self.m.free_frames
        marks = [w for w in (t.watermark() for t in self.threads if t.watermark is not None)
                 if free >= w]
        self.m.arm_watermark(max(marks, default=-1))

    def report_progress(self, t: float) -> None:
        """A progress line at simulated time ``t`` (s), if its interval has passed."""
        if self._bar is None:
            return
        self._t_s = t
        self._bar.update(sum(c.record_base + (c.i if c.words is not None else 0)
                             for c in self.cursors))

    def _note(self) -> str:
        return f"simulated {self._t_s:.2f} s, {self.m.free_fraction():.0%} memory free"

    # --- results ----------------------------------------------------------
    def sample(self, t: float, final: bool = False) -> None:
        m = self.m
        for pr, cur in zip(m.procs, self.cursors):
            C = pr.C
            prev = self._prev.get(pr.pid, (0, 0))
            dw, du = C[C_WALK_CYCLES] - prev[0], C[C_USER_CYCLES] - prev[1]
            self._prev[pr.pid] = (int(C[C_WALK_CYCLES]), int(C[C_USER_CYCLES]))
            self.rows.append({
                **self.labels, "policy": self.policy.name, "process": pr.name,
                "time_s": t, "phase": pr.phase, "running": int(pr.running),
                "accesses": int(C[C_ACCESSES]),
                "faults_4k": int(C[C_FAULTS_4K]), "faults_2m": int(C[C_FAULTS_2M]),
                "faults_zeropage": int(C[C_FAULTS_ZEROPAGE]),
                "fault_time_s": C[C_FAULT_CYCLES] / self.hz,
                "rss_bytes": int(C[C_RSS_PAGES]) * PAGE_SIZE,
                "bloat_bytes": int(C[C_BLOAT_PAGES]) * PAGE_SIZE,
                "live_bytes": cur.live_bytes(int(C[C_ACCESSES])),
                "huge_pages": int(C[C_HUGE]),
                "promotions": int(C[C_PROMOTIONS]), "splits": int(C[C_SPLITS]),
                "zero_pages_released": int(C[C_ZERO_RELEASED]),
                "tlb_misses": int(C[C_WALKS]),
                "mmu_overhead": dw / du if du > 0 else 0.0,
                "free_bytes": m.free_frames * PAGE_SIZE,
                "free_huge_blocks": m.free_huge_blocks(),
            })
        if self._row_bytes is None:
            self._row_bytes = budget.row_bytes(self.rows[-1])
        if len(self.rows) * self._row_bytes > self.budget // 2:
            raise SimulationError(
                f"run.sample_interval_s {self.sample_s:g}: {len(self.rows):,} time-series rows "
                f"by {t:g} s of simulated time hold {budget.gib(len(self.rows) * self._row_bytes)}"
                f", half the host-memory budget of {budget.gib(self.budget)}; sample less often")

    # --- result tables: (columns or None, rows as dicts), written by
    # sim.csvout without pandas; the DataFrame methods are for tests and notebooks
    def summary(self) -> pandas.DataFrame:
        """summary.csv: one row per process."""
        return _frame(*self.summary_rows())

    def summary_rows(self) -> tuple[None, list[dict]]:
        m = self.m
        edges = engine.hist_edges_us()
        rows = []
        for pr, cur in zip(m.procs, self.cursors):
            C = pr.C
            faults = fault_count(C)
            h = pr.arrays.hist
            end = pr.exit_cycles if pr.exit_cycles is not None else int(C[C_CLOCK])
            ts = [r for r in self.rows if r["process"] == pr.name]
            rows.append({
                **self.labels, "policy": self.policy.name, "process": pr.name,
                "workload": self.labels.get("workload", cur.header.get("workload", "")),
                "workload_kind": cur.header.get("workload", ""),
                "sample_factor": cur.header.get("params", {}).get("sample", 1),
                "accesses": int(C[C_ACCESSES]), "writes": int(C[C_WRITES]),
                "footprint_bytes": int(cur.reader.trailer.get("peak_mapped_bytes", 0)),
                "faults": faults, "faults_4k": int(C[C_FAULTS_4K]),
                "faults_2m": int(C[C_FAULTS_2M]), "faults_zeropage": int(C[C_FAULTS_ZEROPAGE]),
                "faults_cow": int(C[C_FAULTS_COW]),
                "faults_huge_zero": int(C[C_FAULTS_HUGE_ZERO]),
                "faults_prezeroed": int(C[C_FAULTS_PREZEROED]),
                "thp_fallbacks": int(C[C_THP_FALLBACK]),
                "compact_stall": int(C[C_COMPACT_STALL]),
                "compact_migrated": int(C[C_COMPACT_MIGRATED]),
                "fault_time_s": C[C_FAULT_CYCLES] / self.hz,
                "zeroing_time_s": C[C_ZERO_CYCLES] / self.hz,
                "mean_fault_latency_us": (C[C_FAULT_CYCLES] / self.hz * 1e6 / faults
                                          if faults else 0.0),
                "p50_fault_latency_us": _quantile(h, edges, 0.50),
                "p99_fault_latency_us": _quantile(h, edges, 0.99),
                "free_time_s": C[C_FREE_CYCLES] / self.hz,
                "runtime_s": (end - pr.start_cycles) / self.hz,
                "user_cycles": int(C[C_USER_CYCLES]), "walk_cycles": int(C[C_WALK_CYCLES]),
                "data_cycles": int(C[C_DATA_CYCLES]),
                "mmu_overhead": (C[C_WALK_CYCLES] / C[C_USER_CYCLES]
                                 if C[C_USER_CYCLES] else 0.0),
                "tlb_l1_hits": int(C[C_L1_HITS]), "tlb_l2_hits": int(C[C_L2_HITS]),
                "tlb_misses": int(C[C_WALKS]),
                "peak_rss_bytes": max((r["rss_bytes"] for r in ts), default=0),
                "peak_bloat_bytes": max((r["bloat_bytes"] for r in ts), default=0),
                "final_huge_pages": int(C[C_HUGE]),
                "peak_huge_pages": max((r["huge_pages"] for r in ts), default=0),
                "promotions": int(C[C_PROMOTIONS]), "splits": int(C[C_SPLITS]),
                "oom": int(pr.oom),
                "oom_time_s": pr.exit_cycles / self.hz if pr.oom else float("nan"),
                "reservations": int(m.G[G_RESERVATIONS]),
                "reservations_promoted": int(m.G[G_RESV_PROMOTED]),
                "reservations_broken": int(m.G[G_RESV_BROKEN]),
                "machine_compact_success": m.compact_stats["compact_success"],
                "machine_compact_fail": m.compact_stats["compact_fail"],
                **{k: v for k, v in self.policy.counters().items()},
            })
        return None, rows

    def threads_table(self) -> pandas.DataFrame:
        return _frame(*self.threads_rows())

    def threads_rows(self) -> tuple[list[str], list[dict]]:
        dur = getattr(self, "end_s", 0.0)
        rows = []
        for t in self.threads:
            cyc = self.m.thread_cycles.get(t.name, 0)
            rows.append({**self.labels, "policy": self.policy.name, "thread": t.name,
                         "passes": t.passes, "cpu_s": cyc / self.hz, "duration_s": dur,
                         "cpu_pct_of_core": 100 * cyc / self.hz / dur if dur else 0.0})
        return [*self.labels, "policy", "thread", "passes", "cpu_s", "duration_s",
                "cpu_pct_of_core"], rows

    def hist_table(self) -> pandas.DataFrame:
        return _frame(*self.hist_rows())

    def hist_rows(self) -> tuple[list[str], list[dict]]:
        edges = engine.hist_edges_us()
        rows = []
        for pr in self.m.procs:
            h = pr.arrays.hist
            for b in np.flatnonzero(h):
                rows.append({**self.labels, "policy": self.policy.name, "process": pr.name,
                             "latency_us": float(edges[b] * np.sqrt(1.01)),
                             "count": int(h[b])})
        return [*self.labels, "policy", "process", "latency_us", "count"], rows

    def events_table(self) -> pandas.DataFrame:
        """events.csv: phase starts (``detail`` = phase name), out-of-memory and
        fatal-trace events, and every promotion and split the machine made
        (``event`` = collapse, promote_in_place or split; ``region`` = the
        region's virtual base address in hex; ``reason`` = who and why).
        Sorted by time, process and event; rows that tie keep the order in
        which they happened, so the promotion order of a policy is readable."""
        return _frame(*self.events_rows())

    def events_rows(self) -> tuple[list[str], list[dict]]:
        blank = {"region": "", "reason": "", "detail": ""}
        ev = [{**self.labels, "policy": self.policy.name, **blank, **e} for e in self.m.events]
        ev += [{**self.labels, "policy": self.policy.name, **blank, **e}
               for e in self.phase_rows]
        ev.sort(key=_event_order)
        return [*self.labels, "policy", "time_s", "process", "event", "region", "reason",
                "detail"], ev

    def _close_phase(self, pr: Process, end_cycles: int | None = None) -> None:
        """End pr's open phase span at its clock (or ``end_cycles``); a span
        before the first phase marker is kept only if something happened in it."""
        name, start = self._phase_open.pop(pr.pid, (None, None))
        if name is None:
            return
        end = _phase_counters(pr)
        if end_cycles is not None:
            end["cycles"] = end_cycles
        d = {k: end[k] - start[k] for k in start}
        if name == "" and not any(d.values()):
            return
        self.phase_spans.append({
            **self.labels, "policy": self.policy.name, "process": pr.name, "phase": name,
            "start_s": start["cycles"] / self.hz, "end_s": end["cycles"] / self.hz,
            "duration_s": d["cycles"] / self.hz, "accesses": d["accesses"],
            "user_cycles": d["user"], "walk_cycles": d["walk"],
            "mmu_overhead": d["walk"] / d["user"] if d["user"] else 0.0,
            "tlb_misses": d["walks"], "faults": d["faults"],
            "fault_time_s": d["fault_cycles"] / self.hz})

    def phases_table(self) -> pandas.DataFrame:
        """phases.csv: one row per phase span of each process (a span runs from
        its phase marker to the next marker or the process's end), with the
        counters' increase over it; the spans of a process sum to its
        summary.csv totals (accesses, cycles, faults, runtime)."""
        return _frame(*self.phases_rows())

    def phases_rows(self) -> tuple[list[str], list[dict]]:
        for pr in self.m.procs:
            end = pr.exit_cycles if pr.exit_cycles is not None else int(pr.C[C_CLOCK])
            self._close_phase(pr, end)
        return [*self.labels, "policy", "process", "phase", "start_s", "end_s", "duration_s",
                "accesses", "user_cycles", "walk_cycles", "mmu_overhead", "tlb_misses", "faults",
                "fault_time_s"], self.phase_spans

    def tables(self) -> dict[str, bytes]:
        """The result tables as CSV bytes, by file name (``TABLES``, in order)."""
        tables = {"summary.csv": self.summary_rows(), "timeseries.csv": (None, self.rows),
                  "events.csv": self.events_rows(), "threads.csv": self.threads_rows(),
                  "fault_hist.csv": self.hist_rows(), "phases.csv": self.phases_rows()}
        return {name: csv_bytes(*tables[name]) for name in TABLES}

    def write(self, out_dir) -> None:
        """Write the six result tables into ``out_dir``, all or none
        (``hpsim.io.atomic_paths``)."""
        out = Path(out_dir)
        with atomic_paths(*(out / name for name in TABLES)) as tmps:
            for data, tmp in zip(self.tables().values(), tmps):
                tmp.write_bytes(data)


def _frame(columns: list[str] | None, rows: list[dict]) -> pandas.DataFrame:
    import pandas as pd      # not on the workflow's path (sim.csvout writes the tables)
    return pd.DataFrame(rows, columns=columns)


def _event_order(e: dict) -> tuple:
    """events.csv's order: time, process, event; a stable sort with NaN times
    last, as pandas' ``sort_values`` sorted them before."""
    t = e["time_s"]
    return (t != t, 0.0 if t != t else t, e["process"], e["event"])


def fault_count(C) -> int:
    """Every page fault a process took (summary.csv ``faults``, phases.csv
    ``faults``): 4 KiB, 2 MiB, zero-page, huge-zero-page and copy-on-write."""
    return int(C[C_FAULTS_4K] + C[C_FAULTS_2M] + C[C_FAULTS_ZEROPAGE] + C[C_FAULTS_COW]
               + C[C_FAULTS_HUGE_ZERO])


def _phase_counters(pr: Process) -> dict:
    """The counters phases.csv reports, read from pr now (ints)."""
    C = pr.C
    return {"cycles": int(C[C_CLOCK]), "accesses": int(C[C_ACCESSES]),
            "user": int(C[C_USER_CYCLES]), "walk": int(C[C_WALK_CYCLES]),
            "walks": int(C[C_WALKS]), "fault_cycles": int(C[C_FAULT_CYCLES]),
            "faults": fault_count(C)}


def _quantile(hist: np.ndarray, edges: np.ndarray, q: float) -> float:
    n = hist.sum()
    if n == 0:
        return 0.0
    k = int(np.searchsorted(np.cumsum(hist), q * n, side="left"))
    return float(edges[k] * np.sqrt(1.01))   # bin centre (bins are 1% wide)


def parse_run_args(argv, prog: str, doc: str, out_dir_help: str, mem_mb_help: str):
    """The command line shared by ``sim.simulate`` and ``sim.batch``: --spec
    (JSON), --trace (one per process), --out-dir, --progress [SECONDS] /
    --quiet (``hpsim.progress``; ``a.progress`` becomes ``Progress``'s
    interval), --mem-mb.  Returns (the parsed arguments, the decoded spec,
    not yet checked for shape).  Raises InputError for --mem-mb <= 0, a
    negative --progress or a --spec that is not JSON."""
    ap = argparse.ArgumentParser(prog=prog, description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", required=True, help="JSON run specification (see above)")
    ap.add_argument("--trace", action="append", required=True, help="trace file, per process")
    ap.add_argument("--out-dir", required=True, help=out_dir_help)
    ap.add_argument("--mem-mb", type=float, default=None, help=mem_mb_help)
    progress_options(ap)
    a = ap.parse_args(argv)
    a.progress = progress_interval(a)
    if a.mem_mb is not None and not a.mem_mb > 0:
        raise InputError(f"--mem-mb {a.mem_mb}: must be > 0")
    try:
        spec = json.loads(a.spec)
    except json.JSONDecodeError as e:
        raise InputError(f"--spec is not JSON: {e}") from None
    return a, spec


@cli
def main(argv=None) -> int:
    a, spec = parse_run_args(argv, "python -m sim.simulate", __doc__, None,
                             "host-memory budget in MiB (the workflow passes the rule's "
                             "mem_mb; default: the host's memory)")
    t0 = time.perf_counter()
    if not isinstance(spec, dict) or not isinstance(spec.get("policy"), dict):
        raise InputError("--spec must be a JSON object with a 'policy' object (see --help)")
    announce_compile(engine.replay, "simulation kernels", COMPILE_S)
    sim = Simulation(spec, a.trace, progress=a.progress, mem_mb=a.mem_mb)
    print(f"simulating {spec['policy'].get('name')} on {', '.join(a.trace)}", file=sys.stderr,
          flush=True)
    sim.run()          # a trace error found mid-run is an input error too (hpsim.cli)
    sim.write(a.out_dir)
    acc = sum(int(p.C[C_ACCESSES]) for p in sim.m.procs)
    dt = time.perf_counter() - t0
    print(f"done: {acc:,} accesses in {dt:.1f} s wall ({acc / max(dt, 1e-9) / 1e6:.1f} M/s), "
          f"{sim.end_s:.2f} s simulated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
