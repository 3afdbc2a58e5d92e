"""Replay a trace on the host kernel and write the simulator's result tables.

    python -m host.replay --trace T.trace --policy host-thp --repeat 5 \\
        --out-dir results/runs/validation/x/host-thp

An untimed warm-up replay (``warm_up``), then two child processes per
repetition (``host/native.c``, compiled at first use)
maps the trace's VMAs (anonymous, private; shifted by a multiple of 1 GiB
into a window of the child's address space reserved for them, so that they
never land on the child's own libraries or heap: ``address_span``), applies
``MADV_NOHUGEPAGE`` (host-4k: Linux 4 KiB pages) or ``MADV_HUGEPAGE``
(host-thp: Linux THP, huge pages at fault and khugepaged, with the host's
own THP ``defrag`` and khugepaged settings), performs the accesses in
order (8 bytes each, a record's accesses on consecutive words, or lines for
a generator whose accesses are lines (``access_bytes``: Redis), from a
pseudo-random one of the page; repeats included,
the trace's compute cycles spun before each, each access waiting for the
one before: serialized as the simulator charges them), and the munmap /
madvise(DONTNEED) records.  The records are
decoded here and streamed to the child in blocks; the child times only its
own replay.  A trace's pauses (the trailer's ``pauses``, e.g. Redis's
``pause_s``) are not replayed: the run goes on at once, with a warning.

Measured (per repetition): run time (CPU time of the replaying thread, in a
run without per-access instrumentation), faults (getrusage ``ru_minflt``),
and in a second, instrumented run: huge faults (a fault that grew the
resident set by >= 256 pages), fault time and the latency of every fault
(the faulting access timed alone with the TSC; which accesses fault is read
from the page state with MADV_NOHUGEPAGE, from the latency with
MADV_HUGEPAGE, with no system call between two faults, which would slow the
second: native.c), ``stray_faults`` (the faults counted at span ends less
those seen one by one: 0, or minus the accesses an interrupt made look like
a fault), time in
munmap/madvise, RSS and ``AnonHugePages`` (/proc/self/smaps_rollup) at every
sample of the instrumented run (at most every ``--sample-interval-s`` of
replay time, and spaced so that sampling adds at most a tenth to the run:
one read walks every page table, 14 ms for 1 GiB of 4 KiB pages) and
phase end, and the machine-wide /proc/vmstat THP counters.  The timed run
takes no periodic sample (none of its samples is used, and each would
evict its caches and TLB).  The
tables are a simulated run's (``sim/simulate.py``), with NaN where the
kernel gives no measure (TLB counters, bloat, promotions).  ``summary.csv``
holds the median of the repetitions with ``<column>_min`` / ``_max`` for the
measured quantities, ``repeats.csv`` every repetition; the time series,
phases and histogram are those of the median-runtime repetition.

A run that cannot be made here (not Linux, THP ``never``, too little free
memory, no C compiler) writes a summary row with ``not_measured`` = the
reason, and exits 0: the rest of the workflow goes on.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hpsim.cli import cli
from hpsim.io import InputError, atomic_paths, log
from hpsim.progress import Progress, progress_interval, progress_options
from host import kernel, native
from hpsim.units import PAGE_SHIFT
from workloads.trace import KIND_MASK, MMAP, TraceReader

MODES = {"host-4k": 1, "host-thp": 2}
BLOCK = 1 << 20                 # records per block sent to the child (native.c MAX_BLOCK)
TOUCH_ONLY = 2                  # native.c's INSTRUMENT value of the warm-up
HIST_RATIO = 1.01               # native.c's histogram: bins 1% wide
MEASURED = ["runtime_s", "faults", "faults_2m", "fault_time_s", "mean_fault_latency_us",
            "free_time_s", "peak_rss_bytes", "peak_huge_pages"]
NAN = float("nan")


class NotMeasured(Exception):
    """This host cannot make the run; the message says why."""


class ReplayFailed(InputError, RuntimeError):
    """The replay child failed on this trace (a mapping the kernel refused, an
    access outside every mapping, ...): one line ``error: ...`` at the command
    line (``hpsim.cli``), still a RuntimeError for callers."""


def _child_failure(trace, rc: int, stderr: str) -> str:
    """What a failed replay child's status and stderr say, on one line."""
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        hint = (" (an access outside every mapped VMA? `python -m workloads.tracecheck "
                f"{trace}` checks)" if -rc in (signal.SIGSEGV, signal.SIGBUS) else "")
        return f"native replay of {trace} killed by {name}{hint}" + \
            (f": {stderr}" if stderr else "")
    return f"native replay of {trace} failed (status {rc}): {stderr}"


