"""report.figures and report.style: SVG output, determinism, one fixed style per policy."""
import subprocess
import sys

import numpy as np
import pytest

from report import style
from report.figures import FIGURES, draw_all, figure_info
from report.runs import read_runs
from tests.test_report_fixtures import make_sweep_runs, make_table1_runs, summaries


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
    styles = [style.policy_style(p) for p in style.POLICY_STYLES]
    for key in ("color", "marker", "linestyle", "hatch"):
        values = [str(s[key]) for s in styles]
        assert len(set(values)) == len(values), key
    assert style.policy_label("hawkeye-pmu") == "HawkEye-PMU"
    assert style.policy_label("my-policy") == "my-policy"
    assert style.order_policies(["zz", "hawkeye-g", "aa", "linux-4k"]) == \
        ["linux-4k", "hawkeye-g", "aa", "zz"]


def test_every_registered_policy_has_a_style_a_label_and_a_place():
    from policies import REGISTRY
    for name in sorted(REGISTRY):
        style.policy_style(name)            # MissingStyle says what to add
        assert name in style.POLICY_LABELS, f"{name}: add a label to report/style.py"
        assert name in style.POLICY_ORDER, f"{name}: add it to POLICY_ORDER in report/style.py"


def test_a_policy_without_a_style_is_an_error_naming_it():
    with pytest.raises(style.MissingStyle, match=r"'my-policy'.*report/style\.py"):
        style.policy_style("my-policy")
    style.apply()
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    with pytest.raises(style.MissingStyle, match="'my-policy'"):
        style.grouped(ax, ["a"], {"linux-4k": [1.0], "my-policy": [2.0]})
    plt.close(fig)


def test_grouped_bars_write_each_value_beyond_its_bar():
    style.apply()
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    style.grouped(ax, ["0%", "90%"], {"linux-4k": [1.0, np.nan], "hawkeye-g": [1050.0, -2.5]},
                  hollow={"hawkeye-g": [False, True]})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0%", "90%"]
    assert [(t.get_text(), t.get_va()) for t in ax.texts] == [
        ("1", "bottom"), ("1,050", "bottom"), ("-2.5", "top")]
    assert np.allclose([t.xy for t in ax.texts], [(-0.2, 1.0), (0.2, 1050.0), (1.2, -2.5)])
    assert [len(c.patches) for c in ax.containers] == [2, 2]
    assert [c.get_label() for c in ax.containers] == ["Linux 4 KiB", "HawkEye-G"]
    assert [p.get_hatch() for p in ax.containers[1].patches] == ["++", "++"]
    hollow = [ln for ln in ax.lines if ln.get_markerfacecolor() == "white"]
    assert len(hollow) == 1 and np.allclose(hollow[0].get_xydata(), [(1.2, -2.5)])
    plt.close(fig)


def test_a_two_setting_sweep_is_bars_or_points_with_values_not_lines(tmp_path):
    """make_sweep_runs: fragmentation 0 and 0.9 (two settings); no line may join them."""
    import matplotlib.pyplot as plt
    runs = read_runs(summaries(make_sweep_runs(tmp_path)))
    for name, want in (("sweep_runtime", {(0, 0): ["1", "0.25"], (1, 1): ["1", "0.75"]}),
                       ("sweep_p99_latency", {(0, 0): ["2.5", "210"], (1, 1): ["2.5", "210"]})):
        fig = figure_info(name).draw(runs, {})
        axes = fig.axes
        assert len(axes) == 4
        for ax in axes:
            assert list(ax.get_xticks()) == [0, 1]
            joined = [ln for ln in ax.lines if ln.get_linestyle() not in ("None", "none", "")
                      and len(set(ln.get_xdata())) > 1 and len(set(ln.get_ydata())) > 1]
            assert not joined, name
        grid = np.array(axes).reshape(2, 2)
        assert [t.get_text() for t in grid[1, 0].get_xticklabels()] == ["0%", "90%"]
        for (r, c), texts in want.items():
            assert [t.get_text() for t in grid[r, c].texts] == texts, (name, r, c)
        assert [t.get_text() for t in grid[0, 1].texts] == \
            [t.get_text() for t in grid[0, 0].texts]
        bars = [c for ax in axes for c in ax.containers]
        assert len(bars) == (8 if name == "sweep_runtime" else 0)   # points on a log axis
        # redis, 40% free, 90% fragmented: hawkeye-pmu ran out of memory (hollow marker)
        hollow = [ln for ln in grid[1, 1].lines if ln.get_markerfacecolor() == "white"]
        y = 0.75 if name == "sweep_runtime" else 210.0
        assert len(hollow) == 1 and np.allclose(hollow[0].get_xydata(), [(1.2, y)])
        plt.close(fig)
