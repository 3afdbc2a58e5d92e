"""Redis key-value store on jemalloc: HawkEye's memory-bloat experiment (Fig. 1).

What it imitates
----------------
A single-threaded Redis 3.2/4.0 server (one client connection) whose heap is
managed by the bundled jemalloc 4, modelled at page level by
``workloads/jemalloc.py`` (size classes, small objects packed in runs inside
2 MiB chunks, page runs, huge objects in their own mappings, purging with
``madvise(MADV_DONTNEED)``, empty chunks unmapped).  HawkEye's experiment
(paper §1.1 / Fig. 1):

* P1 ``p1_insert``: insert ``n_keys`` pairs of a ``key_bytes`` (10 B) key and a
  ``value_bytes`` (4 KiB) value.  Paper: 11M keys, ~45 GB.
* P2 ``p2_delete``: delete ``delete_fraction`` (80%) of the keys, chosen at random
  (exactly ``round(delete_fraction * n_keys)``), in random order.
* ``pause``: no accesses; the trailer's ``pauses`` gives its length in seconds
  (``pause_s``) so the simulator can let background threads (khugepaged, HawkEye's
  bloat recovery) run.
* P3 ``p3_insert_large``: insert pairs with ``big_value_bytes`` (2 MiB) values
  until the live dataset is back at its P1 size (paper: 17K values, 45 GB).
* ``serve`` (optional, ``serve_requests`` > 0): GET/SET requests over the
  P1 key space (keys ``0..n_keys-1``; deleted keys miss on GET and are
  re-inserted by SET) with YCSB key popularity (``distribution``:
  ``scrambled_zipfian`` (default; constant ``zipf_constant`` 0.99, FNV-1a
  scrambling so hot keys are scattered in memory), ``zipfian`` (un-scrambled:
  hot keys are the earliest inserted, so adjacent in memory), ``hotspot``
  (``hot_data_fraction`` 0.2 of the keys get ``hot_opn_fraction`` 0.8 of the
  requests) or ``uniform``) and a read fraction from ``ycsb`` preset ``A``
  (0.5), ``B`` (0.95), ``C`` (1.0), or ``read_fraction`` if given.  With
  ``bloat=False`` the phases are P1 then ``serve``.

Per request the trace has (one access per 64-byte line touched, per page):
the request written into the query buffer (``recv``) and parsed from it;
argument objects allocated (``embstr`` for the key, raw ``robj`` + ``sds``
for a value) and freed; the dict bucket read (and written on insert/delete),
the ``dictEntry``, the key ``sds`` compared; on insert the key ``sds`` copy and
the ``dictEntry`` allocated and written; the value bytes written (SET) or read
(GET) and the reply written to and sent from the client buffer (values over
16 KiB are sent straight from the object, as Redis does); allocator metadata
(the chunk map) whenever a page run is allocated, freed or purged.

The query buffer is an ``sds`` grown as ``sdsMakeRoomFor`` grows it (sds.c):
``sdsempty()`` at first, 32 KiB (sdshdr16) after the first 16 KiB read.
Values of 32 KiB or more (``PROTO_MBULK_BIG_ARG``) take Redis's big-argument
path (networking.c ``processMultibulkBuffer``, identical in 3.2 and 4.0): the
buffer is made room for value + CRLF (the first time: 2 MiB + 2 + 1 MiB of
prealloc, a 3.5 MiB class), receives the value, becomes the value, and the
next query buffer is ``sdsnewlen(NULL, ll+2)``: a malloc of 9 + ll + 2 + 1
bytes (sdshdr32) that sds.c memsets, so each 2 MiB value leaves behind a
2097164-byte buffer whose every page is written, the first 12 bytes of a
second 2 MiB region included; the next value is received into it (its CRLF
at bytes 2097161-2097162, in that second region).
The hash table doubles when full (Redis ``dictExpand``); the
rehash is done at once (old buckets read in order; each entry, its key, its
new bucket) instead of Redis's incremental one-bucket-per-request steps.
Not modelled: bucket chains longer than one, the expires dict, persistence,
client-side and kernel work outside the process's memory, thread-cache
metadata.  Generation runs compiled at ~210K requests/s, trace writing
included (1M keys, P1-P3: 8.5 CPU-s, of which the model 3.3 s and the
TraceWriter's merging and zstd 5.3 s; the pure-Python model took 59 s);
the paper's 11M keys take 104 CPU-s and 3.7 GB peak RSS (measured with
/usr/bin/time on this project's 2-core VM, 2026-11-29), holding O(live keys)
state in arrays (~80 B a key), never the access stream.

Sizes (lg_quantum 4): a 4 KiB value is an ``sds`` of 4096+5+1 bytes -> jemalloc
class 5120 (runs of 4 per 5 pages); the key ``sds`` 10+1+1 -> 16; ``robj``
16; ``dictEntry`` 24 -> 32 (24 with lg_quantum 3).  A 2 MiB value is a
2097164-byte buffer -> huge class 2.5 MiB, mapped as a 4 MiB chunk-aligned
region with ``huge_map="chunk"``.

Parameters (``defaults``)
-------------------------
n_keys (65536; the paper's 11M scaled by 1/168: P1 dataset 269 MB), key_bytes
(10), value_bytes (4096), delete_fraction (0.8), big_value_bytes (2 MiB),
pause_s (10.0), bloat (True), serve_requests (0), ycsb ("A"), read_fraction
(None: from the preset), distribution ("scrambled_zipfian"), zipf_constant
(0.99), hot_data_fraction (0.2), hot_opn_fraction (0.8), chunk_mib (2),
lg_dirty_mult (3: jemalloc 4.0.3's ``LG_DIRTY_MULT_DEFAULT``; dirty pages
purged above 1/8 of the active ones; -1 never), lg_quantum (4: Redis 3.2's
jemalloc build; 3: Redis 4.0's), huge_map ("chunk"), cycles_per_access (100: ~10 us per 4 KiB SET
at ~2.5 GHz spread over its ~230 accesses; Redis is syscall-bound),
mmap_top (0x7f0000000000), checkpoints (100: live-byte checkpoints per run).

Trailer extras: ``live_bytes`` [[access_index, live dataset bytes], ...] at
every phase boundary, every ~1% of the operations and whenever the live
dataset moved by ~1% of its P1 size (live dataset = sum of key and value
bytes of the live keys; ``checkpoints`` sets the 100); ``pauses``
{"pause": pause_s}; ``redis`` {p1_bytes, n_deleted, n_large, final_live_bytes,
live_after_p2, chunks_mapped, chunks_unmapped, huge_mappings, purged_pages,
purges, peak_mapped_bytes, gets, sets, misses}.

The server and its allocator run compiled (``workloads/redis_jit.py`` on
``workloads/jemalloc_jit.py``); ``RedisModel`` is the server's Python face.
"""
from __future__ import annotations