def _stream(reader: TraceReader, stdin, bar: Progress) -> None:
    """Write the trace's records to the child: blocks of u32 n, n words, n args.
    The child replays as it reads (the pipe holds far less than a block), so
    the records sent are the replay's progress (``bar``)."""
    sent = 0
    for words, args in reader.columns():
        for s in range(0, len(words), BLOCK):
            w, a = words[s:s + BLOCK], args[s:s + BLOCK]
            stdin.write(struct.pack("<I", len(w)))
            stdin.write(np.ascontiguousarray(w, "<u8").tobytes())
            stdin.write(np.ascontiguousarray(a, "<u4").tobytes())
            sent += len(w)
            bar.update(sent)
    stdin.write(struct.pack("<I", 0))
    stdin.flush()


def parse(text: str) -> dict:
    """The child's output lines (native.c) as samples, phases, hist and totals."""
    out = {"S": [], "P": [], "H": [], "C": [], "T": None}
    for line in text.splitlines():
        tag, *f = line.split()
        vals = [float(x) if "." in x else int(x) for x in f]
        if tag == "T":
            out["T"] = vals
        else:
            out[tag].append(vals)
    if out["T"] is None:
        raise RuntimeError("native replay ended without its totals line")
    return out


ADDRESS_IN_USE = 3              # native.c EXIT_ADDRESS_IN_USE: a mapping met the child's own
ADDRESS_ATTEMPTS = 3            # fresh children (each with its own ASLR layout) tried then


def address_span(trace) -> tuple[int, int]:
    """[lo, hi): the lowest address and the highest end (bytes) of the
    trace's MMAP records, (0, 0) if it has none.  The child reserves a window
    that size and shifts the trace into it (native.c ``reserve_window``).
    Reads (decodes) the whole trace once.  Raises TraceFormatError."""
    lo, hi = None, 0
    for words, args in TraceReader(trace).columns():
        m = (words & np.uint64(KIND_MASK)) == MMAP
        if m.any():
            start = words[m] & ~np.uint64(0xFFF)
            end = start + (args[m].astype(np.uint64) << np.uint64(PAGE_SHIFT))
            lo = int(start.min()) if lo is None else min(lo, int(start.min()))
            hi = max(hi, int(end.max()))
    return (0, 0) if lo is None else (lo, hi)


def replay_once(trace, policy: str, sample_s: float, span: tuple[int, int] | None = None,
                instrument: int = True, progress: float | bool | None = True,
                desc: str = "") -> dict:
    """One native replay of ``trace`` (``instrument``: True, time every access
    that may fault; False, time the run alone; TOUCH_ONLY, only each page's
    first access and first write, without compute cycles or repeats);
    returns parse()'s dict plus ``vmstat`` (deltas of the machine-wide
    counters over the child's life).  span: ``address_span``'s
    value (read from the trace when None).  A child whose mapping met one of
    its own (possible only without a window, a span the kernel cannot
    reserve) is run again, up to ADDRESS_ATTEMPTS times.  progress: records
    replayed, on stderr (``hpsim.progress.Progress``'s interval), named desc.
    Raises ReplayFailed (a RuntimeError) if the child fails."""
    lo, hi = address_span(trace) if span is None else span
    for attempt in range(1, ADDRESS_ATTEMPTS + 1):
        try:
            return _replay_child(trace, policy, sample_s, lo, hi, instrument, progress, desc)
        except _AddressInUse as e:
            if attempt == ADDRESS_ATTEMPTS:
                raise ReplayFailed(f"native replay of {trace} failed {attempt} times: {e}") \
                    from None
            log(f"{e}; running it again")
    raise AssertionError("unreachable")


