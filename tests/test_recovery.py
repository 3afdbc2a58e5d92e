"""Recovery after an interrupted run, as the README documents it: a run
killed (SIGKILL) in the middle of its simulations, then
``snakemake --unlock`` and ``snakemake --rerun-incomplete``, gives result
tables byte-identical to an uninterrupted run."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_workflow import SNAKEMAKE, copy_tree, snakemake

PROFILE = ("--configfile", "config/test.yaml")


def result_hashes(tree: Path) -> dict[str, str]:
    files = sorted((tree / "results").rglob("*.csv"))
    return {str(f.relative_to(tree)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_a_killed_run_recovers_to_identical_results(tmp_path):
    ref = copy_tree(tmp_path / "ref")
    r = snakemake("--cores", "2", *PROFILE, cwd=ref)
    assert r.returncode == 0, r.stderr[-3000:]

    tree = copy_tree(tmp_path / "killed")
    proc = subprocess.Popen([*SNAKEMAKE, "--cores", "2", *PROFILE], cwd=tree,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    sim_log = tree / "logs" / "simulate" / "table1.log"    # the run's job (sim.batch)
    deadline = time.monotonic() + 600
    while not sim_log.exists():                                # a simulation has started
        assert proc.poll() is None and time.monotonic() < deadline, "run ended before a kill"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tree / "results" / "claims.csv").exists()          # it really was cut short

    r = snakemake("--unlock", *PROFILE, cwd=tree)
    assert r.returncode == 0, r.stderr[-3000:]
    r = snakemake("--cores", "2", "--rerun-incomplete", *PROFILE, cwd=tree)
    assert r.returncode == 0, r.stderr[-3000:]
    assert result_hashes(tree) == result_hashes(ref)
    assert not list((tree / "results").rglob("*.part"))            # no temporary file left
