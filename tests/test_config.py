"""The config and its schema: values only in config/config.yaml, every type,
range, unit and source in config/schema.yaml, validation from the schema
(hpsim.options) with one-line errors naming the dotted key."""
import copy
import io
import re
from pathlib import Path

import pytest
import yaml
import yte

import policies
import workloads
from hpsim import options
from policies.base import REGISTRY, check_params, create

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "config.yaml"
SCHEMA = options.load_schema()


def full_errors(cfg):
    """What check_config's schema step reports for a whole config."""
    return options.schema_errors(SCHEMA, SCHEMA, cfg, "")


# --- one home for every value --------------------------------------------------------

def test_hawkeye_g_merges_the_hawkeye_pmu_block_by_a_yaml_anchor():
    text = CONFIG.read_text()
    assert "<<: &hawkeye" in text and "<<: *hawkeye" in text
    for cfg in (yaml.safe_load(text), yte.process_yaml(io.StringIO(text), require_use_yte=True)):
        pmu, g = cfg["policies"]["hawkeye-pmu"], cfg["policies"]["hawkeye-g"]
        assert list(pmu) == ["fault_huge", "defrag", "use_zero_page", "prezero", "bloat_recovery",
                             "access_map", "promotion", "pmu"]
        assert g == {k: v for k, v in pmu.items() if k != "pmu"}


def test_defaults_are_unshared_copies():
    """The anchor makes one mapping reachable from two policies; defaults()
    and default_config() hand out independent copies."""
    g = options.defaults("hawkeye-g")
    g["prezero"]["sleep_ms"] = 5
    assert options.defaults("hawkeye-pmu")["prezero"]["sleep_ms"] == 1000
    cfg = options.default_config()
    cfg["policies"]["hawkeye-pmu"]["promotion"]["pages_to_scan"] = 512
    assert cfg["policies"]["hawkeye-g"]["promotion"]["pages_to_scan"] == 4096


def test_policy_classes_hold_no_defaults_and_every_block_validates():
    cfg = options.default_config()
    assert sorted(REGISTRY) == sorted(cfg["policies"])
    for name, cls in REGISTRY.items():
        assert not hasattr(cls, "defaults") and not hasattr(cls, "duration_keys"), name
        check_params(name, cfg["policies"][name], complete=True)
    assert full_errors(cfg) == []


def test_duration_keys_come_from_the_schema():
    khugepaged = {"khugepaged.scan_sleep_millisecs": "work",
                  "khugepaged.alloc_sleep_millisecs": "work"}
    hawkeye = {"prezero.sleep_ms": "work", "bloat_recovery.period_s": "sample",
               "access_map.period_s": "sample", "access_map.window_s": "sample",
               "access_map.code_sleep_s": "sample", "promotion.scan_sleep_millisecs": "work"}
    assert options.duration_keys("linux-4k") == {}
    assert options.duration_keys("freebsd") == {}
    assert options.duration_keys("linux-thp") == khugepaged
    assert options.duration_keys("ingens") == {"compactd.compact_sleep_millisecs": "work",
                                               **khugepaged,
                                               "scand.scan_sleep_millisecs": "sample"}
    assert options.duration_keys("hawkeye-g") == hawkeye
    assert options.duration_keys("hawkeye-pmu") == {**hawkeye, "pmu.interval_s": "sample",
                                                    "pmu.window_s": "sample"}


def test_scale_durations_multiplies_exactly_the_periods():
    p = policies.scale_durations("hawkeye-pmu", options.defaults("hawkeye-pmu"), 0.01)
    assert p["promotion"]["scan_sleep_millisecs"] == 100.0
    assert p["bloat_recovery"]["period_s"] == 1.2
    assert p["access_map"] == {**options.defaults("hawkeye-pmu")["access_map"],
                               "period_s": 0.3, "window_s": 0.01, "code_sleep_s": 0.05}
    assert (p["pmu"]["interval_s"], p["pmu"]["window_s"]) == (0.1, 0.01)
    assert p["prezero"]["sleep_ms"] == 10.0
    # a period not given is scaled from the default
    assert policies.scale_durations("linux-thp", {"khugepaged": {}}, 0.1) == {
        "khugepaged": {"scan_sleep_millisecs": 1000.0, "alloc_sleep_millisecs": 6000.0}}
    assert policies.scale_durations("ingens", {"fairness": True}, 1) == {"fairness": True}


