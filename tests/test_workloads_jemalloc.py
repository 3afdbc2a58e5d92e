"""The page-level jemalloc model used by the redis workload."""
import pytest

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
    assert [size_class(n) for n in (1, 8, 9, 24, 30, 129, 4096, 4102, 14336, 14337)] == \
        [8, 8, 16, 32, 32, 160, 4096, 5120, 14336, 16384]
    assert size_class(2 * MiB + 10) == 2 * MiB + 512 * 1024


def test_small_run_layout_and_purge():
    e = Rec()
    h = Jemalloc(e, decay_ops=0)
    objs = [h.malloc(4102) for _ in range(8)]
    assert e.events[0][0] == "mmap" and e.events[0][2] == 2 * MiB
    chunk = e.events[0][1]
    assert chunk % (2 * MiB) == 0
    addrs = [a for a, _, _ in objs]
    # 5120-byte regions, 4 per 5-page run, runs packed after the 8 header pages
    assert addrs[:4] == [chunk + 8 * 4096 + i * 5120 for i in range(4)]
    assert addrs[4] == chunk + 13 * 4096
    for a, _, hd in objs[:3]:
        h.free(hd)
    assert not [x for x in e.events if x[0] == "madvise"]     # run still in use
    h.free(objs[3][2])                                       # run now empty
    assert e.events[-1] == ("madvise", chunk + 8 * 4096, 5 * 4096)
    # a new allocation reuses the lowest free run
    a, _, _ = h.malloc(4102)
    assert a == chunk + 8 * 4096


def test_decay_delays_purge():
    e = Rec()
    h = Jemalloc(e, decay_ops=10)
    big = h.malloc(64 * 1024)                               # large: a 16-page run
    keep = h.malloc(64 * 1024)
    pin = h.malloc(16)                                      # the 16-byte bin's run exists
    h.free(big[2])
    assert not [x for x in e.events if x[0] == "madvise"]
    for _ in range(9):
        h.free(h.malloc(16)[2])                             # small churn: 18 operations
    mad = [x for x in e.events if x[0] == "madvise"]
    assert mad == [("madvise", big[0], 16 * 4096)]
    assert keep[0] == big[0] + 16 * 4096 and pin[0] > keep[0]


def test_best_fit_reuses_freed_pages():
    e = Rec()
    h = Jemalloc(e, decay_ops=100)
    big = h.malloc(64 * 1024)
    h.malloc(64 * 1024)
    h.free(big[2])
    small = h.malloc(16)            # best fit: the 16-page hole, not the big tail extent
    assert small[0] == big[0]


def test_empty_chunk_unmapped_and_huge_mappings():
    e = Rec()
    h = Jemalloc(e, decay_ops=0)
    objs = [h.malloc(1024 * 1024) for _ in range(1)]
    h.free(objs[0][2])
    assert e.events[-1][0] == "munmap" and e.events[-1][2] == 2 * MiB
    a, usable, hd = h.malloc(2 * MiB + 10)
    assert usable == 2.5 * MiB and e.events[-1] == ("mmap", a, 4 * MiB) and a % (2 * MiB) == 0
    h.free(hd)
    assert e.events[-1] == ("munmap", a, 4 * MiB)
    h2 = Jemalloc(Rec(), huge_map="page")
    a, usable, hd = h2.malloc(2 * MiB + 10)
    assert h2.emit.events[-1] == ("mmap", a, int(2.5 * MiB))


def test_address_reuse_top_down():
    e = Rec()
    h = Jemalloc(e, mmap_top=1 << 40)
    a1 = h.malloc(3 * MiB)
    a2 = h.malloc(3 * MiB)
    assert a2[0] < a1[0]                                    # top-down
    h.free(a1[2])
    a3 = h.malloc(3 * MiB)
    assert a3[0] == a1[0]                                   # hole reused
