"""report.render: PDF and HTML from synthetic tables, figures, claims and benchmarks."""
import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from markupsafe import escape as html_escape

from report.claims import check, load_claims
from report.figures import draw_all
from report.render import inline_svg, main as render_main, typst_escape
from report.tables import table1
from tests.test_report_fixtures import make_table1_runs, runs_in, summaries

REPO = Path(__file__).resolve().parent.parent
# Text that would be markup, code, math, a label, a reference or a comment in typst.
HOSTILE = "#set page(width: 1cm) $x^2$ *b* _i_ @ref <lab> // no [x] {y} \\ `z` 1. = - + ~ 'q' \"d\""
SECTIONS = ["Abstract", "Introduction", "Setup", "Page-fault cost of huge pages (paper Table 1)",
            "Claims", "Full configuration", "Software and provenance",
            "Jobs: run time and peak memory"]

try:
    import pypdf
except ImportError:  # pypdf is in requirements.txt; without it the typst source is checked
    pypdf = None


def squash(text: str) -> str:
    """Text without whitespace or line-end hyphenation, for robust 'in' checks."""
    text = re.sub(r"-\s*\n", "", text)
    return re.sub(r"\s+", "", text.replace("\xa0", " "))


def pdf_text(pdf: Path, typ: Path) -> str:
    if pypdf is not None:
        return "\n".join(p.extract_text() for p in pypdf.PdfReader(str(pdf)).pages)
    return typ.read_text()


def render(tmp, tables, bench=True, in_process=False):
    """Run the CLI (in a subprocess, or in this process: faster, imports are paid once)."""
    args = ["--config", str(tmp / "config.yaml"),
           "--tables", str(tables), "--figures", str(tmp / "figures"),
           "--claims", str(tmp / "claims.csv"),
           "--claims-spec", str(REPO / "config" / "claims.yaml"),
           "--schema", str(REPO / "config" / "schema.yaml"),
           "--out-html", str(tmp / "out" / "report.html"),
           "--out-pdf", str(tmp / "out" / "report.pdf")]
    if bench:
        args += ["--benchmarks", str(tmp / "benchmarks")]
    if in_process:
        return run_main(args)
    return subprocess.run([sys.executable, "-m", "report.render", *args], capture_output=True,
                          text=True)


def run_main(args):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = render_main(args)
    return subprocess.CompletedProcess(args, rc, "", err.getvalue())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render")
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["profile"] = HOSTILE
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    runs = make_table1_runs(tmp / "runs")
    tables = tmp / "tables"
    tables.mkdir()
    table1(runs_in(runs)).to_csv(tables / "table1.csv", index=False)
    draw_all("table1", summaries(runs), tmp / "figures")
    claims = load_claims(REPO / "config" / "claims.yaml")
    claims[0].statement = HOSTILE
    check(claims, tables).to_csv(tmp / "claims.csv", index=False)
    bench = tmp / "benchmarks" / "simulate" / "table1"
    bench.mkdir(parents=True)
    (bench / "linux-4k.tsv").write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "12.5\t0:00:12\t345.6\t900\t300\t310\t0\t1\t99\t12.0\n")
    (tmp / "benchmarks" / "junk.tsv").write_text("not\ta benchmark\n1\t2\n")
    return tmp


@pytest.fixture(scope="module")
def rendered(inputs):
    r = render(inputs, inputs / "tables")
    assert r.returncode == 0, r.stderr
    return inputs / "out", r.stderr


@pytest.fixture(scope="module")
def text(rendered):
    out, _ = rendered
    return squash(pdf_text(out / "report.pdf", out / "report.typ"))


def test_pdf_has_every_section_and_the_findings(rendered, text):
    out, _ = rendered
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    if pypdf is None:  # the typst source: titles appear escaped
        text = text.replace("\\", "")
    for title in SECTIONS:
        assert squash(title) in text, title
    # abstract numbers come from the table: 128x fewer faults, 64x slower, 4.0x faster
    assert squash("128× fewer page faults") in text
    assert squash("each 64× slower") in text and squash("4.0× faster") in text
    # tables are numbered in order: machine, the policy tables, experiments, then table1's
    n_policy_tables = len(re.findall(r'id="tab-policies(-\d+)?"',
                                     (out / "report.html").read_text()))
    assert squash("Section 3") in text and squash(f"Table {3 + n_policy_tables}") in text


@pytest.mark.skipif(pypdf is None, reason="pypdf not installed")
def test_data_with_typst_markup_is_printed_literally(text):
    assert squash(HOSTILE) in text


def test_html_is_self_contained_with_inline_svg(rendered):
    out, _ = rendered
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert 'name="viewport"' in html and "@media (max-width" in html
    assert html.count("<svg") == 2 and "<?xml" not in html
    assert not re.search(r"<(link|script|img)\b", html)   # nothing loaded from elsewhere
    for title in SECTIONS:
        assert title.replace("'", "&#39;") in html, title
    n_policy_tables = len(re.findall(r'id="tab-policies(-\d+)?"', html))
    assert n_policy_tables >= 1
    assert f'href="#tab-table1">Table {3 + n_policy_tables}</a>' in html
    assert "simulate/table1/linux-4k" in html and "345.6" in html   # benchmark table
    assert "#set page(width: 1cm) $x^2$ *b*" in html
    assert "&lt;lab&gt;" in html and "<lab>" not in html              # escaped for HTML
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_typst_source_and_outputs_are_written_atomically(rendered):
    out, stderr = rendered
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf", "report.typ"]
    assert "junk.tsv" in stderr                     # skipped with a warning
    assert "wrote" in stderr


