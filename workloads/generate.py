"""Command line: generate one workload trace.

    python -m workloads.generate --spec '{"kind": "buffer_touch", "params": {...}, "seed": 1}' \\
        --out results/traces/buffer.trace [--progress SECONDS | --quiet]

Progress on stderr: work done of the total (the generator's unit), rate,
ETA and the records written so far (``hpsim.progress``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from hpsim.cli import cli
from hpsim.io import InputError
from hpsim.progress import progress_interval, progress_options
from workloads import base


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workloads.generate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", required=True,
                    help="JSON object with keys kind, params, seed")
    ap.add_argument("--out", required=True, help="trace file to write")
    progress_options(ap)
    a = ap.parse_args(argv)
    try:
        spec = json.loads(a.spec)
    except json.JSONDecodeError as e:
        raise InputError(f"--spec is not JSON: {e}") from None
    if not isinstance(spec, dict) or "kind" not in spec:
        raise InputError("--spec must be a JSON object with a 'kind' key")
    unknown = set(spec) - {"kind", "params", "seed"}
    if unknown:
        raise InputError(f"--spec: unknown key(s) {sorted(unknown)}; allowed: kind, params, seed")
    wl = base.get(spec["kind"])(spec.get("params", {}), int(spec.get("seed", 0)))
    t0 = time.perf_counter()
    interval = progress_interval(a)
    if interval is not False:       # --quiet: errors only
        print(f"generating {spec['kind']} -> {a.out}", file=sys.stderr, flush=True)
    totals = wl.write(a.out, progress=interval)
    if interval is not False:
        print(f"done in {time.perf_counter() - t0:.1f} s: {totals}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
