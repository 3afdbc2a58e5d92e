# HawkEye (ASPLOS'19) re-simulated: the entry point.
#
#   snakemake --cores all                          # default profile -> results/report/
#   snakemake --cores all --configfile config/test.yaml   # tiny CI profile
#
# The config is checked against config/schema.yaml (every key, every policy's and
# workload's options, every experiment's overrides) before any job runs.
import os
import sys

from snakemake.utils import min_version, validate

# profiles/, --executor slurm and report() captions as used here need 9.x
min_version("9.0")

# the default profile, found beside this Snakefile (also under --directory);
# jobs read the schema and defaults from the same folder (hpsim.options; needed
# by an installed, not editable, copy of the package), unless the user set it
os.environ.setdefault("HPSIM_CONFIG_DIR", os.path.join(workflow.basedir, "config"))
# numba's compiled kernels and Python's bytecode are cached in snakemake's own
# state folder, not beside the sources: a run writes nothing outside results/,
# logs/, benchmarks/, .snakemake/ and the temporary dir (a config refused at
# parse time leaves no results/ behind)
CACHE = os.path.abspath(os.path.join(".snakemake", "hpsim-cache"))
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(CACHE, "numba"))
# (none under PYTHONDONTWRITEBYTECODE: nothing is written then, and a prefix
# would hide the installed packages' own bytecode, so that every job compiled
# the ~750 modules it imports from source: `python -m sim.batch --help` took
# 1.7 s of CPU instead of 0.55)
if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
    os.environ.setdefault("PYTHONPYCACHEPREFIX", os.path.join(CACHE, "pycache"))
sys.pycache_prefix = os.environ.get("PYTHONPYCACHEPREFIX")


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# the front page of `snakemake --report` (each figure's caption: report/captions/)
report: "report/captions/workflow.rst"


# the validation experiment simulates this host with its measured machine profile
# (config/host.yaml, from python -m host.calibrate; README "Against the real kernel")
from host.profile import apply_host_profile

apply_host_profile(config, os.path.join(workflow.basedir, "config", "host.yaml"))


# the config is checked whole, one line per error, in common.smk (check_config)
include: "workflows/common.smk"


# then validated again by snakemake, which fills in the schema's defaults
validate(config, "config/schema.yaml")


include: "workflows/workloads.smk"
include: "workflows/simulate.smk"
include: "workflows/tables.smk"
include: "workflows/report.smk"
include: "workflows/validation.smk"


rule all:
    default_target: True
    input:
        "results/report/report.html",
        "results/report/report.pdf",
        "results/claims.csv",
