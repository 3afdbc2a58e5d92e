"""Check the paper's claims against our tables.

    python -m report.claims --claims config/claims.yaml --tables results/tables --out results/claims.csv

config/claims.yaml lists claims (see that file for the format).  Each claim's
``our_value`` is a small expression over one table, ``<tables>/<table>.csv``:

    row('linux-thp').zeroing_share
    row('linux-4k').faults / row('linux-thp').faults
    1 - row('hawkeye-pmu', workload='graph500').runtime_s / row('linux-thp', workload='graph500').runtime_s

``row(POLICY, COLUMN=VALUE, ...)`` picks the one row whose ``policy`` column is
POLICY (and whose other named columns have the given values); ``.name`` reads a
numeric column.  Numbers, ``+ - * /``, unary minus, parentheses and the
functions ``abs``, ``min`` and ``max`` are allowed; nothing else is (the
expression is parsed by Python's ``ast`` and evaluated by ``simpleeval``, a
maintained safe evaluator restricted to this language; never by ``eval``).

Verdicts (``compare`` sets how our value is held against the paper's):

- approx (default): relative error |ours - paper| / |paper| within ``tolerance``:
  reproduced; within ``partly_tolerance``: partly; else not reproduced.
- range (when ``paper_range: [lo, hi]`` is given): inside the range is error 0,
  outside it the relative distance to the nearest end.
- at_most / at_least: the paper gives a bound; meeting it is error 0, else the
  relative distance past it.
- calibrated: the claim has ``calibrated: <why>`` (the model's constants were
  chosen so that this value matches the paper) and it matches within
  ``tolerance``: agreement by construction, not a finding; a calibrated claim
  that misses is judged as any other, with the reason saying so.
- mechanism: a claim with ``mechanism: {statement, expr}`` (the mechanism the paper
  names as the reason) is "not reproduced" when its outcome matches but the check
  ``expr`` (on the same table) is <= 0, and "not measured" when the check cannot be read.
- not measured: the table, row or column is missing, or the value is undefined
  (division by zero, NaN); or a row the value reads (its ``row()`` calls, and the rows
  those columns are computed from, report.tables.READS) comes from a run that ran out of
  memory (``oom`` 1), unless the claim has ``oom_ok: true`` (it is about running out of
  memory, or reads only values taken before a kill).  The reason names the run, the
  process and the time of the kill.

Output columns: id, source, statement, paper_value, our_value, rel_error,
verdict, reason (rel_error is signed: (ours - target) / |target|).
"""
from __future__ import annotations

import argparse
import ast
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import simpleeval
import yaml

from report import InputError, atomic_write_csv, cli, log, require_dir, require_file
from report.tables import READS

VERDICTS = ("reproduced", "partly", "not reproduced", "calibrated", "not measured")
COMPARES = ("approx", "range", "at_most", "at_least")
OUTPUT_COLUMNS = ["id", "source", "statement", "paper_value", "our_value", "rel_error",
                  "verdict", "reason"]
MAX_EXPR_LEN = 500
OOM_REASON = "reads a run that ran out of memory"   # how an out-of-memory reason starts
TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class ExprError(ValueError):
    """The expression is not in the allowed language."""


class NotMeasured(Exception):
    """The expression is valid but its value cannot be had from the tables."""


# --- the expression language ----------------------------------------------------
#
# Expressions are parsed by Python's own parser (ast, mode "eval") and evaluated by
# simpleeval, a maintained safe evaluator, restricted here to the nodes, operators and
# functions below: no names, no subscripts, comparisons, conditionals or collections,
# no attribute but a column of a row(), no attribute starting with "_".

_FUNCTIONS = {"abs": (1, 1), "min": (2, 8), "max": (2, 8)}
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv, ast.USub: operator.neg, ast.UAdd: operator.pos}
_NODES = (ast.Expr, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call, ast.Attribute, ast.keyword)


