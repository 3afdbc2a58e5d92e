# Stage 3: tidy result tables and figures per experiment.


rule experiment_table:
    input:
        experiment_runs,
    output:
        "results/tables/{experiment}.csv",
    params:
        runs=subpath(input[0], ancestor=2),
    log:
        "logs/tables/{experiment}.log",
    benchmark:
        "benchmarks/tables/{experiment}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python -m report.tables {wildcards.experiment} --runs {params.runs} --out {output} 2> {log}"


for _exp in EXPERIMENTS:

    rule:
        name:
            f"figures_{_exp}"
        input:
            lambda wc, e=_exp: expand("results/runs/{experiment}/{policy}/summary.csv",
                                      experiment=e, policy=config["experiments"][e]["policies"]),
        output:
            [report(f, caption="../report/captions/figure.rst", category="Figures",
                    subcategory=_exp) for f in experiment_figures(_exp)],
        params:
            runs=f"results/runs/{_exp}",
            experiment=_exp,
        log:
            f"logs/figures/{_exp}.log",
        benchmark:
            f"benchmarks/figures/{_exp}.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        shell:
            "python -m report.figures {params.experiment} --runs {params.runs} "
            "--out-dir results/figures 2> {log}"