import numpy as np

from hpsim.numba_cache import compiling_alone
from workloads import arena_state as A
from workloads import redis_jit as R
from workloads import zipf
from workloads.base import Workload, register
from workloads.jemalloc import Jemalloc

YCSB_READ = {"A": 0.5, "B": 0.95, "C": 1.0}
# records the output may hold before the generator hands them to the trace writer
OUT_RECORDS = 1 << 20
# seconds of the first compilation of the Redis and jemalloc kernels: a small redis
# trace (1000 keys) with an empty NUMBA_CACHE_DIR took 42.7 s of CPU (45.7 s wall),
# 1.0 s with the cache (`python -m workloads.generate`, this project's 2-core VM,
# 2026-11-30; 58.7 s before the kernels called only from compiled code lost their
# CPython wrappers, workloads/jitcache.py)
COMPILE_S = 45
_SLICE = 1 << 22                     # records per TraceWriter.access call


def sds_hdr_size(n: int) -> int:
    """Header bytes of an sds of length n: ``sdsHdrSize(sdsReqType(n))`` (sds.c;
    type 5 below 32 B, sdshdr8 below 256, sdshdr16 below 64 KiB, sdshdr32 below
    4 GiB, sdshdr64 above)."""
    return int(R.sds_hdr_size(int(n)))