def access_bytes(header: dict) -> int:
    """What one access of a trace stands for, in bytes: its generator's
    ``Workload.access_bytes`` (8, a word, or 64, a cache line: Redis), by the
    header's ``workload`` kind; the base class's (a word) for a kind no
    generator has (a hand-made trace).  The native replay places a record's
    accesses on consecutive units of it (host/native.c ``place``)."""
    from workloads import base
    kind = header.get("workload")
    cls = base.get(kind) if kind in base.GENERATORS else base.Workload
    return int(cls.access_bytes)


class _AddressInUse(Exception):
    """The child's mapping met one of its own (ASLR), status ADDRESS_IN_USE."""


def _replay_child(trace, policy, sample_s, lo, hi, instrument, progress, desc) -> dict:
    reader = TraceReader(trace)
    exe = native.binary()
    before = kernel.vmstat()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([str(exe), "replay", str(MODES[policy]), str(int(instrument)),
                                 str(int(sample_s * 1e9)), str(lo), str(hi),
                                 str(access_bytes(reader.header))],
                                stdin=subprocess.PIPE, stdout=out, stderr=err)
        try:
            with Progress(desc or policy, int(reader.trailer["n_records"]),
                          interval=progress) as bar:
                _stream(reader, proc.stdin, bar)
        except BrokenPipeError:
            pass
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        rc = proc.wait()
        after = kernel.vmstat()
        out.seek(0)
        err.seek(0)
        if rc == ADDRESS_IN_USE:
            raise _AddressInUse(err.read().decode(errors="replace").strip())
        if rc != 0:
            raise ReplayFailed(_child_failure(trace, rc,
                                              err.read().decode(errors="replace").strip()))
        res = parse(out.read().decode())
    res["vmstat"] = {k: after[k] - before.get(k, 0) for k in after}
    return res


def _hist_quantile(hist: list, q: float) -> float:
    """Quantile (µs, bin centre) of native.c's fault-latency histogram."""
    if not hist:
        return 0.0
    h = np.array(sorted(hist))
    cum = np.cumsum(h[:, 1])
    k = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(HIST_RATIO ** (h[k, 0] + 0.5) / 1000.0)


def instrumented_runtime_ns(t: int) -> float:
    """The instrumented run's time less its instrumentation's estimated own
    time (native.c subtracts it in unsigned arithmetic); NaN where the
    estimate exceeded the run (it wrapped below zero: seen on buffer
    touches, whose every access is timed), since no time is then left."""
    return float(t) if t < 2**63 else NAN


