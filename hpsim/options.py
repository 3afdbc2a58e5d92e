"""Options from the one schema: defaults, validation, time scaling, annotations.

``config/config.yaml`` holds every policy option's value (each policy's block
is complete; the policy classes hold no copy) and ``config/schema.yaml``
declares each option once under ``$defs``: type, range (minimum, maximum,
enum...), unit (``x-unit``), the source of its value (``x-source``) and, for
periods that a scaled-down experiment changes, ``x-duration: sample | work``
(``scale_durations``).
The same definitions check the config's policy blocks, workloads' ``params``
and experiments' overrides (JSON schema draft 2020-12, ``jsonschema``).

It lives in ``hpsim`` (shared by every package) and imports no other project
module: the policies (``create``, ``check_params``, ``scale_durations``), the
workloads (parameter checks), the workflow (``check_config``) and the report
(``report.setup``) all use it.

The config folder is found beside the package in a clone (also with
``pip install -e .``); an installed copy reads ``$HPSIM_CONFIG_DIR``, which the
Snakefile sets to the workflow's own ``config/``.  Checks one option against another
(JSON schema cannot say them) stay in each policy's ``validate()``.

Errors are one line per problem: the dotted key, the value, what is allowed,
e.g. ``policies.linux-thp.khugepaged.max_ptes_none: 600 is not allowed (must
be <= 511)`` or ``policies.hawkeye-g.pmu: unknown option; allowed: ...``.
"""
from __future__ import annotations

import copy
import functools
import json
import os
import re
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

CONFIG_DIR = Path(os.environ.get("HPSIM_CONFIG_DIR")
                  or Path(__file__).resolve().parent.parent / "config")
SCHEMA = CONFIG_DIR / "schema.yaml"
CONFIG = CONFIG_DIR / "config.yaml"


def _unshare(v):
    """A copy in which no mapping is shared: YAML aliases (``<<: *hawkeye``)
    load as one object reachable from two keys."""
    return {k: _unshare(x) for k, x in v.items()} if isinstance(v, dict) else copy.deepcopy(v)