def sds_alloc_size(n: int) -> int:
    """Bytes ``sdsnewlen(init, n)`` asks ``s_malloc`` for: header + n + NUL (sds.c)."""
    return sds_hdr_size(n) + n + 1


def multibulk_bytes(*args: int) -> int:
    """Bytes of a RESP multibulk request whose arguments have these lengths
    (``*<argc>\\r\\n`` then ``$<len>\\r\\n<arg>\\r\\n`` each; networking.c
    ``processMultibulkBuffer``)."""
    return 3 + len(str(len(args))) + sum(int(R._bulk(int(a))) for a in args)


class Emitter:
    """Hands the compiled model's output records to a ``TraceWriter`` (or any
    object with its ``access``, ``mmap``, ``munmap``, ``madvise_dontneed``),
    batch by batch as the pure-Python generator flushed them: accesses are
    merged within a batch only, and a batch ends at every mmap, munmap,
    madvise and phase, and after the operation that fills it to 65536 words."""

    def __init__(self, out):
        self.out = out
        self.heap: Jemalloc | None = None

    def bind(self, heap: Jemalloc) -> None:
        self.heap = heap

    def drain(self, final: bool = False) -> None:
        """Write out the records so far; unless ``final``, the last access of an
        unfinished batch stays (the next access may still merge with it)."""
        st = self.heap.st
        if final:
            A.flush(st)
        n = int(st.S[A.ON])
        keep = 1 if st.S[A.MERGE] and n else 0
        w = st.ow[:n - keep].view(np.uint64)
        c = st.oc[:n - keep]
        kinds = w & np.uint64(0xF)
        cut = np.flatnonzero(kinds != 0)
        pos = 0
        for e in cut.tolist() + [len(w)]:
            for s in range(pos, e, _SLICE):
                t = min(e, s + _SLICE)
                self.out.access(w[s:t] & np.uint64(~0x1F & (2 ** 64 - 1)),
                                (w[s:t] & np.uint64(A.WBIT)) != 0, c[s:t].astype(np.uint64))
            if e < len(w):
                kind, addr, length = int(kinds[e]), int(w[e]) & ~0xFFF, int(c[e]) * A.PAGE
                if kind == A.MMAP:
                    self.out.mmap(addr, length)
                elif kind == A.MUNMAP:
                    self.out.munmap(addr, length)
                elif kind == A.MADVISE:
                    self.out.madvise_dontneed(addr, length)
            pos = e + 1
        if keep:
            st.ow[0], st.oc[0] = st.ow[n - 1], st.oc[n - 1]
        st.S[A.ON] = keep
        if len(st.ow) > 4 * (OUT_RECORDS + A.out_need(st.S)):   # after a rehash: shrink
            n = OUT_RECORDS + A.out_need(st.S)
            self.heap.st = st._replace(ow=st.ow[:n].copy(), oc=st.oc[:n].copy())

    def flush(self) -> None:
        """End the batch and write everything out."""
        self.drain(final=True)

    def phase(self, name: str) -> None:
        self.flush()
        self.out.phase(name)

    @property
    def n_accesses(self) -> int:
        return int(self.heap.st.S[A.NACC])


