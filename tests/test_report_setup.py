"""report.setup: every value of the config with its unit and source, from the schema."""
import copy
from pathlib import Path

import pytest
import yaml

from hpsim.io import InputError
from hpsim.options import merge
from report.setup import COLUMNS, SECTIONS, load_schema, setup_rows

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = load_schema(ROOT / "config" / "schema.yaml")
DEFAULT = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def leaves(d):
    n = 0
    for v in d.values():
        n += leaves(v) if isinstance(v, dict) and v else 1
    return n


def profile(name):
    cfg = yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())
    return {"alone": cfg, "merged": merge(DEFAULT, cfg)}


@pytest.mark.parametrize("cfg", [
    DEFAULT, *profile("test").values(), *profile("paper").values()],
    ids=["config", "test", "test-merged", "paper", "paper-merged"])
def test_every_leaf_of_every_profile_has_a_source(cfg):
    for section in SECTIONS:
        df = setup_rows(cfg, SCHEMA, section)
        assert list(df.columns) == COLUMNS
        assert len(df) == leaves(cfg.get(section) or {})
        assert df["source"].map(lambda s: isinstance(s, str) and len(s) > 3).all(), \
            df[df["source"].isna()]


def test_rows_of_the_default_profile():
    counts = {s: len(setup_rows(DEFAULT, SCHEMA, s)) for s in SECTIONS}
    # machine: 3 scalars + 3 TLBs x 2 + 14 costs; pressure: unmovable and movable
    # fragmentation, pages per movable block, tenants; policies: linux-4k's empty block is one
    # row, linux-6.12's 17 (3 + khugepaged 7 + shrinker 7), quicksilver's 15 (variant, 4
    # variants x 2, 6 options); workloads: 26 + the validation experiment's 21 (val_*,
    # val_touch_random's, val_gather's and val_redis's llc_misses_per_access included) +
    # fig_fairness's redis_serving's 7 (kind and six params)
    assert counts == {"machine": 23, "pressure": 4, "policies": 132, "workloads": 54}
    df = setup_rows(DEFAULT, SCHEMA, "policies").set_index("key")
    row = df.loc["linux-thp.khugepaged.scan_sleep_millisecs"]
    assert (row.value, row.unit) == (10000, "ms")
    assert row.source == "Linux 4.3 default (mm/huge_memory.c khugepaged_scan_sleep_millisecs)"
    assert df.loc["linux-4k", "value"] == {}
    assert df.loc["ingens.process_weights", "value"] is None
    # hawkeye-g has the same options and sources as hawkeye-pmu, without the PMU's
    g = df[df.index.str.startswith("hawkeye-g.")]
    pmu = df[df.index.str.startswith("hawkeye-pmu.") & ~df.index.str.startswith("hawkeye-pmu.pmu.")]
    assert list(g.source) == list(pmu.source) and len(g) == 31
    m = setup_rows(DEFAULT, SCHEMA, "machine").set_index("key")
    assert m.loc["tlb.l1_2m.entries", "unit"] == "entries"
    assert m.loc["tlb.l1_2m.entries", "source"].startswith("Haswell L1 DTLB for 2 MiB pages: 32")
    assert m.loc["tlb.l2.ways", "source"] == "Haswell STLB: 8-way (hawkeye-facts §2/§5)"
    weights = merge(DEFAULT, {"policies": {"ingens": {"process_weights": {"redis": 2}}}})
    df = setup_rows(weights, SCHEMA, "policies").set_index("key")
    assert df.loc["ingens.process_weights.redis", "source"] == \
        "the profile's choice: this process's weight"
    w = setup_rows(DEFAULT, SCHEMA, "workloads").set_index("key")
    assert w.loc["redis.params.n_keys", "value"] == 65536
    assert w.loc["redis.params.n_keys", "source"].startswith("paper Fig. 1: 11M keys")


def test_a_value_without_a_source_is_an_error():
    schema = copy.deepcopy(SCHEMA)
    del schema["$defs"]["khugepaged"]["properties"]["max_ptes_none"]["x-source"]
    with pytest.raises(ValueError) as e:
        setup_rows(DEFAULT, schema, "policies")
    assert str(e.value) == ("no x-source in the schema for: "
                            "policies.linux-thp.khugepaged.max_ptes_none, "
                            "policies.ingens.khugepaged.max_ptes_none")
    with pytest.raises(ValueError, match="section must be one of"):
        setup_rows(DEFAULT, SCHEMA, "experiments")


def test_load_schema_names_a_bad_file(tmp_path):
    with pytest.raises(InputError, match="config schema not found"):
        load_schema(tmp_path / "none.yaml")
    (tmp_path / "s.yaml").write_text("- a list\n")
    with pytest.raises(InputError, match=r"s\.yaml: expected a JSON schema mapping"):
        load_schema(tmp_path / "s.yaml")


def test_the_experiments_table_names_every_experiments_workloads():
    """One workload, a sweep's, the processes' or the tables used: never 'None'."""
    from report.render.sections.setup import experiment_workloads
    cfg = {"workloads": {"w": {"kind": "redis", "params": {"n_keys": 2}},
                         "g": {"kind": "graph500"}},
           "experiments": {"one": {"workload": "w"},
                           "sw": {"sweep": {"workloads": ["w", "g"]}},
                           "pr": {"processes": [{"workload": "g", "name": "a"}]},
                           "tab": {"uses": ["one", "sw"]}}}
    got = {n: experiment_workloads(cfg, e) for n, e in cfg["experiments"].items()}
    assert got == {"one": "w (redis: n_keys=2)", "sw": "sweep of w (redis), g (graph500)",
                   "pr": "processes g (graph500)", "tab": "tables of the runs of one, sw"}
    for name, e in DEFAULT["experiments"].items():
        assert "None" not in experiment_workloads(DEFAULT, e), name
