"""The run layer's view of a config: every check a job would make, made
before any job runs, and the runs each experiment expands to.

``check_config(cfg)`` raises one ValueError listing every problem, one line
each with the dotted key, the value and what is allowed; ``expand_runs(cfg)``
maps run ids to what one simulation needs.  The workflow
(``workflows/common.smk``) calls both at parse time.
"""
from __future__ import annotations

import math

import policies
import workloads
from hpsim import options
from hpsim.cli import cli
from hpsim.io import InputError
from hpsim.units import GIB, HUGE_SIZE, MIB, PAGE_SIZE
from machine.params import MachineParams
from sim import budget

deep_merge = options.merge   # an experiment's overrides over a config section


def policy_params(cfg, policy: str, overrides: dict | None, time_scale: float,
                  space_scale: float = 1.0) -> dict:
    """The complete options one run gives ``policy``: its block in the
    config, an experiment's ``policy_params`` overrides merged in, periods
    scaled by the experiment's ``time_scale`` and ``space_scale``
    (``hpsim.options.scale_durations``)."""
    return policies.scale_durations(policy, deep_merge(cfg["policies"][policy], overrides),
                                    time_scale, space_scale)


def pct(x):
    return f"{round(100 * x):d}"


def expand_runs(cfg, collisions: list | None = None):
    """run id -> everything one simulation needs.  A plain experiment is one
    run (id = its name); a sweep is one run per grid point, with id
    '<experiment>/<workload>_f<frag%>_t<tenant%>'.  Two grid points with one
    id (fractions that round to the same percent) are appended to
    ``collisions`` as error lines (or raise ValueError when it is None)."""
    runs = {}
    for name, exp in cfg["experiments"].items():
        if "uses" in exp:
            continue
        base = {"experiment": name, "policies": exp["policies"],
                "machine": deep_merge(cfg["machine"], exp.get("machine")),
                "pressure": deep_merge(cfg["pressure"], exp.get("pressure")),
                "policy_params": exp.get("policy_params", {}),
                "time_scale": exp.get("time_scale", 1.0),
                "space_scale": exp.get("space_scale", 1.0),
                "sample_interval_s": exp.get("sample_interval_s", 1.0),
                "max_time_s": exp.get("max_time_s"),
                "labels": {"experiment": name, "time_scale": exp.get("time_scale", 1.0)}}
        if "sweep" in exp:
            sw = exp["sweep"]
            for wl in sw["workloads"]:
                for f in sw.get("fragmentation", [base["pressure"]["fragmentation"]]):
                    for t in sw.get("tenant_fraction", [base["pressure"]["tenant_fraction"]]):
                        rid = f"{name}/{wl}_f{pct(f)}_t{pct(t)}"
                        if rid in runs:
                            prev = runs[rid]["pressure"]
                            msg = (f"experiments.{name}.sweep: fragmentation {f} / "
                                   f"tenant_fraction {t} and {prev['fragmentation']} / "
                                   f"{prev['tenant_fraction']} both make run id {rid!r} "
                                   "(ids use whole percents); make the values differ by "
                                   ">= 0.01")
                            if collisions is None:
                                raise ValueError(msg)
                            collisions.append(msg)
                            continue
                        runs[rid] = {**base,
                                     "processes": [{"workload": wl, "name": wl, "start_s": 0.0}],
                                     # the grid point over the experiment's pressure
                                     # (movable fragmentation and pages per block stay)
                                     "pressure": {**base["pressure"], "fragmentation": f,
                                                  "tenant_fraction": t},
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
    errors = non_finite(cfg, "") + options.schema_errors(schema, schema, cfg, "")
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
                policies.check_params(
                    pol, policy_params(cfg, pol, exp.get("policy_params", {}).get(pol),
                                       exp.get("time_scale", 1.0), exp.get("space_scale", 1.0)),
                    path=f"experiments.{name}.policy_params.{pol}", complete=True)
            except ValueError as e:
                errors.append(str(e))
    unknown = sorted(set(selected_experiments(cfg)) - set(cfg["experiments"]))
    if unknown:
        errors.append(f"only_experiments: {unknown} not defined under experiments "
                      f"(defined: {sorted(cfg['experiments'])})")
    if not errors:
        errors += run_errors(cfg)
    if errors:
        raise ValueError("invalid configuration:\n  " + "\n  ".join(dict.fromkeys(errors)))


def selected_experiments(cfg) -> list[str]:
    """The experiments to run: ``only_experiments``, or every one."""
    return sorted(cfg.get("only_experiments") or cfg["experiments"])


def needed_experiments(cfg) -> list[str]:
    """The selected experiments and those they build on (``uses``)."""
    sel = [e for e in selected_experiments(cfg) if e in cfg["experiments"]]
    return sorted(set(sel) | {u for e in sel for u in cfg["experiments"][e].get("uses", [])})


def non_finite(value, path: str) -> list[str]:
    """Error lines for every NaN or infinite number in a config (JSON schema's
    range keywords let them through: every comparison with NaN is false)."""
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in non_finite(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in non_finite(v, f"{path}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{path}: {value} is not allowed (numbers must be finite)"]
    return []


def run_errors(cfg) -> list[str]:
    """What each run's jobs would refuse or could not finish, checked for
    every run of the selected experiments: a workload this host cannot
    generate (``Workload.host_bytes``), the machine (TLB geometry, at least one
    2 MiB block, its arrays within this host's memory), a tenant share that
    leaves no block, and usable memory (the blocks tenants leave, less the
    unmovable and movable fragmentation pages, which stay for the whole run)
    below what the run's workloads hold resident at once
    (``Workload.min_resident_bytes``).  Returns error lines."""
    errors: list[str] = []
    needed = needed_experiments(cfg)
    runs = {rid: r for rid, r in expand_runs(cfg, errors).items() if r["experiment"] in needed}
    gens = {name: workloads.get(wl["kind"])(wl.get("params", {}), cfg["seed"])
            for name, wl in cfg["workloads"].items()}
    resident = {name: g.min_resident_bytes() for name, g in gens.items()}
    used = sorted({p["workload"] for r in runs.values() for p in r["processes"]})
    for name in used:
        if gens[name].host_bytes() > budget.host_bytes():
            errors.append(f"workloads.{name}: generating it needs about "
                          f"{budget.gib(gens[name].host_bytes())} of host memory "
                          f"(Workload.host_bytes), more than this host's "
                          f"{budget.gib(budget.host_bytes())}; use a smaller scale")
    for rid, run in runs.items():
        where = f"experiments.{run['experiment']}" + (f" (run {rid})" if rid != run["experiment"]
                                                      else "")
        try:
            mp = MachineParams.from_config(run["machine"], run["pressure"])
        except ValueError as e:
            errors.append(f"{where}: {e}")
            continue
        host = budget.block_bytes() * mp.n_blocks
        if host > budget.host_bytes():
            errors.append(f"{where}: machine.memory_gib {run['machine']['memory_gib']:g} needs "
                          f"{budget.gib(host)} of host memory for its {mp.n_blocks:,} blocks, "
                          f"more than this host's {budget.gib(budget.host_bytes())}")
            continue
        tenant = run["pressure"]["tenant_fraction"]
        rest = mp.n_blocks - int(round(tenant * mp.n_blocks))   # as physmem.apply_pressure
        usable = rest * HUGE_SIZE
        if usable < HUGE_SIZE:
            errors.append(f"{where}: pressure.tenant_fraction {tenant} leaves no 2 MiB block of "
                          f"the machine's {mp.memory_bytes / GIB:g} GiB; allowed: a share that "
                          "leaves at least one")
            continue
        # pages that fragmentation puts in the other blocks stay for the whole run: compaction
        # migrates movable ones but never frees them (counts as physmem.apply_pressure)
        n_unmov = int(round(mp.fragmentation * rest))
        n_mov = int(round(mp.movable_fragmentation * (rest - n_unmov)))
        held = (n_unmov + n_mov * mp.movable_pages) * PAGE_SIZE
        usable -= held
        need = sum(resident[p["workload"]] for p in run["processes"])
        if need > usable:
            names = ", ".join(sorted({p["workload"] for p in run["processes"]}))
            errors.append(f"{where}: machine.memory_gib {run['machine']['memory_gib']:g} x "
                          f"(1 - tenant_fraction {tenant:g}) less {held / MIB:.0f} MiB of "
                          f"fragmentation pages = {usable / MIB:.0f} MiB is less than the "
                          f"{need / MIB:.0f} MiB that {names} hold resident; allowed: memory "
                          "that holds it, so that no run is cut short by running out of memory")
    return errors




def load_yaml(path) -> dict:
    """A YAML config file; a syntax error is an InputError naming the file,
    line and column (snakemake's own message names neither)."""
    import yaml
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError(f"{where}: YAML syntax error: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise InputError(f"{path}: YAML error: {e}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(f"{path}: a config file must be a mapping of keys, not "
                         f"{type(doc).__name__}")
    return doc


@cli
def main(argv=None) -> int:
    """``python -m sim.config [FILE ...]``: check config/config.yaml with the
    given overlays merged in order (as ``snakemake --configfile FILE ...``
    does), as the workflow will, and print the runs it expands to."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m sim.config", description=main.__doc__)
    ap.add_argument("overlays", nargs="*", help="config files merged over the default profile")
    a = ap.parse_args(argv)
    cfg = load_yaml(options.CONFIG)
    for path in a.overlays:
        cfg = options.merge(cfg, load_yaml(path))
    check_config(cfg)
    runs = [r for r in expand_runs(cfg).values() if r["experiment"] in needed_experiments(cfg)]
    n_sims = sum(len(r["policies"]) for r in runs)
    print(f"config ok: profile {cfg.get('profile')!r}, {len(needed_experiments(cfg))} "
          f"experiment(s), {len(runs)} run(s), {n_sims} simulation(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
