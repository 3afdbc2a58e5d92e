"""The workload-generator interface and its registry.

A workload turns a parameter dict and a seed into one trace file per
process.  Generators write through ``workloads.trace.TraceWriter`` in
chunks, so memory stays bounded whatever the footprint.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from hpsim.options import validate_params
from hpsim.progress import Progress
from hpsim.units import MIB, PAGE_SIZE
from workloads.trace import VERSION, TraceWriter

REGISTRY: dict[str, type["Workload"]] = {}

# Peak RSS of `python -m workloads.generate` for a small workload (graph500
# scale 14: 228 MB; redis 32768 keys: 159 MB), measured with /usr/bin/time -f %M
# on this project's 2-core VM, 2026-11-29.
HOST_BASE_BYTES = 230 * MIB


def register(name: str):
    def deco(cls):
        if name in REGISTRY:
            raise ValueError(f"workload {name!r} registered twice")
        cls.kind = name
        REGISTRY[name] = cls
        return cls
    return deco


# The generator modules, each registering its kind (its module's name).  They are
# imported when a kind is first asked for, not with the package: a job that only
# reads or writes traces (a native replay, a simulation) then imports no generator
# and, unless it loads kernels, not numba (the Redis kernels' import, 0.17 s).
GENERATORS = ("buffer_touch", "graph500", "hotspot", "lackey", "redis", "xsbench")


def get(kind: str) -> type["Workload"]:
    """The generator class of ``kind``, importing its module on first use.
    Raises ValueError naming the known kinds for an unknown one."""
    if kind not in REGISTRY:
        for name in (kind,) if kind in GENERATORS else GENERATORS:
            importlib.import_module(f"workloads.{name}")
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ValueError(f"unknown workload kind {kind!r}; known: {sorted(REGISTRY)}") from None


class Workload(ABC):
    """A generator of one process's trace.

    ``defaults`` lists every parameter with its default.  Types and ranges are
    declared once, in config/schema.yaml ``$defs/<kind>``: the parameters are
    checked against it (unknown parameters are rejected, so a typo in the
    config cannot silently fall back to a default).
    """

    kind: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    # what the generator's progress counts (``progress``), plural
    work_unit: ClassVar[str] = "accesses"
    # what one access of the trace stands for, in bytes: 8, a word (an element of an
    # array, one load or store), or 64, a cache line (a generator that emits one access
    # per line touched); the native replay places a record's accesses by it
    # (host.replay.access_bytes, from the trace header's workload kind)
    access_bytes: ClassVar[int] = 8
    # progress off unless ``write`` turns it on (``generate`` called by hand)
    _interval: float | bool | None = False
    _bar: Progress | None = None

    def __init__(self, params: dict | None = None, seed: int = 0):
        """Raises ValueError, one line per problem, naming ``<kind>.params.<key>``."""
        self.params = {**self.defaults, **dict(params or {})}
        validate_params(self.kind, self.params)
        self.seed = int(seed)
        self.validate()

    def validate(self) -> None:
        """Checks the schema cannot express (one parameter against another, a
        file that must exist); raise ValueError naming the parameter."""

    def host_bytes(self) -> int:
        """An estimate of the generator's peak host memory (bytes): the
        config check refuses a workload the host cannot generate, and the
        trace rule declares it as ``mem_mb``.  The base is the generator
        process with numpy and numba loaded (measured, see ``HOST_BASE_BYTES``);
        generators whose memory grows with a parameter add their share."""
        return HOST_BASE_BYTES

    def min_resident_bytes(self) -> int:
        """A lower bound on the memory (bytes) the workload holds resident at
        once: a machine with less usable memory cannot run it whole, and the
        config check refuses it before any job runs.  0 = no bound known."""
        return 0

    def header(self) -> dict:
        return {"workload": self.kind, "params": self.params, "seed": self.seed}

    @abstractmethod
    def generate(self, out: TraceWriter) -> None:
        """Write the whole trace through ``out``."""

    def progress(self, done: int, total: int) -> None:
        """Generators call this between chunks of work (never in compiled
        code): ``done`` of ``total`` ``work_unit`` by now.  A progress line on
        stderr (``hpsim.progress``) when its interval has passed, with the
        records written so far."""
        if self._bar is None and self._interval is not False:
            w = self._writer
            self._bar = Progress(f"generate {self.kind}", total, self.work_unit, self._interval,
                                 note=lambda: f"{w.n_records + w._n:,} records written")
        if self._bar is not None:
            self._bar.update(done)

    def write(self, path, version: int = VERSION, progress: float | bool | None = True) -> dict:
        """Generate into ``path`` atomically (in trace format ``version``);
        returns the trailer totals.  progress: ``hpsim.progress.Progress``'s
        interval (True or None: its default; seconds; False: no lines)."""
        self.trailer_extra: dict = {}
        self._interval, self._bar = progress, None
        with TraceWriter(path, self.header(), version=version) as w:
            self._writer = w
            self.generate(w)
            # generators may add totals (e.g. live-bytes checkpoints) to the trailer
            w.close(extra=self.trailer_extra)
        if self._bar is not None:
            self._bar.close()
        return {"n_accesses": w.n_accesses, "n_records": w.n_records,
                "peak_mapped_bytes": w.peak_mapped_pages * PAGE_SIZE}