def summary_row(res: dict, plain: dict, reader: TraceReader, policy: str,
                labels: dict) -> dict:
    """One summary.csv row (sim/simulate.py ``summary()`` columns) of a
    repetition: an instrumented replay ``res`` (fault time, latencies, kinds)
    and an uninstrumented one ``plain`` (run time, free time, fault count).
    Columns of the native run alone: ``stray_faults`` (native.c: faults
    counted at span ends less those seen one by one), ``faults_instrumented``
    (the instrumented run's count), ``instrumentation_s`` (its own time, left
    out of ``runtime_instrumented_s``, that run's time; NaN where the estimate
    exceeds it), ``faults_descheduled`` (slow faults after a context switch
    that count the mean of their kind), ``<counter>_system`` (/proc/vmstat
    deltas over the run, machine-wide)."""
    (_, acc, writes, faults_i, fault_ns, f2m, _, stray, instr_ns, peak_rss_kb,
     peak_huge_kb, f_read, f_cow) = res["T"]
    rt_ns, faults, free_ns = plain["T"][0], plain["T"][3], plain["T"][6]
    hdr = reader.header
    thp = policy == "host-thp"
    vm = res["vmstat"]
    return {
        **labels, "policy": policy, "process": labels.get("process", Path(reader.path).stem),
        "workload": labels.get("workload", hdr.get("workload", "")),
        "workload_kind": hdr.get("workload", ""),
        "sample_factor": hdr.get("params", {}).get("sample", 1),
        "accesses": acc, "writes": writes,
        "footprint_bytes": int(reader.trailer.get("peak_mapped_bytes", 0)),
        "faults": faults,
        # first writes that allocated: 4 KiB unless the resident set grew by a huge page
        "faults_4k": faults - f_read - f_cow - f2m if not thp else NAN,
        "faults_2m": f2m, "faults_zeropage": f_read if not thp else NAN,
        "faults_cow": f_cow, "faults_huge_zero": 0 if not thp else NAN,
        "faults_read": f_read,
        "faults_prezeroed": NAN, "thp_fallbacks": vm.get("thp_fault_fallback", NAN) if thp
        else NAN,
        "compact_stall": vm.get("compact_stall", NAN), "compact_migrated": NAN,
        "fault_time_s": fault_ns / 1e9, "zeroing_time_s": NAN,
        "mean_fault_latency_us": fault_ns / 1e3 / faults if faults else 0.0,
        "p50_fault_latency_us": _hist_quantile(res["H"], 0.50),
        "p99_fault_latency_us": _hist_quantile(res["H"], 0.99),
        "free_time_s": free_ns / 1e9, "runtime_s": rt_ns / 1e9,
        "user_cycles": NAN, "walk_cycles": NAN, "data_cycles": NAN, "mmu_overhead": NAN,
        "tlb_l1_hits": NAN, "tlb_l2_hits": NAN, "tlb_misses": NAN,
        "peak_rss_bytes": peak_rss_kb * 1024, "peak_bloat_bytes": NAN,
        "final_huge_pages": NAN, "peak_huge_pages": peak_huge_kb // 2048,
        "promotions": NAN, "splits": NAN, "oom": 0, "oom_time_s": NAN,
        "reservations": NAN, "reservations_promoted": NAN, "reservations_broken": NAN,
        "machine_compact_success": NAN, "machine_compact_fail": NAN,
        "stray_faults": stray, "instrumentation_s": instr_ns / 1e9,
        "faults_instrumented": faults_i,
        "runtime_instrumented_s": instrumented_runtime_ns(res["T"][0]) / 1e9,
        "faults_descheduled": res["C"][0][2] if res["C"] else NAN,
        **{f"{k}_system": v for k, v in vm.items()},
    }


def timeseries(res: dict, reader: TraceReader, policy: str, labels: dict) -> pd.DataFrame:
    """timeseries.csv rows of one replay (time = replay time, not wall clock)."""
    phases = reader.phases
    live = reader.trailer.get("live_bytes")
    live = np.asarray(live, np.float64) if live else None
    rows = []
    for t, ph, acc, faults, fault_ns, f2m, rss_kb, huge_kb in res["S"]:
        lb = NAN
        if live is not None and len(live):
            k = np.searchsorted(live[:, 0], acc, side="right") - 1
            lb = float(live[max(k, 0), 1])
        rows.append({**labels, "policy": policy, "process": labels.get("process", ""),
                     "time_s": t / 1e9, "phase": phases[ph] if 0 <= ph < len(phases) else "",
                     "running": 1, "accesses": acc, "faults": faults, "faults_4k": NAN,
                     "faults_2m": f2m, "faults_zeropage": NAN, "fault_time_s": fault_ns / 1e9,
                     "rss_bytes": rss_kb * 1024, "bloat_bytes": NAN, "live_bytes": lb,
                     "huge_pages": huge_kb // 2048, "promotions": NAN, "splits": NAN,
                     "zero_pages_released": NAN, "tlb_misses": NAN, "mmu_overhead": NAN,
                     "free_bytes": NAN, "free_huge_blocks": NAN})
    return pd.DataFrame(rows)


