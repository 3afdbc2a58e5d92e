"""The config check's usable memory counts the pages fragmentation holds
(sim/config.py ``run_errors``): unmovable pages and the movable pages of
another user stay for the whole run (compaction moves movable pages, it never
frees them), so a workload that needs more than the blocks tenants leave less
those pages is refused before any job runs.  Each case is an overlay on the
test profile (table1: a buffer of ``size_gib`` on the given machine).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from hpsim import options
from hpsim.units import GIB, PAGE_SIZE
from machine.constants import G_FREE_FRAMES
from machine.machine import Machine
from machine.params import MachineParams
from sim.config import check_config

ROOT = Path(__file__).resolve().parent.parent
TEST_PROFILE = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())


def config(memory_gib: float, buffer_bytes: int, **pressure) -> dict:
    overlay = {"machine": {"memory_gib": memory_gib}, "pressure": pressure,
               "workloads": {"buffer": {"kind": "buffer_touch",
                                        "params": {"size_gib": buffer_bytes / GIB,
                                                   "order": "sequential"}}}}
    return options.merge(options.merge(options.default_config(), TEST_PROFILE), overlay)


# 0.25 GiB = 128 blocks and a 128 MiB buffer: 128 MiB may be held, not a page more
@pytest.mark.parametrize("pressure", [
    {"movable_fragmentation": 1.0, "movable_pages": 256},               # 128 x 256 pages
    {"fragmentation": 0.5, "movable_fragmentation": 1.0, "movable_pages": 511},  # 64 + 64 x 511
    {"tenant_fraction": 0.5},                                           # 64 whole blocks
])
def test_a_buffer_that_fills_exactly_what_fragmentation_leaves_is_accepted(pressure):
    check_config(config(0.25, 128 << 20, **pressure))


@pytest.mark.parametrize("pressure, held_mib", [
    ({"movable_fragmentation": 1.0, "movable_pages": 257}, 128.5),
    ({"fragmentation": 0.5, "movable_fragmentation": 1.0, "movable_pages": 511}, 128),
])
def test_one_page_more_than_fragmentation_leaves_is_refused_in_one_line(pressure, held_mib):
    bytes_ = (128 << 20) + (PAGE_SIZE if held_mib == 128 else 0)
    with pytest.raises(ValueError) as e:
        check_config(config(0.25, bytes_, **pressure))
    lines = str(e.value).splitlines()
    assert len(lines) == 2 and lines[1].strip().startswith("experiments.table1: ")
    assert f"less {held_mib:.0f} MiB of fragmentation pages" in lines[1]


def test_the_paper_machine_with_90_percent_movable_fragmentation_holds_43_gib():
    """fig_fairness's paper machine: 96 GiB (49,152 blocks), 90% of them with
    256 movable pages, holds 44,237 MiB; 53 GiB (54,272 MiB) no longer fits in
    the 54,067 MiB left (before, the check counted all 96 GiB as usable)."""
    with pytest.raises(ValueError, match="less 44237 MiB of fragmentation pages = 54067 MiB"):
        check_config(config(96, 53 * GIB, movable_fragmentation=0.9, movable_pages=256))
    check_config(config(96, 52 * GIB, movable_fragmentation=0.9, movable_pages=256))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tenant=st.sampled_from([0.0, 0.25, 0.6]), frag=st.sampled_from([0.0, 0.3, 0.9]),
       movable=st.sampled_from([0.0, 0.5, 0.95]), movable_pages=st.sampled_from([1, 256, 511]))
def test_usable_memory_is_what_the_machine_leaves_free_after_its_pressure(
        tenant, frag, movable, movable_pages):
    """The check's arithmetic against the machine's own free frames after
    ``physmem.apply_pressure``: a buffer of exactly those frames passes, one
    page more is refused."""
    pressure = {"tenant_fraction": tenant, "fragmentation": frag,
                "movable_fragmentation": movable, "movable_pages": movable_pages}
    cfg = config(0.0625, PAGE_SIZE, **pressure)
    m = Machine(MachineParams.from_config(cfg["machine"], cfg["pressure"]), seed=1)
    free = int(m.G[G_FREE_FRAMES]) * PAGE_SIZE
    check_config(config(0.0625, free, **pressure))
    with pytest.raises(ValueError, match="fragmentation pages"):
        check_config(config(0.0625, free + PAGE_SIZE, **pressure))
