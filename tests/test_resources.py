"""The jobs' resource requests (sim/resources.py) on hand-made traces."""
import math

import pytest

from hpsim.units import MIB
from sim import budget, resources
from sim.batch import cache_fits
from sim.testing import A, pages, small_spec, write_trace
from workloads.trace import RECORD_BYTES


def small_trace(path, repeats=1):
    """mmap 4 MiB (2 regions), write 10 pages, the first one ``repeats`` times."""
    def body(w):
        w.mmap(A, 4 << 20)
        w.access(pages(0, 10), True, counts=[repeats] + [1] * 9)
    return write_trace(path, body)


def test_simulation_memory_counts_machine_regions_and_records(tmp_path):
    t = small_trace(tmp_path / "a.trace")
    r = resources.trace_readers([t])
    n_records = int(r[0].trailer["n_records"])
    assert int(r[0].trailer["peak_mapped_bytes"]) == 4 << 20
    # 2 regions of the peak + 1, as a growing table (x3); 512 blocks of 2 MiB
    need = 3 * 3 * budget.slot_bytes() + 512 * budget.block_bytes()
    assert budget.estimate([4 << 20], 512) == need
    want = math.ceil(256 + 1.25 * (need + n_records * RECORD_BYTES) / MIB)
    assert resources.simulation_mem_mb(r, 512) == want
    # sim.batch, given this as --mem-mb, keeps the decoded records, as counted
    spec = {**small_spec("linux-4k", memory_mib=1024), "policies": []}
    assert cache_fits(spec, [str(t)], want) == n_records * RECORD_BYTES


def test_simulation_memory_streams_when_records_exceed_the_cache_limit(tmp_path, monkeypatch):
    t = small_trace(tmp_path / "a.trace")
    r = resources.trace_readers([t, t])
    need = budget.estimate([4 << 20, 4 << 20], 512)
    monkeypatch.setattr(resources, "SIM_CACHE_MAX_MB", need / MIB)   # records no longer fit
    chunks = 2 * 4 * (1 << 20) * RECORD_BYTES      # two traces, four 1M-record chunks each
    assert resources.simulation_mem_mb(r, 512) == math.ceil(256 + 1.25 * (need + chunks) / MIB)


def test_simulation_runtime_from_accesses_and_policies(tmp_path):
    small = resources.trace_readers([small_trace(tmp_path / "a.trace")])
    assert resources.simulation_runtime_min(small, 6) == 10          # the minimum
    # 120 s + 3 x 6 policies x (2e9 + 9 accesses x 40 ns + 1024 pages x 3 us) = 1560.06 s
    big = resources.trace_readers([small_trace(tmp_path / "b.trace", repeats=2_000_000_000)])
    assert int(big[0].trailer["n_accesses"]) == 2_000_000_009
    assert resources.simulation_runtime_min(big, 6) == 27
    # pages alone: 2 traces of 1024 pages; 120 s + 3 x 1 x 2048 x 3 us: 10 min (the minimum)
    assert resources.simulation_runtime_min(small + small, 1) == 10


def test_missing_trace_is_file_not_found_naming_it(tmp_path):
    """Snakemake defers a resource whose function raises FileNotFoundError
    for one of the job's input files (the value is "TBD" until it exists)."""
    missing = str(tmp_path / "later.trace")
    with pytest.raises(FileNotFoundError) as e:
        resources.trace_readers([missing])
    assert e.value.filename == missing


def test_generator_requests():
    assert resources.generator_mem_mb(230_000_000) == 1000            # the minimum
    assert resources.generator_mem_mb(4_090_000_000) == 4908          # x1.2
    assert resources.generator_runtime_min(1_710_000_000) == 56       # 30 + 15 x 1.71, rounded up


def test_simulation_memory_of_one_big_trace_counts_every_policys_machine(tmp_path,
                                                                         monkeypatch):
    """A trace too big to keep, replayed by 3 policies side by side: their 3
    machines and the decoded window; sim.batch, given this as --mem-mb,
    takes the side-by-side path.  Two traces stream as before."""
    from sim import batch, lockstep
    t = small_trace(tmp_path / "a.trace")
    r = resources.trace_readers([t])
    need = budget.estimate([4 << 20], 512)
    held = lockstep.SharedTrace.bytes_held(r[0])
    assert held == (lockstep.WINDOW + 2) * (1 << 20) * RECORD_BYTES
    monkeypatch.setattr(resources, "SIM_CACHE_MAX_MB", (3 * need + held) / MIB)
    # as if its records were more than the limit (12 bytes each)
    monkeypatch.setattr(resources.TraceCache, "nbytes", staticmethod(lambda rs: 4 * held))
    want = math.ceil(256 + 1.25 * (3 * need + held) / MIB)
    assert resources.simulation_mem_mb(r, 512, 3) == want
    spec = {**small_spec("linux-4k", memory_mib=1024), "policies": []}
    specs = [{**spec, "policy": {"name": p, "params": {}}} for p in ("linux-4k", "linux-thp",
                                                                      "ingens")]
    assert batch.lockstep_fits(specs, [str(t)], want)
    # one policy, or a window that no longer fits: streamed
    chunks = 4 * (1 << 20) * RECORD_BYTES
    assert resources.simulation_mem_mb(r, 512, 1) == math.ceil(256 + 1.25 * (need + chunks) / MIB)
    monkeypatch.setattr(resources, "SIM_CACHE_MAX_MB", (3 * need + held - 1) / MIB)
    assert resources.simulation_mem_mb(r, 512, 3) == math.ceil(256 + 1.25 * (need + chunks) / MIB)
