"""The HTML backend: one self-contained page (report.html.j2), figures inlined as SVG."""
from __future__ import annotations

import html as _html
import re
from pathlib import Path

import jinja2

from report import InputError
from report.render.document import Document, Ref, jinja_env


def _html_inline(parts, names: dict[str, str]) -> str:
    out = []
    for p in parts:
        if isinstance(p, Ref):
            out.append(f'<a href="#{_html.escape(p.label)}">'
                       f'{_html.escape(names.get(p.label, "??"))}</a>')
        else:
            out.append(_html.escape(str(p)))
    return "".join(out)


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def inline_svg(path: Path, prefix: str, title: str) -> str:
    """An SVG file as an element for inlining in HTML: no XML prologue, ids made unique
    with `prefix`, scaling with the page width."""
    svg = path.read_text(encoding="utf-8")
    start = svg.find("<svg")
    if start < 0:
        raise InputError(f"{path}: not an SVG file")
    svg = svg[start:]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    ids = set(_SVG_ID.findall(svg))
    if ids:
        svg = _SVG_ID.sub(lambda m: f'id="{prefix}{m[1]}"', svg)
        svg = re.sub(r'(href=")#([^"]+)"',
                     lambda m: f'{m[1]}#{prefix}{m[2]}"' if m[2] in ids else m[0], svg)
        svg = re.sub(r"url\(#([^)]+)\)",
                     lambda m: f"url(#{prefix}{m[1]})" if m[1] in ids else m[0], svg)
    head_end = svg.find(">")
    head = svg[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    head += (f' class="figure-svg" role="img" aria-label="{_html.escape(title)}"'
             f' preserveAspectRatio="xMidYMid meet"')
    return head + svg[head_end:]


def render_html(doc: Document, names: dict[str, str]) -> str:
    env = jinja_env("html")
    env.filters["inline"] = lambda parts: jinja2.utils.markupsafe.Markup(_html_inline(parts, names))
    env.filters["svg"] = lambda f: jinja2.utils.markupsafe.Markup(
        inline_svg(f.path, f"f{f.number}-", f.caption))
    return env.get_template("report.html.j2").render(doc=doc)
