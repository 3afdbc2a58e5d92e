"""Freeze the effective configuration (config/config.yaml plus any
--configfile overrides) as JSON, which report.render then reads.

The workflow calls ``write_json`` from the ``effective_config`` rule: the
configuration goes from Snakemake to the file directly, never through a
command line (a long profile would pass the argument-length limit).
"""
from __future__ import annotations

import json

from hpsim.io import atomic_write_text, log


def write_json(doc, out) -> None:
    """Write ``doc`` (any JSON-serialisable value) to ``out`` atomically,
    keys sorted, one-space indent, a final newline.  Raises TypeError for a
    value JSON cannot hold, ValueError for NaN or infinity."""
    atomic_write_text(out, json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n")
    log(f"dump_json: wrote {out}")
