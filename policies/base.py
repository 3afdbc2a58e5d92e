"""The policy interface: what a huge-page policy decides, and when.

Mechanism lives in ``machine``; a policy only decides.  It speaks to the
compiled fault path through four class attributes, read when it is attached:

- ``fault_mode``: FAULT_BASE (always 4 KiB), FAULT_HUGE (2 MiB when the region
  is empty, inside one VMA, and a block is free), FAULT_RESERVE (FreeBSD).
- ``prefer_zeroed``: take pre-zeroed blocks first for huge faults.
- ``population_trigger``: when a region's populated 4 KiB pages reach this
  count, ``on_trigger`` runs (0 = never).
- ``zero_page_on_read``: override the machine's read-fault behaviour.

Everything else happens in background threads (``threads()``), woken on
their own periods in simulated time, and in the hooks below.
"""
from __future__ import annotations

from typing import Any, ClassVar

from machine.constants import FAULT_BASE

REGISTRY: dict[str, type["Policy"]] = {}


def register(name: str):
    def deco(cls):
        if name in REGISTRY:
            raise ValueError(f"policy {name!r} registered twice")
        cls.name = name
        REGISTRY[name] = cls
        return cls
    return deco


def create(name: str, machine, params: dict | None = None) -> "Policy":
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {sorted(REGISTRY)}") from None
    return cls(machine, params or {})


def check_params(name: str, params: dict | None) -> None:
    """Validate a policy's options without a machine (config checking)."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {sorted(REGISTRY)}") from None
    obj = cls.__new__(cls)
    obj.m = None
    obj.p = merge_params(f"policies.{name}", cls.defaults, params or {})
    obj.validate()


def scale_durations(name: str, params: dict, factor: float) -> dict:
    """A copy of ``params`` with the policy's period options multiplied by
    ``factor`` (scaled-down profiles shrink time with footprint)."""
    import copy
    out = copy.deepcopy(params or {})
    if factor == 1:
        return out
    cls = REGISTRY[name]
    for key in cls.duration_keys:
        *path, leaf = key.split(".")
        d_default = cls.defaults
        d = out
        for part in path:
            d_default = d_default[part]
            d = d.setdefault(part, {})
        d[leaf] = d.get(leaf, d_default[leaf]) * factor
    return out


def merge_params(owner: str, defaults: dict, given: dict) -> dict:
    """defaults updated by given, recursively; unknown keys are errors."""
    out = {}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"{owner}: unknown option(s) {unknown}; allowed: {sorted(defaults)}")
    for k, v in defaults.items():
        if isinstance(v, dict):
            out[k] = merge_params(f"{owner}.{k}", v, given.get(k, {}) or {})
        else:
            out[k] = given.get(k, v)
    return out


class KernelThread:
    """A background kernel thread (khugepaged, a pre-zeroing thread, ...).

    ``work(now_s)`` does one pass and returns the seconds to sleep.  CPU time
    is charged through ``machine.charge(self.name, cycles)``.
    """

    def __init__(self, name: str, work, first_wake_s: float):
        self.name = name
        self.work = work
        self.next_wake_s = first_wake_s
        self.passes = 0

    def run(self, now_s: float) -> None:
        sleep = self.work(now_s)
        self.passes += 1
        self.next_wake_s = now_s + max(float(sleep), 1e-6)

    def wake_now(self, now_s: float) -> None:
        """Wake up at the next scheduling point (a policy queued work)."""
        self.next_wake_s = min(self.next_wake_s, now_s)


class Policy:
    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    fault_mode: ClassVar[int] = FAULT_BASE
    prefer_zeroed: ClassVar[bool] = False
    population_trigger: ClassVar[int] = 0
    zero_page_on_read: ClassVar[bool | None] = None
    # dotted option keys that are periods (the workflow's time_scale multiplies them)
    duration_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, machine, params: dict):
        self.m = machine
        self.p = merge_params(f"policies.{self.name}", self.defaults, params)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming an out-of-range option."""

    # --- hooks ------------------------------------------------------------
    def threads(self) -> list[KernelThread]:
        return []

    def on_mmap(self, proc, vma) -> None:
        pass

    def on_munmap(self, proc, start: int, end: int) -> None:
        pass

    def on_trigger(self, proc, slot: int, now_s: float) -> None:
        pass

    def on_memory_shortage(self, proc, now_s: float) -> bool:
        """No free frame for proc's fault: free something and return True to
        retry, or return False (the process is out of memory)."""
        return False

    def counters(self) -> dict[str, int]:
        """Policy-specific totals for the summary table."""
        return {}
