"""Key-popularity generators after YCSB (``site.ycsb.generator``), vectorised.

* ``ZipfianGenerator`` -- Gray et al. (SIGMOD'94) as in YCSB's
  ``ZipfianGenerator``: item 0 is the most popular, then 1, ...; constant
  0.99 by default; ``zetan`` = sum_{i=1..n} i^-theta computed exactly.
* ``ScrambledZipfianGenerator`` -- YCSB's: draw from a Zipfian over
  ``ITEM_COUNT`` = 10^16 items with the precomputed ``ZETAN`` (YCSB keeps the
  zeta of 10^10 with the 10^16 count; we copy that quirk) and map the value
  to ``min + fnvhash64(v) % itemcount``, so popular keys are scattered over
  the key space (this matters for huge-page locality).
* ``HotspotGenerator`` -- YCSB's ``HotspotIntegerGenerator``: with
  probability ``hot_opn_fraction`` a uniform key among the first
  ``hot_data_fraction`` of the key space, else a uniform key among the rest.
* ``UniformGenerator``.

All draw from a ``numpy.random.Generator`` and return int64 arrays, so a
million keys cost milliseconds.  ``fnvhash64`` is YCSB's ``Utils.fnvhash64``
(FNV-1a over the 8 little-endian bytes of a long, then ``Math.abs``).
"""
from __future__ import annotations

import numpy as np

ZIPFIAN_CONSTANT = 0.99
SCRAMBLED_ITEM_COUNT = 10_000_000_000_000_000
SCRAMBLED_ZETAN = 26.46902820178302
FNV_OFFSET_BASIS_64 = 0xCBF29CE484222325
FNV_PRIME_64 = 1099511628211


def fnvhash64(vals) -> np.ndarray:
    """YCSB ``Utils.fnvhash64`` on an array of non-negative longs (int64 result >= 0
    except for Java's ``Math.abs(Long.MIN_VALUE)`` corner, reproduced)."""
    v = np.asarray(vals, dtype=np.int64).astype(np.uint64)
    h = np.full(v.shape, FNV_OFFSET_BASIS_64, dtype=np.uint64)
    prime = np.uint64(FNV_PRIME_64)
    with np.errstate(over="ignore"):
        for _ in range(8):
            h ^= v & np.uint64(0xFF)
            v >>= np.uint64(8)
            h *= prime
    s = h.view(np.int64)
    with np.errstate(over="ignore"):
        return np.where(s < 0, -s, s)  # Math.abs; MIN_VALUE stays negative as in Java


def zeta(n: int, theta: float, chunk: int = 1 << 22) -> float:
    """sum_{i=1..n} 1/i^theta (exact, chunked so memory stays bounded)."""
    total = 0.0
    for s in range(1, int(n) + 1, chunk):
        i = np.arange(s, min(s + chunk, int(n) + 1), dtype=np.float64)
        total += float(np.sum(i ** -theta))
    return total


class ZipfianGenerator:
    """Items ``base .. base+items-1``; item ``base`` most popular (YCSB ZipfianGenerator)."""

    def __init__(self, items: int, theta: float = ZIPFIAN_CONSTANT, base: int = 0,
                 zetan: float | None = None):
        if items < 2:
            raise ValueError(f"zipfian: need at least 2 items, got {items}")
        if not 0 < theta < 1:
            raise ValueError(f"zipfian: constant must be in (0, 1), got {theta}")
        self.items = int(items)
        self.base = int(base)
        self.theta = float(theta)
        self.zetan = zeta(items, theta) if zetan is None else float(zetan)
        self.zeta2theta = zeta(2, theta)
        self.alpha = 1.0 / (1.0 - theta)
        self.eta = ((1 - (2.0 / self.items) ** (1 - theta))
                    / (1 - self.zeta2theta / self.zetan))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random(int(n))
        uz = u * self.zetan
        x = self.items * np.power(self.eta * u - self.eta + 1, self.alpha)
        ret = np.minimum(x, float(self.items - 1)).astype(np.int64)  # Java (long) cast truncates
        ret = np.where(uz < 1.0 + 0.5 ** self.theta, 1, ret)
        ret = np.where(uz < 1.0, 0, ret)
        return self.base + ret


class ScrambledZipfianGenerator:
    """YCSB ScrambledZipfianGenerator over ``min_ .. min_+items-1``."""

    def __init__(self, items: int, theta: float = ZIPFIAN_CONSTANT, min_: int = 0):
        self.items = int(items)
        self.min = int(min_)
        zetan = SCRAMBLED_ZETAN if theta == ZIPFIAN_CONSTANT else None
        if zetan is None:
            raise ValueError("scrambled zipfian: only the constant 0.99 is supported "
                             "(YCSB precomputes zeta for it; 10^16 terms are too many)")
        self.gen = ZipfianGenerator(SCRAMBLED_ITEM_COUNT, theta, zetan=zetan)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.min + fnvhash64(self.gen.sample(rng, n)) % self.items


class HotspotGenerator:
    """YCSB HotspotIntegerGenerator over ``0 .. items-1``."""

    def __init__(self, items: int, hot_data_fraction: float = 0.2,
                 hot_opn_fraction: float = 0.8):
        if not (0 <= hot_data_fraction <= 1 and 0 <= hot_opn_fraction <= 1):
            raise ValueError("hotspot: fractions must be in [0, 1]")
        self.items = int(items)
        self.hot = int(items * hot_data_fraction)
        self.cold = self.items - self.hot
        self.opn = float(hot_opn_fraction)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        pick_hot = rng.random(int(n)) < self.opn
        if self.hot == 0:
            pick_hot[:] = False
        if self.cold == 0:
            pick_hot[:] = True
        hot = rng.integers(0, max(self.hot, 1), int(n))
        cold = self.hot + rng.integers(0, max(self.cold, 1), int(n))
        return np.where(pick_hot, hot, cold).astype(np.int64)


class UniformGenerator:
    def __init__(self, items: int):
        self.items = int(items)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, self.items, int(n)).astype(np.int64)


def make(distribution: str, items: int, theta: float = ZIPFIAN_CONSTANT,
         hot_data_fraction: float = 0.2, hot_opn_fraction: float = 0.8):
    """A generator by YCSB ``requestdistribution`` name."""
    if distribution == "zipfian":
        return ZipfianGenerator(items, theta)
    if distribution == "scrambled_zipfian":
        return ScrambledZipfianGenerator(items, theta)
    if distribution == "hotspot":
        return HotspotGenerator(items, hot_data_fraction, hot_opn_fraction)
    if distribution == "uniform":
        return UniformGenerator(items)
    raise ValueError(f"unknown distribution {distribution!r}; known: zipfian, "
                     "scrambled_zipfian, hotspot, uniform")
