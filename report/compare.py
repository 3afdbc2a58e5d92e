"""Compare the claims' verdicts of two profiles (a default run against the paper profile).

    python -m report.compare results/claims.csv expected/paper/claims.csv \\
        [--differences expected/differences.yaml]

Prints one line per claim: its id, the verdict in each file, and ``same`` or ``DIFFERS``.
A miniature is faithful when every verdict is the same at the paper's scale (issue
"Fidelity"). ``--differences`` names the claims known to differ, each with the mechanism
and the reason (a YAML mapping ``{claim id: why}``); the command then fails (exit 1)
when a claim differs that is not listed, or a listed claim no longer differs, so the list
stays true. Exit 2: unreadable input (one line naming it).
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd
import yaml

from report import InputError, cli, require_file
from report.render.load import load_claims


def verdict_pairs(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Claims of either table with their two verdicts (columns id, verdict_a, verdict_b,
    same); a claim missing from one side has an empty verdict there."""
    m = a[["id", "verdict"]].merge(b[["id", "verdict"]], on="id", how="outer",
                                   suffixes=("_a", "_b"), sort=False)
    m = m.fillna("")
    m["same"] = m["verdict_a"] == m["verdict_b"]
    return m


def load_differences(path) -> dict[str, str]:
    """``{claim id: why its verdict differs between the profiles}`` from a YAML file."""
    path = require_file(path, "differences file")
    try:
        d = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not YAML ({e})") from e
    if not isinstance(d, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                          for k, v in d.items()):
        raise InputError(f"{path}: must map each claim id to the reason (text) it differs")
    return {k: " ".join(v.split()) for k, v in d.items()}


def problems(pairs: pd.DataFrame, known: dict[str, str]) -> list[str]:
    """Lines naming each claim that differs without being listed, or is listed and does
    not differ (or does not exist)."""
    out = []
    differ = set(pairs.loc[~pairs["same"], "id"])
    for cid in sorted(differ - set(known)):
        r = pairs.set_index("id").loc[cid]
        out.append(f"{cid}: {r.verdict_a or '(missing)'} here, {r.verdict_b or '(missing)'} "
                   f"in the other profile, and not listed in the differences file")
    for cid in sorted(set(known) - differ):
        out.append(f"{cid}: listed as differing, but "
                   + ("no such claim" if cid not in set(pairs["id"]) else "both verdicts are "
                      f"{pairs.set_index('id').loc[cid].verdict_a}"))
    return out


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.compare", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("claims", help="this run's claims.csv")
    ap.add_argument("other", help="the other profile's claims.csv")
    ap.add_argument("--differences", default=None,
                    help="YAML {claim id: why} of the claims known to differ")
    a = ap.parse_args(argv)
    pairs = verdict_pairs(load_claims(a.claims), load_claims(a.other))
    known = load_differences(a.differences) if a.differences else {}
    width = max(len(i) for i in pairs["id"]) if len(pairs) else 0
    for r in pairs.itertuples():
        print(f"{r.id:<{width}}  {r.verdict_a or '-':<15} {r.verdict_b or '-':<15} "
              f"{'same' if r.same else 'DIFFERS'}"
              + (f"  ({known[r.id]})" if r.id in known else ""))
    print(f"{int(pairs['same'].sum())} of {len(pairs)} verdicts are the same", file=sys.stderr)
    bad = problems(pairs, known) if a.differences else []
    for line in bad:
        print(f"error: {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