def phases_table(res: dict, reader: TraceReader, policy: str, labels: dict) -> pd.DataFrame:
    names = reader.phases
    rows = [{**labels, "policy": policy, "process": labels.get("process", ""),
             "phase": names[ph] if 0 <= ph < len(names) else "", "start_s": s / 1e9,
             "end_s": e / 1e9, "duration_s": (e - s) / 1e9, "accesses": acc,
             "user_cycles": NAN, "walk_cycles": NAN, "mmu_overhead": NAN, "tlb_misses": NAN,
             "faults": faults, "fault_time_s": fault_ns / 1e9, "faults_2m": f2m}
            for ph, s, e, acc, faults, fault_ns, f2m in res["P"]]
    return pd.DataFrame(rows)


def _columns(labels: dict, *cols: str) -> list[str]:
    """labels' keys then cols, each once (labels hold ``process`` here, unlike
    the simulator's)."""
    return list(dict.fromkeys([*labels, *cols]))


def hist_table(res: dict, policy: str, labels: dict) -> pd.DataFrame:
    rows = [{**labels, "policy": policy, "process": labels.get("process", ""),
             "latency_us": HIST_RATIO ** (b + 0.5) / 1000.0, "count": n}
            for b, n in sorted(res["H"])]
    return pd.DataFrame(rows, columns=_columns(labels, "policy", "process", "latency_us",
                                               "count"))


def warm_up(trace, policy: str, span: tuple[int, int] | None = None) -> None:
    """One untimed replay of ``trace``'s faults, before the timed replays:
    each page's first access and first write, in the trace's order, without
    its compute cycles and repeated accesses (``TOUCH_ONLY``), so it costs
    about the run's fault time, not its run time.  On a VM whose
    balloon reports free pages to the host (virtio-balloon
    ``VIRTIO_BALLOON_F_REPORTING``, as this project's VM), blocks of 2 MiB
    and more freed a few seconds ago were handed back to the host, and the
    first run's faults also wait for the host to back them again (measured
    on a 0.1875 GiB touch with THP after 6 s idle: 4214 µs a huge fault, then
    176-188 µs in the five runs after it).  After this run, every timed run
    finds memory as the one before it left it, and calibration and
    validation measure the guest kernel's fault in the same state.
    Raises NativeUnavailable, or ReplayFailed as ``replay_once``."""
    replay_once(trace, policy, 0.0, span, instrument=TOUCH_ONLY, progress=False)


def median_summary(rows: list[dict]) -> dict:
    """The repetitions' median row (numbers; the rest from the first), with
    ``<q>_min`` / ``<q>_max`` of the measured quantities and ``repeats``."""
    df = pd.DataFrame(rows)
    out = dict(rows[0])
    for col in df.columns:
        v = pd.to_numeric(df[col], errors="coerce")
        if v.notna().all():
            out[col] = float(v.median()) if not (v == v.iloc[0]).all() else rows[0][col]
    for q in MEASURED:
        out[f"{q}_min"] = float(df[q].min())
        out[f"{q}_max"] = float(df[q].max())
    out["repeats"] = len(rows)
    return out


def not_measured_row(reason: str, policy: str, labels: dict, trace) -> dict:
    """The one summary row of a run this host cannot make."""
    return {**labels, "policy": policy, "process": labels.get("process", Path(trace).stem),
            "workload": labels.get("workload", ""), "not_measured": reason, "repeats": 0}


