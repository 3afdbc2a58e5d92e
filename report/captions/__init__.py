"""Figure captions: one file per figure, ``report/captions/<figure name>.rst``.

That file is the one home of a figure's caption: ``snakemake --report`` shows it
(``report(..., caption=...)`` in workflows/tables.smk and validation.smk), and
report.figures reads it (``Figure.caption``) for the paper-style PDF and HTML report.
A caption is plain text that reads the same as reStructuredText (no markup;
tests/test_captions.py checks that docutils renders it as one paragraph of the same
text) and ends with one Jinja2 placeholder, ``{{ snakemake.params.scale }}``: the
profile's scale of the figure's experiment (``profile_scale``).  Snakemake fills it
from the figure job's ``params.scale`` (Snakemake's report renders captions as Jinja2
templates with the job's ``snakemake`` object); report.render with ``render_caption``.
``claims.rst`` (the claims table) and ``workflow.rst`` (the report's front page) are
Snakemake's only.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

CAPTIONS_DIR = Path(__file__).resolve().parent


def caption_path(name: str) -> Path:
    """The caption file of figure ``name`` (``<CAPTIONS_DIR>/<name>.rst``; may not exist)."""
    return CAPTIONS_DIR / f"{name}.rst"


def caption_template(name: str) -> str:
    """The caption template of figure ``name``: the text of ``report/captions/<name>.rst``.
    Raises ValueError naming the missing file when the figure has none."""
    path = caption_path(name)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"figure {name}: no caption file {path}") from None


def experiment_workloads(config: dict, experiment: str) -> list[str]:
    """The workloads an experiment runs, in config order, each once: its ``workload``, its
    ``processes``' workloads and its ``sweep.workloads`` (as sim.config.check_config reads
    them); ``[]`` for an experiment built from others' runs (``uses``) or not configured."""
    exp = (config.get("experiments") or {}).get(experiment) or {}
    names = [exp["workload"]] if "workload" in exp else []
    names += [p["workload"] for p in exp.get("processes") or []]
    names += (exp.get("sweep") or {}).get("workloads") or []
    return list(dict.fromkeys(names))


def profile_scale(config: dict, experiment: str) -> str:
    """One sentence on the scale at which the profile ``config`` (the workflow's merged
    config, as in results/config.json) runs ``experiment``: its workloads with their
    parameters (in name order), the machine's memory (GiB) and, when not 1, its
    ``space_scale`` and ``time_scale`` (README "Scaling").  ``""`` if the experiment is
    not configured."""
    from report.render.fmt import fmt_value   # on use: the Snakefile imports this module
    exp = (config.get("experiments") or {}).get(experiment)
    if not exp:
        return ""
    if exp.get("uses"):
        return (f"At this profile's scale: the runs of {fmt_value(exp['uses'])} "
                f"(their captions give the scale).")

    def described(name):
        wl = (config.get("workloads") or {}).get(name) or {}
        # parameters in name order: the same sentence from the workflow's config and from
        # results/config.json (written with sorted keys)
        params = dict(sorted((wl.get("params") or {}).items()))
        return f"{name} ({wl.get('kind', '?')}: {fmt_value(params)})"

    names = experiment_workloads(config, experiment)
    memory = ((exp.get("machine") or {}).get("memory_gib")
              or (config.get("machine") or {}).get("memory_gib"))
    text = (f"At this profile's scale: workload{'s' if len(names) > 1 else ''} "
            f"{'; '.join(described(n) for n in names)}, on a {fmt_value(memory)} GiB machine")
    space, time = exp.get("space_scale", 1.0), exp.get("time_scale", 1.0)
    if space != 1.0 or time != 1.0:
        text += (f"; footprint and phases at {fmt_value(space)} and {fmt_value(time)} of "
                 f"the paper's (space_scale, time_scale)")
    return text + "."


def render_caption(template: str, config: dict, experiment: str) -> str:
    """A caption template filled as Snakemake's report fills it (Jinja2, ``snakemake.config``
    = ``config``, ``snakemake.params.scale`` = ``profile_scale(config, experiment)``), on
    one line.  Raises jinja2.UndefinedError if the template reads anything else."""
    import jinja2
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    snakemake = SimpleNamespace(config=config, params=SimpleNamespace(
        scale=profile_scale(config, experiment)))
    return " ".join(env.from_string(template).render(snakemake=snakemake).split())
