"""Measure this host's machine constants and write a machine profile.

    python -m host.calibrate [--out config/host.yaml] [--repeat 5]

Each constant is measured ``--repeat`` times with the compiled probes
(``host/native.c``); the profile gets the median, and its comment line says
how it was measured, on what date, how many runs and their spread
((max - min) / median).  Keys are those of ``config/config.yaml``'s
``machine:`` section (units in ``config/schema.yaml``):

| key | probe |
|---|---|
| cpu_ghz | a loop of one-cycle dependent adds (the replay's compute spin), per CPU ns |
| costs.zero_4k_us | clearing a mapped 4 KiB page with ``rep stosb`` (the kernel's clear_page_erms) |
| costs.fault_base_4k_us | mean 4 KiB first-touch fault (native replay of the calibration buffer touch, MADV_NOHUGEPAGE) minus zero_4k_us |
| costs.fault_base_2m_us | mean 2 MiB first-touch fault (the same, MADV_HUGEPAGE, free huge blocks) minus 512 x zero_4k_us |
| costs.walk_cycles_4k | pointer chase, one line per page over 512 MiB: 4 KiB pages (far beyond the STLB's reach) minus 2 MiB pages, in cycles |
| costs.l2_hit_cycles | the same over 4 MiB (inside the STLB's reach, beyond the L1 DTLB's) |
| costs.dram_latency_ns | pointer chase through every line of 512 MiB on 2 MiB pages (no TLB miss) |
| costs.access_cycles | native replay of 2M accesses (half writes, no compute) over 16 KiB: run time per access, in cycles (the least an access of the replay takes; the simulator charges max(compute, access_cycles)) |
| memory_gib | MemTotal |

Not measured (kept from config.yaml, said so in the file): walk_cycles_2m
(needs a buffer beyond the 2 MiB STLB reach, several GiB, above the native
runs' memory cap), the 2 MiB fault without free huge blocks (needs the
host's memory fragmented on purpose, which a shared machine must not do),
the TLB geometry, and copy/free/migration costs.  Where THP is unavailable
the 2 MiB fault is "not measured" likewise; off Linux nothing is measured.

The calibration traces are held apart from the validation experiment's
(``CALIBRATION_WORKLOADS``; tests/test_host.py checks the two are disjoint).
"""
from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from hpsim.cli import cli
from hpsim.io import InputError, atomic_write_text, log
from host import kernel, native, replay
from workloads import base as workloads

MIB = 1 << 20
# the traces calibration replays: sizes no validation trace uses
CALIBRATION_WORKLOADS = {
    "calib_touch": {"kind": "buffer_touch", "params": {"size_gib": 0.1875,
                                                       "order": "sequential"}},
    # the replay's own cost per access: 2M accesses, half of them writes, no compute,
    # over 16 KiB (4 pages: inside the L1 data cache and the L1 DTLB)
    "calib_access": {"kind": "hotspot", "params": {
        "size_gib": 16 / 2**20, "hot_fraction": 1.0, "hot_access_fraction": 1.0,
        "accesses": 2_000_000, "write_fraction": 0.5, "cycles_per_access": 0}},
}
CHASE_BYTES = 512 * MIB      # beyond the STLB's 4 KiB reach (1-2 K entries x 4 KiB)
CHASE_SMALL = 4 * MIB        # inside it, beyond the L1 DTLB's (64 x 4 KiB)
CHASE_HOPS = 2_000_000
SPIN = 300_000_000
ZERO_BYTES = 64 * MIB
ORDER = ["memory_gib", "cpu_ghz", "zero_4k_us", "fault_base_4k_us", "fault_base_2m_us",
         "walk_cycles_4k", "l2_hit_cycles", "dram_latency_ns", "access_cycles"]


def _stats(xs: list[float]) -> tuple[float, float]:
    """Median and spread ((max - min) / |median|, never negative) of repeated
    measurements."""
    med = statistics.median(xs)
    return med, (max(xs) - min(xs)) / abs(med) if med else 0.0