def test_space_scale_divides_only_the_work_periods():
    """README "Scaling": a miniature with a footprint 1/200 and phases 1/100 of
    the paper's: sampling periods x 0.01, daemon sleeps x 0.01 / 0.005 = x 2."""
    p = policies.scale_durations("hawkeye-pmu", options.defaults("hawkeye-pmu"), 0.01, 0.005)
    assert p["promotion"]["scan_sleep_millisecs"] == 20000.0
    assert p["prezero"]["sleep_ms"] == 2000.0
    assert p["bloat_recovery"]["period_s"] == 1.2
    assert p["access_map"]["window_s"] == 0.01
    q = policies.scale_durations("ingens", options.defaults("ingens"), 0.1, 0.1)
    assert q["khugepaged"]["scan_sleep_millisecs"] == 10000.0     # x 0.1 / 0.1
    assert q["scand"]["scan_sleep_millisecs"] == 400.0            # x 0.1
    assert policies.scale_durations("linux-thp", {"fault_huge": True}, 0.5, 0.5) == {
        "fault_huge": True, "khugepaged": {"scan_sleep_millisecs": 10000.0,
                                           "alloc_sleep_millisecs": 60000.0}}


# --- one-line errors naming the dotted key, wherever the option is given ----------------

def mutated(path, value):
    """The default config with the value at dotted ``path`` set (created)."""
    cfg = options.default_config()
    *parents, leaf = path.split(".")
    d = cfg
    for p in parents:
        d = d.setdefault(p, {})
    d[leaf] = value
    return cfg


@pytest.mark.parametrize("path,value,line", [
    # a policy block
    ("policies.linux-thp.khugepaged.scan_sleep", 5,
     "policies.linux-thp.khugepaged.scan_sleep: unknown option; allowed: enabled, "
     "scan_sleep_millisecs, alloc_sleep_millisecs, pages_to_scan, max_ptes_none, "
     "scan_cost_ns_per_pte"),
    ("policies.linux-thp.fault_huge", "yes",
     'policies.linux-thp.fault_huge: "yes" is not allowed (must be true or false)'),
    ("policies.linux-thp.khugepaged.max_ptes_none", 600,
     "policies.linux-thp.khugepaged.max_ptes_none: 600 is not allowed (must be <= 511)"),
    ("policies.hawkeye-pmu.pmu.smoothing", 2,
     'policies.hawkeye-pmu.pmu.smoothing: 2 is not allowed (must be one of "paper", "code")'),
    ("policies.hawkeye-g.pmu", {"interval_s": 10},
     "policies.hawkeye-g.pmu: unknown option; allowed: fault_huge, defrag, use_zero_page, prezero, "
     "bloat_recovery, access_map, promotion"),
    # a workload's params (checked by the definition of its kind)
    ("workloads.redis.params.n_key", 5,
     "workloads.redis.params.n_key: unknown parameter"),
    ("workloads.graph500.params.scale", 40,
     "workloads.graph500.params.scale: 40 is not allowed (must be <= 36)"),
    ("workloads.hotspot.params.accesses", "many",
     'workloads.hotspot.params.accesses: "many" is not allowed (must be an integer)'),
    # an experiment's overrides: policy_params, machine, pressure
    ("experiments.fig_promotion.policy_params.hawkeye-g.promotion.scan_sleep_milisecs", 1000,
     "experiments.fig_promotion.policy_params.hawkeye-g.promotion.scan_sleep_milisecs: "
     "unknown option; allowed: scan_sleep_millisecs, pages_to_scan, max_ptes_none, "
     "scan_cost_ns_per_pte"),
    ("experiments.fig_fairness.policy_params.ingens.util_threshold", 101,
     "experiments.fig_fairness.policy_params.ingens.util_threshold: 101 is not allowed "
     "(must be <= 100)"),
    ("experiments.table1.policy_params.hawkeye-pmu.prezero.start_zeroed_fraction", "all",
     "experiments.table1.policy_params.hawkeye-pmu.prezero.start_zeroed_fraction: \"all\" "
     "is not allowed (must be a number)"),
    ("experiments.fig_bloat.machine.memory_gb", 1,
     "experiments.fig_bloat.machine.memory_gb: unknown option"),
    ("experiments.fig_bloat.machine.tlb.l2.ways", 0,
     "experiments.fig_bloat.machine.tlb.l2.ways: 0 is not allowed (must be >= 1)"),
    ("experiments.fig_fairness.pressure.fragmentation", 1.5,
     "experiments.fig_fairness.pressure.fragmentation: 1.5 is not allowed (must be <= 1)"),
])
def test_a_bad_option_gives_one_line_naming_the_dotted_key(path, value, line):
    errors = full_errors(mutated(path, value))
    assert len(errors) == 1 and errors[0].startswith(line), errors
    assert "\n" not in errors[0]


