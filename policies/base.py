"""The policy interface: what a huge-page policy decides, and when.

Mechanism lives in ``machine``; a policy only decides.  It speaks to the
compiled fault path through four class attributes, read when it is attached:

- ``fault_mode``: FAULT_BASE (always 4 KiB), FAULT_HUGE (2 MiB when the region
  is empty, inside one VMA, and a block is free), FAULT_RESERVE (FreeBSD).
- ``prefer_zeroed``: take pre-zeroed blocks first for huge faults.
- ``population_trigger``: when a region's populated 4 KiB pages reach this
  count, ``on_trigger`` runs (0 = never).
- ``population_counts_zero_page``: PTEs of the shared zero page count towards
  that population (Ingens's population map), not only private pages (FreeBSD).
- ``zero_page_on_read``: override the machine's read-fault behaviour.
- ``defrag_fault``: a huge fault that finds no free block compacts memory
  directly, then retries (Linux THP ``defrag``); the instance may set it
  from its options.
- ``huge_zero_page``: a read fault in an empty huge-eligible region maps the
  shared huge zero page (Linux THP ``use_zero_page``); set per instance.

Everything else happens in background threads (``threads()``), woken on
their own periods in simulated time, and in the hooks below, which act on
the machine only through its mechanism API (``machine.mechanisms``: queries
such as ``pte_summary``, actions such as ``promote_region``, CPU charges);
no policy reads the machine's arrays (tests/test_policy_api.py).
"""
from __future__ import annotations

from typing import ClassVar

from machine.constants import FAULT_BASE
from hpsim import options

REGISTRY: dict[str, type["Policy"]] = {}


def register(name: str):
    def deco(cls):
        if name in REGISTRY:
            raise ValueError(f"policy {name!r} registered twice")
        cls.name = name
        REGISTRY[name] = cls
        return cls
    return deco


def policy_class(name: str) -> type["Policy"]:
    """The class registered as ``name``; ValueError naming the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {sorted(REGISTRY)}") from None


def create(name: str, machine, params: dict) -> "Policy":
    """Policy ``name`` on ``machine`` with its complete option dict ``params``
    (``hpsim.options.defaults(name)`` with any overrides merged in, as
    the workflow's run specs carry it).  Raises ValueError, one line per
    problem, for a missing, unknown, mistyped or out-of-range option."""
    return policy_class(name)(machine, params)


def check_params(name: str, params: dict | None, path: str | None = None,
                 complete: bool = False) -> None:
    """Validate options of policy ``name`` without a machine (config
    checking): against the schema's definition, then by the class's
    cross-option ``validate()``.  ``params`` are overrides merged over
    ``options.defaults(name)``, or with ``complete`` the whole option dict.
    ``path``: the dotted key errors name (default ``policies.<name>``).
    Raises ValueError, one line per problem."""
    cls = policy_class(name)
    if not complete:
        params = options.merge(options.defaults(name), params)
    obj = cls.__new__(cls)
    obj.m = None
    obj.p = options.validate(name, params, path)
    try:
        obj.validate()
    except ValueError as e:   # the class names its keys policies.<name>.<key>
        if path is None:
            raise
        raise ValueError(str(e).replace(f"policies.{name}", path, 1)) from None


def scale_durations(name: str, params: dict, time_scale: float,
                    space_scale: float = 1.0) -> dict:
    """A copy of ``params`` with the periods the schema marks ``x-duration``
    scaled for a miniature (see ``hpsim.options.scale_durations``)."""
    policy_class(name)
    return options.scale_durations(name, params, time_scale, space_scale)


class KernelThread:
    """A background kernel thread (khugepaged, a pre-zeroing thread, ...).

    ``work(now_s)`` does one pass and returns the seconds to sleep.  CPU time
    is charged through ``machine.charge(self.name, cycles)`` (or
    ``charge_ns``/``charge_us``, or ``policies.khugepaged.charge_scan``).
    """

    def __init__(self, name: str, work, first_wake_s: float, wake_when=None,
                 watermark=None):
        """``wake_when()``, if given, is asked at the end of every scheduling
        step (as kswapd is woken when free memory falls below a watermark);
        True wakes the thread at once, before its period ends.
        ``watermark()``, if given, returns the free 4 KiB frames below which
        ``wake_when`` turns true: the run then ends the step at the fault
        that crosses it (``Machine.arm_watermark``), so the thread wakes at
        the crossing, as the page allocator wakes kswapd (mm/page_alloc.c
        ``wakeup_kswapd``), not up to a step later."""
        self.name = name
        self.work = work
        self.next_wake_s = first_wake_s
        self.wake_when = wake_when
        self.watermark = watermark
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
    fault_mode: ClassVar[int] = FAULT_BASE
    prefer_zeroed: ClassVar[bool] = False
    population_trigger: ClassVar[int] = 0
    population_counts_zero_page: ClassVar[bool] = False
    zero_page_on_read: ClassVar[bool | None] = None
    defrag_fault: bool = False
    huge_zero_page: bool = False

    def __init__(self, machine, params: dict):
        """``params``: the complete option dict, checked against the schema
        (config/schema.yaml ``$defs/<name>``), then by ``validate()``."""
        self.m = machine
        self.p = options.validate(self.name, params)
        self.validate()

    def validate(self) -> None:
        """Checks of one option against another, which the schema cannot
        express (types and ranges are the schema's); raise ValueError
        naming the option.  Reads ``self.p`` only (no machine)."""

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
