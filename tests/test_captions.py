"""Figure captions (report/captions/): one file per figure, plain text in RST, one scale line."""
import html
import re

import pytest
from docutils.core import publish_parts
from jinja2 import UndefinedError

from hpsim import options
from report.captions import (CAPTIONS_DIR, caption_template, experiment_workloads,
                             profile_scale, render_caption)
from report.figures import FIGURES, figure
from sim.config import load_yaml

SNAKEMAKE_ONLY = {"claims", "workflow"}     # the claims table's caption, the front page
ALL_FIGURES = [f for figs in FIGURES.values() for f in figs]


def profile(name: str) -> dict:
    """config/config.yaml with the profile's overlay merged in (as --configfile does)."""
    cfg = load_yaml(options.CONFIG)
    return cfg if name == "default" else options.merge(
        cfg, load_yaml(options.CONFIG.parent / f"{name}.yaml"))


def test_every_figure_has_its_own_caption_file_and_every_file_a_figure():
    names = [f.name for f in ALL_FIGURES]
    files = {p.stem for p in CAPTIONS_DIR.glob("*.rst")}
    assert sorted(files - SNAKEMAKE_ONLY) == sorted(names)
    captions = [f.caption for f in ALL_FIGURES]
    assert len(set(captions)) == len(captions)            # no shared, generic caption
    for f in ALL_FIGURES:
        assert f.caption == caption_template(f.name)      # the figure reads its file


def test_a_figure_without_a_caption_file_is_refused_naming_the_file():
    with pytest.raises(ValueError, match=r"no_such_figure\.rst"):
        figure("table1", "no_such_figure")(lambda runs: None)
    assert "no_such_figure" not in [f.name for f in FIGURES["table1"]]


@pytest.mark.parametrize("name", ["default", "test", "paper"])
def test_each_caption_is_one_plain_rst_paragraph_that_ends_with_the_profile_scale(name):
    """Snakemake's report renders the caption as RST; the PDF and HTML report print the
    same text as is, so docutils must read it as one paragraph of exactly that text."""
    cfg = profile(name)
    for f in ALL_FIGURES:
        text = render_caption(f.caption, cfg, f.experiment)
        body = publish_parts(text, writer="html")["body"]
        assert re.fullmatch(r"<p>[^<>]*</p>\s*", body), (f.name, body)
        assert " ".join(html.unescape(body[3:].strip()[:-4]).split()) == text
        assert text.endswith(profile_scale(cfg, f.experiment))
        assert "{" not in text


def test_profile_scale_names_workloads_memory_and_scales_exactly():
    """Parameters in name order: results/config.json, which the PDF report reads, has its
    keys sorted, the workflow's config the files' order; both give one sentence."""
    cfg = {"machine": {"memory_gib": 96},
           "workloads": {"a": {"kind": "buffer_touch", "params": {"size_gib": 1}},
                         "b": {"kind": "redis", "params": {"ycsb": "A", "n_keys": 512}}},
           "experiments": {
               "one": {"workload": "a"},
               "two": {"sweep": {"workloads": ["a", "b"]}, "machine": {"memory_gib": 0.5},
                       "space_scale": 0.25, "time_scale": 0.5},
               "co": {"processes": [{"workload": "b"}, {"workload": "a"}, {"workload": "b"}]},
               "both": {"uses": ["one", "two"]}}}
    assert profile_scale(cfg, "one") == ("At this profile's scale: workload a (buffer_touch: "
                                         "size_gib=1), on a 96 GiB machine.")
    assert profile_scale(cfg, "two") == (
        "At this profile's scale: workloads a (buffer_touch: size_gib=1); b (redis: "
        "n_keys=512, ycsb=A), on a 0.5 GiB machine; footprint and phases at 0.25 and 0.5 "
        "of the paper's (space_scale, time_scale).")
    assert experiment_workloads(cfg, "co") == ["b", "a"]
    assert profile_scale(cfg, "both") == ("At this profile's scale: the runs of one, two "
                                          "(their captions give the scale).")
    assert profile_scale(cfg, "absent") == ""


def test_render_caption_fills_the_scale_and_refuses_anything_else():
    cfg = {"machine": {"memory_gib": 4}, "profile": "p",
           "workloads": {"a": {"kind": "hotspot", "params": {}}},
           "experiments": {"e": {"workload": "a"}}}
    assert render_caption("Huge pages.\n{{ snakemake.params.scale }}\n", cfg, "e") == (
        "Huge pages. At this profile's scale: workload a (hotspot: (no options)), on a "
        "4 GiB machine.")
    assert render_caption("{{ snakemake.config.profile }}", cfg, "e") == "p"
    with pytest.raises(UndefinedError):
        render_caption("{{ snakemake.wildcards.x }}", cfg, "e")
