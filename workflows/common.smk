# Shared helpers: config checks and the JSON specs handed to each CLI.
# A rule receives exactly the part of the config it depends on (as params),
# so changing one parameter reruns only the jobs that use it.
import json

import policies
import workloads
from report.figures import FIGURES


def check_config(cfg):
    """Deeper checks than the schema: option names and ranges per policy and
    workload, references between sections.  Stops before any job runs."""
    errors = []
    for name, params in cfg["policies"].items():
        try:
            policies.check_params(name, params)
        except ValueError as e:
            errors.append(str(e))
    for name, wl in cfg["workloads"].items():
        try:
            workloads.get(wl["kind"])(wl.get("params", {}), cfg["seed"])
        except (ValueError, KeyError) as e:
            errors.append(f"workloads.{name}: {e}")
    for name, exp in cfg["experiments"].items():
        if exp["workload"] not in cfg["workloads"]:
            errors.append(f"experiments.{name}.workload: {exp['workload']!r} is not defined "
                          f"under workloads (defined: {sorted(cfg['workloads'])})")
        for pol in exp["policies"]:
            if pol not in cfg["policies"]:
                errors.append(f"experiments.{name}.policies: {pol!r} has no options block "
                              f"under policies (defined: {sorted(cfg['policies'])})")
    if errors:
        raise ValueError("invalid configuration:\n  " + "\n  ".join(errors))


check_config(config)

EXPERIMENTS = sorted(config.get("only_experiments") or config["experiments"])
_unknown = sorted(set(EXPERIMENTS) - set(config["experiments"]))
if _unknown:
    raise ValueError(f"only_experiments: {_unknown} not defined under experiments "
                     f"(defined: {sorted(config['experiments'])})")


wildcard_constraints:
    experiment="[a-z0-9_]+",
    policy="[a-z0-9-]+",
    workload="[A-Za-z0-9_]+",


def workload_spec(wildcards):
    wl = config["workloads"][wildcards.workload]
    return json.dumps({"kind": wl["kind"], "params": wl.get("params", {}),
                       "seed": config["seed"]}, sort_keys=True)


def experiment_trace(wildcards):
    exp = config["experiments"][wildcards.experiment]
    return f"results/traces/{exp['workload']}.trace"


def run_spec(wildcards):
    exp = config["experiments"][wildcards.experiment]
    pressure = {**config["pressure"], **exp.get("pressure", {})}
    spec = {
        "machine": config["machine"],
        "pressure": pressure,
        "policy": {"name": wildcards.policy, "params": config["policies"][wildcards.policy]},
        "run": {"sample_interval_s": exp.get("sample_interval_s", 1.0),
                "max_time_s": exp.get("max_time_s")},
        "processes": [{"name": exp["workload"], "start_s": 0.0}],
        "seed": config["seed"],
        "labels": {"experiment": wildcards.experiment, "workload": exp["workload"]},
    }
    return json.dumps(spec, sort_keys=True)


def experiment_runs(wildcards):
    exp = config["experiments"][wildcards.experiment]
    return expand("results/runs/{experiment}/{policy}/summary.csv",
                  experiment=wildcards.experiment, policy=exp["policies"])


def experiment_figures(experiment):
    """The SVG files report.figures draws for an experiment (its registry)."""
    return [f"results/figures/{f.name}.svg" for f in FIGURES.get(experiment, [])]
