# Stage 4: claims check and the paper-style report.


rule effective_config:
    output:
        "results/config.json",
    log:
        "logs/report/effective_config.log",
    benchmark:
        "benchmarks/report/effective_config.tsv"
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=200,
        runtime=1,
    params:
        config=json.dumps(config, sort_keys=True, indent=1),
    run:
        # in process, not through a command line (its length limit); see report/dump_json.py
        from report.dump_json import write_json

        write_json(json.loads(params.config), output[0])


rule claims:
    input:
        claims=repo_path("config/claims.yaml"),
        tables=expand("results/tables/{experiment}.csv", experiment=EXPERIMENTS),
        scorecard="results/tables/scorecard.csv",
    output:
        report(
            "results/claims.csv",
            caption="../report/captions/claims.rst",
            category="Claims",
            labels={"table": "claims", "profile": config["profile"]},
        ),
    log:
        "logs/report/claims.log",
    benchmark:
        "benchmarks/report/claims.tsv"
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m report.claims --claims {input.claims} --tables results/tables "
        "--out {output} 2> {log}"


rule render_report:
    input:
        tables=expand("results/tables/{experiment}.csv", experiment=EXPERIMENTS),
        scorecard="results/tables/scorecard.csv",
        figures=[f for e in EXPERIMENTS for f in experiment_figures(e)],
        claims="results/claims.csv",
        claims_spec=repo_path("config/claims.yaml"),
        schema=repo_path("config/schema.yaml"),
        config="results/config.json",
        expected=expected_claims,
    output:
        html="results/report/report.html",
        pdf="results/report/report.pdf",
    log:
        "logs/report/render.log",
    benchmark:
        "benchmarks/report/render.tsv"
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        expected=lambda wildcards, input: (
            f"--expected '{input.expected}'" if input.expected else ""
        ),
    shell:
        "python -m report.render --config {input.config} --tables results/tables "
        "--scorecard {input.scorecard} --figures results/figures --claims {input.claims} "
        "--claims-spec {input.claims_spec} --schema {input.schema} --benchmarks benchmarks "
        "{params.expected} --out-html {output.html} --out-pdf {output.pdf} 2> {log}"
