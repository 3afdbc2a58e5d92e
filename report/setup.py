"""The report's setup tables: every value of the effective config with its
unit and the source of its value, both read from config/schema.yaml
(``x-unit``, ``x-source``; see ``hpsim.options``).

    schema = load_schema("config/schema.yaml")
    setup_rows(config, schema, "policies")   # key, value, unit, source
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from hpsim.io import InputError, require_file
from hpsim.options import annotation, nodes_at

SECTIONS = ("machine", "pressure", "policies", "workloads")
COLUMNS = ["key", "value", "unit", "source"]


def load_schema(path) -> dict:
    """The config schema (YAML or JSON) at ``path``.  Raises InputError naming
    the file when it is missing, not YAML or not a mapping."""
    path = require_file(path, "config schema")
    try:
        schema = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(schema, dict) or "$defs" not in schema:
        raise InputError(f"{path}: expected a JSON schema mapping with $defs")
    return schema


def _leaves(d: dict, prefix: tuple = ()) -> list[tuple[tuple, object]]:
    """(key path, value) of every leaf, in config order; an empty mapping
    (a policy without options) is a leaf."""
    out = []
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out += _leaves(v, (*prefix, str(k)))
        else:
            out.append(((*prefix, str(k)), v))
    return out


def setup_rows(config: dict, schema: dict, section: str) -> pd.DataFrame:
    """One row per leaf value of ``config[section]`` (section: machine,
    pressure, policies or workloads): ``key`` (dotted path under the
    section, e.g. ``linux-thp.khugepaged.scan_sleep_millisecs``), ``value``
    (as in the config), ``unit`` (``x-unit``, "" for none) and ``source``
    (``x-source``; for an empty mapping, e.g. a policy without options, the
    mapping's).

    Raises ValueError for an unknown section or a value whose source the
    schema does not give (every value must have one)."""
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {', '.join(SECTIONS)}, got {section!r}")
    rows, missing = [], []
    for parts, value in _leaves(config.get(section) or {}):
        levels = nodes_at(schema, schema, config, [section, *parts])
        source = annotation(levels[-1], "x-source")
        key = ".".join(parts)
        if not source:
            missing.append(f"{section}.{key}")
        rows.append({"key": key, "value": value,
                     "unit": annotation(levels[-1], "x-unit") or "", "source": source})
    if missing:
        raise ValueError("no x-source in the schema for: " + ", ".join(missing))
    return pd.DataFrame(rows, columns=COLUMNS)
