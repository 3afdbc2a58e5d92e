"""The page-level jemalloc model used by the redis workload."""
import pytest
from hypothesis import given, settings, strategies as st

from workloads.jemalloc import Jemalloc, size_class

MiB = 1 << 20


class Rec:
    def __init__(self):
        self.events = []
        self.acc = []

    def access(self, addr, write, count=1):
        self.acc.append((addr, write, count))

    def event(self, kind, addr, length):
        self.events.append((kind, addr, length))


def test_size_classes():
    ns = (1, 8, 9, 24, 30, 33, 64, 65, 129, 4096, 4102, 14336, 14337)
    # lg_quantum 4 (Redis 3.2's build): 16..128 in steps of 16, then 4 per doubling
    assert [size_class(n) for n in ns] == \
        [8, 8, 16, 32, 32, 48, 64, 80, 160, 4096, 5120, 14336, 16384]
    # lg_quantum 3 (Redis 4.0: --with-lg-quantum=3): 8..64 in steps of 8
    assert [size_class(n, 3) for n in ns] == \
        [8, 8, 16, 24, 32, 40, 64, 80, 160, 4096, 5120, 14336, 16384]
    assert size_class(2 * MiB + 10) == 2 * MiB + 512 * 1024
    # the buffer a 2 MiB Redis value lives in: sdshdr32 + 2 MiB + CRLF + NUL
    assert size_class(9 + 2 * MiB + 2 + 1) == 2.5 * MiB
    assert size_class(9 + 3 * MiB + 2 + 1) == 3.5 * MiB


def test_small_run_layout():
    e = Rec()
    h = Jemalloc(e)
    objs = [h.malloc(4102) for _ in range(8)]
    assert e.events[0][0] == "mmap" and e.events[0][2] == 2 * MiB
    chunk = e.events[0][1]
    assert chunk % (2 * MiB) == 0
    addrs = [a for a, _, _ in objs]
    # 5120-byte regions, 4 per 5-page run, runs packed after the 8 header pages
    assert addrs[:4] == [chunk + 8 * 4096 + i * 5120 for i in range(4)]
    assert addrs[4] == chunk + 13 * 4096
    assert h.nactive == 10
    for a, _, hd in objs[:4]:
        h.free(hd)
    # the run is free and dirty; 5 dirty pages are far below the 512-page floor
    assert h.nactive == 5 and h.ndirty == 5
    assert not [x for x in e.events if x[0] in ("madvise", "munmap")]
    a, _, _ = h.malloc(4102)                  # best fit: the freed 5-page run
    assert a == chunk + 8 * 4096 and h.ndirty == 0


def _large_objects(h, n, size=64 * 1024):
    return [h.malloc(size) for _ in range(n)]


@pytest.mark.parametrize("lg, k_fire", [(3, 33), (1, 67)])
def test_purge_ratio_fires_exactly(lg, k_fire):
    """arena_maybe_purge: purge when ndirty > max(nactive >> lg_dirty_mult, 512),
    the oldest dirty run first, whole, until >= ndirty - threshold pages."""
    e = Rec()
    h = Jemalloc(e, lg_dirty_mult=lg)
    objs = _large_objects(h, 200)             # 16-page runs, 31 per chunk
    assert h.nactive == 3200 and h.ndirty == 0
    freed = objs[0:2 * k_fire:2]              # every other one: no two freed runs touch
    for k, (a, _, hd) in enumerate(freed, start=1):
        h.free(hd)
        mad = [x for x in e.events if x[0] == "madvise"]
        nactive = 3200 - 16 * k
        if 16 * k <= max(nactive >> lg, 512):
            assert mad == [] and h.ndirty == 16 * k
    assert mad == [("madvise", freed[0][0], 16 * 4096)]
    assert h.purged_pages == 16 and h.n_purges == 1
    assert h.ndirty == 16 * (k_fire - 1)
    h.free(objs[2 * k_fire][2])               # one more dirty run: the next oldest goes
    mad = [x for x in e.events if x[0] == "madvise"]
    assert mad[-1] == ("madvise", freed[1][0], 16 * 4096) and h.n_purges == 2


def test_purge_never_with_minus_one():
    e = Rec()
    h = Jemalloc(e, lg_dirty_mult=-1)
    for a, _, hd in _large_objects(h, 200)[::2]:
        h.free(hd)
    assert h.ndirty == 1600 and not [x for x in e.events if x[0] == "madvise"]


