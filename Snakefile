# HawkEye (ASPLOS'19) re-simulated: the entry point.
#
#   snakemake --cores all                          # default profile -> results/report/
#   snakemake --cores all --configfile config/test.yaml   # tiny CI profile
#
# The config is validated against config/schema.yaml, then every policy's and
# workload's options are checked, before any job runs.
import os

from snakemake.utils import validate


# the default profile, found beside this Snakefile (also under --directory)
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


validate(config, "config/schema.yaml")


include: "workflows/common.smk"
include: "workflows/workloads.smk"
include: "workflows/simulate.smk"
include: "workflows/tables.smk"
include: "workflows/report.smk"


rule all:
    input:
        "results/report/report.html",
        "results/report/report.pdf",
        "results/claims.csv",
    default_target: True
