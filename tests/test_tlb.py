"""The compiled TLB against a plain Python model of a set-associative,
true-LRU TLB: same hits, same contents in the same recency order, for the
branch-free 4- and 8-way paths and the generic one, and for shootdowns of a
region or a page range."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from machine import tlb as T
from machine.jit import kernel


class ModelSet:
    """One set: a list, most recently used first."""

    def __init__(self, ways):
        self.ways, self.tags = ways, []

    def touch(self, t):
        hit = t in self.tags
        if hit:
            self.tags.remove(t)
        self.tags.insert(0, t)
        del self.tags[self.ways:]
        return hit

    def drop(self, pred):
        n = sum(map(pred, self.tags))
        self.tags = [t for t in self.tags if not pred(t)]
        return n

    def row(self):
        return self.tags + [T.INVALID] * (self.ways - len(self.tags))


@kernel
def _touch_all(tags, sets, keys, out):
    for k in range(len(keys)):
        out[k] = T.touch(tags, sets[k], keys[k])


@kernel
def _lookup_insert_all(tags, sets, keys, out):
    # the reference behaviour of touch: lookup, then insert on a miss
    for k in range(len(keys)):
        hit = T.lookup(tags, sets[k], keys[k])
        if not hit:
            T.insert(tags, sets[k], keys[k])
        out[k] = hit


@pytest.mark.parametrize("ways", [1, 2, 4, 8, 16])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_touch_is_true_lru(ways, data):
    nsets = data.draw(st.sampled_from([1, 4, 16]))
    keys = np.array(data.draw(st.lists(st.integers(0, 3 * ways * nsets), min_size=1,
                                       max_size=300)), np.int64)
    sets = keys % nsets
    tags = keys << 1          # 4 KiB tags
    got = np.full((nsets, ways), T.INVALID, np.int64)
    ref = got.copy()
    hits = np.zeros(len(keys), np.bool_)
    ref_hits = hits.copy()
    _touch_all(got, sets, tags, hits)
    _lookup_insert_all(ref, sets, tags, ref_hits)
    model = [ModelSet(ways) for _ in range(nsets)]
    model_hits = [model[s].touch(t) for s, t in zip(sets, tags)]
    assert hits.tolist() == ref_hits.tolist() == model_hits
    assert (got == ref).all()
    assert got.tolist() == [m.row() for m in model]


def _filled(rng, nsets, ways, span):
    """A TLB set array in a state replay could produce: unique tags per set,
    each in the set its page number indexes, 4 KiB and 2 MiB tags, some ways
    invalid (after shootdowns)."""
    tags = np.full((nsets, ways), T.INVALID, np.int64)
    for s in range(nsets):
        k = rng.integers(0, ways + 1)
        vals = []
        while len(vals) < k:
            if rng.random() < 0.2:
                t = int(T.tag_2m(s + nsets * rng.integers(0, span // 512 // nsets + 1)))
            else:
                t = int(T.tag_4k(s + nsets * rng.integers(0, span // nsets)))
            if t not in vals:
                vals.append(t)
        tags[s, :k] = vals
    return tags


@pytest.mark.parametrize("seed", range(20))
def test_invalidate_region_and_range(seed):
    rng = np.random.default_rng(seed)
    span = 4 * 512
    tlb = T.TLB(_filled(rng, 16, 4, span), _filled(rng, 8, 4, span), _filled(rng, 128, 8, span))
    model = {name: [list(row) for row in getattr(tlb, name)] for name in T.TLB._fields}

    def drop(name, pred):
        n = 0
        for row in model[name]:
            keep = [t for t in row if t == T.INVALID or not pred(t)]
            n += len(row) - len(keep)
            valid = [t for t in keep if t != T.INVALID]
            row[:] = valid + [T.INVALID] * (len(row) - len(valid))
        return n

    r = int(rng.integers(0, 4))
    def in_region(t):
        return t >> 1 == r if t & 1 else t >> 10 == r
    n = T.invalidate_region(tlb, r)
    assert n == sum(drop(name, in_region) for name in T.TLB._fields)
    for name in T.TLB._fields:
        assert getattr(tlb, name).tolist() == model[name]

    v0 = int(rng.integers(0, span))
    v1 = v0 + int(rng.integers(1, span))
    def in_range(t):
        return not t & 1 and v0 <= t >> 1 < v1
    n = T.invalidate_range_4k(tlb, v0, v1)
    assert n == drop("l1s_tag", in_range) + drop("l2_tag", in_range)
    for name in T.TLB._fields:
        assert getattr(tlb, name).tolist() == model[name]
    # one scan removes what one shootdown per page removes
    tlb2 = T.TLB(*(a.copy() for a in tlb))
    v0, v1 = 0, span
    T.invalidate_range_4k(tlb, v0, v1)
    for v in range(v0, v1):
        _invalidate_page(tlb2, v)
    for a, b in zip(tlb, tlb2):
        assert (a == b).all()


@kernel
def _invalidate_page(tlb, vpn):
    return T.invalidate_page(tlb, vpn)