def test_a_missing_option_in_a_policy_block_is_named():
    params = options.defaults("ingens")
    del params["scand"]["cost_ns_per_pte"]
    with pytest.raises(ValueError) as e:
        check_params("ingens", params, complete=True)
    assert str(e.value) == ("policies.ingens.scand.cost_ns_per_pte: missing option "
                            "(the block must be complete)")
    with pytest.raises(ValueError, match=r"^policies\.ingens\.scand\.cost_ns_per_pte: missing"):
        create("ingens", None, params)


@pytest.mark.parametrize("name,over,line", [
    ("hawkeye-pmu", {"bloat_recovery": {"trigger_free_pct": 40}},
     "x.bloat_recovery.target_free_pct must be >= trigger_free_pct"),
    ("hawkeye-g", {"access_map": {"window_s": 30}},
     "x.access_map.period_s must be > window_s"),
    ("hawkeye-pmu", {"pmu": {"window_s": 10}}, "x.pmu.interval_s must be > window_s"),
    ("ingens", {"adaptive_fmfi": True, "scand": {"enabled": False}},
     "x.adaptive_fmfi needs scand.enabled (FMFI is re-evaluated at each access-scan wake-up)"),
])
def test_checks_across_options_stay_in_the_policy_and_name_the_path(name, over, line):
    with pytest.raises(ValueError) as e:
        check_params(name, over, path="x")
    assert str(e.value) == line
    with pytest.raises(ValueError) as e:
        check_params(name, over)
    assert str(e.value) == line.replace("x.", f"policies.{name}.", 1)


# --- every range check the classes made is in the schema -------------------------------
# (option, a value just outside what is allowed, the nearest allowed value)

POLICY_LIMITS = {
    "linux-thp": [("fault_huge", "yes", False), ("khugepaged.max_ptes_none", 512, 511),
                  ("khugepaged.max_ptes_none", -1, 0),
                  ("khugepaged.scan_sleep_millisecs", 0, 1),
                  ("khugepaged.alloc_sleep_millisecs", 0, 1),
                  ("khugepaged.pages_to_scan", 0, 1), ("khugepaged.enabled", 1, False),
                  ("khugepaged.scan_cost_ns_per_pte", -1, 0)],
    "freebsd": [("pg_ps_enabled", "yes", False)],
    "ingens": [("util_threshold", 101, 100), ("util_threshold", -1, 0),
               ("util_threshold", 90.5, 90), ("util_threshold", True, 1),
               ("fairness", 1, True), ("fairness_skip_exhausted", 0, True),
               ("adaptive_fmfi", "no", False), ("fmfi_threshold", 1.01, 1.0),
               ("fmfi_threshold", -0.01, 0.0), ("default_weight", -1, 0),
               ("default_weight", 0.5, 2), ("process_weights", [1], {"redis": 0}),
               ("process_weights", {"redis": -1}, None),
               ("khugepaged.scan_sleep_millisecs", 0, 1),
               ("khugepaged.alloc_sleep_millisecs", -5, 5), ("khugepaged.pages_to_scan", 0, 8),
               ("khugepaged.max_ptes_none", 512, 511), ("khugepaged.scan_cost_ns_per_pte", -1, 0),
               ("scand.enabled", "on", True), ("scand.scan_sleep_millisecs", 0, 1),
               ("scand.cost_ns_per_pte", -0.5, 0)],
    "hawkeye-pmu": [("fault_huge", 0, False), ("prezero.blocks_per_wake", 0, 1),
                    ("prezero.blocks_per_wake", 2.5, 2), ("prezero.sleep_ms", 0, 1),
                    ("prezero.start_zeroed_fraction", 1.1, 1), ("prezero.enabled", 1, True),
                    ("prezero.start_zeroed_fraction", -0.1, 0),
                    ("bloat_recovery.period_s", 0, 1), ("bloat_recovery.trigger_free_pct", -1, 0),
                    ("bloat_recovery.target_free_pct", 101, 100),
                    ("bloat_recovery.min_zero_pages", 0, 1),
                    ("bloat_recovery.min_zero_pages", 513, 512),
                    ("bloat_recovery.scan_gb_per_s", 0, 0.1),
                    ("bloat_recovery.nonzero_scan_bytes", 4097, 4096),
                    ("bloat_recovery.nonzero_scan_bytes", -1, 0),
                    ("bloat_recovery.split_us", -1, 0), ("bloat_recovery.on_shortage", 1, True),
                    ("access_map.sampling", "both", "code"), ("access_map.buckets", "log", "code"),
                    ("access_map.window_s", 0, 0.5), ("access_map.code_sleep_s", 0, 1),
                    ("access_map.ema_alpha", 0, 1), ("access_map.ema_alpha", 1.5, 0.01),
                    ("access_map.scan_cost_ns_per_pte", -1, 0),
                    ("promotion.scan_sleep_millisecs", 0, 1), ("promotion.pages_to_scan", 511, 512),
                    ("promotion.max_ptes_none", 512, 0), ("promotion.scan_cost_ns_per_pte", -1, 0),
                    ("pmu.window_s", 0, 0.5), ("pmu.smoothing", "ema", "code"),
                    ("pmu.stop_below_pct", 101, 100), ("pmu.stop_below_pct", -1, 0),
                    ("pmu.min_pending", -1, 0), ("pmu.min_pending", 1.5, 1),
                    ("pmu.min_rss_mib", -1, 0)],
}