def test_only_present_experiments_get_sections(inputs, tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame({"policy": ["linux-thp", "ingens"], "peak_bloat_gb": [28.0, 20.0]}) \
        .to_csv(tables / "fig_custom.csv", index=False)
    # a table with a dedicated section but few of its columns: the section shows dashes
    pd.DataFrame({"policy": ["linux-thp", "ingens"], "bloat_ratio": [0.5, 0.25]}) \
        .to_csv(tables / "fig_bloat.csv", index=False)
    r = render(inputs, tables, bench=False, in_process=True)
    assert r.returncode == 0, r.stderr
    html = (inputs / "out" / "report.html").read_text()
    assert "Page-fault cost" not in html and "<svg" not in html
    assert "Experiment fig_custom" in html and "28" in html      # generic section
    assert "Memory bloat: Redis delete and refill" in html and "0.250" in html
    assert "Promotion order" not in html                          # no table, no section
    assert "No Snakemake benchmark files were found" in html


def cli_args(inputs, claims, out):
    """The render CLI's arguments on the module's inputs, writing to out/r.html, out/r.pdf."""
    return ["--config", str(inputs / "config.yaml"), "--tables", str(inputs / "tables"),
            "--figures", str(inputs / "figures"), "--claims", str(claims),
            "--claims-spec", str(REPO / "config" / "claims.yaml"),
            "--schema", str(REPO / "config" / "schema.yaml"),
            "--out-html", str(out / "r.html"), "--out-pdf", str(out / "r.pdf")]


def test_missing_inputs_fail_with_their_name(inputs, tmp_path):
    def args(claims):
        return cli_args(inputs, claims, tmp_path)
    r = run_main(args(tmp_path / "nope.csv"))
    assert r.returncode == 2 and "nope.csv" in r.stderr
    assert not (tmp_path / "r.html").exists()
    bad = tmp_path / "claims.csv"
    bad.write_text("id,verdict\nx,maybe\n")
    r = run_main(args(bad))
    assert r.returncode == 2 and "missing column" in r.stderr
    r = run_main(args(inputs / "claims.csv") + ["--config", str(tmp_path / "none.yaml")])
    assert r.returncode == 2 and "none.yaml" in r.stderr


def test_setup_tables_give_every_value_its_unit_and_source(inputs, tmp_path):
    r = run_main(cli_args(inputs, inputs / "claims.csv", tmp_path))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "r.html").read_text()
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    from report.setup import setup_rows
    for section in ("machine", "pressure", "policies", "workloads"):
        rows = setup_rows(cfg, schema, section)
        assert len(rows) and rows["source"].str.len().gt(0).all(), section
        for r in rows.itertuples(index=False):
            assert f"<td>{html_escape(r.source)}</td>" in html, (section, r.key)
    assert "config/config.yaml (Appendix A)" not in html    # no more sources as comments


def test_a_config_value_without_a_source_is_an_error_naming_it(inputs, tmp_path):
    cfg = yaml.safe_load((inputs / "config.yaml").read_text())
    cfg["workloads"]["buffer"]["params"]["note"] = "undocumented"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    r = run_main(cli_args(inputs, inputs / "claims.csv", tmp_path)
                 + ["--config", str(tmp_path / "config.yaml")])
    assert r.returncode == 2
    assert "schema.yaml" in r.stderr and "workloads.buffer.params.note" in r.stderr
    assert not (tmp_path / "r.html").exists()


def test_typst_escape_neutralises_every_special_character():
    import typst
    esc = typst_escape(HOSTILE + "\nnew line")
    assert "\n" not in esc
    src = f"#set page(width: 20cm, height: auto)\n{esc}\n".encode()
    pdf = typst.compile(src)            # would fail on unbalanced markup or unknown refs
    assert pdf[:5] == b"%PDF-"


def test_inline_svg_makes_ids_unique_and_scalable(tmp_path):
    svg = tmp_path / "f.svg"
    svg.write_text('<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg width="10pt" height="5pt" '
                   'viewBox="0 0 10 5" xmlns="http://www.w3.org/2000/svg" '
                   'xmlns:xlink="http://www.w3.org/1999/xlink"><defs><clipPath id="c1">'
                   '<rect/></clipPath><path id="g"/></defs><use xlink:href="#g"/>'
                   '<g clip-path="url(#c1)"/><a href="#elsewhere"/></svg>')
    out = inline_svg(svg, "f1-", "A <caption>")
    assert out.startswith("<svg") and "<?xml" not in out and "DOCTYPE" not in out
    assert 'id="f1-c1"' in out and 'url(#f1-c1)' in out and 'xlink:href="#f1-g"' in out
    assert 'href="#elsewhere"' in out
    assert 'width="10pt"' not in out and 'viewBox="0 0 10 5"' in out
    assert 'aria-label="A &lt;caption&gt;"' in out


def test_software_versions_read_metadata_without_importing(monkeypatch):
    import importlib
    import importlib.metadata
    import sys
    from report.render import load
    imported = []
    monkeypatch.setattr(load, "SOFTWARE", ["numpy", "yaml", "no_such_package_xyz"])
    monkeypatch.setattr(importlib, "import_module",
                        lambda name: imported.append(name) or sys.modules[name])
    got = dict(load.software_versions())
    assert got["numpy"] == importlib.metadata.version("numpy")
    assert got["pyyaml"] == importlib.metadata.version("PyYAML")
    assert got["no_such_package_xyz"] == "not installed"      # no metadata, import fails
    assert imported == ["no_such_package_xyz"]                 # the others were not imported
