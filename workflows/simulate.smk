# Stage 2: the machine replays a trace while a policy decides.


rule simulate:
    input:
        trace=experiment_trace,
    output:
        summary="results/runs/{experiment}/{policy}/summary.csv",
        timeseries="results/runs/{experiment}/{policy}/timeseries.csv",
        events="results/runs/{experiment}/{policy}/events.csv",
        threads="results/runs/{experiment}/{policy}/threads.csv",
        hist="results/runs/{experiment}/{policy}/fault_hist.csv",
    params:
        spec=run_spec,
        out_dir=subpath(output.summary, parent=True),
    log:
        "logs/simulate/{experiment}/{policy}.log",
    benchmark:
        "benchmarks/simulate/{experiment}/{policy}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "python -m machine.simulate --spec {params.spec:q} --trace {input.trace} "
        "--out-dir {params.out_dir} 2> {log}"
