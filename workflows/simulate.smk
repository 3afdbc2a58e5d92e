# Stage 2: the machine replays the traces of a run while a policy decides.
import glob


rule compile_kernels:
    """Compile numba's kernels once before the simulations start in parallel.
    The simulations depend on the machine's and the policies' code through it."""
    input:
        # the code a simulation runs: the machine and the policies,
        # and the trace reader, whose decoder is compiled too
        sorted(repo_path(os.path.relpath(f, workflow.basedir))
               for pattern in ("hpsim/units.py", "machine/*.py", "policies/**/*.py",
                        "workloads/trace.py")
               for f in glob.glob(os.path.join(workflow.basedir, pattern), recursive=True)),
    output:
        "results/.kernels.done",
    log:
        "logs/simulate/compile_kernels.log",
    benchmark:
        "benchmarks/simulate/compile_kernels.tsv"
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m sim.warmup {output} 2> {log}"


rule simulate:
    input:
        traces=run_traces,
        kernels="results/.kernels.done",
    output:
        summary="results/runs/{run}/{policy}/summary.csv",
        timeseries="results/runs/{run}/{policy}/timeseries.csv",
        events="results/runs/{run}/{policy}/events.csv",
        threads="results/runs/{run}/{policy}/threads.csv",
        hist="results/runs/{run}/{policy}/fault_hist.csv",
        phases="results/runs/{run}/{policy}/phases.csv",
    params:
        spec=run_spec,
        out_dir=subpath(output.summary, parent=True),
        traces=lambda wc, input: [arg for t in input.traces for arg in ("--trace", t)],
    log:
        "logs/simulate/{run}/{policy}.log",
    benchmark:
        "benchmarks/simulate/{run}/{policy}.tsv"
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "python -m sim.simulate --spec {params.spec:q} {params.traces:q} "
        "--mem-mb {resources.mem_mb} --out-dir {params.out_dir:q} 2> {log:q}"
