# The validation experiment (README "Against the real kernel"): each of its traces
# replayed on the host kernel (host.replay: host-4k, host-thp) beside the
# simulated linux-4k and linux-thp runs (rule simulate_validation, with the host's machine
# profile merged in by the Snakefile), then a table of measured against
# simulated (report.validation) and its figure.
include: "validation_common.smk"


rule native_replay:
    input:
        trace=lambda wc: f"results/traces/{native_run(wc)['processes'][0]['workload']}.trace",
        # the replay program: a change to it re-measures (it is compiled at first use)
        native=repo_path("host/native.c"),
    output:
        summary="results/runs/validation/{variant}/{native}/summary.csv",
        repeats="results/runs/validation/{variant}/{native}/repeats.csv",
        timeseries="results/runs/validation/{variant}/{native}/timeseries.csv",
        events="results/runs/validation/{variant}/{native}/events.csv",
        threads="results/runs/validation/{variant}/{native}/threads.csv",
        hist="results/runs/validation/{variant}/{native}/fault_hist.csv",
        phases="results/runs/validation/{variant}/{native}/phases.csv",
    log:
        "logs/native/validation/{variant}/{native}.log",
    benchmark:
        "benchmarks/native/validation/{variant}/{native}.tsv"
    wildcard_constraints:
        native="host-4k|host-thp",
        variant="[A-Za-z0-9_]+",
    conda:
        "../environment.yml"
    # every core: the replay is timed, so no other job of this workflow runs beside it
    # (a callable: read when the job runs, so --unlock and other calls without --cores work)
    threads: lambda wildcards: workflow.cores
    resources:
        mem_mb=lambda wc: int(native_options().get("max_gib", 2.0) * 1024) + 500,
        runtime=10,
    params:
        labels=lambda wc: json.dumps(
            {
                **native_run(wc)["labels"],
                "process": native_run(wc)["processes"][0]["name"],
            },
            sort_keys=True,
        ),
        sample=lambda wc: native_run(wc)["sample_interval_s"],
        repeat=native_options().get("repeat", 5),
        share=native_options().get("max_share", 0.25),
        gib=native_options().get("max_gib", 2.0),
        out_dir=subpath(output.summary, parent=True),
    shell:
        "python -m host.replay --trace {input.trace:q} --policy {wildcards.native} "
        "--repeat {params.repeat} --sample-interval-s {params.sample} "
        "--max-share {params.share} --max-gib {params.gib} --labels {params.labels:q} "
        "--out-dir {params.out_dir:q} 2> {log:q}"


if VALIDATION in EXPERIMENTS:

    rule validation_table:
        input:
            validation_summaries(),
        output:
            "results/tables/validation.csv",
        log:
            "logs/tables/validation.log",
        benchmark:
            "benchmarks/tables/validation.tsv"
        conda:
            "../environment.yml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        shell:
            "python -m report.validation --out {output} {input} 2> {log}"

    rule validation_figure:
        input:
            "results/tables/validation.csv",
        output:
            figure_output(
                "results/figures/validation_measured_vs_simulated.svg", VALIDATION
            ),
        log:
            "logs/figures/validation.log",
        benchmark:
            "benchmarks/figures/validation.tsv"
        conda:
            "../environment.yml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            # the caption's {{ snakemake.params.scale }} (report.captions)
            scale=profile_scale(config, VALIDATION),
        shell:
            "python -m report.validation --table {input} --figure {output} 2> {log}"

    ruleorder: validation_table > experiment_table
    ruleorder: validation_figure > figures_validation
