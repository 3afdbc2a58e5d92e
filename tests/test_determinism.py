"""Same config and seed give byte-identical result tables."""
import json
import subprocess
import sys

from sim.testing import small_spec
from workloads.buffer_touch import BufferTouch


def test_simulate_twice_gives_identical_tables(tmp_path):
    trace = tmp_path / "t.trace"
    BufferTouch({"size_gib": 0.05, "order": "random"}, seed=7).write(trace)
    spec = small_spec("linux-thp", memory_mib=256, sample_interval_s=0.001,
                      fragmentation=0.3)
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        r = subprocess.run([sys.executable, "-m", "sim.simulate", "--spec", json.dumps(spec),
                            "--trace", str(trace), "--out-dir", str(out), "--quiet"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        outs.append(out)
    for name in ("summary.csv", "timeseries.csv", "events.csv", "threads.csv", "fault_hist.csv",
                 "phases.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_bad_spec_is_rejected_with_the_key_named(tmp_path):
    trace = tmp_path / "t.trace"
    BufferTouch({"size_gib": 0.01}).write(trace)
    spec = small_spec("linux-thp")
    spec["policy"]["params"]["khugepaged"]["pages_to_scan"] = -5
    r = subprocess.run([sys.executable, "-m", "sim.simulate", "--spec", json.dumps(spec),
                        "--trace", str(trace), "--out-dir", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "pages_to_scan" in r.stderr
    assert not (tmp_path / "o").exists()