class _AnyColumn:
    """allowed_attrs entry for a row: any column name (simpleeval already refuses names
    starting with "_")."""

    def __contains__(self, name) -> bool:
        return isinstance(name, str)


class _RowRef:
    """What ``row(...)`` returns: ``.column`` looks the value up with ``read``."""

    def __init__(self, read, key, filters):
        self._read, self._key, self._filters = read, key, filters

    def __getattr__(self, column):
        if column.startswith("_"):
            raise AttributeError(column)
        return self._read(self._key, self._filters, column)


def _row_function(text: str, read):
    """``row([POLICY], COLUMN=VALUE, ...)``: checks its arguments as the language allows."""
    def row(*args, **filters):
        if len(args) > 1 or any(not isinstance(a, str) for a in args):
            raise ExprError(f"row(): only one plain argument, the policy as a string, "
                            f"in {text!r}")
        key = args[0] if args else None
        if key is not None and "policy" in filters:
            raise ExprError(f"row(): policy given twice in {text!r}")
        if key is None and not filters:
            raise ExprError(f"row() needs a policy name or COLUMN=VALUE in {text!r}")
        for col, v in filters.items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise ExprError(f"row(): value for {col} must be a string or number "
                                f"in {text!r}")
        return _RowRef(read, key, {c: v if isinstance(v, str) else float(v)
                                   for c, v in filters.items()})
    return row


def _counted(name: str, f, text: str):
    lo, hi = _FUNCTIONS[name]

    def call(*args):
        if not lo <= len(args) <= hi:
            raise ExprError(f"{name}() takes {lo}..{hi} arguments, got {len(args)} in {text!r}")
        if any(isinstance(a, (bool, str)) or not isinstance(a, (int, float)) for a in args):
            raise ExprError(f"{name}() takes numbers in {text!r}")
        return f(*args)
    return call


class _Evaluator(simpleeval.SimpleEval):
    """simpleeval with only the nodes, operators and functions of the claims' language."""

    def __init__(self, text: str, read):
        super().__init__(operators=_OPERATORS, names={},
                         functions={"row": _row_function(text, read),
                                    **{n: _counted(n, f, text) for n, f in
                                       (("abs", abs), ("min", min), ("max", max))}},
                         allowed_attrs={_RowRef: _AnyColumn()})
        self.nodes = {k: v for k, v in self.nodes.items() if k in _NODES}

    def _eval_constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
            raise ExprError(f"constant {node.value!r} is not allowed in {self.expr!r}")
        return super()._eval_constant(node)


