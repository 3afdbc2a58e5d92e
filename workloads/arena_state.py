"""The compiled jemalloc 4.0.3 arena and Redis server behind ``workloads/redis.py``.

The behaviour modelled (and its sources: jemalloc src/arena.c, huge.c; Redis
networking.c, sds.c, dict.c, object.c) is documented in the docstrings of
``workloads/jemalloc.py`` and ``workloads/redis.py``; this module holds the
numba code that runs it at compiled speed, and the state it runs on.  Both
models live in one file so that numba's compiled cache, keyed on this file,
is invalidated by a change in either.

State (``State``, a namedtuple of numpy arrays built by ``new_state``):

* ``S`` int64[NS]: every scalar (arena counters, the emitter's position,
  the server's query buffer and hash table...), indexed by the constants below.
* Address space: sorted disjoint holes ``hs``/``he`` (bytes, [start, end)).
* Arena chunks: ``cslot[(TOPC - chunk address) // chunk]`` -> slot (-1: none);
  per slot its first page ``sbase``; per page of a slot (``slot * CP + i``):
  ``fs`` length of the free run starting there (0: none, < 0: stashed for
  purging), ``fl`` start page of the free run ending there (-1: none),
  ``df`` 1 if that free run is dirty, ``dp``/``dn`` the dirty list (oldest
  first; ``arena->runs_dirty``).  ``bh[n]`` a min-heap of start pages of
  free runs of n pages (lazily cleaned), ``nem`` a bitmask of the sizes
  whose heap may be non-empty.
* Small-object runs: ``raddr`` (B; ``-1 - addr`` once freed), ``rcls``,
  ``rnfree``, ``rmask`` uint64[runs, 8] (bit set: region free); per bin
  (class >> 3): ``bcur`` current run, ``bpages``, ``bnregs``, ``binh`` a
  min-heap of ``page << 28 | run`` of its non-full runs (lazily cleaned).
* Handles of allocations are ``x * 4 + kind``: kind 0 small (x run id), 1
  large (x pages), 2 huge (x usable bytes).
* Output ``O[0]`` words, ``O[1]`` counts: trace records (``word`` as in
  ``workloads/trace.py``: page | write bit for accesses, address | kind for
  mmap/munmap/madvise with a length in pages) and ``BOUNDARY`` where the
  pure-Python generator flushed a batch (accesses are merged with the
  previous record only within a batch, as ``TraceWriter.access`` merges).
* Per key id (int64): ``ke_a``/``ke_h`` dictEntry, ``kk_a``/``kk_h`` key sds,
  ``kr_a``/``kr_h`` robj, ``kv_a``/``kv_h`` value sds (``kv_h`` -1: embstr),
  ``kvb`` value bytes, ``kseq`` insertion number (-1: not live); ``s2k``
  insertion number -> key (the dict's iteration order, for the rehash).
* Checkpoints ``ck_acc``/``ck_live``.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import types
from numba.typed import List

from workloads.jitcache import compiled

PAGE = 4096
LINE = 64
SMALL_MAX = 14336
MISC_BYTES = 56          # sizeof(arena_chunk_map_misc_t), roughly
MASK_WORDS = 8           # region bitmap words of a run (512 regions of 8 B)
BOUNDARY = 0xF           # record word: a batch flush (never written to a trace)
MMAP, MUNMAP, MADVISE = 1, 2, 3
WBIT = 16
BATCH_WORDS = 1 << 16    # the pure-Python emitter's flush batch (words)
PROTO_MBULK_BIG_ARG = 32 * 1024
PROTO_REPLY_CHUNK_BYTES = 16 * 1024
PROTO_IOBUF_LEN = 16 * 1024
SDS_MAX_PREALLOC = 1024 * 1024
OBJ_ENCODING_EMBSTR_SIZE_LIMIT = 44
ROBJ = 16
DICT_ENTRY = 24

# S indices
(CHUNK, CP, HP, LARGE_MAX, LGD, LGQ, HUGE_PAGE, NACTIVE, NDIRTY, MAPPED, PEAK, NCHUNKS,
 NUNMAPS, NHUGE, PURGED, NPURGES, NHOLES, TOPC, DHEAD, DTAIL, NRUNS, NSFREE, NSLOTS, MINADDR,
 ON, BATCH, NACC, MERGE, KB, LIVE, HT_A, HT_H, HT_SIZE, QB_A, QB_H, QB_HDR, QB_CAP, CL_A,
 CL_H, NLIVE, SEQ, GETS, SETS, MISSES, SALT, OPS, EVERY, STEP, NCK, NBIG, NKEYS, VB, BVB,
 P1B, NS) = range(55)

State = namedtuple("State", "S hs he cslot sbase sfree fs fl df dp dn nem bh bhn bcur bpages "
                   "bnregs binh binn raddr rcls rnfree rmask O ke_a ke_h kk_a kk_h kr_a kr_h "
                   "kv_a kv_h kvb kseq s2k ck_acc ck_live")
_KEY_FIELDS = ("ke_a", "ke_h", "kk_a", "kk_h", "kr_a", "kr_h", "kv_a", "kv_h", "kvb", "kseq")


def _heaps(n: int, cap: int = 8) -> List:
    lst = List.empty_list(types.int64[:])
    for _ in range(n):
        lst.append(np.empty(cap, np.int64))
    return lst


def new_state(chunk_bytes: int, header_pages: int, lg_dirty_mult: int, huge_page: bool,
              mmap_top: int, mmap_bottom: int, lg_quantum: int, n_keys: int = 0,
              n_seq: int = 0) -> State:
    """An empty arena (and server state for ``n_keys`` key ids and ``n_seq``
    insertions); arrays grow with ``grow``."""
    cp = chunk_bytes // PAGE
    S = np.zeros(NS, np.int64)
    S[CHUNK], S[CP], S[HP] = chunk_bytes, cp, header_pages
    S[LARGE_MAX] = chunk_bytes - header_pages * PAGE
    S[LGD], S[LGQ], S[HUGE_PAGE] = lg_dirty_mult, lg_quantum, int(huge_page)
    S[TOPC] = (mmap_top // chunk_bytes + 1) * chunk_bytes
    S[MINADDR] = mmap_top
    S[DHEAD] = S[DTAIL] = -1
    S[NHOLES] = 1
    hs = np.zeros(64, np.int64)
    he = np.zeros(64, np.int64)
    hs[0], he[0] = mmap_bottom, mmap_top
    nslots = 16
    nbins = SMALL_MAX // 8 + 1
    st = State(S, hs, he, np.full(1024, -1, np.int64), np.zeros(nslots, np.int64),
               np.zeros(nslots, np.int64), np.zeros(nslots * cp, np.int64),
               np.full(nslots * cp, -1, np.int64), np.zeros(nslots * cp, np.uint8),
               np.full(nslots * cp, -1, np.int64), np.full(nslots * cp, -1, np.int64),
               np.zeros(cp // 64 + 1, np.uint64), _heaps(cp + 1), np.zeros(cp + 1, np.int64),
               np.full(nbins, -1, np.int64), np.zeros(nbins, np.int64),
               np.zeros(nbins, np.int64), _heaps(nbins), np.zeros(nbins, np.int64),
               np.zeros(1024, np.int64), np.zeros(1024, np.int64), np.zeros(1024, np.int64),
               np.zeros((1024, MASK_WORDS), np.uint64), _heaps(2, 1 << 20),
               *[np.full(max(n_keys, 1), -1, np.int64) for _ in _KEY_FIELDS],
               np.zeros(max(n_seq, 1), np.int64), np.zeros(1024, np.int64),
               np.zeros(1024, np.int64))
    return st


def _grown(a: np.ndarray, n: int, fill) -> np.ndarray:
    new = np.full((n,) + a.shape[1:], fill, a.dtype)
    new[:len(a)] = a
    return new


def grow(st: State, n_keys: int = 0, n_seq: int = 0) -> State:
    """``st`` with room for the next operation: arrays near capacity doubled
    (what the kernels' ``room`` reports missing), key arrays to ``n_keys``
    ids and ``n_seq`` insertions."""
    S = st.S
    rep = {}
    if S[NRUNS] + 64 > len(st.raddr):
        n = 2 * len(st.raddr)
        rep.update(raddr=_grown(st.raddr, n, 0), rcls=_grown(st.rcls, n, 0),
                   rnfree=_grown(st.rnfree, n, 0), rmask=_grown(st.rmask, n, 0))
    if S[NSLOTS] + 16 > len(st.sbase):
        n, cp = 2 * len(st.sbase), S[CP]
        rep.update(sbase=_grown(st.sbase, n, 0), sfree=_grown(st.sfree, n, 0),
                   fs=_grown(st.fs, n * cp, 0), fl=_grown(st.fl, n * cp, -1),
                   df=_grown(st.df, n * cp, 0), dp=_grown(st.dp, n * cp, -1),
                   dn=_grown(st.dn, n * cp, -1))
    if S[NHOLES] + 16 > len(st.hs):
        rep.update(hs=_grown(st.hs, 2 * len(st.hs), 0), he=_grown(st.he, 2 * len(st.he), 0))
    need = _cslot_need(S)
    if need > len(st.cslot):
        rep.update(cslot=_grown(st.cslot, max(need, 2 * len(st.cslot)), -1))
    if S[NCK] + 8 > len(st.ck_acc):
        rep.update(ck_acc=_grown(st.ck_acc, 2 * len(st.ck_acc), 0),
                   ck_live=_grown(st.ck_live, 2 * len(st.ck_live), 0))
    if n_keys > len(st.kseq):
        rep.update({f: _grown(getattr(st, f), n_keys, -1) for f in _KEY_FIELDS})
    if n_seq > len(st.s2k):
        rep.update(s2k=_grown(st.s2k, n_seq, 0))
    return st._replace(**rep) if rep else st


@compiled
def _cslot_need(S):
    # chunk slots an operation may need: what is mapped now, plus 64 chunks and
    # twice the largest value (placements go at most that far below MINADDR)
    return (S[TOPC] - S[MINADDR]) // S[CHUNK] + 64 + 4 * (max(S[VB], S[BVB]) // S[CHUNK] + 2)


@compiled
def room(st) -> bool:
    """True if the next operation fits in the arrays (else call ``grow``)."""
    S = st.S
    return (S[NRUNS] + 64 <= len(st.raddr) and S[NSLOTS] + 16 <= len(st.sbase)
            and S[NHOLES] + 16 <= len(st.hs) and _cslot_need(S) <= len(st.cslot)
            and S[NCK] + 8 <= len(st.ck_acc))


# -- emission ------------------------------------------------------------------
@compiled
def _put(st, word, count):
    S = st.S
    n = S[ON]
    w = st.O[0]
    if n == len(w):
        nw = np.empty(2 * n, np.int64)
        nc = np.empty(2 * n, np.int64)
        nw[:n] = w
        nc[:n] = st.O[1][:n]
        st.O[0] = nw
        st.O[1] = nc
        w = nw
    w[n] = word
    st.O[1][n] = count
    S[ON] = n + 1


@compiled
def access(st, addr, write, count):
    """One access record of ``count`` lines to the page of ``addr``."""
    S = st.S
    word = (addr & ~0xFFF) | (WBIT if write else 0)
    S[NACC] += count
    S[BATCH] += 1
    n = S[ON]
    if S[MERGE] and st.O[0][n - 1] == word:
        st.O[1][n - 1] += count
    else:
        _put(st, word, count)
        S[MERGE] = 1


@compiled
def touch(st, addr, nbytes, write):
    """Every 64-byte line of [addr, addr + nbytes), one record per page."""
    if nbytes <= 0:
        return
    end = addr + nbytes
    page = addr & ~0xFFF
    first = addr >> 6
    while page < end:
        nxt = page + PAGE
        last = (min(end, nxt) - 1) >> 6
        access(st, page, write, last - first + 1)
        first = nxt >> 6
        page = nxt


@compiled
def flush(st):
    """End the current batch (the pure-Python emitter's ``flush``)."""
    S = st.S
    if S[MERGE]:
        _put(st, BOUNDARY, 0)
    S[MERGE] = 0
    S[BATCH] = 0


@compiled
def _event(st, kind, addr, length):
    flush(st)
    _put(st, addr | kind, length // PAGE)


# -- heaps (min-heaps of int64 in a typed list, with counts) -------------------
@compiled
def _hpush(L, cnt, i, v):
    a = L[i]
    n = cnt[i]
    if n == len(a):
        b = np.empty(2 * n, np.int64)
        b[:n] = a
        L[i] = b
        a = b
    j = n
    while j > 0:
        p = (j - 1) >> 1
        if a[p] <= v:
            break
        a[j] = a[p]
        j = p
    a[j] = v
    cnt[i] = n + 1


@compiled
def _hpop(L, cnt, i):
    a = L[i]
    n = cnt[i] - 1
    cnt[i] = n
    v = a[n]
    j = 0
    while True:
        c = 2 * j + 1
        if c >= n:
            break
        if c + 1 < n and a[c + 1] < a[c]:
            c += 1
        if v <= a[c]:
            break
        a[j] = a[c]
        j = c
    if n > 0:
        a[j] = v


