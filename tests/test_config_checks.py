"""Bad configs stop before any job runs with one line per problem naming the
dotted key (issue: every bad input a clear error).  Each case is an overlay on
the test profile, merged key by key as ``snakemake --configfile`` merges it.

Every case twice: in process (``sim.config.check_config``: the message),
and through ``snakemake -n`` as a user runs it (the exit status, no Python
traceback, the dotted key in the first lines, nothing under results/).
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hpsim import options
from sim.config import check_config

ROOT = Path(__file__).resolve().parent.parent
TEST_PROFILE = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
NAN, INF = math.nan, math.inf

# (case id, overlay, the dotted key (or text) the first error line must name)
CASES = [
    # typos, at every level
    ("typo-machine", {"machine": {"memroy_gib": 2}}, "machine.memroy_gib"),
    ("typo-tlb", {"machine": {"tlb": {"l2": {"entires": 8}}}}, "machine.tlb.l2.entires"),
    ("typo-cost", {"machine": {"costs": {"zero_4k": 1}}}, "machine.costs.zero_4k"),
    ("typo-pressure", {"pressure": {"fragmentaton": 0.5}}, "pressure.fragmentaton"),
    ("typo-linux-thp", {"policies": {"linux-thp": {"khugepaged": {"scan_sleep": 5}}}},
     "policies.linux-thp.khugepaged.scan_sleep"),
    ("typo-hawkeye", {"policies": {"hawkeye-pmu": {"prezero": {"sleep": 5}}}},
     "policies.hawkeye-pmu.prezero.sleep"),
    ("typo-hawkeye-g-pmu", {"policies": {"hawkeye-g": {"pmu": {"interval_s": 10}}}},
     "policies.hawkeye-g.pmu"),
    ("typo-ingens", {"policies": {"ingens": {"util_treshold": 90}}}, "policies.ingens.util_treshold"),
    ("typo-freebsd", {"policies": {"freebsd": {"pg_ps": True}}}, "policies.freebsd.pg_ps"),
    ("typo-linux-4k", {"policies": {"linux-4k": {"huge": True}}}, "policies.linux-4k.huge"),
    ("typo-workload-param", {"workloads": {"buffer": {"params": {"size": 1}}}},
     "workloads.buffer.params.size"),
    ("typo-workload-key", {"workloads": {"buffer": {"parmas": {}}}}, "workloads.buffer.parmas"),
    ("typo-exp-machine", {"experiments": {"table1": {"machine": {"memroy_gib": 2}}}},
     "experiments.table1.machine.memroy_gib"),
    ("typo-exp-pressure", {"experiments": {"table1": {"pressure": {"tenant": 0.1}}}},
     "experiments.table1.pressure.tenant"),
    ("typo-exp-policy-params", {"experiments": {"table1": {"policy_params": {
        "linux-thp": {"khugepaged": {"max_ptes": 3}}}}}},
     "experiments.table1.policy_params.linux-thp.khugepaged.max_ptes"),
    ("typo-exp-key", {"experiments": {"table1": {"sample_interval": 1}}},
     "experiments.table1.sample_interval"),
    ("typo-top", {"seeds": 3}, "seeds"),
    # wrong types
    ("type-memory-string", {"machine": {"memory_gib": "lots"}}, "machine.memory_gib"),
    ("type-bool-string", {"machine": {"zero_page_on_read": "no"}}, "machine.zero_page_on_read"),
    ("type-tlb-entries", {"machine": {"tlb": {"l2": {"entries": "many"}}}},
     "machine.tlb.l2.entries"),
    ("type-walk-float", {"machine": {"costs": {"walk_cycles_4k": 80.5}}},
     "machine.costs.walk_cycles_4k"),
    ("type-max-ptes", {"policies": {"linux-thp": {"khugepaged": {"max_ptes_none": "many"}}}},
     "policies.linux-thp.khugepaged.max_ptes_none"),
    ("type-fault-huge", {"policies": {"linux-thp": {"fault_huge": "yes"}}},
     "policies.linux-thp.fault_huge"),
    ("type-enabled", {"policies": {"ingens": {"scand": {"enabled": 1}}}},
     "policies.ingens.scand.enabled"),
    ("type-sampling", {"policies": {"hawkeye-pmu": {"access_map": {"sampling": "often"}}}},
     "policies.hawkeye-pmu.access_map.sampling"),
    ("type-weights", {"policies": {"ingens": {"process_weights": [1, 2]}}},
     "policies.ingens.process_weights"),
    ("type-seed", {"seed": "forty-two"}, "seed"),
    ("type-policies-list", {"experiments": {"table1": {"policies": "linux-4k"}}},
     "experiments.table1.policies"),
    ("type-size-string", {"workloads": {"buffer": {"params": {"size_gib": "1G"}}}},
     "workloads.buffer.params.size_gib"),
    ("type-order", {"workloads": {"buffer": {"params": {"order": "backwards"}}}},
     "workloads.buffer.params.order"),
    ("type-kind", {"workloads": {"buffer": {"kind": "bufer_touch"}}}, "workloads.buffer.kind"),
    ("type-time-scale", {"experiments": {"table1": {"time_scale": "fast"}}},
     "experiments.table1.time_scale"),
    # out of range
    ("range-memory-negative", {"machine": {"memory_gib": -4}}, "machine.memory_gib"),
    ("range-cpu-zero", {"machine": {"cpu_ghz": 0}}, "machine.cpu_ghz"),
    ("range-cost-negative", {"machine": {"costs": {"zero_4k_us": -0.4}}},
     "machine.costs.zero_4k_us"),
    ("range-fragmentation", {"pressure": {"fragmentation": 1.5}}, "pressure.fragmentation"),
    ("range-tenant-one", {"pressure": {"tenant_fraction": 1.0}}, "pressure.tenant_fraction"),
    ("range-max-ptes", {"policies": {"linux-thp": {"khugepaged": {"max_ptes_none": 600}}}},
     "policies.linux-thp.khugepaged.max_ptes_none"),
    ("range-scan-sleep", {"policies": {"linux-thp": {"khugepaged": {"scan_sleep_millisecs": 0}}}},
     "policies.linux-thp.khugepaged.scan_sleep_millisecs"),
    ("range-pages-to-scan", {"policies": {"ingens": {"khugepaged": {"pages_to_scan": -1}}}},
     "policies.ingens.khugepaged.pages_to_scan"),
    ("range-util", {"policies": {"ingens": {"util_threshold": 101}}},
     "policies.ingens.util_threshold"),
    ("range-ema", {"policies": {"hawkeye-pmu": {"access_map": {"ema_alpha": 1.5}}}},
     "policies.hawkeye-pmu.access_map.ema_alpha"),
    ("range-trigger-pct", {"policies": {"hawkeye-g": {"bloat_recovery": {"trigger_free_pct": -5}}}},
     "policies.hawkeye-g.bloat_recovery.trigger_free_pct"),
    ("range-size", {"workloads": {"buffer": {"params": {"size_gib": -1}}}},
     "workloads.buffer.params.size_gib"),
    ("range-exp-cpu", {"experiments": {"table1": {"machine": {"cpu_ghz": -2.3}}}},
     "experiments.table1.machine.cpu_ghz"),
    ("range-exp-fragmentation", {"experiments": {"table1": {"pressure": {"fragmentation": 2}}}},
     "experiments.table1.pressure.fragmentation"),
    ("range-exp-override", {"experiments": {"table1": {"policy_params": {
        "linux-thp": {"khugepaged": {"max_ptes_none": 512}}}}}},
     "experiments.table1.policy_params.linux-thp.khugepaged.max_ptes_none"),
    ("range-sample-interval", {"experiments": {"table1": {"sample_interval_s": 0}}},
     "experiments.table1.sample_interval_s"),
    ("cross-target-below-trigger", {"policies": {"hawkeye-pmu": {"bloat_recovery": {
        "trigger_free_pct": 40, "target_free_pct": 30}}}}, "policies.hawkeye-pmu.bloat_recovery"),
    # not finite
    ("nan-period", {"policies": {"linux-thp": {"khugepaged": {"scan_sleep_millisecs": NAN}}}},
     "policies.linux-thp.khugepaged.scan_sleep_millisecs"),
    ("inf-memory", {"machine": {"memory_gib": INF}}, "machine.memory_gib"),
    ("nan-cost", {"machine": {"costs": {"fault_base_4k_us": NAN}}}, "machine.costs.fault_base_4k_us"),
    ("nan-fragmentation", {"pressure": {"fragmentation": NAN}}, "pressure.fragmentation"),
    ("nan-exp-sample", {"experiments": {"table1": {"sample_interval_s": NAN}}},
     "experiments.table1.sample_interval_s"),
    ("inf-time-scale", {"experiments": {"table1": {"time_scale": INF}}},
     "experiments.table1.time_scale"),
    ("nan-workload", {"workloads": {"buffer": {"params": {"size_gib": NAN}}}},
     "workloads.buffer.params.size_gib"),
    # names that become file names and shell words
    ("shell-in-workload-name", {"workloads": {"x$(touch pwned)": {"kind": "buffer_touch"}}},
     "must match ^[A-Za-z0-9_]+$"),
    ("bad-experiment-name", {"experiments": {"Table 1": {"workload": "buffer",
                                                         "policies": ["linux-4k"]}}},
     "must match ^[a-z0-9_]+$"),
    # references between sections
    ("unknown-policy", {"experiments": {"table1": {"policies": ["linux-8k"]}}}, "linux-8k"),
    ("unknown-workload", {"experiments": {"table1": {"workload": "bufer"}}}, "experiments.table1"),
    ("unknown-only", {"only_experiments": ["tabel1"]}, "only_experiments"),
    ("unknown-uses", {"experiments": {"agg": {"uses": ["nothing"]}}}, "experiments.agg.uses"),
    ("duplicate-process-names", {"only_experiments": ["two"], "experiments": {"two": {
        "processes": [{"workload": "buffer"}, {"workload": "buffer"}],
        "policies": ["linux-4k"]}}}, "experiments.two.processes"),
    # what a simulation would refuse, for every run
    ("memory-below-footprint", {"machine": {"memory_gib": 0.0625}}, "experiments.table1"),
    ("tenant-leaves-nothing", {"pressure": {"tenant_fraction": 0.9999}}, "experiments.table1"),
    ("memory-below-one-block", {"machine": {"memory_gib": 0.001}}, "experiments.table1"),
    ("memory-beyond-the-host", {"machine": {"memory_gib": 4e7}}, "needs"),
    ("scale-beyond-the-host", {"workloads": {"big": {"kind": "graph500",
                                                      "params": {"scale": 30}}},
                               "experiments": {"table1": {"workload": "big"}}},
     "workloads.big: generating it needs"),
    ("tlb-geometry", {"machine": {"tlb": {"l2": {"entries": 1000, "ways": 8}}}},
     "machine.tlb.l2"),
    ("sweep-id-collision", {"only_experiments": ["sweep"], "workloads": {
        "small": {"kind": "buffer_touch", "params": {"size_gib": 0.0625}}},
        "experiments": {"sweep": {"sweep": {"workloads": ["small"], "fragmentation": [0.501, 0.499],
                                            "tenant_fraction": [0.0]},
                                  "policies": ["linux-4k"], "machine": {"memory_gib": 1}}}},
     "experiments.sweep.sweep"),
    ("sweep-memory", {"only_experiments": ["sweep"], "workloads": {
        "small": {"kind": "buffer_touch", "params": {"size_gib": 0.5}}},
        "experiments": {"sweep": {"sweep": {"workloads": ["small"], "fragmentation": [0.0],
                                            "tenant_fraction": [0.0, 0.6]},
                                  "policies": ["linux-4k"], "machine": {"memory_gib": 1}}}},
     "experiments.sweep (run sweep/small_f0_t60)"),
]


def merged(overlay: dict) -> dict:
    return options.merge(options.merge(options.default_config(), TEST_PROFILE), overlay)


def test_there_are_at_least_60_cases():
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("overlay, key", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_bad_config_is_refused_naming_the_key(overlay, key):
    with pytest.raises(ValueError) as e:
        check_config(merged(overlay))
    lines = str(e.value).splitlines()
    assert lines[0] == "invalid configuration:"
    assert key in lines[1], lines[:3]
    assert all(len(line) < 400 for line in lines), "no dump of the schema"


def test_the_profiles_pass():
    check_config(options.default_config())
    check_config(merged({}))
    check_config(options.merge(options.default_config(),
                               yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())))


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_snakemake_stops_before_any_job_without_a_traceback(tmp_path, case):
    overlay, key = next((c[1], c[2]) for c in CASES if c[0] == case)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(overlay))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1",
                        "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                        "--configfile", str(ROOT / "config" / "test.yaml"), str(path)],
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "Traceback" not in out and 'File "' not in out, out[-2000:]
    first = out[out.index("error: invalid configuration:"):].splitlines()
    assert key in first[1], first[:3]
    assert not (tmp_path / "results").exists()


def test_check_command_names_the_file_and_line_of_a_yaml_syntax_error(tmp_path, capsys):
    from sim.config import main
    bad = tmp_path / "bad.yaml"
    bad.write_text("machine:\n  memory_gib: 2\n    cpu_ghz: 3\n")
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}:3:") and "YAML syntax error" in err


def test_check_command_accepts_the_test_profile_and_counts_its_runs(capsys):
    from sim.config import main
    assert main([str(ROOT / "config" / "test.yaml")]) == 0
    assert "1 run(s), 8 simulation(s)" in capsys.readouterr().out