class Expr:
    """A claim expression; construction rejects anything outside the language (ExprError)
    by parsing it and evaluating it once on a stand-in table where every cell is 1."""

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise ExprError(f"expression must be a string, got {type(text).__name__}")
        if len(text) > MAX_EXPR_LEN:
            raise ExprError(f"expression longer than {MAX_EXPR_LEN} characters")
        self.text = text
        try:
            self.tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as e:
            raise ExprError(f"not an expression: {text!r} ({e.msg})") from e
        try:
            value = self._run(lambda key, filters, column: 1.0)
        except ZeroDivisionError:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExprError(f"{text!r} is not a number (got {type(value).__name__}); a row "
                            f"needs a column: row(...).COLUMN")

    def _run(self, read):
        try:
            return _Evaluator(self.text, read).eval(self.text, previously_parsed=self.tree)
        except (ExprError, NotMeasured, ZeroDivisionError):
            raise
        except (simpleeval.InvalidExpression, TypeError, KeyError, ValueError) as e:
            raise ExprError(f"{self.text!r}: {e}") from e

    def references(self) -> list[tuple[str | None, dict, str]]:
        """Every ``row(...).COLUMN`` of the expression as (policy or None, filters, column),
        in source order.  The language allows a row() only as the object of a column (Expr
        rejects anything else), so these are all the cells the value reads."""
        ev = _Evaluator(self.text, lambda key, filters, column: 1.0)
        ev.expr = self.text
        out = []
        for node in ast.walk(self.tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", None) == "row"):
                ref = ev._eval(node.value)
                out.append((ref._key, ref._filters, node.attr))
        return out

    def evaluate(self, table: pd.DataFrame, table_name: str = "table") -> float:
        """The expression's value on a table (NotMeasured if a row, column or the value
        itself is missing or undefined)."""
        try:
            value = float(self._run(lambda key, filters, column:
                                    lookup(table, table_name, key, filters, column)))
        except ZeroDivisionError as e:
            raise NotMeasured(f"division by zero in {self.text}") from e
        if math.isnan(value):
            raise NotMeasured(f"{self.text} is undefined (NaN) in table {table_name}")
        if math.isinf(value):
            raise NotMeasured(f"{self.text} is infinite in table {table_name}")
        return value


def _describe(key, filters) -> str:
    parts = [repr(key)] if key is not None else []
    parts += [f"{k}={v!r}" for k, v in filters.items()]
    return f"row({', '.join(parts)})"


def matching(df: pd.DataFrame, table_name: str, key, filters: dict) -> pd.DataFrame:
    """The rows of ``row(key, **filters)``: policy ``key`` (if given) and every filter
    column equal to its value (numbers compared as numbers).  NotMeasured if a filter's
    column is missing."""
    want = dict(filters)
    if key is not None:
        want = {"policy": key, **want}
    mask = pd.Series(True, index=df.index)
    for col, val in want.items():
        if col not in df.columns:
            raise NotMeasured(f"table {table_name} has no column {col!r}")
        if isinstance(val, float):
            mask &= pd.to_numeric(df[col], errors="coerce") == val
        else:
            mask &= df[col].astype(str) == val
    return df[mask]


def lookup(df: pd.DataFrame, table_name: str, key, filters: dict, column: str) -> float:
    """The numeric value of one column in the one row that matches."""
    hits = matching(df, table_name, key, filters)
    desc = _describe(key, filters)
    if len(hits) == 0:
        raise NotMeasured(f"table {table_name} has no {desc}")
    if len(hits) > 1:
        raise NotMeasured(f"table {table_name} has {len(hits)} rows matching {desc}; "
                          f"add COLUMN=VALUE filters to pick one")
    if column not in df.columns:
        raise NotMeasured(f"table {table_name} has no column {column!r}")
    v = pd.to_numeric(hits[column], errors="coerce").iloc[0]
    if pd.isna(v):
        raise NotMeasured(f"{desc}.{column} in table {table_name} is empty or not a number")
    return float(v)


# --- rows from runs that ran out of memory ------------------------------------------

def rows_read(expr: Expr, df: pd.DataFrame, table_name: str) -> pd.DataFrame:
    """The rows of ``df`` a claim's value reads: those its ``row()`` calls match, and for a
    column computed from other rows (report.tables.READS[table_name]), those rows too."""
    reads = READS.get(table_name, {})
    idx: list = []
    for key, filters, column in expr.references():
        try:
            hits = matching(df, table_name, key, filters)
        except NotMeasured:
            continue
        idx += list(hits.index)
        for policy, same in reads.get(column, ()):
            for _, r in hits.iterrows():
                mask = df["policy"].astype(str) == str(policy or r["policy"])
                for col in same:
                    if col in df.columns:
                        mask &= df[col].astype(str) == str(r[col])
                idx += list(df.index[mask])
    return df.loc[list(dict.fromkeys(idx))]


def _oom_run(r, table_name: str) -> str:
    """One run that ran out of memory, in words: "fig_bloat, linux-thp: process redis killed
    at 3 s"."""
    def text(col):
        v = r.get(col)
        return "" if v is None or pd.isna(v) else str(v)
    where = ", ".join(x for x in (text("experiment") or table_name, text("variant"),
                                  text("policy")) if x)
    procs = text("oom_process")
    t = pd.to_numeric(pd.Series([r.get("oom_time_s")]), errors="coerce").iloc[0]
    plural = "es" if " " in procs else ""
    return (where + ": " + (f"process{plural} {procs}" if procs else "a process") + " killed"
            + (f" at {t:.4g} s" if not pd.isna(t) else ""))


def out_of_memory(expr: Expr, df: pd.DataFrame, table_name: str) -> list[str]:
    """The runs that ran out of memory among the rows a claim's value reads (rows_read),
    in words, one per run; empty when none did or the table has no ``oom`` column."""
    if "oom" not in df.columns:
        return []
    rows = rows_read(expr, df, table_name)
    killed = rows[pd.to_numeric(rows["oom"], errors="coerce").fillna(0) > 0]
    return list(dict.fromkeys(_oom_run(r, table_name) for _, r in killed.iterrows()))


# --- claims -------------------------------------------------------------------

@dataclass
class Claim:
    id: str
    source: str
    statement: str
    paper_value: float
    table: str
    expr: Expr
    tolerance: float
    partly_tolerance: float
    compare: str = "approx"
    paper_range: tuple[float, float] | None = None
    oom_ok: bool = False   # judged even if a run it reads ran out of memory
    calibrated: str = ""   # why our value matches by construction (a calibration input)
    mechanism: "Mechanism | None" = None   # what must have acted for the paper's reason
    explanation: str = ""   # why our verdict differs from the paper: which mechanism, why


@dataclass(frozen=True)
class Mechanism:
    """The mechanism a claim's paper explanation names, as a check on the same table:
    it acted when ``expr`` is > 0 (e.g. recovery passes in P3 times pages released)."""
    statement: str
    expr: Expr


_CLAIM_KEYS = {"id", "source", "statement", "paper_value", "our_value", "tolerance",
               "partly_tolerance", "compare", "paper_range", "oom_ok", "calibrated", "mechanism",
               "explanation", "note"}


def _number(c: dict, key: str, where: str, default=None) -> float:
    v = c.get(key, default)
    if v is None:
        raise InputError(f"{where}: missing {key}")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputError(f"{where}: {key} must be a finite number, got {v!r}")
    return float(v)


def parse_claim(c, where: str) -> Claim:
    if not isinstance(c, dict):
        raise InputError(f"{where}: each claim must be a mapping, got {type(c).__name__}")
    cid = c.get("id")
    if not isinstance(cid, str) or not cid:
        raise InputError(f"{where}: missing id")
    where = f"{where} (id {cid})"
    unknown = set(c) - _CLAIM_KEYS
    if unknown:
        raise InputError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_CLAIM_KEYS)}")
    for k in ("source", "statement"):
        if not isinstance(c.get(k), str) or not c[k].strip():
            raise InputError(f"{where}: missing {k}")
    paper = _number(c, "paper_value", where)
    tol = _number(c, "tolerance", where)
    partly = _number(c, "partly_tolerance", where, default=tol)
    if tol < 0 or partly < tol:
        raise InputError(f"{where}: need 0 <= tolerance <= partly_tolerance, "
                         f"got {tol} and {partly}")
    ov = c.get("our_value")
    if not isinstance(ov, dict) or set(ov) != {"table", "expr"}:
        raise InputError(f"{where}: our_value must be a mapping with keys table and expr")
    if not isinstance(ov["table"], str) or not TABLE_NAME.match(ov["table"]):
        raise InputError(f"{where}: our_value.table must be a table name like table1, "
                         f"got {ov['table']!r}")
    try:
        expr = Expr(ov["expr"])
    except ExprError as e:
        raise InputError(f"{where}: our_value.expr: {e}") from e
    rng = c.get("paper_range")
    compare = c.get("compare", "range" if rng is not None else "approx")
    if compare not in COMPARES:
        raise InputError(f"{where}: compare must be one of {', '.join(COMPARES)}, got {compare!r}")
    if compare == "range":
        if (not isinstance(rng, (list, tuple)) or len(rng) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng)
                or not rng[0] <= rng[1]):
            raise InputError(f"{where}: paper_range must be [low, high] with low <= high")
        if rng[0] == 0 or rng[1] == 0:
            raise InputError(f"{where}: paper_range ends must be non-zero (errors are relative)")
        rng = (float(rng[0]), float(rng[1]))
    elif rng is not None:
        raise InputError(f"{where}: paper_range is only used with compare: range")
    if paper == 0:
        raise InputError(f"{where}: paper_value must be non-zero (errors are relative)")
    oom_ok = c.get("oom_ok", False)
    if not isinstance(oom_ok, bool):
        raise InputError(f"{where}: oom_ok must be true or false, got {oom_ok!r}")
    calibrated = c.get("calibrated", "")
    if not isinstance(calibrated, str):
        raise InputError(f"{where}: calibrated must be the reason (text), got {calibrated!r}")
    return Claim(cid, c["source"].strip(), " ".join(c["statement"].split()), paper, ov["table"],
                 expr, tol, partly, compare, rng, oom_ok, " ".join(calibrated.split()),
                 parse_mechanism(c.get("mechanism"), where), _text(c, "explanation", where))


