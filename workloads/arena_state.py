"""The state of the compiled jemalloc arena and Redis server, and their output.

The behaviour modelled (and its sources: jemalloc src/arena.c, huge.c; Redis
networking.c, sds.c, dict.c, object.c) is documented in the docstrings of
``workloads/jemalloc.py`` and ``workloads/redis.py``; the compiled code is in
``workloads/jemalloc_jit.py`` and ``workloads/redis_jit.py``.  This module
holds the arrays they run on, their growth between operations (kernels never
allocate, see ``workloads/jitcache.py``), the emission of trace records, and
the heaps.

State (``State``, a namedtuple of numpy arrays built by ``new_state``):

* ``S`` int64[NS]: every scalar (arena counters, the emitter's position,
  the server's query buffer and hash table...), indexed by the constants below.
* Address space: sorted disjoint holes ``hs``/``he`` (bytes, [start, end)).
* Arena chunks: ``cslot[(TOPC - chunk address) // chunk]`` -> slot (-1: none);
  per slot its first page ``sbase``; per page of a slot (``slot * CP + i``):
  ``fs`` length of the free run starting there (0: none, < 0: stashed for
  purging), ``fl`` start page of the free run ending there (-1: none),
  ``df`` 1 if that free run is dirty, ``dp``/``dn`` the dirty list (oldest
  first; ``arena->runs_dirty``).  Heap n (0..CP) is a min-heap of start
  pages of free runs of n pages (lazily cleaned), ``nem`` a bitmask of the
  sizes whose heap may be non-empty.
* Small-object runs: ``raddr`` (B; ``-1 - addr`` once freed), ``rcls``,
  ``rnfree``, ``rmask`` uint64[runs, 8] (bit set: region free); per bin
  (class >> 3): ``bcur`` current run, ``bpages``, ``bnregs``, and heap
  CP + 1 + bin, a min-heap of ``page << 28 | run`` of its non-full runs
  (lazily cleaned).
* Heaps: all in the pool ``hp``, heap i at ``hoff[i]`` with room for
  ``hcap[i]`` entries and ``hcnt[i]`` used; one that fills moves to the
  pool's top (``POOLTOP``) with twice the room, and ``grow`` compacts.
* Handles of allocations are ``x * 4 + kind``: kind 0 small (x run id), 1
  large (x pages), 2 huge (x usable bytes).
* Output ``ow`` words, ``oc`` counts: trace records (``word`` as in
  ``workloads/trace.py``: page | write bit for accesses, address | kind for
  mmap/munmap/madvise with a length in pages) and ``BOUNDARY`` where the
  pure-Python generator flushed a batch (accesses are merged with the
  previous record only within a batch, as ``TraceWriter.access`` merges).
* Per key id (int64): ``ke_a``/``ke_h`` dictEntry, ``kk_a``/``kk_h`` key sds,
  ``kr_a``/``kr_h`` robj, ``kv_a``/``kv_h`` value sds (``kv_h`` -1: embstr),
  ``kvb`` value bytes, ``kseq`` insertion number (-1: not live); ``s2k``
  insertion number -> key (the dict's iteration order, for the rehash).
* Checkpoints ``ck_acc``/``ck_live``; ``order`` scratch for the rehash.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from workloads.jitcache import compiled, entry

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
 P1B, POOLTOP, HMAXCAP, NS) = range(57)

State = namedtuple("State", "S hs he cslot sbase sfree fs fl df dp dn nem hp hoff hcap hcnt "
                   "bcur bpages bnregs raddr rcls rnfree rmask ow oc ke_a ke_h kk_a kk_h kr_a kr_h "
                   "kv_a kv_h kvb kseq s2k ck_acc ck_live order")
_KEY_FIELDS = ("ke_a", "ke_h", "kk_a", "kk_h", "kr_a", "kr_h", "kv_a", "kv_h", "kvb", "kseq")


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
    nheaps = cp + 1 + nbins                      # free-run sizes 0..cp, then the bins
    st = State(S, hs, he, np.full(1024, -1, np.int64), np.zeros(nslots, np.int64),
               np.zeros(nslots, np.int64), np.zeros(nslots * cp, np.int64),
               np.full(nslots * cp, -1, np.int64), np.zeros(nslots * cp, np.uint8),
               np.full(nslots * cp, -1, np.int64), np.full(nslots * cp, -1, np.int64),
               np.zeros(cp // 64 + 1, np.uint64), np.zeros(nheaps * 8 * 4, np.int64),
               np.arange(nheaps, dtype=np.int64) * 8, np.full(nheaps, 8, np.int64),
               np.zeros(nheaps, np.int64),
               np.full(nbins, -1, np.int64), np.zeros(nbins, np.int64), np.zeros(nbins, np.int64),
               np.zeros(1024, np.int64), np.zeros(1024, np.int64), np.zeros(1024, np.int64),
               np.zeros((1024, MASK_WORDS), np.uint64), np.zeros(1 << 16, np.int64),
               np.zeros(1 << 16, np.int64),
               *[np.full(max(n_keys, 1), -1, np.int64) for _ in _KEY_FIELDS],
               np.zeros(max(n_seq, 1), np.int64), np.zeros(1024, np.int64),
               np.zeros(1024, np.int64), np.zeros(16, np.int64))
    S[POOLTOP], S[HMAXCAP] = nheaps * 8, 8
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
    need = int(S[ON] + out_need(S))
    if need > len(st.ow):
        rep.update(ow=_grown(st.ow, need + need // 4, 0), oc=_grown(st.oc, need + need // 4, 0))
    if S[POOLTOP] + _pool_need(S) > len(st.hp):
        rep.update(_compact_pool(st))
    if _order_need(S) > len(st.order):
        rep.update(order=np.zeros(2 * _order_need(S), np.int64))
    if n_keys > len(st.kseq):
        rep.update({f: _grown(getattr(st, f), n_keys, -1) for f in _KEY_FIELDS})
    if n_seq > len(st.s2k):
        rep.update(s2k=_grown(st.s2k, n_seq, 0))
    return st._replace(**rep) if rep else st


def _compact_pool(st: State) -> dict:
    """The heaps copied to a new pool, each with room to double."""
    S = st.S
    caps = np.maximum(8, 2 * st.hcnt)
    off = np.concatenate(([0], np.cumsum(caps)[:-1]))
    top = int(caps.sum())
    hp = np.zeros(2 * top + int(_pool_need(S)), np.int64)
    for i in np.flatnonzero(st.hcnt).tolist():
        hp[off[i]:off[i] + st.hcnt[i]] = st.hp[st.hoff[i]:st.hoff[i] + st.hcnt[i]]
    S[POOLTOP], S[HMAXCAP] = top, int(caps.max())
    return {"hp": hp, "hoff": off.astype(np.int64), "hcap": caps.astype(np.int64)}


@entry
def _pool_need(S):
    # heap pool an operation may take: each relocation doubles one heap; at
    # most a few heaps grow in one operation, by its pushes (a purge re-adds
    # at most every dirty run)
    return 8 * S[HMAXCAP] + 8 * (S[NDIRTY] + 64)


@entry
def _order_need(S):
    # the rehash's counting sort: old buckets + 1 and the live keys
    return S[HT_SIZE] + 1 + S[NLIVE] if S[NLIVE] >= S[HT_SIZE] else 0


@entry
def _cslot_need(S):
    # chunk slots an operation may need: what is mapped now, plus 64 chunks and
    # twice the largest value (placements go at most that far below MINADDR)
    return (S[TOPC] - S[MINADDR]) // S[CHUNK] + 64 + 4 * (max(S[VB], S[BVB]) // S[CHUNK] + 2)


@entry
def out_need(S):
    """Output records one operation may add, at most: its requests, values and
    replies (16 touches of the largest value), chunk headers; a rehash when
    the dict is full (6 per entry and the new table); a purge (a madvise,
    its batch end and 2 map writes per dirty run, and the unmaps)."""
    need = 16 * (max(S[VB], S[BVB]) // PAGE + 2) + 1024 + 6 * S[NDIRTY]
    if S[NLIVE] >= S[HT_SIZE]:
        need += 6 * S[NLIVE] + 16 * S[NLIVE] // PAGE + 64
    return need


@entry
def room(st) -> bool:
    """True if the next operation fits in the arrays (else call ``grow``)."""
    S = st.S
    return (S[NRUNS] + 64 <= len(st.raddr) and S[NSLOTS] + 16 <= len(st.sbase)
            and S[NHOLES] + 16 <= len(st.hs) and _cslot_need(S) <= len(st.cslot)
            and S[NCK] + 8 <= len(st.ck_acc) and S[ON] + out_need(S) <= len(st.ow)
            and S[POOLTOP] + _pool_need(S) <= len(st.hp) and _order_need(S) <= len(st.order))


# -- emission ------------------------------------------------------------------
@compiled
def _put(st, word, count):
    S = st.S
    n = S[ON]
    if n == len(st.ow):                         # out_need is wrong: never
        raise IndexError("generator output overflow")
    st.ow[n] = word
    st.oc[n] = count
    S[ON] = n + 1


@compiled
def access(st, addr, write, count):
    """One access record of ``count`` lines to the page of ``addr``."""
    S = st.S
    word = (addr & ~0xFFF) | (WBIT if write else 0)
    S[NACC] += count
    S[BATCH] += 1
    n = S[ON]
    if S[MERGE] and st.ow[n - 1] == word:
        st.oc[n - 1] += count
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


@entry
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


# -- heaps: min-heaps of int64 in one pool (heap i at hp[hoff[i]:], hcnt[i] entries) --
@compiled
def _htop(st, i):
    return st.hp[st.hoff[i]]


@compiled
def _hpush(st, i, v):
    S = st.S
    n = st.hcnt[i]
    if n == st.hcap[i]:                          # move to the pool's top, twice as big
        if S[POOLTOP] + 2 * n > len(st.hp):      # _pool_need is wrong: never
            raise IndexError("generator heap pool overflow")
        for j in range(n):
            st.hp[S[POOLTOP] + j] = st.hp[st.hoff[i] + j]
        st.hoff[i] = S[POOLTOP]
        st.hcap[i] = 2 * n
        S[POOLTOP] += 2 * n
        S[HMAXCAP] = max(S[HMAXCAP], 2 * n)
    a = st.hp
    o = st.hoff[i]
    j = n
    while j > 0:
        p = (j - 1) >> 1
        if a[o + p] <= v:
            break
        a[o + j] = a[o + p]
        j = p
    a[o + j] = v
    st.hcnt[i] = n + 1


@compiled
def _hpop(st, i):
    a = st.hp
    o = st.hoff[i]
    n = st.hcnt[i] - 1
    st.hcnt[i] = n
    v = a[o + n]
    j = 0
    while True:
        c = 2 * j + 1
        if c >= n:
            break
        if c + 1 < n and a[o + c + 1] < a[o + c]:
            c += 1
        if v <= a[o + c]:
            break
        a[o + j] = a[o + c]
        j = c
    if n > 0:
        a[o + j] = v
