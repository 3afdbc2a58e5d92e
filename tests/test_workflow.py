"""The Snakemake workflow: config validation, dry run, tiny end-to-end run."""
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(*args, cwd=ROOT):
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=1800)


def bad_config(tmp_path, mutate):
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    mutate(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_with(tmp_path, mutate):
    """Dry run with a full replacement config (so removed keys stay removed)."""
    path = bad_config(tmp_path, mutate)
    return snakemake("-n", "--configfile", str(path), "--config", "profile=bad")


@pytest.mark.parametrize("mutate,needle", [
    (lambda c: c["experiments"]["table1"]["policies"].append("linux-8k"), "linux-8k"),
    (lambda c: c["machine"].update(memory_gib=-4), "memory_gib"),
    (lambda c: c["machine"]["tlb"]["l2"].update(entries="many"), "entries"),
    (lambda c: c["workloads"]["buffer"]["params"].update(size_gib=-1), "size_gib"),
    (lambda c: c["policies"]["linux-thp"]["khugepaged"].update(max_ptes_none=600), "max_ptes_none"),
    (lambda c: c["policies"]["linux-thp"]["khugepaged"].update(scan_sleep=5), "scan_sleep"),
    (lambda c: c["pressure"].update(fragmentation=1.5), "fragmentation"),
    (lambda c: c["experiments"]["fig_promotion"]["policy_params"]["hawkeye-g"]["promotion"]
     .update(scan_sleep_milisecs=1000), "scan_sleep_milisecs"),
    (lambda c: c["workloads"]["graph500"]["params"].update(scale="big"), "big"),
])
def test_bad_config_stops_before_any_job_and_names_the_key(tmp_path, mutate, needle):
    r = run_with(tmp_path, mutate)
    assert r.returncode != 0
    assert needle in r.stderr + r.stdout
    assert not (tmp_path / "results").exists()


def test_missing_key_is_named(tmp_path):
    """snakemake merges --configfile over config/config.yaml, so a removed key
    would be filled back in; validate a copy of the tree whose config lacks it."""
    tree = copy_tree(tmp_path)
    cfg = yaml.safe_load((tree / "config" / "config.yaml").read_text())
    del cfg["machine"]["cpu_ghz"]
    (tree / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    r = snakemake("-n", cwd=tree)
    assert r.returncode != 0 and "cpu_ghz" in r.stderr + r.stdout


def test_dry_run_of_the_default_profile_plans_the_report():
    r = snakemake("-n", "--forceall", "--quiet", "rules")   # plan all, even if results exist
    assert r.returncode == 0, r.stderr
    for rule in ("workload_trace", "simulate", "experiment_table", "render_report", "claims"):
        assert rule in r.stdout + r.stderr


def copy_tree(tmp_path) -> Path:
    dst = tmp_path / "repo"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(
        "results", "logs", "benchmarks", ".snakemake", ".git", "__pycache__", ".pytest_cache",
        ".hypothesis"))
    return dst


WRITABLE = {"results", "logs", "benchmarks", ".snakemake"}   # what a run may write into


def files_outside_outputs(tree: Path) -> set[str]:
    return {str(p.relative_to(tree)) for p in tree.rglob("*")
            if p.relative_to(tree).parts[0] not in WRITABLE}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tree = copy_tree(tmp_path_factory.mktemp("e2e"))
    tree_before = files_outside_outputs(tree)
    r = snakemake("--cores", "2", "--configfile", "config/test.yaml", cwd=tree)
    assert r.returncode == 0, r.stderr[-4000:]
    tree.joinpath(".files_before").write_text("\n".join(sorted(tree_before)))
    return tree


def test_a_run_writes_nothing_outside_its_output_folders(tiny_run):
    before = set(tiny_run.joinpath(".files_before").read_text().splitlines())
    new = files_outside_outputs(tiny_run) - before - {".files_before"}
    assert not new, sorted(new)[:20]          # no __pycache__, numba cache or part file


def test_tiny_end_to_end_run_writes_table1_with_exact_counts(tiny_run):
    t = pd.read_csv(tiny_run / "results" / "tables" / "table1.csv").set_index("policy")
    pages = int(0.125 * (1 << 30)) // 4096
    assert t.loc["linux-4k", "faults"] == pages
    assert t.loc["linux-thp", "faults"] == pages // 512
    assert t.loc["linux-thp", "mean_fault_latency_us"] / t.loc["linux-4k", "mean_fault_latency_us"] \
        == pytest.approx(132, rel=0.01)
    for f in ("report/report.pdf", "report/report.html", "claims.csv"):
        assert (tiny_run / "results" / f).stat().st_size > 0


def test_rerun_is_a_no_op_and_a_parameter_change_reruns_only_dependents(tiny_run):
    r = snakemake("-n", "--configfile", "config/test.yaml", cwd=tiny_run)
    assert "Nothing to be done" in r.stdout + r.stderr
    (tiny_run / "frag.yaml").write_text("pressure: {fragmentation: 0.5, tenant_fraction: 0.0}\n")
    r = snakemake("-n", "--configfile", "config/test.yaml", "frag.yaml", cwd=tiny_run)
    out = r.stdout + r.stderr
    assert "simulate" in out and "workload_trace" not in out


def report_results(report_html: str) -> dict:
    """The ``var results = {...};`` object of a ``snakemake --report`` HTML file: per
    file its name, labels and caption (as HTML)."""
    import json
    m = re.search(r"var results = (\{.*?\});\s*\n", report_html)
    assert m, "no results object in the report"
    return json.loads(m.group(1))


def test_snakemake_report_lists_every_figure_with_its_own_caption(tiny_run):
    """``snakemake --report``: every figure the run drew, with its own caption (its
    report/captions/<figure>.rst filled with this profile's scale, exactly the text the
    PDF report prints) and labels; and the claims table."""
    import json
    from report.captions import render_caption
    from report.figures import figure_info
    out = tiny_run / "results" / "snakemake-report.html"
    r = snakemake("--configfile", "config/test.yaml", "--report", str(out), cwd=tiny_run)
    assert r.returncode == 0, r.stderr[-4000:]
    listed = {Path(k).name: v for k, v in report_results(out.read_text()).items()}
    drawn = sorted(p.name for p in (tiny_run / "results" / "figures").glob("*.svg"))
    assert drawn == ["table1_cumulative_fault_time.svg", "table1_fault_latency.svg"]
    assert sorted(listed) == sorted(drawn + ["claims.csv"])
    cfg = json.loads((tiny_run / "results" / "config.json").read_text())
    for name in drawn:
        info = figure_info(Path(name).stem)
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", listed[name]["caption"])).split())
        assert text == render_caption(info.caption, cfg, info.experiment)
        assert text.endswith("At this profile's scale: workload buffer (buffer_touch: "
                             "order=sequential, size_gib=0.125), on a 1 GiB machine.")
        assert listed[name]["labels"] == {"figure": info.name, "experiment": "table1",
                                          "profile": "test"}
    assert "claims.yaml" in listed["claims.csv"]["caption"]
    assert listed["claims.csv"]["labels"] == {"table": "claims", "profile": "test"}
