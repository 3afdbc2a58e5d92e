# Helpers of the validation experiment's rules (workflows/validation.smk).
NATIVE_POLICIES = {"linux-4k": "host-4k", "linux-thp": "host-thp"}
VALIDATION = "validation"
VALIDATION_RUNS = {
    rid: run for rid, run in RUNS.items() if run["experiment"] == VALIDATION
}


def native_run(wildcards):
    return RUNS[f"{VALIDATION}/{wildcards.variant}"]


def native_options():
    """The experiment's `native` block (repetitions, memory share, cap)."""
    return config["experiments"].get(VALIDATION, {}).get("native", {})


def validation_summaries(wildcards=None):
    """Every simulated and native summary the validation table reads."""
    return [
        f"results/runs/{rid}/{pol}/summary.csv"
        for rid, run in sorted(VALIDATION_RUNS.items())
        for sim in run["policies"]
        for pol in (sim, NATIVE_POLICIES[sim])
    ]
