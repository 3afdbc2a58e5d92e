"""report.figures and report.style: SVG output, determinism, one fixed style per policy."""
import subprocess
import sys

from report import style
from report.figures import FIGURES, draw_all
from tests.test_report_fixtures import make_table1_runs, summaries


def test_table1_figures_are_written_and_byte_identical_across_runs(tmp_path):
    runs = make_table1_runs(tmp_path / "runs")
    out1 = tmp_path / "fig1"
    r = subprocess.run([sys.executable, "-m", "report.figures", "table1", "--out-dir", str(out1),
                        *summaries(runs)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out1.iterdir())
    assert names == ["table1_cumulative_fault_time.svg", "table1_fault_latency.svg"]
    assert [f.name + ".svg" for f in FIGURES["table1"]] == sorted(names, reverse=True)
    for n in names:
        svg = (out1 / n).read_text()
        assert "<svg" in svg and "</svg>" in svg
        assert "<dc:date>" not in svg            # no timestamp
    out2 = tmp_path / "fig2"
    draw_all("table1", summaries(runs), out2)              # a second, in-process run
    for n in names:
        assert (out1 / n).read_bytes() == (out2 / n).read_bytes(), n


def test_missing_input_fails_naming_the_file(tmp_path):
    runs = make_table1_runs(tmp_path / "runs")
    (runs / "linux-thp" / "fault_hist.csv").unlink()
    r = subprocess.run([sys.executable, "-m", "report.figures", "table1", "--out-dir",
                        str(tmp_path / "f"), *summaries(runs)], capture_output=True, text=True)
    assert r.returncode == 2
    assert str(runs / "linux-thp" / "fault_hist.csv") in r.stderr


def test_every_paper_policy_has_its_own_colour_marker_and_line():
    styles = [style.policy_style(p) for p in style.POLICY_ORDER]
    for key in ("color", "marker", "linestyle", "hatch"):
        values = [str(s[key]) for s in styles]
        assert len(set(values)) == len(values), key
    assert style.policy_style("my-policy") == style.policy_style("my-policy")
    assert style.policy_label("hawkeye-pmu") == "HawkEye-PMU"
    assert style.policy_label("my-policy") == "my-policy"
    assert style.order_policies(["zz", "hawkeye-g", "aa", "linux-4k"]) == \
        ["linux-4k", "hawkeye-g", "aa", "zz"]