class RedisModel:
    """The server: one db dict, one client, jemalloc underneath (compiled;
    see the module docstring).  ``heap`` must be bound to ``em``."""

    def __init__(self, em: Emitter, heap: Jemalloc, key_bytes: int, salt: int):
        self.em = em
        self.heap = heap
        heap.grow(1024, 1024)
        R.server_init(heap.st, int(key_bytes), int(salt))

    def _room(self, k: int) -> A.State:
        st = self.heap.st
        if k >= len(st.kseq) or st.S[A.SEQ] >= len(st.s2k) or not A.room(st):
            self.heap.grow(2 * max(k + 1, len(st.kseq)), 2 * len(st.s2k))
        return self.heap.st

    def set(self, k: int, vbytes: int) -> None:
        R.cmd_set(self._room(k), int(k), int(vbytes))

    def delete(self, k: int) -> bool:
        return bool(R.cmd_del(self._room(k), int(k)))

    def get(self, k: int) -> bool:
        return bool(R.cmd_get(self._room(k), int(k)))

    def value(self, k: int) -> tuple[int, int]:
        """(address, usable bytes) of key k's value sds (embstr: its robj)."""
        st = self.heap.st
        if st.kv_h[k] < 0:
            return int(st.kr_a[k]), int(R.size_class(st.kr_h[k] >> 2, st.S[A.LGQ]))
        return int(st.kv_a[k]), self._usable(int(st.kv_a[k]), int(st.kv_h[k]))

    def _usable(self, a: int, h: int) -> int:
        st = self.heap.st
        return int(st.rcls[h >> 2]) if h & 3 == 0 else (h >> 2 if h & 3 == 2 else (h >> 2) * A.PAGE)

    def entry_addr(self, k: int) -> int:
        return int(self.heap.st.ke_a[k])

    @property
    def qb(self) -> tuple[int, int]:
        """(address, usable bytes) of the query buffer."""
        S = self.heap.st.S
        return int(S[A.QB_A]), self._usable(int(S[A.QB_A]), int(S[A.QB_H]))

    qb_cap = property(lambda self: int(self.heap.st.S[A.QB_CAP]), doc="sds alloc (B)")
    qb_hdr = property(lambda self: int(self.heap.st.S[A.QB_HDR]), doc="sds header (B)")


# Generator memory per key: peak RSS 566 MB at 1M keys, 3.70 GB at 11M (339 and
# 322 B a key above HOST_BASE_BYTES: the per-key arrays, the chunk pages, and the
# output of the last rehash, 6 records a key), measured with /usr/bin/time -v
# on this project's 2-core VM, 2026-11-29; rounded up.
HOST_BYTES_PER_KEY = 350


