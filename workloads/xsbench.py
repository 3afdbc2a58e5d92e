"""XSBench-like: random macroscopic cross-section lookups (the paper's Fig. 5 workload).

What it imitates
----------------
XSBench (ANL-CESAR/XSBench, ``openmp-threading/``), unionized-grid lookups of
the event-based simulation, one thread:

* ``GridInit.c`` ``grid_init_do_not_profile``: ``nuclide_grid`` =
  n_isotopes x n_gridpoints ``NuclideGridPoint`` (6 doubles, 48 B: energy and
  five cross sections), each nuclide's points sorted by energy; the unionized
  energy grid = all n_isotopes * n_gridpoints energies, sorted (doubles); the
  index grid = n_isotopes ints per unionized point, ``index_grid[e*n_iso + i]``
  = the lower bounding point of nuclide i at unionized energy e.
* ``Materials.c``: 12 materials with ``load_num_nucs`` nuclide counts (fuel:
  321 in the "large" problem, 34 in "small"), ``load_mats`` nuclide lists;
  ``Simulation.c`` ``pick_mat``: the material CDF by core volume.
* ``Simulation.c`` ``calculate_macro_xs``: ``grid_search`` (binary search of
  the unionized grid for a random energy), then for each nuclide j of the
  material: ``mats[mat*max+j]``, ``concs[mat*max+j]``, ``index_grid[idx*n_iso
  + nuc]`` and the two bounding nuclide-grid points ``low`` and ``low+1``
  (``calculate_micro_xs``: all six doubles of both are read).

Sizes (``size`` "large" = XSBench ``-s large``: n_isotopes 355, n_gridpoints
11303; "small": 68 isotopes, same grid points).  ``grid_scale`` multiplies
n_gridpoints (``n_gp = max(2, round(11303 * grid_scale))``); n_isotopes stays,
so the materials are the code's.  Bytes, with n = n_iso * n_gp:

    nuclide_grid   48 n                 (large, scale 1: 192.6 MB)
    unionized       8 n                 (32.1 MB)
    index_grid      4 n * n_iso         (5.70 GB)
    materials      num_nucs, mats, concs (12 ints; 12*max ints; 12*max doubles)

Footprint at scale 1 ("large"): 5.92e9 B (5.5 GiB, XSBench prints 5648 MB);
it is linear in ``grid_scale`` (523,980 B per grid point at "large").

Access stream (page-granular; same-page runs merged as ``out.access`` merges them)
-------------------------------------------------------------------
Phase "init": each array is mapped (its own 2 MiB aligned VMA, in
allocation order) and written once, sequentially, one count per element (the
per-nuclide qsorts and the reads that feed the writes are not traced).
Phase "lookup": ``lookups`` lookups, per lookup in program order:

    grid_search        1 read of unionized[x] per halving step (s steps)
    num_nucs[mat]      1 read
    per nuclide j      mats[.] 1, concs[.] 1, index_grid[.] 1,
                       low point 6 (at its first byte), high point 6 (at
                       its last byte: the two points' pages exactly)

so a lookup makes ``s + 1 + 15 * num_nucs[mat]`` accesses (s is
floor or ceil of log2(n - 1)).  Energies, the material and the grids are drawn
with ``numpy.random.default_rng(seed)`` (uniform energies in [0, 1) as
XSBench's LCG; not bit-identical to its random stream).

Cost here (2-core VM, ``/usr/bin/time``, 2026-11-30): the 17M lookups of
XSBench's event mode at grid_scale 1.0, 4.05G records (2.7 GB), in 142 CPU s
(127 user, 15 system) and 383 MB peak RSS; the lookup loop is compiled
(``workloads/xsbench_jit.py``, about 11 ns a record) and zstd takes about as
long again, on the trace writer's second thread.  The numpy loop before it:
739 CPU s, the same bytes.
"""
from __future__ import annotations

import numpy as np

from workloads import xsbench_jit as J
from workloads.base import Workload, register
from workloads.graph500 import align_huge
from workloads.rows import sweep
from workloads.trace import PAGE_SIZE, RECORD_BYTES
from workloads.xsbench_jit import DOUBLE_BYTES, INT_BYTES, POINT_BYTES  # their one home

N_GRIDPOINTS = 11303                       # XSBench io.c: default n_gridpoints
N_ISOTOPES = {"large": 355, "small": 68}   # io.c: -s large / small
# Materials.c load_num_nucs (material 0, fuel: 321 large, 34 small)
NUM_NUCS_REST = (5, 4, 4, 27, 21, 21, 21, 21, 21, 9, 9)
FUEL_NUCS = {"large": 321, "small": 34}
# Simulation.c pick_mat: CDF of the 12 materials
MAT_CDF = np.array([0.140, 0.192, 0.467, 0.601, 0.755, 0.819, 0.885, 0.940, 0.948,
                    0.963, 0.988, 1.0])
