"""The report's document model: sections of paragraphs, numbered tables and figures, code.

Both backends (report.render.typst, report.render.html) render a Document; text
is plain strings with Ref parts for cross-references, never markup.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2


TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass
class Ref:
    """A cross-reference to a section, table or figure label."""
    label: str


@dataclass
class Para:
    parts: list  # str | Ref


@dataclass
class Table:
    label: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    align: list[str]                 # "l" or "r" per column
    widths: list[str] | None = None  # typst column widths, e.g. ["auto", "1fr"]
    wide: bool = False               # spans both PDF columns
    row_classes: list[str] | None = None  # CSS class per row (HTML), e.g. verdict
    note: str = ""                   # a footnote printed under the table (e.g. † out of memory)
    number: int = 0


@dataclass
class Fig:
    label: str
    caption: str
    path: Path
    wide: bool = False
    number: int = 0


@dataclass
class Code:
    text: str
    lang: str = ""


@dataclass
class Section:
    label: str
    title: str
    blocks: list = field(default_factory=list)
    appendix: bool = False
    number: str = ""

    def para(self, *parts):
        self.blocks.append(Para(list(parts)))


@dataclass
class Document:
    title: str
    byline: list[str]
    abstract: list[Para]
    sections: list[Section]

    def number(self) -> dict[str, str]:
        """Number sections (1, 2, ... then A, B, ...), tables and figures in source order;
        return label -> "Section 2" / "Table 3" / "Figure 1" as typst prints them."""
        names, n_sec, n_app, n_tab, n_fig = {}, 0, 0, 0, 0
        for s in self.sections:
            if s.appendix:
                s.number = chr(ord("A") + n_app)
                n_app += 1
            else:
                n_sec += 1
                s.number = str(n_sec)
            names[s.label] = f"Section {s.number}"
            for b in s.blocks:
                if isinstance(b, Table):
                    n_tab += 1
                    b.number = n_tab
                    names[b.label] = f"Table {n_tab}"
                elif isinstance(b, Fig):
                    n_fig += 1
                    b.number = n_fig
                    names[b.label] = f"Figure {n_fig}"
        return names


def jinja_env(kind: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=(kind == "html"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.tests["para"] = lambda b: isinstance(b, Para)
    env.tests["table"] = lambda b: isinstance(b, Table)
    env.tests["fig"] = lambda b: isinstance(b, Fig)
    env.tests["code"] = lambda b: isinstance(b, Code)
    return env