@register("redis")
class Redis(Workload):
    __doc__ = __doc__  # the module docstring documents parameters and phases
    work_unit = "operations"
    access_bytes = 64        # one access per 64-byte line touched (the module's doc)
    defaults = {
        "n_keys": 65536,
        "key_bytes": 10,
        "value_bytes": 4096,
        "delete_fraction": 0.8,
        "big_value_bytes": 2 << 20,
        "pause_s": 10.0,
        "bloat": True,
        "serve_requests": 0,
        "ycsb": "A",
        "read_fraction": None,
        "distribution": "scrambled_zipfian",
        "zipf_constant": 0.99,
        "hot_data_fraction": 0.2,
        "hot_opn_fraction": 0.8,
        "chunk_mib": 2,
        "lg_dirty_mult": 3,
        "lg_quantum": 4,
        "huge_map": "chunk",
        "cycles_per_access": 100,
        "llc_misses_per_access": 0.0,   # data cost off unless configured (config.yaml)
        "mmap_top": 0x7F0000000000,
        "checkpoints": 100,
    }

    def validate(self):
        """The check across parameters (types and ranges: config/schema.yaml $defs/redis)."""
        p = self.params
        if not p["bloat"] and int(p["serve_requests"]) == 0:
            raise ValueError("redis.params.serve_requests: 0 is not allowed "
                             "(must be > 0 when bloat is false)")

    def host_bytes(self) -> int:
        """Generator peak memory: the base plus ``HOST_BYTES_PER_KEY`` per key."""
        return super().host_bytes() + HOST_BYTES_PER_KEY * int(self.params["n_keys"])

    def generate(self, out):
        # the kernels compile at their first calls in _generate: one job at a
        # time, so a second Redis trace of a cold workflow waits and loads them
        with compiling_alone(R.run_ops, "Redis trace generator kernels", COMPILE_S):
            self._generate(out)

    def _generate(self, out):
        p = self.params
        rng = np.random.default_rng(self.seed)
        n = int(p["n_keys"])
        kb, vb, bvb = int(p["key_bytes"]), int(p["value_bytes"]), int(p["big_value_bytes"])
        em = Emitter(out)
        heap = Jemalloc(em, chunk_bytes=int(p["chunk_mib"]) << 20,
                        lg_dirty_mult=int(p["lg_dirty_mult"]), huge_map=p["huge_map"],
                        mmap_top=int(p["mmap_top"]), lg_quantum=int(p["lg_quantum"]))
        out.cycles(int(p["cycles_per_access"]), float(p["llc_misses_per_access"]))
        em.phase("p1_insert")
        p1_bytes = n * (kb + vb)
        n_del = int(round(float(p["delete_fraction"]) * n)) if p["bloat"] else 0
        n_big_est = (-(-(n_del * (kb + vb)) // (kb + bvb))) if p["bloat"] else 0
        serve = int(p["serve_requests"])
        total_ops = n + n_del + n_big_est + serve
        # key ids: P1's 0..n-1, then P3's; insertions: those and SETs of deleted keys
        heap.grow(n + n_big_est + 1, n + n_big_est + serve + 1)
        st, S = heap.st, heap.st.S
        S[A.NKEYS], S[A.VB], S[A.BVB], S[A.P1B] = n, vb, bvb, p1_bytes
        S[A.EVERY] = max(1, total_ops // max(1, int(p["checkpoints"])))
        S[A.STEP] = max(1, p1_bytes // max(1, int(p["checkpoints"])))
        S[A.NCK] = 1                            # the first point: [0 accesses, 0 bytes]
        R.server_init(st, kb, int(rng.integers(0, 1 << 62)))
        no_keys, no_reads = np.zeros(0, np.int64), np.zeros(0, np.bool_)

        def run(mode, keys, reads, end):
            i = 0
            while True:
                i, done = R.run_ops(heap.st, mode, keys, reads, i, end, OUT_RECORDS)
                em.drain()
                self.progress(int(heap.st.S[A.OPS]), total_ops)
                if done:
                    return
                heap.grow()

        def ckpt():
            heap.grow()
            R.checkpoint(heap.st, True)

        ckpt()
        run(0, no_keys, no_reads, n)
        ckpt()
        stats = {"p1_bytes": p1_bytes}
        if p["bloat"]:
            em.phase("p2_delete")
            ckpt()
            run(1, rng.permutation(n)[:n_del].astype(np.int64), no_reads, n_del)
            ckpt()
            stats["live_after_p2"] = int(heap.st.S[A.LIVE])
            em.phase("pause")
            ckpt()
            em.phase("p3_insert_large")
            run(2, no_keys, no_reads, 0)
            ckpt()
            stats.update(n_deleted=n_del, n_large=int(heap.st.S[A.NBIG]))
            self.trailer_extra["pauses"] = {"pause": float(p["pause_s"])}
        if serve > 0:
            em.phase("serve")
            ckpt()
            gen = zipf.make(p["distribution"], n, float(p["zipf_constant"]),
                            float(p["hot_data_fraction"]), float(p["hot_opn_fraction"]))
            rf = YCSB_READ[p["ycsb"]] if p["read_fraction"] is None else float(p["read_fraction"])
            left = serve
            while left:
                b = min(left, 1 << 16)
                keys = np.asarray(gen.sample(rng, b)).astype(np.int64)
                reads = rng.random(b) < rf
                run(3, keys, reads, b)
                left -= b
            ckpt()
        em.flush()
        st, S = heap.st, heap.st.S
        nck = int(S[A.NCK])
        self.trailer_extra["live_bytes"] = [[a, b] for a, b in zip(st.ck_acc[:nck].tolist(),
                                                                   st.ck_live[:nck].tolist())]
        stats.update({k: int(S[i]) for k, i in (
            ("final_live_bytes", A.LIVE), ("chunks_mapped", A.NCHUNKS),
            ("chunks_unmapped", A.NUNMAPS), ("huge_mappings", A.NHUGE),
            ("purged_pages", A.PURGED), ("purges", A.NPURGES), ("peak_mapped_bytes", A.PEAK),
            ("gets", A.GETS), ("sets", A.SETS), ("misses", A.MISSES))})
        self.trailer_extra["redis"] = stats