# Materials.c load_mats
_FUEL_SMALL = (58, 59, 60, 61, 40, 42, 43, 44, 45, 46, 1, 2, 3, 7, 8, 9, 10, 29, 57, 47,
               48, 0, 62, 15, 33, 34, 52, 53, 54, 55, 56, 18, 23, 41)
_WATER = (24, 41, 4, 5)
_CLAD = (63, 64, 65, 66, 67)
_RPV = (19, 20, 21, 22, 35, 36, 37, 38, 39, 25, 27, 28, 29, 30, 31, 32, 26, 49, 50, 51,
        11, 12, 13, 14, 6, 16, 17)
_REFL = _WATER + (19, 20, 21, 22, 35, 36, 37, 38, 39, 25, 49, 50, 51, 11, 12, 13, 14)
_NONFUEL = (_CLAD, _WATER, _WATER, _RPV, _REFL, _REFL, _REFL, _REFL, _REFL,
            _WATER + _CLAD, _WATER + _CLAD)
# Lookups drawn (a chunk_lookups at a time, as before) per batch handed to the
# compiled loop: a batch's energies and materials take 16 B a lookup.
BATCH_LOOKUPS = 1 << 16


def num_nucs(size: str) -> np.ndarray:
    """Nuclides per material, shape (12,) int64 (``Materials.c`` ``load_num_nucs``)."""
    return np.array((FUEL_NUCS[size],) + NUM_NUCS_REST, np.int64)


def material_table(size: str) -> np.ndarray:
    """``mats`` as XSBench lays it out: shape (12, max_num_nucs) int64, row m
    holds material m's nuclide ids, padded with -1 (``load_mats``)."""
    nn = num_nucs(size)
    fuel = _FUEL_SMALL if size == "small" else _FUEL_SMALL + tuple(range(68, 68 + 321 - 34))
    mats = np.full((12, int(nn.max())), -1, np.int64)
    for m, lst in enumerate((fuel,) + _NONFUEL):
        mats[m, :len(lst)] = lst
    return mats


