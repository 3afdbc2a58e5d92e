"""Write a JSON string (the effective Snakemake config) to a file atomically.

    python -m report.dump_json '<json>' results/config.json
"""
import json
import os
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m report.dump_json JSON OUT", file=sys.stderr)
        return 2
    data = json.loads(argv[0])
    tmp = argv[1] + ".part"
    os.makedirs(os.path.dirname(argv[1]) or ".", exist_ok=True)
    with open(tmp, "w") as f:
        json.dump(data, f, sort_keys=True, indent=1)
        f.write("\n")
    os.replace(tmp, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