def _text(c: dict, key: str, where: str) -> str:
    """An optional free-text key of a claim, whitespace folded ("" when absent)."""
    v = c.get(key, "")
    if not isinstance(v, str):
        raise InputError(f"{where}: {key} must be text, got {v!r}")
    return " ".join(v.split())


def parse_mechanism(m, where: str) -> Mechanism | None:
    """A claim's ``mechanism: {statement, expr}`` (None when absent)."""
    if m is None:
        return None
    if (not isinstance(m, dict) or set(m) != {"statement", "expr"}
            or not isinstance(m["statement"], str) or not m["statement"].strip()):
        raise InputError(f"{where}: mechanism must be a mapping with keys statement (text) "
                         f"and expr")
    try:
        return Mechanism(" ".join(m["statement"].split()), Expr(m["expr"]))
    except ExprError as e:
        raise InputError(f"{where}: mechanism.expr: {e}") from e


def load_claims(path) -> list[Claim]:
    path = require_file(path, "claims file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML: {e}") from e
    items = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError(f"{path}: expected a non-empty list under 'claims:'")
    claims, seen = [], set()
    for i, c in enumerate(items):
        claim = parse_claim(c, f"{path}: claim {i + 1}")
        if claim.id in seen:
            raise InputError(f"{path}: duplicate claim id {claim.id!r}")
        seen.add(claim.id)
        claims.append(claim)
    return claims


