"""Bounded work: a simulation that would outgrow its host-memory budget is
refused before it starts (with the estimate), or stopped with an error when it
outgrows it anyway, never left to run until the host runs out of memory."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hpsim.units import GIB, HUGE_SIZE, MIB, PAGE_SIZE
from machine.physmem import FRAME_DTYPE
from sim import budget, simulate
from sim.simulate import Simulation, SimulationError
from sim.testing import A, compute, small_spec, write_trace


def test_the_sizes_are_measured_from_the_machines_arrays():
    # one slot: a uint8 state and a frame number (FRAME_DTYPE) per 4 KiB page, and a few
    # per-region fields
    assert budget.slot_bytes() >= 512 * (1 + np.dtype(FRAME_DTYPE).itemsize)
    assert budget.block_bytes() > 0
    assert budget.estimate([0], 1) == budget.GROWTH * budget.slot_bytes() + budget.block_bytes()


def test_an_mmap_too_big_to_track_is_refused_before_the_run(tmp_path, capsys):
    trace = write_trace(tmp_path / "big.trace",
                        lambda w: (w.mmap(A, 1 << 43), w.access([A], True)))   # 8 TiB
    rc = simulate.main(["--spec", json.dumps(small_spec("linux-4k")), "--trace", str(trace),
                        "--out-dir", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "error: this run needs at least" in err
    assert "of host memory" in err and not (tmp_path / "out").exists()


def test_sparse_mmaps_that_outgrow_the_budget_stop_the_run_naming_the_record(tmp_path):
    n = 3000                      # 4 KiB mmaps 2 MiB apart: one region slot each
    def body(w):
        for k in range(n):
            w.mmap(A + k * HUGE_SIZE, PAGE_SIZE)
    trace = write_trace(tmp_path / "sparse.trace", body)
    sim = Simulation(small_spec("linux-4k"), [str(trace)], progress=False, mem_mb=20)
    with pytest.raises(SimulationError, match=r"sparse.trace: record \d+: mmap of .* would need"):
        sim.run()
    assert budget.GROWTH * sim.m.n_slots * budget.slot_bytes() <= 20 * MIB


def test_a_sample_interval_that_would_fill_memory_stops_the_run(tmp_path):
    trace = write_trace(tmp_path / "t.trace", lambda w: (w.mmap(A, HUGE_SIZE), compute(w, 0.01)))
    sim = Simulation(small_spec("linux-4k", sample_interval_s=1e-8), [str(trace)],
                     progress=False, mem_mb=8)
    with pytest.raises(SimulationError, match="run.sample_interval_s 1e-08: .* rows"):
        sim.run()
    assert len(sim.rows) * sim._row_bytes <= 8 * MIB


def test_a_normal_run_fits_in_the_default_rule_budget(tmp_path):
    def body(w):
        w.mmap(A, 64 * MIB)
        w.access([A + k * PAGE_SIZE for k in range(100)], True)
    trace = write_trace(tmp_path / "t.trace", body)
    sim = Simulation(small_spec("linux-thp"), [str(trace)], progress=False, mem_mb=4000)
    sim.run()
    assert sim.summary().iloc[0].accesses == 100
    assert budget.estimate([64 * MIB], sim.params.n_blocks) < 4000 * MIB < GIB * 4
