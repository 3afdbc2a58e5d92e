"""report.benchmarks: the benchmark files of a run summed per stage and experiment."""
from __future__ import annotations

import pytest

from hpsim.io import InputError
from report import benchmarks

HEAD = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _job(root, rel, s, cpu, rss):
    p = root / f"{rel}.tsv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(HEAD + f"{s}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_jobs_are_summed_per_stage_and_experiment(tmp_path):
    _job(tmp_path, "workloads/redis", 10.0, 8.0, 300)
    _job(tmp_path, "workloads/graph500", 4.0, 3.5, 900)
    _job(tmp_path, "simulate/sweep/redis_f0_t0", 6.0, 5.0, 200)
    _job(tmp_path, "simulate/sweep/redis_f50_t0", 9.0, 8.5, 250)
    _job(tmp_path, "simulate/table1", 2.0, 1.5, 100)
    _job(tmp_path, "native/validation/val_touch_f0_t0/host-4k", 3.0, "-", 50)
    jobs = benchmarks.read(tmp_path)
    g = benchmarks.by_group(jobs).set_index("group")
    assert list(g.index) == ["simulate/sweep", "workloads", "native/validation",
                             "simulate/table1"]        # by summed wall clock
    assert g.loc["workloads", "jobs"] == 2 and g.loc["workloads", "wall_s"] == 14.0
    assert g.loc["workloads", "cpu_s"] == 11.5 and g.loc["workloads", "rss_mb"] == 900
    assert g.loc["workloads", "longest"] == "workloads/redis"
    assert g.loc["simulate/sweep", "wall_s"] == 15.0
    assert g.loc["simulate/sweep", "longest_s"] == 9.0
    assert g.loc["native/validation", "cpu_s"] == 0.0    # "-": not sampled, NaN, sums to 0


def test_no_benchmark_file_or_a_foreign_file_is_one_error(tmp_path, capsys):
    with pytest.raises(InputError, match="no benchmark file"):
        benchmarks.read(tmp_path)
    (tmp_path / "x.tsv").write_text("a\tb\n1\t2\n")
    assert benchmarks.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Snakemake benchmark file" in err
