"""What the host kernel offers and what it counts: THP mode, khugepaged's
settings, /proc/vmstat THP counters, free memory, and the reason a native
run cannot be made here (``unavailable``).

Sources: Documentation/admin-guide/mm/transhuge.rst (the sysfs files and
vmstat counters), fs/proc/meminfo.c (MemAvailable).
"""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path

THP = Path("/sys/kernel/mm/transparent_hugepage")
VMSTAT_KEYS = ("thp_fault_alloc", "thp_fault_fallback", "thp_collapse_alloc",
               "thp_collapse_alloc_failed", "thp_split_pmd", "compact_stall")
KHUGEPAGED_KEYS = ("pages_to_scan", "scan_sleep_millisecs", "alloc_sleep_millisecs",
                   "max_ptes_none", "defrag")
# the native runs' policies and the host THP mode each needs
POLICIES = {"host-4k": "MADV_NOHUGEPAGE", "host-thp": "MADV_HUGEPAGE"}


def _selected(text: str) -> str:
    """The bracketed choice of a sysfs selector such as 'always [madvise] never'."""
    m = re.search(r"\[([^\]]+)\]", text)
    return m.group(1) if m else text.strip()


def thp_settings() -> dict:
    """THP ``enabled``, ``defrag``, ``use_zero_page`` and khugepaged's settings
    (``khugepaged_<key>``), as strings; {} where the files are absent."""
    out = {}
    if not THP.is_dir():
        return out
    for key in ("enabled", "defrag", "use_zero_page"):
        f = THP / key
        if f.exists():
            out[key] = _selected(f.read_text())
    for key in KHUGEPAGED_KEYS:
        f = THP / "khugepaged" / key
        if f.exists():
            out[f"khugepaged_{key}"] = f.read_text().strip()
    return out


def vmstat() -> dict[str, int]:
    """The THP and compaction counters of /proc/vmstat (machine-wide: other
    processes' huge faults count too); {} off Linux."""
    try:
        text = Path("/proc/vmstat").read_text()
    except OSError:
        return {}
    vals = dict(line.split() for line in text.splitlines() if line.count(" ") == 1)
    return {k: int(vals[k]) for k in VMSTAT_KEYS if k in vals}


def mem_available_bytes() -> int:
    """MemAvailable of /proc/meminfo in bytes (the kernel's estimate of
    memory a new program can use without swapping); 0 when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def mem_total_bytes() -> int:
    """MemTotal of /proc/meminfo in bytes; 0 when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def unavailable(policy: str, settings: dict | None = None) -> str | None:
    """Why ``policy`` (host-4k, host-thp) cannot run natively here, or None.
    host-4k needs Linux; host-thp needs THP ``enabled`` = madvise or always
    (with ``never`` MADV_HUGEPAGE gives no huge page)."""
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r}: allowed: {sorted(POLICIES)}")
    if platform.system() != "Linux":
        return f"not Linux ({platform.system()}): no madvise/THP to measure"
    if not hasattr(os, "sched_getaffinity"):
        return "not a Linux kernel interface"
    if policy == "host-thp":
        s = thp_settings() if settings is None else settings
        if not s:
            return "no transparent huge pages (/sys/kernel/mm/transparent_hugepage absent)"
        if s.get("enabled") not in ("madvise", "always"):
            return f"THP enabled={s.get('enabled')}: MADV_HUGEPAGE maps no huge page"
    return None


def memory_refusal(need_bytes: int, share: float) -> str | None:
    """Why a native run that maps ``need_bytes`` at peak must not start: it
    would use more than ``share`` of the host's available memory.  None if it
    fits."""
    avail = mem_available_bytes()
    if avail == 0:
        return "free memory unknown (no /proc/meminfo)"
    if need_bytes > share * avail:
        return (f"needs {need_bytes / 2**30:.2f} GiB mapped at peak, more than {share:g} of "
                f"the {avail / 2**30:.2f} GiB available (MemAvailable)")
    return None
