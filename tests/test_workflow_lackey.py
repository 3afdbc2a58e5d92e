"""A user's own Lackey log through the workflow: the log is an input of the
rule that imports it, so editing it makes the trace (and what uses it) out of
date; the schema names the file as the code does (``params.path``)."""
from __future__ import annotations

from test_workflow import ROOT, snakemake

LOG = "==1== Lackey\n S 04200000,8\n L 04200008,8\n"


def overlay(tmp_path, log_path):
    p = tmp_path / "lackey.yaml"
    p.write_text(
        "workloads:\n"
        f"  mylackey: {{kind: lackey, params: {{path: {log_path}}}}}\n"
        "experiments:\n"
        "  mylackey: {workload: mylackey, policies: [linux-4k, linux-thp]}\n"
        "only_experiments: [mylackey]\n")
    return p


def test_editing_the_lackey_log_reruns_its_import(tmp_path):
    log = tmp_path / "prog.lackey"
    log.write_text(LOG)
    args = ["--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
            "--configfile", str(ROOT / "config" / "test.yaml"), str(overlay(tmp_path, log))]
    target = "results/traces/mylackey.trace"
    r = snakemake(target, "--cores", "1", *args)    # the target before --configfile's list
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / target).exists()
    r = snakemake(target, "-n", *args)
    assert "Nothing to be done" in r.stdout + r.stderr
    with open(log, "a") as f:                       # the program was traced again
        f.write(" L 04200010,8\n")
    r = snakemake(target, "-n", *args)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "workload_trace" in out, out[-3000:]


def test_the_schema_has_no_second_name_for_the_file(tmp_path):
    p = tmp_path / "schema-style.yaml"
    p.write_text("workloads:\n  w: {kind: lackey, trace: prog.lackey}\n")
    r = snakemake("-n", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                  "--configfile", str(ROOT / "config" / "test.yaml"), str(p))
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "workloads.w.trace" in out