@register("xsbench")
class XSBench(Workload):
    __doc__ = __doc__  # the module docstring documents parameters and layout
    work_unit = "lookups"
    defaults = {
        "size": "large",
        "grid_scale": 1.0,
        "lookups": 17_000_000,
        "cycles_per_access": 10,
        "llc_misses_per_access": 0.0,   # data cost off unless configured (config.yaml)
        "base_addr": 0x7F0000000000,
        "chunk_lookups": 1024,
    }

    # -- sizes ---------------------------------------------------------------
    @property
    def n_isotopes(self) -> int:
        return N_ISOTOPES[self.params["size"]]

    @property
    def n_gridpoints(self) -> int:
        return max(2, int(round(N_GRIDPOINTS * float(self.params["grid_scale"]))))

    def array_bytes(self) -> dict[str, int]:
        """Bytes of each array, in allocation order (``GridInit.c``, ``Materials.c``)."""
        n_iso, n = self.n_isotopes, self.n_isotopes * self.n_gridpoints
        mx = int(num_nucs(self.params["size"]).max())
        return {"nuclide_grid": POINT_BYTES * n, "unionized": DOUBLE_BYTES * n,
                "index_grid": INT_BYTES * n * n_iso,
                "materials": self._mat_offsets()[2] + DOUBLE_BYTES * 12 * mx}

    def _mat_offsets(self) -> tuple[int, int, int]:
        """Byte offsets of num_nucs, mats, concs in the materials VMA (16 B aligned
        consecutive allocations, as small mallocs)."""
        mx = int(num_nucs(self.params["size"]).max())
        mats = 64
        concs = (mats + INT_BYTES * 12 * mx + 15) // 16 * 16
        return 0, mats, concs

    def footprint_bytes(self) -> int:
        """Mapped bytes (each array rounded up to 4 KiB pages)."""
        return sum(-(-b // PAGE_SIZE) * PAGE_SIZE for b in self.array_bytes().values())

    def layout(self) -> dict[str, int]:
        """Virtual base address of each array: 2 MiB aligned VMAs from base_addr up."""
        va, a = {}, int(self.params["base_addr"])
        for name, b in self.array_bytes().items():
            va[name] = a
            a += align_huge(b)
        return va

    def _out_records(self) -> int:
        """Records of the compiled loop's output buffer: two chunks of lookups
        at the most a lookup can make (64 search steps, num_nucs, 5 per
        nuclide of fuel), so each call takes at least one whole chunk."""
        mx = int(num_nucs(self.params["size"]).max())
        return 2 * int(self.params["chunk_lookups"]) * (64 + 1 + 5 * mx)

    def host_bytes(self) -> int:
        """The base; the nuclide energies, unionized grid and their shifted
        copy ``flat`` (24 B per point), ``buckets`` (4 B each, 4 per point),
        the compiled loop's output (``RECORD_BYTES`` per record) and a batch
        of lookups (16 B each)."""
        n = self.n_isotopes * self.n_gridpoints
        n_buckets = self.n_isotopes * (J.BUCKETS_PER_POINT * self.n_gridpoints + 2)
        return (super().host_bytes() + 3 * DOUBLE_BYTES * n + INT_BYTES * n_buckets
                + RECORD_BYTES * self._out_records() + 16 * BATCH_LOOKUPS)

    def min_resident_bytes(self) -> int:
        """Every array is written at initialisation and kept to the end."""
        return self.footprint_bytes()

    # -- data shared with tests ------------------------------------------------
    def make_grids(self):
        """(nuclide energies float64 (n_iso, n_gp) sorted per row, unionized
        float64 (n_iso*n_gp,) sorted, rng for the lookups)."""
        rng = np.random.default_rng(self.seed)
        e = np.sort(rng.random((self.n_isotopes, self.n_gridpoints)), axis=1)
        return e, np.sort(e, axis=None), rng

    @staticmethod
    def sample(rng: np.random.Generator, k: int):
        """k lookups' (energy float64 (k,), material int64 (k,)), ``pick_mat``."""
        energy = rng.random(k)
        mat = np.minimum(np.searchsorted(MAT_CDF, rng.random(k), side="right"), 11)
        return energy, mat.astype(np.int64)

    # -- the trace -------------------------------------------------------------
    def generate(self, out):
        p = self.params
        size, n_iso, n_gp = p["size"], self.n_isotopes, self.n_gridpoints
        sizes, va = self.array_bytes(), self.layout()
        out.cycles(int(p["cycles_per_access"]), float(p["llc_misses_per_access"]))
        out.phase("init")
        for name, b in sizes.items():
            out.mmap(va[name], -(-b // PAGE_SIZE) * PAGE_SIZE)
            sweep(out, va[name], b, write=True, elem=INT_BYTES if name == "index_grid"
                  else DOUBLE_BYTES)
        energies, unionized, rng = self.make_grids()
        # each nuclide's energies shifted by 2 * its id, as the index search has
        # always compared them (xsbench_jit's docstring)
        flat = (energies + 2.0 * np.arange(n_iso)[:, None]).ravel()
        del energies
        buckets = np.empty((n_iso, J.BUCKETS_PER_POINT * n_gp + 2), np.int32)
        J.fill_buckets(flat, n_gp, buckets)
        nn, mats = num_nucs(size), material_table(size)
        o_nn, o_mats, o_concs = (va["materials"] + o for o in self._mat_offsets())
        addrs = np.array([va["unionized"], o_nn, o_mats, o_concs, va["index_grid"],
                          va["nuclide_grid"]], np.int64)      # J.UNIONIZED ... order
        cap = self._out_records()
        words, counts = np.empty(cap, np.int64), np.empty(cap, np.uint32)
        lows = np.empty((2, mats.shape[1]), np.int64)
        out.phase("lookup")
        total, chunk = int(p["lookups"]), int(p["chunk_lookups"])
        batch = chunk * max(1, BATCH_LOOKUPS // chunk)
        per_mat = np.zeros(12, np.int64)
        done = 0
        while done < total:
            k = min(batch, total - done)
            # the random stream as drawn before: a chunk's energies, then its materials
            draws = [self.sample(rng, min(chunk, k - s)) for s in range(0, k, chunk)]
            energy = np.concatenate([e for e, _ in draws])
            mat = np.concatenate([m for _, m in draws])
            per_mat += np.bincount(mat, minlength=12)
            i = 0
            while i < k:
                i, n = J.lookup_records(energy, mat, i, chunk, unionized, flat, buckets, n_gp,
                                        n_iso, nn, mats, addrs, lows, words, counts)
                out.access_runs(words[:n].view(np.uint64), counts[:n])
            done += k
            self.progress(done, total)
        self.trailer_extra["xsbench"] = {
            "n_isotopes": n_iso, "n_gridpoints": n_gp, "array_bytes": sizes,
            "footprint_bytes": self.footprint_bytes(), "lookups_per_material": per_mat.tolist()}