def _pct(x: float) -> str:
    x = 100 * x
    return f"{x:.1f}%" if abs(x) < 10 else f"{x:.0f}%"


def judge(claim: Claim, ours: float) -> tuple[float, str, str]:
    """(signed relative error, verdict, reason) for a measured value."""
    p = claim.paper_value
    if claim.compare == "approx":
        target, err = p, (ours - p) / abs(p)
        what = f"{_pct(abs(err))} from the paper's {p:g}"
    elif claim.compare == "range":
        lo, hi = claim.paper_range
        target = lo if ours < lo else hi if ours > hi else ours
        err = (ours - target) / abs(target) if target != ours else 0.0
        what = (f"inside the paper's range {lo:g}..{hi:g}" if err == 0 else
                f"{_pct(abs(err))} outside the paper's range {lo:g}..{hi:g}")
    else:
        bound_ok = ours <= p if claim.compare == "at_most" else ours >= p
        word = "at most" if claim.compare == "at_most" else "at least"
        err = 0.0 if bound_ok else (ours - p) / abs(p)
        what = (f"meets the paper's bound ({word} {p:g})" if bound_ok else
                f"{_pct(abs(err))} past the paper's bound ({word} {p:g})")
    a = abs(err) * (1 - 1e-12)  # a value exactly on the limit is within it
    if a <= claim.tolerance:
        verdict, limit = "reproduced", f"tolerance {_pct(claim.tolerance)}"
    elif a <= claim.partly_tolerance:
        verdict, limit = "partly", f"within {_pct(claim.partly_tolerance)}, not {_pct(claim.tolerance)}"
    else:
        verdict, limit = "not reproduced", f"beyond {_pct(claim.partly_tolerance)}"
    return err, verdict, f"ours {ours:.4g}: {what} ({limit})"