def huge_shortfall(r: dict) -> str | None:
    """What a host-thp replay ``r`` (``replay.replay_once``) says when not every
    fault mapped a huge page, else None.  Counts all faults (``T``), not the
    timed ones (``C``), which leave out the faults during which the thread was
    descheduled."""
    faults, huge = r["T"][3], r["T"][5]
    if huge >= faults:
        return None
    return f"{huge} of {faults} faults were huge (no free block?)"


def _write_trace(tmp: Path, name: str) -> Path:
    """The calibration trace ``name`` (CALIBRATION_WORKLOADS, seed 1) written under tmp."""
    spec = CALIBRATION_WORKLOADS[name]
    trace = tmp / f"{name}.trace"
    workloads.get(spec["kind"])(spec["params"], 1).write(trace)
    return trace


def chase(bytes_: int, mode: int, stride: int, seed: int) -> float:
    """CPU ns per hop of ``native chase``: CHASE_HOPS dependent loads through
    one line per ``stride`` bytes of a ``bytes_`` buffer in a random cycle
    (``seed``), on 4 KiB pages (``mode`` 1, MADV_NOHUGEPAGE) or 2 MiB pages
    (2, MADV_HUGEPAGE).  Raises RuntimeError if the probe fails."""
    return float(native.run("chase", bytes_, mode, CHASE_HOPS, seed, stride))


def measure(repeat: int = 5, workdir=None) -> dict:
    """Every constant this host lets us measure: key -> (value, source) with
    source the comment the profile carries; a key that cannot be measured
    maps to (None, reason).  Raises InputError off Linux or without memory."""
    why = kernel.unavailable("host-4k")
    if why:
        raise InputError(f"cannot calibrate: {why}")
    need = CHASE_BYTES + 2 * MIB
    refuse = kernel.memory_refusal(need, 0.5)
    if refuse:
        raise InputError(f"cannot calibrate: {refuse}")
    date = datetime.date.today().isoformat()

    def src(what: str, xs: list[float], unit: str) -> str:
        med, spread = _stats(xs)
        return (f"measured by host.calibrate on {date}: {what}; {len(xs)} runs, median "
                f"{med:.4g} {unit}, spread {spread:.1%}")

    out: dict[str, tuple] = {}
    mem = kernel.mem_total_bytes()
    out["memory_gib"] = (round(mem / 2**30, 2), f"MemTotal of /proc/meminfo on {date}")
    ghz = [SPIN / float(native.run("spin", SPIN)) for _ in range(repeat)]
    out["cpu_ghz"] = (round(_stats(ghz)[0], 3),
                      src("one-cycle dependent add loop per CPU ns", ghz, "GHz"))
    zero = [float(x) / 1000 for x in native.run("zero", ZERO_BYTES, repeat).split()]
    z4k = _stats(zero)[0]
    out["zero_4k_us"] = (round(z4k, 4), src("rep stosb over a mapped 4 KiB page (as "
                                            "clear_page_erms)", zero, "µs"))
    tmp = Path(workdir or tempfile.mkdtemp(prefix="hpsim-calib-"))
    spec = CALIBRATION_WORKLOADS["calib_touch"]
    trace = _write_trace(tmp, "calib_touch")
    for policy, key, n_zero, label in (("host-4k", "fault_base_4k_us", 1, "4 KiB"),
                                       ("host-thp", "fault_base_2m_us", 512, "2 MiB")):
        reason = kernel.unavailable(policy)
        if reason:
            out[key] = (None, f"not measured: {reason}")
            continue
        lat = []
        replay.warm_up(trace, policy)
        for _ in range(repeat):
            r = replay.replay_once(trace, policy, 0.0, instrument=True)
            n4k, ns4k, n2m, ns2m = r["C"][0][3:7]
            n, ns = (n2m, ns2m) if policy == "host-thp" else (n4k, ns4k)
            short = huge_shortfall(r) if policy == "host-thp" else None
            if short:
                log(f"  {short}")
            if n:
                lat.append(ns / 1e3 / n)
        if not lat:
            out[key] = (None, f"not measured: no {label} fault seen")
            continue
        base = _stats(lat)[0] - n_zero * z4k
        out[key] = (round(max(base, 0.0), 3),
                    src(f"mean {label} first-touch fault of a {spec['params']['size_gib']} GiB "
                        f"buffer touch ({policy}), free huge blocks, minus {n_zero} x zero_4k_us",
                        lat, "µs per fault"))
    hz = out["cpu_ghz"][0]
    walk = [(chase(CHASE_BYTES, 1, 4096, s) - chase(CHASE_BYTES, 2, 4096, s)) * hz
            for s in range(1, repeat + 1)]
    out["walk_cycles_4k"] = (max(0, round(_stats(walk)[0])),
                             src("pointer chase, one line per page of 512 MiB, 4 KiB minus "
                                 "2 MiB pages", walk, "cycles"))
    l2 = [(chase(CHASE_SMALL, 1, 4096, s) - chase(CHASE_SMALL, 2, 4096, s)) * hz
          for s in range(1, repeat + 1)]
    out["l2_hit_cycles"] = (max(0, round(_stats(l2)[0])),
                            src("pointer chase, one line per page of 4 MiB, 4 KiB minus 2 MiB "
                                "pages", l2, "cycles"))
    dram = [chase(CHASE_BYTES, 2, 64, s) for s in range(1, repeat + 1)]
    out["dram_latency_ns"] = (round(_stats(dram)[0], 1),
                              src("pointer chase through every line of 512 MiB on 2 MiB pages",
                                  dram, "ns"))
    trace = _write_trace(tmp, "calib_access")
    acc = []
    for _ in range(repeat):
        t = replay.replay_once(trace, "host-4k", 0.0, instrument=False)["T"]
        acc.append(t[0] / t[1] * hz)        # run time ns / accesses x cycles per ns
    out["access_cycles"] = (max(0, round(_stats(acc)[0])),
                            src("native replay of 2M accesses (half writes, no compute) over "
                                "16 KiB, run time per access", acc, "cycles"))
    out["walk_cycles_2m"] = (None, "not measured: needs a buffer beyond the 2 MiB STLB reach "
                                   "(GiBs), above the native runs' memory cap")
    return out


