# Shared helpers: config checks, the runs each experiment expands to, and the
# JSON specs handed to each CLI.  A rule receives exactly the part of the
# config it depends on (as params), so changing one parameter reruns only the
# jobs that use it.
import json
import os

import policies
import workloads
from hpsim import options
from report.figures import FIGURES


def repo_path(rel):
    """A file of this repository (code, config, claims), as a path from the
    working directory, so that `snakemake --directory ELSEWHERE` finds it."""
    return os.path.relpath(os.path.join(workflow.basedir, rel))


deep_merge = options.merge   # an experiment's overrides over a config section


def pct(x):
    return f"{round(100 * x):d}"


def expand_runs(cfg):
    """run id -> everything one simulation needs.  A plain experiment is one
    run (id = its name); a sweep is one run per grid point, with id
    '<experiment>/<workload>_f<frag%>_t<tenant%>'."""
    runs = {}
    for name, exp in cfg["experiments"].items():
        if "uses" in exp:
            continue
        base = {"experiment": name, "policies": exp["policies"],
                "machine": deep_merge(cfg["machine"], exp.get("machine")),
                "pressure": deep_merge(cfg["pressure"], exp.get("pressure")),
                "policy_params": exp.get("policy_params", {}),
                "time_scale": exp.get("time_scale", 1.0),
                "sample_interval_s": exp.get("sample_interval_s", 1.0),
                "max_time_s": exp.get("max_time_s"),
                "labels": {"experiment": name, "time_scale": exp.get("time_scale", 1.0)}}
        if "sweep" in exp:
            sw = exp["sweep"]
            for wl in sw["workloads"]:
                for f in sw.get("fragmentation", [cfg["pressure"]["fragmentation"]]):
                    for t in sw.get("tenant_fraction", [cfg["pressure"]["tenant_fraction"]]):
                        rid = f"{name}/{wl}_f{pct(f)}_t{pct(t)}"
                        runs[rid] = {**base,
                                     "processes": [{"workload": wl, "name": wl, "start_s": 0.0}],
                                     "pressure": {"fragmentation": f, "tenant_fraction": t},
                                     "labels": {**base["labels"], "workload": wl,
                                                "variant": rid.split("/")[1],
                                                "fragmentation": f, "tenant_fraction": t}}
        else:
            procs = exp.get("processes") or [{"workload": exp["workload"]}]
            procs = [{"workload": p["workload"], "name": p.get("name", p["workload"]),
                      "start_s": float(p.get("start_s", 0.0))} for p in procs]
            labels = dict(base["labels"])
            if len(procs) == 1:
                labels["workload"] = procs[0]["workload"]
            runs[name] = {**base, "processes": procs, "labels": labels}
    return runs


def check_config(cfg):
    """The config against config/schema.yaml (every option's type and range,
    in the policy blocks, workloads' params and experiments' overrides; one
    line per error, naming the dotted key), then what the schema cannot say:
    complete policy blocks, checks across options (each policy's and
    workload's validate()), options after an experiment's overrides and
    time_scale, references between sections.  Stops before any job runs."""
    schema = options.load_schema()
    errors = options.schema_errors(schema, schema, cfg, "")
    if errors:
        raise ValueError("invalid configuration:\n  " + "\n  ".join(errors))
    bad = set()   # policies whose own block is wrong: not checked again per experiment
    for name, params in cfg["policies"].items():
        try:
            policies.check_params(name, params, complete=True)
        except ValueError as e:
            errors.append(str(e))
            bad.add(name)
    for name, wl in cfg["workloads"].items():
        try:
            workloads.get(wl["kind"])(wl.get("params", {}), cfg["seed"])
        except ValueError as e:   # the class names <kind>.params.<key>
            errors.append(str(e).replace(f"{wl['kind']}.params", f"workloads.{name}.params", 1))
    for name, exp in cfg["experiments"].items():
        wls = [exp["workload"]] if "workload" in exp else []
        wls += [p["workload"] for p in exp.get("processes", [])]
        wls += exp.get("sweep", {}).get("workloads", [])
        for wl in wls:
            if wl not in cfg["workloads"]:
                errors.append(f"experiments.{name}: workload {wl!r} is not defined under "
                              f"workloads (defined: {sorted(cfg['workloads'])})")
        names = [p.get("name", p["workload"]) for p in exp.get("processes", [])]
        if len(set(names)) != len(names):
            errors.append(f"experiments.{name}.processes: process names must be unique "
                          f"(got {names}); set `name:` to tell them apart")
        for used in exp.get("uses", []):
            if used not in cfg["experiments"] or "uses" in cfg["experiments"][used]:
                errors.append(f"experiments.{name}.uses: {used!r} is not an experiment that runs")
        for pol in exp.get("policies", []):
            if pol not in cfg["policies"]:
                errors.append(f"experiments.{name}.policies: {pol!r} has no options block "
                              f"under policies (defined: {sorted(cfg['policies'])})")
                continue
            if pol in bad:
                continue
            try:
                params = deep_merge(cfg["policies"][pol], exp.get("policy_params", {}).get(pol))
                policies.check_params(pol, policies.scale_durations(
                    pol, params, exp.get("time_scale", 1.0)),
                    path=f"experiments.{name}.policy_params.{pol}", complete=True)
            except ValueError as e:
                errors.append(str(e))
    if errors:
        raise ValueError("invalid configuration:\n  " + "\n  ".join(dict.fromkeys(errors)))


