# Stage 1: workloads write traces.


rule workload_trace:
    output:
        "results/traces/{workload}.trace",
    params:
        spec=workload_spec,
    log:
        "logs/workloads/{workload}.log",
    benchmark:
        "benchmarks/workloads/{workload}.tsv"
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "python -m workloads.generate --spec {params.spec:q} --out {output} 2> {log}"