def profile_text(values: dict) -> str:
    """config/host.yaml: the measured values in config.yaml's machine keys,
    each with its source as a comment; unmeasured keys listed as comments."""
    lines = [f"# Machine profile of this host, written by python -m host.calibrate "
             f"({platform.node()}, Linux {platform.release()}, {platform.machine()}).",
             "# Keys of config/config.yaml's machine section (units: config/schema.yaml); the",
             "# validation experiment simulates with these over the default profile's machine.",
             "machine:"]
    top = ["memory_gib", "cpu_ghz"]
    for k in top:
        v, s = values[k]
        lines.append(f"  {k}: {v}    # {s}")
    lines.append("  costs:")
    for k in ORDER:
        if k in top or k not in values or values[k][0] is None:
            continue
        v, s = values[k]
        lines.append(f"    {k}: {v}    # {s}")
    for k, (v, s) in values.items():
        if v is None:
            lines.append(f"    # {k}: keeps config/config.yaml's value ({s})")
    return "\n".join(lines) + "\n"


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host.calibrate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="config/host.yaml",
                    help="profile to write (default %(default)s, relative to the current "
                         "directory: from the project's root, the profile the validation "
                         "experiment uses)")
    ap.add_argument("--repeat", type=int, default=5,
                    help="runs per constant, >= 1 (default %(default)s)")
    a = ap.parse_args(argv)
    if a.repeat < 1:
        raise InputError(f"--repeat {a.repeat}: must be >= 1")
    with tempfile.TemporaryDirectory(prefix="hpsim-calib-") as tmp:
        values = measure(a.repeat, tmp)
    text = profile_text(values)
    atomic_write_text(a.out, text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
