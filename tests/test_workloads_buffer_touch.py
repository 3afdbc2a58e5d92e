"""buffer_touch: the Table 1 microbenchmark (map, touch one byte per page, free)."""
import numpy as np
import pytest

from workloads import base
from workloads.buffer_touch import BufferTouch
from workloads.trace import TraceReader, decode, ACCESS, MMAP, MUNMAP
from workloads.tracecheck import walk


def accesses(path):
    r = TraceReader(path)
    d = decode(np.concatenate(list(r.chunks())))
    acc = d["kind"] == ACCESS
    return r, d, d["addr"][acc], d["write"][acc], d["arg"][acc]


@pytest.mark.parametrize("order", ["sequential", "strided", "random"])
def test_every_page_touched_once(tmp_path, order):
    size_gib = 8 / 1024                                     # 8 MiB = 2048 pages
    wl = BufferTouch({"size_gib": size_gib, "order": order, "stride_pages": 512}, seed=3)
    p = tmp_path / "b.trace"
    wl.write(p)
    r, d, addr, write, cnt = accesses(p)
    base_addr = wl.params["base_addr"]
    pages = ((addr - np.uint64(base_addr)) // np.uint64(4096)).astype(np.int64)
    assert sorted(pages.tolist()) == list(range(2048))
    assert write.all() and (cnt == 1).all()
    if order == "sequential":
        assert pages.tolist() == list(range(2048))
    elif order == "strided":
        assert pages[:4].tolist() == [0, 512, 1024, 1536] and pages[4] == 1
    else:
        assert pages.tolist() != list(range(2048))
        # seeded: same seed same order, other seed another order
        wl2 = BufferTouch({"size_gib": size_gib, "order": order}, seed=3)
        wl2.write(tmp_path / "c.trace")
        assert np.array_equal(accesses(tmp_path / "c.trace")[2], addr)
    kinds = d["kind"].tolist()
    assert kinds[1] == MMAP and kinds[-1] == MUNMAP
    assert r.phases == ["touch", "free"]
    _, _, outside, _ = walk(p)
    assert outside == 0


def test_no_free_and_reads(tmp_path):
    wl = BufferTouch({"size_gib": 1 / 1024, "free_at_end": False, "write": False})
    p = tmp_path / "b.trace"
    wl.write(p)
    r, d, addr, write, cnt = accesses(p)
    assert not write.any() and len(addr) == 256
    assert MUNMAP not in d["kind"].tolist() and r.phases == ["touch"]


def test_paper_fault_arithmetic():
    """10 GiB at 4 KiB = 2,621,440 pages (Table 1); 5,120 huge pages."""
    wl = BufferTouch({})
    n_pages = int(wl.params["size_gib"] * 2**30) // 4096
    assert n_pages == 2_621_440 and n_pages // 512 == 5120


def test_bad_parameters():
    with pytest.raises(ValueError, match="unknown parameter"):
        base.get("buffer_touch")({"sise_gib": 1})
    with pytest.raises(ValueError, match="order"):
        BufferTouch({"order": "zigzag"})
    with pytest.raises(ValueError, match="aligned"):
        BufferTouch({"base_addr": 4096})