WORKLOAD_LIMITS = {
    "buffer_touch": [("size_gib", 0, 0.001), ("order", "zigzag", "random"),
                     ("base_addr", 4096, 2 << 20), ("stride_pages", 0, 1)],
    "graph500": [("scale", 0, 1), ("scale", 37, 36), ("edgefactor", 0, 1), ("n_roots", 0, 1),
                 ("sample", 0, 1), ("base_addr", 1 << 20, 0), ("chunk_edges", 0, 1)],
    "hotspot": [("size_gib", 0, 0.01), ("hot_fraction", 1.1, 1), ("hot_access_fraction", -0.1, 0),
                ("write_fraction", 2, 0.5), ("hot_position", "middle", "low"),
                ("accesses", -1, 0)],
    "redis": [("n_keys", 0, 1), ("key_bytes", 0, 1), ("key_bytes", 256, 255),
              ("value_bytes", 0, 1), ("big_value_bytes", 0, 1), ("delete_fraction", 1.5, 1),
              ("pause_s", -1, 0), ("ycsb", "Z", "C"), ("read_fraction", 1.5, None),
              ("distribution", "pareto", "uniform"), ("chunk_mib", 3, 8),
              ("huge_map", "block", "page"), ("serve_requests", -1, 0), ("lg_dirty_mult", -2, -1),
              ("lg_quantum", 5, 3)],
    "lackey": [("cycles_per_access", -1, 0)],
}


def _set(params, key, value):
    *parents, leaf = key.split(".")
    d = params
    for p in parents:
        d = d[p]
    d[leaf] = value
    return params


@pytest.mark.parametrize("name,key,bad,good", [
    (n, *case) for n, cases in POLICY_LIMITS.items() for case in cases])
def test_every_former_policy_range_check_is_in_the_schema(name, key, bad, good):
    base = options.defaults(name)
    with pytest.raises(ValueError) as e:
        options.validate(name, _set(copy.deepcopy(base), key, bad))
    # the key itself, or for a mapping of values the entry (process_weights.redis)
    assert re.match(rf"policies\.{name}\.{re.escape(key)}(\.\w+)?: ", str(e.value))
    assert "\n" not in str(e.value)
    options.validate(name, _set(copy.deepcopy(base), key, good))


@pytest.mark.parametrize("kind,key,bad,good", [
    (k, *case) for k, cases in WORKLOAD_LIMITS.items() for case in cases])
def test_every_former_workload_range_check_is_in_the_schema(kind, key, bad, good):
    cls = workloads.get(kind)
    with pytest.raises(ValueError) as e:
        options.validate_params(kind, {**cls.defaults, key: bad})
    assert str(e.value).startswith(f"{kind}.params.{key}: ") and "\n" not in str(e.value)
    options.validate_params(kind, {**cls.defaults, key: good})


def test_workload_classes_check_their_parameters_against_the_schema():
    with pytest.raises(ValueError) as e:
        workloads.get("graph500")({"scale": 18, "n_root": 4})
    assert str(e.value).startswith("graph500.params.n_root: unknown parameter; allowed: scale, ")
    with pytest.raises(ValueError) as e:
        workloads.get("redis")({"bloat": False})    # across parameters: the class's own check
    assert str(e.value) == ("redis.params.serve_requests: 0 is not allowed "
                            "(must be > 0 when bloat is false)")


def test_missing_keys_and_incomplete_experiments_are_one_line_each():
    cfg = options.default_config()
    del cfg["machine"]["costs"]["free_2m_us"]
    del cfg["experiments"]["table1"]["workload"]
    first, second = full_errors(cfg)
    assert first.startswith('experiments.table1: {"description": "paper Table 1')
    assert first.endswith(" ... is not allowed (needs one of: workload + policies | "
                          "processes + policies | sweep + policies | uses)")
    assert second == "machine.costs.free_2m_us: missing"
