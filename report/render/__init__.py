"""The paper-style report: a two-column PDF (typst) and a self-contained HTML page.

    python -m report.render --help       # the command line: report/render/cli.py

Both outputs come from one document model (document.py: sections of paragraphs,
numbered tables and figures, code listings), rendered through the jinja2
templates in report/templates by the two backends: typst.py (report.typ.j2,
compiled with the ``typst`` package; the typst source is kept beside the PDF as
report.typ) and html.py (report.html.j2, figures inlined as SVG, responsive
CSS).  load.py reads the inputs, fmt.py formats numbers, build.py assembles the
document from the sections (sections/: one module per section).  An
experiment section appears only when its table ``<tables>/<experiment>.csv``
exists; experiments with a dedicated section builder (``@section(NAME)``, see
common.py) get prose, the others a generic section.
"""
from __future__ import annotations

from report.render.cli import main  # noqa: F401
from report.render.html import inline_svg  # noqa: F401
from report.render.typst import typst_escape  # noqa: F401

