# Stage 3: tidy result tables and figures per experiment.


rule experiment_table:
    input:
        experiment_runs,
    output:
        "results/tables/{experiment}.csv",
    log:
        "logs/tables/{experiment}.log",
    benchmark:
        "benchmarks/tables/{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(e for e in EXPERIMENTS if e != "mmu_overhead"),
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python -m report.tables {wildcards.experiment} --out {output} {input} 2> {log}"


rule mmu_overhead_table:
    input:
        runs=[
            f
            for f in (runs_of("mmu_overhead") if "mmu_overhead" in EXPERIMENTS else [])
            if os.path.basename(os.path.dirname(f)) == "linux-4k"
        ],
        # the only policy read
        published=repo_path("config/published.yaml"),
    output:
        "results/tables/mmu_overhead.csv",
    log:
        "logs/tables/mmu_overhead.log",
    benchmark:
        "benchmarks/tables/mmu_overhead.tsv"
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m report.mmu_overhead --published {input.published:q} --out {output} "
        "{input.runs} 2> {log}"


for _exp in EXPERIMENTS:
    if not experiment_figures(_exp):
        continue

    rule:
        name:
            f"figures_{_exp}"
        input:
            runs=runs_of(_exp),
            claims=repo_path("config/claims.yaml"),
        output:
            [figure_output(f, _exp) for f in experiment_figures(_exp)],
        log:
            f"logs/figures/{_exp}.log",
        benchmark:
            f"benchmarks/figures/{_exp}.tsv"
        conda:
            "../environment.yml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            experiment=_exp,
            # the captions' {{ snakemake.params.scale }} (report.captions)
            scale=profile_scale(config, _exp),
        shell:
            "python -m report.figures {params.experiment} --out-dir results/figures "
            "--claims-spec {input.claims:q} {input.runs:q} 2> {log:q}"


rule scorecard:
    input:
        expand("results/tables/{experiment}.csv", experiment=EXPERIMENTS),
    output:
        "results/tables/scorecard.csv",
    log:
        "logs/tables/scorecard.log",
    benchmark:
        "benchmarks/tables/scorecard.tsv"
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m report.scorecard --out {output} {input} 2> {log}"
