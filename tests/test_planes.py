"""Byte planes of version-2 chunks: numpy's path and the compiled one agree."""
import struct

import numpy as np
from hypothesis import given, settings, strategies as st

from workloads import planes as P
from workloads.trace import CYCLES, KIND_MASK

_words = st.lists(st.integers(0, 2**64 - 1), min_size=0, max_size=300)


def _columns(words, args_seed):
    w = np.array(words, np.uint64)
    a = np.random.default_rng(args_seed).integers(0, 2**32, len(w), dtype=np.uint32)
    return w, a


@settings(max_examples=60, deadline=None)
@given(_words, st.integers(0, 2**32))
def test_numpy_and_compiled_paths_agree(words, args_seed):
    w, a = _columns(words, args_seed)
    n = len(w)
    p_np, p_jit = np.empty(12 * n, np.uint8), np.empty(12 * n, np.uint8)
    P._split_numpy(w, a, p_np)
    P.compiled(P._split_kernel)(w, a, p_jit)
    assert p_np.tobytes() == p_jit.tobytes()
    ro = np.frombuffer(p_np.tobytes(), np.uint8)          # the reader's read-only payload
    w1, a1 = np.empty(n, np.uint64), np.empty(n, np.uint32)
    w2, a2 = np.empty(n, np.uint64), np.empty(n, np.uint32)
    bad1 = P._join_numpy(ro, w1, a1, KIND_MASK, CYCLES)
    bad2 = P.compiled(P._join_kernel)(ro, w2, a2, np.uint8(KIND_MASK), np.uint8(CYCLES))
    assert (w1 == w).all() and (w2 == w).all() and (a1 == a).all() and (a2 == a).all()
    kinds = [x & KIND_MASK for x in words]
    expect = next((i for i, k in enumerate(kinds) if k > CYCLES), -1)
    assert bad1 == bad2 == expect


def test_planes_layout_by_hand():
    # two records: plane b holds byte b of each word, planes 8..11 the args' bytes
    w = np.array([0x0807060504030201, 0x1817161514131211], np.uint64)
    a = np.array([0x24232221, 0x34333231], np.uint32)
    p = np.empty(24, np.uint8)
    P._split_numpy(w, a, p)
    assert p.tolist() == [0x01, 0x11, 0x02, 0x12, 0x03, 0x13, 0x04, 0x14, 0x05, 0x15,
                          0x06, 0x16, 0x07, 0x17, 0x08, 0x18, 0x21, 0x31, 0x22, 0x32,
                          0x23, 0x33, 0x24, 0x34]
    rec = struct.pack("<QI", int(w[0]), int(a[0]))       # record 0's 12 bytes, in plane order
    assert bytes(p[0::2]) == rec


def test_which_path_codes_a_chunk(monkeypatch):
    monkeypatch.setattr(P, "_KERNELS", {})
    # join: chunks below a full default chunk take numpy, until the kernel is loaded
    n = P.JOIN_COMPILED_MIN_RECORDS
    assert P._use_numpy(P._join_kernel, n - 1)
    assert not P._use_numpy(P._join_kernel, n)
    # split: numpy for the first SPLIT_NUMPY_RECORDS records of the process
    monkeypatch.setattr(P, "_split_numpy_records", P.SPLIT_NUMPY_RECORDS - 5)
    assert P._use_numpy(P._split_kernel, 5)
    assert not P._use_numpy(P._split_kernel, 6)
    monkeypatch.setattr(P, "_split_numpy_records", 0)
    w, a, p = np.arange(3, dtype=np.uint64), np.ones(3, np.uint32), np.empty(36, np.uint8)
    P.split_planes(w, a, p)
    assert P._split_numpy_records == 3 and P._KERNELS == {}
    P.compiled(P._join_kernel)
    assert not P._use_numpy(P._join_kernel, 1)
    assert P._use_numpy(P._split_kernel, 1)               # per kernel
    P.load_kernels()
    assert set(P._KERNELS) == {P._split_kernel, P._join_kernel}
    assert not P._use_numpy(P._split_kernel, 1)


def test_a_small_trace_round_trips_without_loading_a_kernel(tmp_path, monkeypatch):
    from workloads.trace import TraceReader, TraceWriter
    monkeypatch.setattr(P, "_KERNELS", {})
    with TraceWriter(tmp_path / "t.trace", {"workload": "t"}, chunk_records=3) as tw:
        tw.mmap(0x200000, 0x200000)
        tw.access(np.array([0x200000, 0x201000, 0x203000, 0x202000], np.uint64), True,
                  np.array([1, 2, 3, 4]))
    words = np.concatenate([w for w, _ in TraceReader(tmp_path / "t.trace").columns()])
    assert P._KERNELS == {}
    assert words.tolist() == [0x200000 | 1, 0x200010, 0x201010, 0x203010, 0x202010]
