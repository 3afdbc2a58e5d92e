# Shared helpers: config checks, the runs each experiment expands to, and the
# JSON specs handed to each CLI.  A rule receives exactly the part of the
# config it depends on (as params), so changing one parameter reruns only the
# jobs that use it.
import json
import os
import sys

import workloads
from report.captions import profile_scale
from report.figures import FIGURES
from sim import resources
from sim.config import (
    check_config,
    expand_runs,
    needed_experiments,
    policy_params,
    selected_experiments,
)
from sim.simulate import machine_params


def repo_path(rel):
    """A file of this repository (code, config, claims), as a path from the
    working directory, so that `snakemake --directory ELSEWHERE` finds it."""
    return os.path.relpath(os.path.join(workflow.basedir, rel))


try:
    check_config(
        config
    )  # everything a job would refuse, before any job runs (sim/config.py)
except (
    ValueError
) as e:  # one line per problem, no traceback: the config is wrong, not the code
    sys.exit(f"error: {e}")

RUNS = expand_runs(config)
EXPERIMENTS = selected_experiments(config)
NEEDED = needed_experiments(config)  # the selected ones and those they use


wildcard_constraints:
    run="[a-z0-9_]+(/[a-z0-9_]+)?",
    experiment="[a-z0-9_]+",
    policy="[a-z0-9-]+",
    workload="[A-Za-z0-9_]+",


def kernels_flag():
    """The flag compile_kernels leaves in numba's cache folder (NUMBA_CACHE_DIR,
    set by the Snakefile): outside results/, so a clean results/ keeps a warm
    cache and the compilation does not run again; tracked as an output, so a
    deleted cache, or a change in the code compiled, compiles again."""
    cache = os.environ.get("NUMBA_CACHE_DIR", os.path.join(CACHE, "numba"))
    path = os.path.join(cache, "kernels.done")
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def workload_spec(wildcards):
    wl = config["workloads"][wildcards.workload]
    return json.dumps(
        {"kind": wl["kind"], "params": wl.get("params", {}), "seed": config["seed"]},
        sort_keys=True,
    )


def workload_host_bytes(wildcards):
    """The trace generator's host memory estimate (Workload.host_bytes), bytes."""
    wl = config["workloads"][wildcards.workload]
    return workloads.get(wl["kind"])(wl.get("params", {}), config["seed"]).host_bytes()


# Resources of the trace and simulation jobs, from the profile's scale
# (sim/resources.py: the formulas and the measurements they come from).  A
# simulation's come from its traces' trailers: "TBD" until the traces exist.
def workload_mem_mb(wildcards):
    return resources.generator_mem_mb(workload_host_bytes(wildcards))


def workload_runtime(wildcards):
    return resources.generator_runtime_min(workload_host_bytes(wildcards))


def sim_mem_mb(wildcards, input):
    n_blocks = machine_params(RUNS[wildcards.run]).n_blocks
    n_policies = len(RUNS[wildcards.run]["policies"])
    return resources.simulation_mem_mb(
        resources.trace_readers(input.traces), n_blocks, n_policies
    )


def sim_runtime(wildcards, input):
    n_policies = len(RUNS[wildcards.run]["policies"])
    return resources.simulation_runtime_min(
        resources.trace_readers(input.traces), n_policies
    )


def workload_inputs(wildcards):
    """Files a workload's trace is made from: the Lackey log of a `lackey`
    workload (its `params.path`), nothing for generated workloads."""
    wl = config["workloads"][wildcards.workload]
    path = wl.get("params", {}).get("path") if wl["kind"] == "lackey" else None
    return [path] if path else []


def run_traces(wildcards):
    return [
        f"results/traces/{p['workload']}.trace"
        for p in RUNS[wildcards.run]["processes"]
    ]


def run_spec(wildcards):
    """The JSON spec of ``python -m sim.batch``: the run's machine, pressure and
    processes, and every policy of the run with its complete options."""
    run = RUNS[wildcards.run]
    spec = {
        "machine": run["machine"],
        "pressure": run["pressure"],
        "policies": [
            {
                "name": pol,
                "params": policy_params(
                    config,
                    pol,
                    run["policy_params"].get(pol),
                    run["time_scale"],
                    run["space_scale"],
                ),
            }
            for pol in run["policies"]
        ],
        "run": {
            "sample_interval_s": run["sample_interval_s"],
            "max_time_s": run["max_time_s"],
        },
        "processes": [
            {"name": p["name"], "start_s": p["start_s"]} for p in run["processes"]
        ],
        "seed": config["seed"],
        "labels": run["labels"],
    }
    return json.dumps(spec, sort_keys=True)


def runs_of(experiment):
    """Summary files of every run an experiment's table reads."""
    exp = config["experiments"][experiment]
    names = exp.get("uses", [experiment])
    return [
        f"results/runs/{rid}/{pol}/summary.csv"
        for rid, run in sorted(RUNS.items())
        if run["experiment"] in names
        for pol in run["policies"]
    ]


def experiment_runs(wildcards):
    return runs_of(wildcards.experiment)


def experiment_figures(experiment):
    """The SVG files report.figures draws for an experiment (its registry)."""
    return [f"results/figures/{f.name}.svg" for f in FIGURES.get(experiment, [])]


def figure_output(path, experiment):
    """A figure file marked for Snakemake's report, with its own caption
    (report/captions/<figure>.rst, also the PDF's: report.captions)."""
    name = os.path.splitext(os.path.basename(path))[0]
    return report(
        path,
        caption=f"../report/captions/{name}.rst",
        category="Figures",
        subcategory=experiment,
        labels={"figure": name, "experiment": experiment, "profile": config["profile"]},
    )


def expected_claims(wildcards=None):
    """The paper profile's committed claims.csv (expected/paper/), shown beside this
    run's verdicts; none when this run is the paper profile or the file is absent."""
    path = repo_path("expected/paper/claims.csv")
    return [path] if config.get("profile") != "paper" and os.path.exists(path) else []
