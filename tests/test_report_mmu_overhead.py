"""report/mmu_overhead.py on hand-made run directories: which linux-4k run is read per
workload, the exact overhead columns, and the published value set beside."""
import math
from pathlib import Path

import pandas as pd
import pytest

from report import InputError
from report.mmu_overhead import MMU_OVERHEAD_COLUMNS, load_published, main, mmu_overhead_table
from report.runs import read_runs
from report.tables import TABLES


def _run(root, name, policy, workload, user, walk, data, experiment, variant="",
         fragmentation=0.0, tenant=0.0, oom=0):
    d = root / name / policy
    d.mkdir(parents=True)
    pd.DataFrame([{"experiment": experiment, "variant": variant, "workload": workload,
                   "fragmentation": fragmentation, "tenant_fraction": tenant, "policy": policy,
                   "accesses": 1000, "user_cycles": user, "walk_cycles": walk,
                   "data_cycles": data, "oom": oom, "oom_time_s": float("nan")}]
                 ).to_csv(d / "summary.csv", index=False)
    return d / "summary.csv"


PUBLISHED = {"graph500": {"value": 0.5, "source": "paper X, Fig. 2", "machine": "m",
                          "checked": "read"}}


def test_picks_unpressured_sweep_then_promotion_and_sets_published(tmp_path):
    files = [
        # graph500: a fragmented sweep point, the unpressured one, and fig_promotion
        _run(tmp_path, "s90", "linux-4k", "graph500", 1000, 900, 0, "sweep", "graph500_f90_t0",
             fragmentation=0.9),
        _run(tmp_path, "s0", "linux-4k", "graph500", 4000, 1000, 2000, "sweep", "graph500_f0_t0"),
        _run(tmp_path, "p", "linux-4k", "graph500", 10, 9, 0, "fig_promotion", "graph500_f95_t0",
             fragmentation=0.95),
        # hotspot only in fig_promotion; a linux-thp run is never read
        _run(tmp_path, "ph", "linux-4k", "hotspot", 1000, 250, 500, "fig_promotion",
             "hotspot_f95_t0", fragmentation=0.95),
        _run(tmp_path, "ph", "linux-thp", "hotspot", 1000, 1, 500, "fig_promotion",
             "hotspot_f95_t0", fragmentation=0.95),
    ]
    df = mmu_overhead_table(read_runs(files), PUBLISHED)
    assert list(df.columns) == MMU_OVERHEAD_COLUMNS
    assert list(df["workload"]) == ["graph500", "hotspot"]
    g, h = df.iloc[0], df.iloc[1]
    assert g["variant"] == "graph500_f0_t0"
    assert g["mmu_overhead"] == 0.25                      # 1000 / 4000
    assert g["mmu_overhead_without_data"] == 0.5          # 1000 / (4000 - 2000)
    assert g["data_share"] == 0.5
    assert g["published_mmu_overhead"] == 0.5 and g["sim_over_published"] == 0.5
    assert g["published_source"] == "paper X, Fig. 2"
    assert h["experiment"] == "fig_promotion" and h["mmu_overhead"] == 0.25
    assert math.isnan(h["published_mmu_overhead"]) and h["published_source"] == ""


def test_no_linux_4k_run_is_an_input_error(tmp_path):
    f = _run(tmp_path, "p", "linux-thp", "graph500", 10, 1, 0, "fig_promotion", "v")
    with pytest.raises(InputError, match="no linux-4k run"):
        mmu_overhead_table(read_runs([f]), {})


def test_published_file_needs_value_and_source(tmp_path):
    p = tmp_path / "pub.yaml"
    p.write_text("mmu_overhead_4k:\n  graph500: {value: 0.5}\n")
    with pytest.raises(InputError, match="needs a value and a source"):
        load_published(p)


def test_repository_file_and_cli(tmp_path):
    assert "mmu_overhead" in TABLES
    pub = load_published()
    assert all(0 < float(e["value"]) < 1 for e in pub.values())
    f = _run(tmp_path, "s0", "linux-4k", "graph500", 4000, 1000, 2000, "sweep", "g")
    out = tmp_path / "t.csv"
    assert main(["--out", str(out), str(f)]) == 0
    df = pd.read_csv(out)
    assert df["published_mmu_overhead"].iloc[0] == pub["graph500"]["value"]


def test_report_section_shows_the_table(tmp_path):
    from report.claims import check, load_claims
    from report.render import main as render_main
    repo = Path(__file__).resolve().parents[1]
    files = [_run(tmp_path / "runs", "s0", "linux-4k", "graph500", 4000, 1000, 2000, "sweep",
                  "graph500_f0_t0")]
    tables = tmp_path / "tables"
    tables.mkdir()
    mmu_overhead_table(read_runs(files), PUBLISHED).to_csv(tables / "mmu_overhead.csv",
                                                           index=False)
    (tmp_path / "figures").mkdir()
    check(load_claims(repo / "config" / "claims.yaml"), tables).to_csv(tmp_path / "claims.csv",
                                                                       index=False)
    out = tmp_path / "out"
    assert render_main(["--config", str(repo / "config" / "config.yaml"), "--tables", str(tables),
                        "--figures", str(tmp_path / "figures"),
                        "--claims", str(tmp_path / "claims.csv"),
                        "--claims-spec", str(repo / "config" / "claims.yaml"),
                        "--schema", str(repo / "config" / "schema.yaml"),
                        "--out-html", str(out / "r.html"), "--out-pdf", str(out / "r.pdf")]) == 0
    html = (out / "r.html").read_text()
    section = html[html.index('id="sec-mmu_overhead"'):]
    # graph500: 25.0% with the data cost, 50.0% without, published 50%, 0.5x
    for cell in ("25.0%", "50.0%", "50%", "0.5×", "paper X, Fig. 2"):
        assert cell in section, cell
