"""The typst backend: the document as typst source (report.typ.j2), compiled to PDF."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from report import InputError, atomic_write_bytes
from report.render.document import Document, Ref, jinja_env


MAX_FLOAT_ROWS = 40   # a wide table with more rows is not floated across both PDF columns


# typst markup: every ASCII punctuation character is escaped with a backslash, so
# data can never start markup, code, math, labels, references or comments.
_TYPST_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def typst_escape(s) -> str:
    s = re.sub(r"\s+", " ", str(s))  # newlines and tabs would be markup too
    return _TYPST_SPECIAL.sub(r"\\\1", s)


def typst_string(s) -> str:
    """A typst string literal."""
    s = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + s.replace("\n", "\\n").replace("\t", "\\t") + '"'


# light row fills of the claim verdicts in the PDF (the verdict is also written out)
ROW_FILLS = {"v-reproduced": "#e6f4e4", "v-partly": "#fbf3d5", "v-not-reproduced": "#f9e0de",
             "v-calibrated": "#e4ecf7"}


def _typst_inline(parts) -> str:
    out = []
    for p in parts:
        out.append(f"#ref(<{p.label}>)" if isinstance(p, Ref) else typst_escape(p))
    return "".join(out)


def render_typst(doc: Document, typ_path: Path) -> str:
    """Typst source; figure paths are relative to the typst file's directory."""
    env = jinja_env("typst")
    env.filters["t"] = typst_escape
    env.filters["tstr"] = typst_string
    env.filters["inline"] = _typst_inline
    env.filters["relpath"] = lambda p: Path(os.path.relpath(Path(p).resolve(),
                                                            typ_path.parent.resolve())).as_posix()
    return env.get_template("report.typ.j2").render(doc=doc, fills=ROW_FILLS, max_float_rows=MAX_FLOAT_ROWS)


def compile_pdf(typ_path: Path, out_pdf: Path, figures_dir: Path) -> None:
    """Compile with typst; the root directory holds both the source and the figures.
    typst-pdf 0.15's tagging of floats can fail where a float meets a page
    break ("internal error: parent group", typst/typst#8487, #8776): then
    the PDF is made again without accessibility tags (``pdf_tags=False``)."""
    import typst
    root = Path(os.path.commonpath([typ_path.parent.resolve(), figures_dir.resolve()]))
    try:
        try:
            pdf = typst.compile(str(typ_path), root=str(root))
        except Exception as e:
            if "internal error" not in str(e):
                raise
            print(f"render: typst tagging failed ({str(e).splitlines()[0]}); "
                  "PDF made without tags", file=sys.stderr)
            pdf = typst.compile(str(typ_path), root=str(root), pdf_tags=False)
    except Exception as e:  # typst.TypstError and friends: name the source
        raise InputError(f"typst could not compile {typ_path}: {e}") from e
    atomic_write_bytes(out_pdf, pdf)
