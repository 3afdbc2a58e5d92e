"""YCSB key-popularity generators."""
import numpy as np
import pytest

from workloads import zipf


def test_zipfian_slope():
    """Un-scrambled Zipfian: frequency ~ rank^-0.99 (log-log fit of the top 1000 ranks)."""
    g = zipf.ZipfianGenerator(100_000, 0.99)
    s = g.sample(np.random.default_rng(1), 2_000_000)
    assert s.min() >= 0 and s.max() < 100_000
    c = np.bincount(s, minlength=100_000)
    assert c[0] == c.max()                       # item 0 is the most popular
    r = np.arange(1, 1001)
    slope = np.polyfit(np.log(r), np.log(c[:1000]), 1)[0]
    assert abs(slope + 0.99) < 0.05, slope
    # P(item 0) = 1/zeta(n)
    assert abs(c[0] / len(s) - 1 / g.zetan) < 0.002


def test_zeta_matches_ycsb_constant():
    # YCSB's ZETAN (26.469...) is zeta(10^10, 0.99); check our sum on a smaller n
    # against the integral approximation, and the exact small cases
    assert zipf.zeta(2, 0.99) == pytest.approx(1 + 2 ** -0.99)
    n = 10 ** 7
    approx = (n ** 0.01 - 1) / 0.01 + 0.5772 + 0.5 * n ** -0.99  # Euler-Maclaurin, theta~1
    assert zipf.zeta(n, 0.99) == pytest.approx(approx, rel=2e-3)


def test_fnvhash64_reference_values():
    # FNV-1a 64 over the 8 little-endian bytes, as YCSB Utils.fnvhash64 (+ Math.abs)
    def ref(v):
        h = 0xCBF29CE484222325
        for _ in range(8):
            h ^= v & 0xFF
            v >>= 8
            h = (h * 1099511628211) & (2 ** 64 - 1)
        s = h - 2 ** 64 if h >= 2 ** 63 else h
        return abs(s)
    vals = [0, 1, 2, 255, 256, 12345678901234, 2 ** 62 + 7]
    assert zipf.fnvhash64(vals).tolist() == [ref(v) for v in vals]


def test_scrambled_zipfian_scatters_hot_keys():
    n = 10_000
    g = zipf.ScrambledZipfianGenerator(n)
    s = g.sample(np.random.default_rng(2), 500_000)
    assert s.min() >= 0 and s.max() < n
    c = np.bincount(s, minlength=n)
    top = np.argsort(c)[::-1][:20]
    # still skewed: the hottest key gets far more than a uniform share
    assert c.max() > 50 * len(s) / n
    # but the hot keys are spread over the key space, not clustered at 0
    assert top.max() - top.min() > n / 2
    assert (top < n // 100).sum() < 5


def test_hotspot_fractions():
    g = zipf.HotspotGenerator(1000, 0.2, 0.8)
    s = g.sample(np.random.default_rng(3), 200_000)
    hot = (s < 200).mean()
    assert abs(hot - 0.8) < 0.01
    c = np.bincount(s, minlength=1000)
    assert c[:200].min() > 0 and c[200:].min() > 0


def test_make_rejects_unknown():
    with pytest.raises(ValueError, match="unknown distribution"):
        zipf.make("pareto", 10)