def run(trace, policy: str, out_dir, repeat: int = 5, sample_s: float = 0.01,
        labels: dict | None = None, max_share: float = 0.5, max_bytes: int = 2 << 30,
        progress: float | bool | None = True) -> pd.DataFrame:
    """Replay ``trace`` natively ``repeat`` times under ``policy`` and write
    summary.csv, repeats.csv, timeseries.csv, phases.csv, fault_hist.csv,
    events.csv and threads.csv into ``out_dir`` (all or none).  Refuses
    (a ``not_measured`` row) a trace mapping more than ``max_bytes`` or
    ``max_share`` of MemAvailable at peak, checked before every repetition.
    progress: each replay's progress lines (``replay_once``).  Returns the
    summary.  Raises InputError for a bad trace or argument."""
    if policy not in MODES:
        raise InputError(f"--policy {policy!r}: allowed: {sorted(MODES)}")
    if repeat < 1:
        raise InputError(f"--repeat {repeat}: must be >= 1")
    labels = dict(labels or {})
    labels.setdefault("process", Path(trace).stem)
    reader = TraceReader(trace)
    peak = int(reader.trailer.get("peak_mapped_bytes", 0))
    pauses = {k: v for k, v in (reader.trailer.get("pauses") or {}).items() if v}
    if pauses:
        log(f"warning: {trace}: the native replay does not pause (the simulator idles "
            f"{', '.join(f'{k} {v:g} s' for k, v in pauses.items())}, background "
            f"threads running): its run time and khugepaged's work are not comparable")
    tables: dict[str, pd.DataFrame] = {}
    reason = kernel.unavailable(policy)
    if reason is None and peak > max_bytes:
        reason = (f"maps {peak / 2**30:.2f} GiB at peak, more than the native runs' cap of "
                  f"{max_bytes / 2**30:.2f} GiB")
    rows, results = [], []
    span = address_span(trace) if reason is None else (0, 0)
    if reason is None:
        try:
            warm_up(trace, policy, span=span)
        except native.NativeUnavailable as e:
            reason = str(e)
    for i in range(repeat if reason is None else 0):
        reason = kernel.memory_refusal(peak, max_share)
        if reason is not None:
            break
        try:
            rep = f"{policy} repetition {i + 1}/{repeat}"
            plain = replay_once(trace, policy, 0.0, span, instrument=False,
                                progress=progress, desc=f"{rep}, timed")
            res = replay_once(trace, policy, sample_s, span, instrument=True,
                              progress=progress, desc=f"{rep}, instrumented")
        except native.NativeUnavailable as e:
            reason = str(e)
            break
        results.append(res)
        rows.append(summary_row(res, plain, reader, policy, labels))
        log(f"  {policy} repetition {i + 1}/{repeat}: {rows[-1]['runtime_s']:.4f} s, "
            f"{rows[-1]['faults']} faults, {rows[-1]['fault_time_s']:.4f} s in faults")
    if reason is not None:
        log(f"not measured: {reason}")
        summary = pd.DataFrame([not_measured_row(reason, policy, labels, trace)])
        empty = pd.DataFrame(columns=[*labels, "policy"])
        tables = {"summary.csv": summary, "repeats.csv": summary, "timeseries.csv": empty,
                  "phases.csv": empty, "fault_hist.csv": empty}
    else:
        med = median_summary(rows)
        med.update({f"host_{k}": v for k, v in kernel.thp_settings().items()})
        med["not_measured"] = ""
        order = np.argsort([r["runtime_s"] for r in rows], kind="stable")
        res = results[int(order[(len(order) - 1) // 2])]
        tables = {"summary.csv": pd.DataFrame([med]),
                  "repeats.csv": pd.DataFrame([{**r, "repeat": i} for i, r in enumerate(rows)]),
                  "timeseries.csv": timeseries(res, reader, policy, labels),
                  "phases.csv": phases_table(res, reader, policy, labels),
                  "fault_hist.csv": hist_table(res, policy, labels)}
    ph = tables["phases.csv"]
    tables["events.csv"] = pd.DataFrame(
        [{**labels, "policy": policy, "time_s": r["start_s"], "process": r["process"],
          "event": "phase", "region": "", "reason": "", "detail": r["phase"]}
         for _, r in ph.iterrows()] if len(ph) else [],
        columns=_columns(labels, "policy", "time_s", "process", "event", "region", "reason",
                         "detail"))
    tables["threads.csv"] = pd.DataFrame(columns=_columns(labels, "policy", "thread", "passes",
                                                          "cpu_s", "duration_s",
                                                          "cpu_pct_of_core"))
    out = Path(out_dir)
    with atomic_paths(*(out / n for n in tables)) as tmps:
        for df, tmp in zip(tables.values(), tmps):
            df.to_csv(tmp, index=False, lineterminator="\n")
    return tables["summary.csv"]


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host.replay", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trace", required=True, help="trace file (workloads.generate, "
                    "workloads.lackey)")
    ap.add_argument("--policy", required=True, choices=sorted(MODES),
                    help="host-4k: MADV_NOHUGEPAGE; host-thp: MADV_HUGEPAGE")
    ap.add_argument("--out-dir", required=True,
                    help="directory for summary.csv, repeats.csv and the other tables")
    ap.add_argument("--repeat", type=int, default=5,
                    help="repetitions, >= 1 (median reported; default %(default)s)")
    ap.add_argument("--sample-interval-s", type=float, default=0.01,
                    help="RSS / AnonHugePages sample period, in replay time "
                         "(default %(default)s)")
    ap.add_argument("--labels", default="{}", help="JSON object copied into every row")
    ap.add_argument("--max-share", type=float, default=0.5,
                    help="largest share of MemAvailable a run may map, in (0, 1] "
                         "(default %(default)s; the workflow uses native.max_share); "
                         "more: a not_measured row, exit 0")
    ap.add_argument("--max-gib", type=float, default=2.0,
                    help="largest mapping at peak, GiB (default %(default)s); "
                         "more: a not_measured row, exit 0")
    progress_options(ap)
    a = ap.parse_args(argv)
    try:
        labels = json.loads(a.labels)
    except json.JSONDecodeError as e:
        raise InputError(f"--labels is not JSON: {e}") from None
    if not isinstance(labels, dict):
        raise InputError(f"--labels {a.labels}: must be a JSON object, "
                         f"such as '{{\"variant\": \"x\"}}'")
    for opt, v, ok, allowed in (
            ("--sample-interval-s", a.sample_interval_s, a.sample_interval_s > 0, "> 0"),
            ("--max-share", a.max_share, 0 < a.max_share <= 1, "in (0, 1]"),
            ("--max-gib", a.max_gib, a.max_gib > 0, "> 0")):
        if not (ok and math.isfinite(v)):
            raise InputError(f"{opt} {v:g}: must be a finite number {allowed}")
    out = Path(a.out_dir)
    # before the replays, not after them: where the tables cannot go
    parent = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise InputError(f"--out-dir {a.out_dir}: {parent} is not a writable directory")
    if Path(a.trace).is_dir():
        raise InputError(f"--trace {a.trace}: a directory, not a trace file")
    s = run(a.trace, a.policy, a.out_dir, a.repeat, a.sample_interval_s, labels, a.max_share,
            int(a.max_gib * 2**30), progress=progress_interval(a))
    r = s.iloc[0]
    if not r.get("not_measured"):       # (run() has said why not)
        print(f"{a.policy}: runtime {r['runtime_s']:.4f} s "
              f"[{r['runtime_s_min']:.4f}, {r['runtime_s_max']:.4f}], faults {r['faults']:.0f}, "
              f"fault time {r['fault_time_s']:.4f} s, huge faults {r['faults_2m']:.0f}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
