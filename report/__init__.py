"""Tables, figures, claim checks and the paper-style report built from simulation runs.

    python -m report.tables    EXPERIMENT --out results/tables/EXPERIMENT.csv SUMMARY.csv ...
    python -m report.figures   EXPERIMENT --out-dir results/figures SUMMARY.csv ...
    python -m report.scorecard --out results/tables/scorecard.csv TABLE.csv ...
    python -m report.claims    --claims config/claims.yaml --tables results/tables --out results/claims.csv
    python -m report.render    --config results/config.json --tables results/tables \\
        --scorecard results/tables/scorecard.csv --figures results/figures \\
        --claims results/claims.csv --claims-spec config/claims.yaml --benchmarks benchmarks \\
        --out-html results/report/report.html --out-pdf results/report/report.pdf

See report/README.md for every table's columns and units.  The helpers the
command lines share (input errors, atomic writes, progress) live in ``hpsim``.
"""
from __future__ import annotations

from hpsim.cli import cli  # noqa: F401  (re-exported)
from hpsim.io import (InputError, atomic_write_bytes, atomic_write_csv,  # noqa: F401
                      atomic_write_text, log, require_dir, require_file, temp_path, warn)


