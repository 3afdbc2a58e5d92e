# Stage 2: the machine replays the traces of a run while a policy decides.


rule simulate:
    input:
        traces=run_traces,
    output:
        summary="results/runs/{run}/{policy}/summary.csv",
        timeseries="results/runs/{run}/{policy}/timeseries.csv",
        events="results/runs/{run}/{policy}/events.csv",
        threads="results/runs/{run}/{policy}/threads.csv",
        hist="results/runs/{run}/{policy}/fault_hist.csv",
    params:
        spec=run_spec,
        out_dir=subpath(output.summary, parent=True),
        traces=lambda wc, input: " ".join(f"--trace {t}" for t in input.traces),
    log:
        "logs/simulate/{run}/{policy}.log",
    benchmark:
        "benchmarks/simulate/{run}/{policy}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "python -m machine.simulate --spec {params.spec:q} {params.traces} "
        "--out-dir {params.out_dir} 2> {log}"
