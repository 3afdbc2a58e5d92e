"""The host's machine profile (config/host.yaml, written by host.calibrate)
as the validation experiment's machine.

Source of the values: ``python -m host.calibrate`` on this host; each line of
the file says how it was measured.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from hpsim import options

EXPERIMENT = "validation"
# kept from the experiment: the simulated machine's size changes no result of
# the small validation traces (no memory pressure) but the cost of simulating it
KEEP = ("memory_gib",)


def load_machine(path) -> dict:
    """The ``machine:`` section of a profile file; {} if the file is absent.
    Raises ValueError for a file without a machine mapping."""
    p = Path(path)
    if not p.is_file():
        return {}
    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    machine = doc.get("machine")
    if not isinstance(machine, dict):
        raise ValueError(f"{p}: no 'machine:' mapping (write it with python -m host.calibrate)")
    return machine


def apply_host_profile(cfg: dict, path) -> None:
    """Merge the host profile at ``path`` into the validation experiment's
    ``machine`` overrides of ``cfg`` (in place), except ``KEEP``; nothing
    happens without the experiment or the file."""
    exp = cfg.get("experiments", {}).get(EXPERIMENT)
    prof = {k: v for k, v in load_machine(path).items() if k not in KEEP}
    if exp is None or not prof:
        return
    exp["machine"] = options.merge(exp.get("machine") or {}, prof)
