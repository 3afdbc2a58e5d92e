# Stage 1: workloads write traces.


rule workload_trace:
    input:
        # a workload read from a file (kind lackey: params.path) reruns when the file changes
        workload_inputs,
    output:
        "results/traces/{workload}.trace",
    log:
        "logs/workloads/{workload}.log",
    benchmark:
        "benchmarks/workloads/{workload}.tsv"
    # before the simulations and native replays that are ready (but after
    # compile_kernels): a trace heads each chain of jobs, and the paper profile's
    # longest chain starts with its XSBench trace
    priority: 1
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=workload_mem_mb,  # the generator's estimate, x1.2 (sim/resources.py)
        runtime=workload_runtime,
    params:
        spec=workload_spec,
    shell:
        "python -m workloads.generate --spec {params.spec:q} --out {output} 2> {log}"
