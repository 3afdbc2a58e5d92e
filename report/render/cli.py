"""Render the paper-style report: a two-column PDF (typst) and a self-contained HTML page.

    python -m report.render --config results/config.json --tables results/tables \
        --scorecard results/tables/scorecard.csv --figures results/figures \
        --claims results/claims.csv --claims-spec config/claims.yaml --schema config/schema.yaml \
        --benchmarks benchmarks --expected expected/paper/claims.csv \
        --out-html results/report/report.html --out-pdf results/report/report.pdf

Every experiment table ``<tables>/<experiment>.csv`` gets a section; the paper's
numbers in the prose come from the claims of --claims-spec by claim id; the
abstract's "where HawkEye wins and loses" comes from the --scorecard table.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from report import atomic_write_text, cli, log, require_dir
from report.render.build import build_document
from report.render.common import Context
from report.render.html import render_html
from report.render.load import (load_benchmarks, load_claims, load_config, load_paper_claims,
                                load_scorecard, load_tables)
from report.render.typst import compile_pdf, render_typst
from report.setup import load_schema


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m report.render", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="config/config.yaml")
    ap.add_argument("--tables", required=True, help="directory of experiment tables")
    ap.add_argument("--figures", required=True, help="directory of SVG figures")
    ap.add_argument("--claims", required=True, help="claims CSV from report.claims")
    ap.add_argument("--claims-spec", required=True,
                    help="config/claims.yaml: the paper's numbers the prose cites, by claim id")
    ap.add_argument("--schema", required=True,
                    help="config/schema.yaml: the unit and source of every config value")
    ap.add_argument("--scorecard", default=None,
                    help="scorecard table from report.scorecard (without it the abstract "
                    "leaves out where HawkEye wins and loses)")
    ap.add_argument("--benchmarks", default=None,
                    help="directory of Snakemake benchmark TSV files (may be missing)")
    ap.add_argument("--expected", default=None,
                    help="another profile's claims.csv (expected/paper/claims.csv): its "
                    "verdicts are shown beside this run's")
    ap.add_argument("--out-html", required=True)
    ap.add_argument("--out-pdf", required=True)
    a = ap.parse_args(argv)
    cfg, text = load_config(a.config)
    figures_dir = require_dir(a.figures, "figures directory")
    ctx = Context(cfg, text, Path(a.config), load_tables(a.tables), load_claims(a.claims),
                  load_paper_claims(a.claims_spec), load_scorecard(a.scorecard),
                  figures_dir, load_benchmarks(a.benchmarks),
                  Path(a.benchmarks) if a.benchmarks else None, load_schema(a.schema),
                  Path(a.schema), load_claims(a.expected) if a.expected else None,
                  Path(a.expected).parent.name if a.expected else "")
    log(f"render: {len(ctx.tables)} table(s) ({', '.join(ctx.tables) or 'none'}), "
        f"{len(ctx.claims)} claim(s), {len(ctx.benchmarks)} benchmark file(s)")
    doc = build_document(ctx)
    names = doc.number()

    out_html, out_pdf = Path(a.out_html), Path(a.out_pdf)
    atomic_write_text(out_html, render_html(doc, names))
    log(f"render: wrote {out_html}")

    typ_path = out_pdf.with_suffix(".typ")
    atomic_write_text(typ_path, render_typst(doc, typ_path))
    compile_pdf(typ_path, out_pdf, figures_dir)
    log(f"render: wrote {typ_path} and {out_pdf}")
    return 0