check_config(config)

RUNS = expand_runs(config)
EXPERIMENTS = sorted(config.get("only_experiments") or config["experiments"])
_unknown = sorted(set(EXPERIMENTS) - set(config["experiments"]))
if _unknown:
    raise ValueError(f"only_experiments: {_unknown} not defined under experiments "
                     f"(defined: {sorted(config['experiments'])})")
# experiments needed: the selected ones and those they use
NEEDED = sorted(set(EXPERIMENTS) | {u for e in EXPERIMENTS
                                    for u in config["experiments"][e].get("uses", [])})


wildcard_constraints:
    run="[a-z0-9_]+(/[a-z0-9_]+)?",
    experiment="[a-z0-9_]+",
    policy="[a-z0-9-]+",
    workload="[A-Za-z0-9_]+",


def workload_spec(wildcards):
    wl = config["workloads"][wildcards.workload]
    return json.dumps({"kind": wl["kind"], "params": wl.get("params", {}),
                       "seed": config["seed"]}, sort_keys=True)


def workload_inputs(wildcards):
    """Files a workload's trace is made from: the Lackey log of a `lackey`
    workload (its `params.path`), nothing for generated workloads."""
    wl = config["workloads"][wildcards.workload]
    path = wl.get("params", {}).get("path") if wl["kind"] == "lackey" else None
    return [path] if path else []


def run_traces(wildcards):
    return [f"results/traces/{p['workload']}.trace" for p in RUNS[wildcards.run]["processes"]]


def run_spec(wildcards):
    run = RUNS[wildcards.run]
    params = deep_merge(config["policies"][wildcards.policy],
                        run["policy_params"].get(wildcards.policy))
    params = policies.scale_durations(wildcards.policy, params, run["time_scale"])
    spec = {
        "machine": run["machine"],
        "pressure": run["pressure"],
        "policy": {"name": wildcards.policy, "params": params},
        "run": {"sample_interval_s": run["sample_interval_s"], "max_time_s": run["max_time_s"]},
        "processes": [{"name": p["name"], "start_s": p["start_s"]} for p in run["processes"]],
        "seed": config["seed"],
        "labels": run["labels"],
    }
    return json.dumps(spec, sort_keys=True)


def runs_of(experiment):
    """Summary files of every run an experiment's table reads."""
    exp = config["experiments"][experiment]
    names = exp.get("uses", [experiment])
    return [f"results/runs/{rid}/{pol}/summary.csv"
            for rid, run in sorted(RUNS.items()) if run["experiment"] in names
            for pol in run["policies"]]


def experiment_runs(wildcards):
    return runs_of(wildcards.experiment)


def experiment_figures(experiment):
    """The SVG files report.figures draws for an experiment (its registry)."""
    return [f"results/figures/{f.name}.svg" for f in FIGURES.get(experiment, [])]


def runs_dir(experiment):
    """Directory the table and figure builders read: the experiment's own
    runs, or all runs for an experiment built from others (`uses`)."""
    if "uses" in config["experiments"][experiment]:
        return "results/runs"
    return f"results/runs/{experiment}"
