"""Write a JSON document given on the command line to a file (atomically).

    python -m report.dump_json '<json text>' results/config.json

The workflow uses it to freeze the effective configuration (config/config.yaml
plus any --configfile overrides) that report.render then reads.
"""
from __future__ import annotations

import json
import sys

from report import InputError, atomic_write_text, cli, log


@cli
def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    text, out = args
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"argument 1 is not valid JSON: {e}") from e
    atomic_write_text(out, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    log(f"dump_json: wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
