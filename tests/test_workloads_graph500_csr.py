"""Kernel 1 built by counting (workloads/graph500_csr.py): exact CSR, bounded blocks."""
import hashlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from workloads import graph500 as G
from workloads import graph500_csr as K
from workloads.trace import TraceReader


def lexsort_csr(hi, hj, nv):
    """The CSR as a global sort of the adjacency entries (v, step, u): own entries
    (hi -> hj) at step hi, scattered entries (hj -> hi) at step hi."""
    v = np.concatenate((hi, hj)).astype(np.int64)
    u = np.concatenate((hj, hi)).astype(np.int64)
    order = np.lexsort((u, np.concatenate((hi, hi)), v))
    inv = np.empty(len(order), np.int64)
    inv[order] = np.arange(len(order))
    xoff = np.concatenate(([0], np.cumsum(np.bincount(v, minlength=nv))))
    return xoff, u[order], inv[:len(hi)], inv[len(hi):]


def test_hand_made_edge_list():
    # (1,0) duplicates (0,1) once canonical; (2,2) is a self loop
    src = np.array([0, 1, 2, 1, 3, 2, 3], np.int32)
    dst = np.array([1, 0, 2, 2, 0, 0, 1], np.int32)
    g = K.Graph(src, dst, 4)
    assert g.n_self_loops == 1 and g.n_edges == 5 and g.n_edges_generated == 7
    assert g.ci.tolist() == [0, 0, 2, 1, 0, 2, 3]
    assert g.ns_mask.tolist() == [True, True, False, True, True, True, True]
    assert list(zip(g.hi.tolist(), g.hj.tolist())) == [(0, 1), (0, 3), (1, 2), (2, 0), (3, 1)]
    # per vertex: entries from w < v, its own half list, entries from w > v
    assert g.xoff.tolist() == [0, 3, 6, 8, 10]
    assert g.xadj.tolist() == [1, 3, 2, 0, 2, 3, 1, 0, 0, 1]
    own, scat = g.csr_positions(0, 5, np.zeros(4, np.int64))
    assert own.tolist() == [0, 1, 4, 7, 9] and scat.tolist() == [3, 8, 6, 2, 5]
    seen = np.zeros(4, np.int64)                  # the same in two blocks
    parts = [g.csr_positions(0, 2, seen), g.csr_positions(2, 5, seen)]
    assert np.concatenate([p[0] for p in parts]).tolist() == own.tolist()
    assert np.concatenate([p[1] for p in parts]).tolist() == scat.tolist()


def test_matches_the_global_sort_in_small_blocks(monkeypatch):
    src, dst = K.kronecker_edges(10, 16, np.random.default_rng(1))
    ref = K.Graph(src, dst, 1 << 10)
    monkeypatch.setattr(K, "BLOCK", 1000)         # many blocks, uneven last one
    g = K.Graph(src, dst, 1 << 10)
    for name in ("ci", "ns_mask", "hi", "hj", "xoff", "xadj"):
        assert np.array_equal(getattr(g, name), getattr(ref, name)), name
    xoff, xadj, own, scat = lexsort_csr(g.hi, g.hj, g.nv)
    assert np.array_equal(g.xoff, xoff) and np.array_equal(g.xadj, xadj)
    got = g.csr_positions(0, g.n_edges, np.zeros(g.nv, np.int64))
    assert np.array_equal(got[0], own) and np.array_equal(got[1], scat)


def test_kronecker_edges_do_not_depend_on_the_block(monkeypatch):
    a = K.kronecker_edges(9, 16, np.random.default_rng(4))
    monkeypatch.setattr(K, "BLOCK", 777)
    b = K.kronecker_edges(9, 16, np.random.default_rng(4))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


# sha256 of the records (word then arg column of every chunk) of the trace below,
# as written by the sort-based kernel 1 this module replaced (main at 6fd425e):
# the rewrite was meant to change no record.  A deliberate change of the
# graph500 trace updates it.
RECORDS_SHA256 = "deb51ee2b000af500e0ffa88de3b6492712cb283f197c2b3d9afaa80d55d06a9"


@pytest.mark.parametrize("block", [K.BLOCK, 777])
def test_trace_records_are_those_of_the_sort_based_kernel_1(tmp_path, monkeypatch, block):
    monkeypatch.setattr(K, "BLOCK", block)        # 777: many blocks in every pass
    path = tmp_path / "g.trace"
    # chunk_edges 1000: _construct's edge and vertex passes in many blocks too
    G.Graph500({"scale": 10, "sample": 16, "chunk_edges": 1000}, seed=5).write(path,
                                                                                progress=False)
    h, n = hashlib.sha256(), 0
    for words, args in TraceReader(path).columns():
        h.update(words.tobytes())
        h.update(args.tobytes())
        n += len(words)
    assert n == 104160
    assert h.hexdigest() == RECORDS_SHA256


def test_running_rank_by_hand():
    seen = np.zeros(3, np.int64)
    assert K.running_rank(np.array([2, 0, 2, 2]), seen).tolist() == [0, 0, 1, 2]
    assert seen.tolist() == [1, 0, 3]
    assert K.running_rank(np.array([1, 2, 0]), seen).tolist() == [0, 3, 1]
    assert seen.tolist() == [2, 1, 4]
    assert K.running_rank(np.zeros(0, np.int64), seen).tolist() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=40), st.lists(st.integers(1, 9), min_size=1))
def test_running_rank_over_blocks_is_the_stable_rank(keys, cuts):
    keys = np.array(keys, np.int64)
    seen = np.zeros(6, np.int64)
    got, s, k = [], 0, 0
    while s < len(keys):
        got += K.running_rank(keys[s:s + cuts[k % len(cuts)]], seen).tolist()
        s += cuts[k % len(cuts)]
        k += 1
    expect = [int((keys[:i] == x).sum()) for i, x in enumerate(keys)]
    assert got == expect
    assert seen.tolist() == np.bincount(keys, minlength=6).tolist()