def check(claims: list[Claim], tables_dir) -> pd.DataFrame:
    tables_dir = Path(tables_dir)
    cache: dict[str, pd.DataFrame | None] = {}
    rows = []
    for c in claims:
        base = {"id": c.id, "source": c.source, "statement": c.statement,
                "paper_value": c.paper_value}
        if c.table not in cache:
            path = tables_dir / f"{c.table}.csv"
            if path.is_file():
                try:
                    cache[c.table] = pd.read_csv(path)
                except (pd.errors.EmptyDataError, pd.errors.ParserError) as e:
                    raise InputError(f"cannot read table {path}: {e}") from e
            else:
                cache[c.table] = None
        df = cache[c.table]
        killed = [] if df is None else out_of_memory(c.expr, df, c.table)
        try:
            if df is None:
                raise NotMeasured(f"table {c.table} not built ({c.table}.csv missing "
                                  f"from {tables_dir})")
            ours = c.expr.evaluate(df, c.table)
        except NotMeasured as e:
            reason = str(e)
            if killed:
                reason = f"{OOM_REASON} ({'; '.join(killed)}); and {reason}"
            rows.append({**base, "our_value": float("nan"), "rel_error": float("nan"),
                         "verdict": "not measured", "reason": reason})
            continue
        if killed and not c.oom_ok:
            rows.append({**base, "our_value": float("nan"), "rel_error": float("nan"),
                         "verdict": "not measured",
                         "reason": f"{OOM_REASON} ({'; '.join(killed)}); its value "
                                   f"{ours:.4g} is not a whole run's"})
            continue
        err, verdict, reason = judge(c, ours)
        if c.calibrated:   # a match by construction is not a finding
            verdict, reason = (("calibrated", f"{reason}; a calibration input: {c.calibrated}")
                               if verdict == "reproduced" else
                               (verdict, f"{reason}; the calibration ({c.calibrated}) missed"))
        if c.mechanism is not None and verdict in ("reproduced", "partly", "calibrated"):
            verdict, reason = mechanism_verdict(c, df, verdict, reason)
        rows.append({**base, "our_value": ours, "rel_error": err, "verdict": verdict,
                     "reason": reason})
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def mechanism_verdict(c: Claim, df: pd.DataFrame, verdict: str, reason: str) -> tuple[str, str]:
    """A matching outcome counts only if the paper's mechanism acted: "not reproduced"
    when its check is <= 0 (the outcome has another cause), "not measured" when the
    check cannot be read."""
    m = c.mechanism
    try:
        acted = m.expr.evaluate(df, c.table)
    except NotMeasured as e:
        return "not measured", f"{reason}; the mechanism ({m.statement}) is not measured: {e}"
    if acted > 0:
        return verdict, f"{reason}; mechanism acted: {m.statement} ({acted:.4g})"
    return "not reproduced", (f"{reason}, but not for the paper's reason: {m.statement} did "
                              f"not happen ({m.expr.text} = {acted:.4g})")


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.claims", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", required=True, help="claims YAML (config/claims.yaml)")
    ap.add_argument("--tables", required=True, help="directory of experiment tables (NAME.csv)")
    ap.add_argument("--out", required=True, help="CSV file to write")
    a = ap.parse_args(argv)
    claims = load_claims(a.claims)
    require_dir(a.tables, "tables directory")
    log(f"claims: checking {len(claims)} claim(s) from {a.claims} against {a.tables}")
    df = check(claims, a.tables)
    atomic_write_csv(a.out, df)
    counts = df["verdict"].value_counts()
    log("claims: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS) + f"; wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