def test_dirty_and_clean_runs_do_not_coalesce_and_purge_frees_the_chunk():
    """A chunk goes only when one free run spans it (arena_run_dalloc ->
    arena_chunk_dalloc): its dirty pages do not merge with its clean tail until
    purged."""
    e = Rec()
    h = Jemalloc(e)
    a32 = [h.malloc(32 * 1024) for _ in range(62)]     # 8-page runs: pages 8..503
    chunk1 = e.events[0][1]
    assert a32[0][0] == chunk1 + 8 * 4096 and a32[-1][0] == chunk1 + 496 * 4096
    a64 = [h.malloc(64 * 1024) for _ in range(3)]      # the 8-page tail is too small
    assert len([x for x in e.events if x[0] == "mmap"]) == 2
    for _, _, hd in a32:
        h.free(hd)
    assert h.ndirty == 496                             # one dirty run + the clean tail
    assert not [x for x in e.events if x[0] in ("madvise", "munmap")]
    h.free(a64[0][2])
    assert h.ndirty == 512 and h.n_purges == 0         # not above the threshold
    h.free(a64[1][2])                                  # joins a64[0]: 528 > 512
    tail = [x for x in e.events if x[0] in ("madvise", "munmap")]
    # npurge 16, but the oldest dirty run is taken whole
    assert tail == [("madvise", chunk1 + 8 * 4096, 496 * 4096), ("munmap", chunk1, 2 * MiB)]
    assert h.ndirty == 32 and h.purged_pages == 496 and h.n_purges == 1


def test_huge_objects_count_as_active():
    e = Rec()
    h = Jemalloc(e)
    a, usable, hd = h.malloc(9 + 2 * MiB + 3)
    assert usable == 2.5 * MiB and h.nactive == 640
    assert e.events[-1] == ("mmap", a, 4 * MiB) and a % (2 * MiB) == 0
    h.free(hd)
    assert e.events[-1] == ("munmap", a, 4 * MiB) and h.nactive == 0
    h2 = Jemalloc(Rec(), huge_map="page")
    a, usable, hd = h2.malloc(2 * MiB + 10)
    assert h2.emit.events[-1] == ("mmap", a, int(2.5 * MiB))


def test_bad_arguments():
    with pytest.raises(ValueError, match="lg_dirty_mult"):
        Jemalloc(Rec(), lg_dirty_mult=-2)
    with pytest.raises(ValueError, match="lg_quantum"):
        Jemalloc(Rec(), lg_quantum=5)


def test_best_fit_reuses_freed_pages():
    e = Rec()
    h = Jemalloc(e)
    big = h.malloc(64 * 1024)
    h.malloc(64 * 1024)
    h.free(big[2])
    small = h.malloc(16)            # best fit: the 16-page hole, not the big tail extent
    assert small[0] == big[0]


def test_address_reuse_top_down():
    e = Rec()
    h = Jemalloc(e, mmap_top=1 << 40)
    a1 = h.malloc(3 * MiB)
    a2 = h.malloc(3 * MiB)
    assert a2[0] < a1[0]                                    # top-down
    h.free(a1[2])
    a3 = h.malloc(3 * MiB)
    assert a3[0] == a1[0]                                   # hole reused


def test_huge_realloc_in_place_purges_the_tail():
    """huge_ralloc_no_move_similar: 3.5 MiB -> 2.5 MiB keeps the 4 MiB chunk and
    madvises [2.5, 3.5) MiB; 2.5 MiB -> 5 MiB (6 MiB ceiling) moves."""
    e = Rec()
    h = Jemalloc(e)
    a, usable, hd = h.malloc(3 * MiB + 12)
    assert usable == 3.5 * MiB and h.nactive == 896
    a2, usable2, hd2, moved = h.ralloc(hd, 2 * MiB + 10)
    assert (a2, usable2, moved) == (a, 2.5 * MiB, False) and h.nactive == 640
    assert e.events[-1] == ("madvise", a + 2.5 * MiB, MiB)
    a3, usable3, hd3, moved = h.ralloc(hd2, 4 * MiB + 10)
    assert moved and usable3 == 5 * MiB and e.events[-1] == ("mmap", a3, 6 * MiB)
    h.free(hd2)                                         # the caller frees the old block
    assert e.events[-1] == ("munmap", a, 4 * MiB) and h.nactive == 1280



@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([16, 4102, 20000, 64 * 1024,
                                                          600 * 1024, 2 * MiB + 12]),
                          st.integers(0, 10 ** 6)), max_size=300),
       st.sampled_from([-1, 0, 3]))
def test_arena_counters_and_purge_invariant(ops, lg):
    """Over random malloc/free sequences: nactive is the pages of live runs plus
    usize/4096 of live huge objects, ndirty the pages of dirty free runs, free
    runs never overlap, and after every free ndirty <= max(nactive >> lg, 512)."""
    e = Rec()
    h = Jemalloc(e, lg_dirty_mult=lg)
    live = []
    for alloc, size, pick in ops:
        if alloc or not live:
            live.append(h.malloc(size))
            continue
        a, usable, hd = live.pop(pick % len(live))
        h.free(hd)
        if lg >= 0:
            assert h.ndirty <= max(h.nactive >> lg, 512)
        runs = {x[2][2] >> 2: h.run_pages(x[2]) for x in live if x[2][0] == "s"}
        active = sum(runs.values()) \
            + sum(-(-usable // 4096) for _, usable, hd in live if hd[0] == "l") \
            + sum(usable // 4096 for _, usable, hd in live if hd[0] == "h")
        assert h.nactive == active          # a small run is freed with its last object
        assert h.ndirty == sum(h.dirty.values())
        spans = sorted(h.free_start.items())
        assert all(s + n <= s2 for (s, n), (s2, _) in zip(spans, spans[1:]))
