# Stage 2: the machine replays the traces of a run while a policy decides.
import glob
import re

from sim.simulate import COMPILE_S, TABLES

KERNELS = kernels_flag()


rule compile_kernels:
    """Compile numba's kernels once before the simulations start in parallel.
    The simulations depend on the machine's and the policies' code through it.
    First of all jobs (priority), so that it runs beside the traces' generation,
    not after it."""
    input:
        # the code a simulation runs: the machine and the policies,
        # and the trace reader, whose decoder is compiled too
        sorted(
            repo_path(os.path.relpath(f, workflow.basedir))
            for pattern in (
                "hpsim/units.py",
                "machine/*.py",
                "policies/**/*.py",
                "workloads/trace.py",
                "workloads/planes.py",
            )
            for f in glob.glob(os.path.join(workflow.basedir, pattern), recursive=True)
        ),
    output:
        KERNELS,
    log:
        "logs/simulate/compile_kernels.log",
    benchmark:
        "benchmarks/simulate/compile_kernels.tsv"
    priority: 10
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        (
            f"compiling simulation kernels, about {COMPILE_S} s, once per numba cache "
            f"(numba cache: {os.path.dirname(KERNELS)})"
        )
    shell:
        "python -m sim.warmup {output} 2> {log}"


# One job per run: all its policies in one process (sim.batch), which pays the
# start-up, the kernels' loading and the traces' decoding once per run instead
# of once per policy.  A rule's outputs must be known before its wildcards
# are, and the policies differ between experiments, so each experiment with
# runs has its own rule, simulate_<experiment>, for its runs.

for _exp in sorted({r["experiment"] for r in RUNS.values()}):
    _runs = sorted(rid for rid, r in RUNS.items() if r["experiment"] == _exp)
    _policies = RUNS[_runs[0]]["policies"]  # an experiment's runs share its policies

    rule:
        name:
            f"simulate_{_exp}"
        input:
            traces=run_traces,
            kernels=KERNELS,
        output:
            [
                f"results/runs/{{run}}/{pol}/{table}"
                for pol in _policies
                for table in TABLES
            ],
        log:
            "logs/simulate/{run}.log",
        benchmark:
            "benchmarks/simulate/{run}.tsv"
        wildcard_constraints:
            run="|".join(re.escape(rid) for rid in _runs),
        priority: config["experiments"][_exp].get("priority", 0)
        conda:
            "../environment.yml"
        threads: 1
        resources:
            # the policies run one after the other: a run needs the largest one's
            # memory (and the decoded traces, kept only if they fit: sim.batch),
            # or side by side over one trace too big to keep: all their machines
            # and a window of decoded chunks (sim.lockstep); see sim/resources.py
            mem_mb=sim_mem_mb,
            runtime=sim_runtime,
        params:
            spec=run_spec,
            traces=lambda wc, input: [
                arg for t in input.traces for arg in ("--trace", t)
            ],
        shell:
            "python -m sim.batch --spec {params.spec:q} {params.traces:q} "
            "--mem-mb {resources.mem_mb} --out-dir results/runs/{wildcards.run:q} 2> {log:q}"