@functools.cache
def _load_yaml(path: str) -> dict:
    # libyaml's loader where PyYAML has it: the same documents, 8x faster (0.22 -> 0.03 s
    # for config.yaml + schema.yaml, paid by every simulation job at start-up)
    with open(path) as f:
        return _unshare(yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def load_schema(path=SCHEMA) -> dict:
    """The schema at ``path`` (YAML or JSON), loaded once per path; do not modify it."""
    return _load_yaml(str(Path(path).resolve()))


def default_config() -> dict:
    """A fresh copy of ``config/config.yaml`` (the default profile)."""
    return copy.deepcopy(_load_yaml(str(CONFIG)))


def merge(base: dict, over: dict | None) -> dict:
    """A copy of ``base`` with ``over`` merged in key by key (nested mappings
    merged, anything else replaced), as snakemake merges ``--configfile``."""
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def defaults(name: str) -> dict:
    """The complete option dict of policy ``name`` from ``config/config.yaml``
    (a copy).  Raises ValueError for a policy without a block there."""
    blocks = _load_yaml(str(CONFIG))["policies"]
    if name not in blocks:
        raise ValueError(f"policy {name!r} has no options block in {CONFIG.name} "
                         f"(defined: {sorted(blocks)})")
    return copy.deepcopy(blocks[name])


# --- the schema as a tree of definitions ------------------------------------------

def _deref(ref: str, root: dict) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"schema: only local references are supported, got {ref!r}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _validator(node: dict, root: dict) -> Draft202012Validator:
    return Draft202012Validator({**node, "$defs": root.get("$defs", {})})


def applicable(node: dict, instance, root: dict) -> list[dict]:
    """Every subschema that applies to ``instance`` at ``node``: the node and
    what its ``$ref``, ``allOf`` and matching ``if``/``then``/``else`` bring in."""
    out, todo = [], [node]
    while todo:
        n = todo.pop(0)
        if not isinstance(n, dict):
            continue
        out.append(n)
        if "$ref" in n:
            todo.append(_deref(n["$ref"], root))
        todo.extend(n.get("allOf", []))
        if "if" in n:
            branch = "then" if _validator(n["if"], root).is_valid(instance) else "else"
            if branch in n:
                todo.append(n[branch])
    return out


def children(nodes: list[dict], key: str) -> list[dict]:
    """The subschemas of ``key`` under any of ``nodes`` (properties,
    patternProperties, else additionalProperties)."""
    out = []
    for n in nodes:
        if key in n.get("properties", {}):
            out.append(n["properties"][key])
            continue
        pats = [s for p, s in n.get("patternProperties", {}).items() if re.search(p, key)]
        out += pats
        if not pats and isinstance(n.get("additionalProperties"), dict):
            out.append(n["additionalProperties"])
    return out


def nodes_at(root: dict, node: dict, instance, parts: list[str]) -> list[list[dict]]:
    """For each prefix of the key path ``parts`` below ``instance`` (validated
    by ``node``): the subschemas that apply there.  Element 0 is ``node``
    itself, element i the key ``parts[i-1]``."""
    levels = [applicable(node, instance, root)]
    for part in parts:
        instance = instance.get(part) if isinstance(instance, dict) else None
        levels.append([a for c in children(levels[-1], part)
                       for a in applicable(c, instance, root)])
    return levels


def annotation(nodes: list[dict], key: str):
    """The first value of ``key`` (e.g. x-source) among ``nodes``, or None."""
    return next((n[key] for n in nodes if key in n), None)


def declared(nodes: list[dict]) -> list[str]:
    """Keys declared (``properties``) by any of ``nodes``, in order."""
    return list(dict.fromkeys(k for n in nodes for k in n.get("properties", {})))


# --- validation ----------------------------------------------------------------------

_TYPE_WORDS = {"boolean": "true or false", "integer": "an integer", "number": "a number",
               "string": "a string", "object": "a mapping", "array": "a list", "null": "null"}


def _show(v) -> str:
    s = json.dumps(v, default=str)
    return s if len(s) <= 60 else s[:56] + " ..."


def _rule(e) -> str:
    """What a failed keyword allows, in words."""
    kw, v = e.validator, e.validator_value
    if kw == "type":
        return "must be " + " or ".join(_TYPE_WORDS.get(t, t) for t in
                                          (v if isinstance(v, list) else [v]))
    words = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if kw in words:
        return f"must be {words[kw]} {v}"
    if kw == "enum":
        return "must be one of " + ", ".join(_show(x) for x in v)
    if kw == "const":
        return f"must be {_show(v)}"
    if kw == "multipleOf":
        return f"must be a multiple of {v}" + (f", {e.schema['description']}"
                                               if "description" in e.schema else "")
    if kw in ("minItems", "minProperties"):
        return f"must have at least {v} {'item' if kw == 'minItems' else 'entry'}"
    if kw == "pattern":
        return f"must match {v}"
    if kw in ("oneOf", "anyOf") and all(set(s) == {"required"} for s in v):
        return "needs one of: " + " | ".join(" + ".join(s["required"]) for s in v)
    return e.message


def schema_errors(root: dict, node: dict, value, path: str, noun: str = "option",
                  complete: bool = False) -> list[str]:
    """One line per problem of ``value`` against ``node`` (a subschema of
    ``root``), keys named from ``path`` (dotted).  ``complete``: every key the
    schema declares must be given (a policy's full option set)."""
    lines = []
    errors = _validator(node, root).iter_errors(value)
    for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        parts = [str(p) for p in e.absolute_path]
        where = ".".join(p for p in [path, *parts] if p) or "(top level)"
        if e.validator == "required":
            lines += [f"{where}.{k}: missing" for k in e.validator_value if k not in e.instance]
        elif e.validator in ("additionalProperties", "unevaluatedProperties"):
            allowed = declared(nodes_at(root, node, value, parts)[-1])
            word = "parameter" if "params" in where.split(".") else noun   # a workload's
            for key in sorted(set(e.instance) - set(allowed)):
                lines.append(f"{where}.{key}: unknown {word}; allowed: "
                             f"{', '.join(allowed) or 'none'}")
        else:
            lines.append(f"{where}: {_show(e.instance)} is not allowed ({_rule(e)})")
    if complete and not lines:
        lines += _missing(root, node, value, path, noun)
    return list(dict.fromkeys(lines))


def _missing(root: dict, node: dict, value, path: str, noun: str) -> list[str]:
    nodes = applicable(node, value, root)
    if not isinstance(value, dict):
        return []
    out = [f"{path}.{k}: missing {noun} (the block must be complete)"
           for k in declared(nodes) if k not in value]
    for k, v in value.items():
        kids = children(nodes, k)
        if isinstance(v, dict) and kids:
            out += _missing(root, {"allOf": kids}, v, f"{path}.{k}", noun)
    return out


def definition(name: str, schema: dict | None = None) -> dict:
    """The schema definition ``$defs/<name>`` (a policy or a workload kind)."""
    schema = schema or load_schema()
    try:
        return schema["$defs"][name]
    except KeyError:
        raise ValueError(f"no definition {name!r} in {SCHEMA.name}") from None


def validate(name: str, params: dict, path: str | None = None) -> dict:
    """Check the complete option dict of policy ``name`` against its schema
    definition; returns a copy.  Raises ValueError, one line per problem."""
    schema = load_schema()
    lines = schema_errors(schema, definition(name, schema), params,
                          path or f"policies.{name}", complete=True)
    if lines:
        raise ValueError("\n".join(lines))
    return copy.deepcopy(params)


def validate_params(kind: str, params: dict, path: str | None = None) -> None:
    """Check a workload's parameters against ``$defs/<kind>``; ValueError if not."""
    schema = load_schema()
    lines = schema_errors(schema, definition(kind, schema), params, path or f"{kind}.params",
                          noun="parameter")
    if lines:
        raise ValueError("\n".join(lines))


DURATION_KINDS = ("sample", "work")


def duration_keys(name: str) -> dict[str, str]:
    """Dotted keys of policy ``name``'s periods (``x-duration``) -> their kind:
    ``sample`` (a sampling or checking period) or ``work`` (the sleep of a daemon
    that does a fixed amount of work per pass).  Raises ValueError on another kind."""
    schema = load_schema()
    out = {}

    def walk(node, instance, prefix):
        nodes = applicable(node, instance, schema)
        for k in declared(nodes):
            sub = instance.get(k) if isinstance(instance, dict) else None
            kids = [a for c in children(nodes, k) for a in applicable(c, sub, schema)]
            kind = annotation(kids, "x-duration")
            if kind is not None:
                if kind not in DURATION_KINDS:
                    raise ValueError(f"config/schema.yaml: {name}.{prefix}{k}: x-duration "
                                     f"{kind!r}; allowed: {', '.join(DURATION_KINDS)}")
                out[prefix + k] = kind
            elif declared(kids):
                walk({"allOf": kids}, sub, f"{prefix}{k}.")

    walk(definition(name, schema), defaults(name), "")
    return out


def scale_durations(name: str, params: dict, time_scale: float,
                    space_scale: float = 1.0) -> dict:
    """A copy of ``params`` with the policy's periods scaled for a miniature
    of the paper's experiment (README "Scaling"): ``sample`` periods times
    ``time_scale`` (the phases are that much shorter, so each phase holds as
    many samples as the paper's), ``work`` periods times ``time_scale /
    space_scale`` (a daemon doing a fixed amount of work per pass then covers
    the same share of a footprint ``space_scale`` times the paper's per phase).
    A period not given is taken from ``defaults(name)``."""
    out = copy.deepcopy(params or {})
    factor = {"sample": time_scale, "work": time_scale / space_scale}
    if factor["sample"] == 1 and factor["work"] == 1:
        return out
    base = defaults(name)
    for key, kind in duration_keys(name).items():
        *path, leaf = key.split(".")
        d_default, d = base, out
        for part in path:
            d_default = d_default[part]
            d = d.setdefault(part, {})
        d[leaf] = d.get(leaf, d_default[leaf]) * factor[kind]
    return out
