"""The Redis server of ``workloads/redis.py``, compiled.

Functions of the state ``workloads.arena_state.State`` (its layout there;
the behaviour and its sources, networking.c, sds.c, dict.c, object.c of
Redis 3.2/4.0, in redis.py's docstring), allocating through
``workloads.jemalloc_jit``.
"""
from __future__ import annotations

import numpy as np

from workloads.arena_state import (BATCH, BATCH_WORDS, BVB, CL_A, CL_H, EVERY, GETS, HT_A,
                                   HT_H, HT_SIZE, KB, LARGE_MAX, LGQ, LIVE, MISSES, NACC, NBIG,
                                   NCK, NKEYS, NLIVE, OBJ_ENCODING_EMBSTR_SIZE_LIMIT, ON, OPS,
                                   P1B, PROTO_IOBUF_LEN, PROTO_MBULK_BIG_ARG,
                                   PROTO_REPLY_CHUNK_BYTES, QB_A, QB_CAP, QB_H, QB_HDR, ROBJ,
                                   DICT_ENTRY, SALT, SDS_MAX_PREALLOC, SEQ, SETS, STEP, VB,
                                   access, flush, room, touch)
from workloads.jemalloc_jit import free, malloc, ralloc, size_class
from workloads.jitcache import compiled, entry

@entry
def sds_hdr_size(n):
    """Header bytes of an sds of length n (sds.c ``sdsHdrSize(sdsReqType(n))``)."""
    return 1 if n < 32 else 3 if n < 256 else 5 if n < 65536 else 9 if n < 1 << 32 else 17


@compiled
def _digits(n):
    d = 1
    while n >= 10:
        n //= 10
        d += 1
    return d


@entry
def _bulk(a):
    return 5 + _digits(a) + a


@compiled
def _hash(st, k):
    """splitmix64(k ^ salt), the dict's hash of key id k."""
    x = np.uint64(k) ^ np.uint64(st.S[SALT])
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@compiled
def _bucket_addr(st, k):
    S = st.S
    return S[HT_A] + 8 * np.int64(_hash(st, k) & np.uint64(S[HT_SIZE] - 1))


@compiled
def _new(st, size, write_bytes):
    a, h = malloc(st, size)
    if write_bytes:
        touch(st, a, write_bytes, True)
    return a, h


@compiled
def _realloc(st, addr, h, size, keep):
    """``s_realloc`` keeping the first ``keep`` bytes: in place, or a new block,
    the copy (read, write) and the old block freed; returns (address, handle)."""
    a, h2, moved = ralloc(st, addr, h, size)
    if moved:
        touch(st, addr, keep, False)
        touch(st, a, keep, True)
        free(st, addr, h)
    return a, h2


@compiled
def _qb_make_room(st, qblen, addlen):
    """``sdsMakeRoomFor(c->querybuf, addlen)`` with ``qblen`` bytes in it (sds.c)."""
    S = st.S
    if S[QB_CAP] - qblen >= addlen:
        return
    newlen = qblen + addlen
    newlen = newlen * 2 if newlen < SDS_MAX_PREALLOC else newlen + SDS_MAX_PREALLOC
    hdr = max(3, sds_hdr_size(newlen))                          # never type 5
    if hdr == S[QB_HDR]:                                        # s_realloc
        S[QB_A], S[QB_H] = _realloc(st, S[QB_A], S[QB_H], hdr + newlen + 1, hdr + qblen + 1)
        access(st, S[QB_A], True, 1)                            # sdssetalloc
    else:                                                       # new header type: copy
        old_a, old_h, old_data = S[QB_A], S[QB_H], S[QB_A] + S[QB_HDR]
        S[QB_A], S[QB_H] = _new(st, hdr + newlen + 1, 0)
        touch(st, old_data, qblen + 1, False)
        touch(st, S[QB_A], hdr + qblen + 1, True)               # header, memcpy
        free(st, old_a, old_h)
    S[QB_HDR], S[QB_CAP] = hdr, newlen


@compiled
def _request(st, nbytes):
    """readQueryFromClient: room for PROTO_IOBUF_LEN, read(2), parse."""
    _qb_make_room(st, 0, PROTO_IOBUF_LEN)
    data = st.S[QB_A] + st.S[QB_HDR]
    touch(st, data, nbytes, True)
    touch(st, data, nbytes, False)


@compiled
def _request_big(st, hlen, ll):
    """A request whose last argument (ll >= PROTO_MBULK_BIG_ARG bytes) follows
    ``hlen`` header bytes (networking.c ``processMultibulkBuffer``; see
    redis.py): returns the value (address, handle) and its sds ``alloc``."""
    S = st.S
    _qb_make_room(st, 0, PROTO_IOBUF_LEN)
    data = S[QB_A] + S[QB_HDR]
    nread = min(PROTO_IOBUF_LEN, hlen + ll + 2)
    touch(st, data, nread, True)                                # read(2)
    touch(st, data, hlen, False)                                # parse the header
    qblen = nread - hlen
    touch(st, data + hlen, qblen, False)                        # sdsrange: memmove
    touch(st, data, qblen, True)
    if qblen < ll + 2:
        _qb_make_room(st, qblen, ll + 2 - qblen)
        data = S[QB_A] + S[QB_HDR]
    touch(st, data + qblen, ll + 2 - qblen, True)               # the other reads
    va, vh, cap = S[QB_A], S[QB_H], S[QB_CAP]
    access(st, va, True, 1)                                     # sdsIncrLen(-2): len
    access(st, data + ll, True, 1)                              # and the NUL
    size = sds_hdr_size(ll + 2) + ll + 2 + 1
    S[QB_A], S[QB_H] = _new(st, size, size)                     # sdsnewlen(NULL): memset
    S[QB_HDR], S[QB_CAP] = sds_hdr_size(ll + 2), ll + 2
    return va, vh, cap


@compiled
def _reply_small(st):
    touch(st, st.S[CL_A] + 1024, 16, True)
    touch(st, st.S[CL_A] + 1024, 16, False)


@compiled
def _argv(st):
    """The command's argument objects (the command name, then the key as an
    embstr: robj + sdshdr8 + key + NUL in one allocation)."""
    ca, ch = _new(st, ROBJ + 7, ROBJ + 7)
    n = ROBJ + 3 + st.S[KB] + 1
    ka, kh = _new(st, n, n)
    return ca, ch, ka, kh


@compiled
def _expand_if_needed(st):
    """``dictExpand`` when full, the rehash done at once: old buckets in
    order, per entry (in insertion order) the entry, its key, its new
    bucket, entry->next."""
    S = st.S
    used = S[NLIVE]
    if used < S[HT_SIZE]:
        return
    new_size = 1
    while new_size < 2 * used:
        new_size <<= 1
    na, nh = _new(st, 8 * new_size, 0)
    if size_class(8 * new_size, S[LGQ]) <= S[LARGE_MAX]:       # calloc: zero it
        touch(st, na, 8 * new_size, True)
    # live keys by old bucket, each bucket in insertion order: a counting sort
    old_mask = np.uint64(S[HT_SIZE] - 1)
    cnt = st.order                               # cnt[0..HT_SIZE], then the keys
    at = S[HT_SIZE] + 1
    for b in range(at):
        cnt[b] = 0
    for seq in range(S[SEQ]):
        k = st.s2k[seq]
        if st.kseq[k] == seq:
            cnt[np.int64(_hash(st, k) & old_mask) + 1] += 1
    for b in range(S[HT_SIZE]):
        cnt[b + 1] += cnt[b]
    for seq in range(S[SEQ]):
        k = st.s2k[seq]
        if st.kseq[k] == seq:
            b = np.int64(_hash(st, k) & old_mask)
            cnt[at + cnt[b]] = k
            cnt[b] += 1
    mask = np.uint64(new_size - 1)
    prev = -1
    for j in range(at, at + used):
        k = cnt[j]
        h = _hash(st, k)
        b = np.int64(h & old_mask)
        if b != prev:
            access(st, S[HT_A] + 8 * b, False, 1)
            prev = b
        access(st, st.ke_a[k], False, 1)
        access(st, st.kk_a[k], False, 1)
        access(st, na + 8 * np.int64(h & mask), True, 1)
        access(st, st.ke_a[k], True, 1)
    free(st, S[HT_A], S[HT_H])
    S[HT_A], S[HT_H], S[HT_SIZE] = na, nh, new_size


@entry
def server_init(st, key_bytes, salt):
    """The server: client struct with its reply buffer, the empty query
    buffer (``sdsempty()``: an sdshdr8), the 4-bucket dict."""
    S = st.S
    S[KB], S[SALT] = key_bytes, salt
    S[CL_A], S[CL_H] = _new(st, PROTO_REPLY_CHUNK_BYTES + 1024, 0)
    touch(st, S[CL_A], 1024, True)
    S[QB_A], S[QB_H] = _new(st, 3 + 0 + 1, 4)
    S[QB_HDR], S[QB_CAP] = 3, 0
    S[HT_SIZE] = 4
    S[HT_A], S[HT_H] = _new(st, 8 * 4, 0)
    touch(st, S[HT_A], 8 * 4, True)


@entry
def cmd_set(st, k, vbytes):
    """SET key k to a value of ``vbytes`` bytes (see redis.py for the steps)."""
    S = st.S
    S[SETS] += 1
    kb = S[KB]
    ca, ch, ka, kh = _argv(st)
    vsize = sds_hdr_size(vbytes) + vbytes + 1
    va, vh = -1, -1
    if vbytes >= PROTO_MBULK_BIG_ARG:
        # big-argument path: the query buffer receives the value and becomes it
        hlen = 3 + 1 + _bulk(3) + _bulk(kb) + 3 + _digits(vbytes)   # all but value + CRLF
        va, vh, cap = _request_big(st, hlen, vbytes)
        ra, rh = _new(st, ROBJ, ROBJ)
        if cap - vbytes > vbytes // 10:
            # tryObjectEncoding: sdsRemoveFreeSpace, a realloc to header + len + 1
            va, vh = _realloc(st, va, vh, vsize, vsize)
            access(st, va, True, 1)                             # sdssetalloc
    elif vbytes > OBJ_ENCODING_EMBSTR_SIZE_LIMIT:
        _request(st, 3 + 1 + _bulk(3) + _bulk(kb) + _bulk(vbytes))
        ra, rh = _new(st, ROBJ, ROBJ)
        va, vh = _new(st, vsize, vsize)                         # memcpy from querybuf
    else:
        _request(st, 3 + 1 + _bulk(3) + _bulk(kb) + _bulk(vbytes))
        ra, rh = _new(st, ROBJ + vsize, ROBJ + vsize)           # embstr
    access(st, _bucket_addr(st, k), False, 1)                   # lookupKeyWrite
    if st.kseq[k] < 0:
        _expand_if_needed(st)
        st.kk_a[k], st.kk_h[k] = _new(st, sds_hdr_size(kb) + kb + 1,
                                      sds_hdr_size(kb) + kb + 1)   # sdsdup(key)
        st.ke_a[k], st.ke_h[k] = _new(st, DICT_ENTRY, DICT_ENTRY)
        access(st, _bucket_addr(st, k), True, 1)
        st.kseq[k] = S[SEQ]
        st.s2k[S[SEQ]] = k
        S[SEQ] += 1
        S[NLIVE] += 1
        S[LIVE] += kb + vbytes
    else:
        access(st, st.ke_a[k], False, 1)
        access(st, st.kk_a[k], False, 1)
        access(st, st.ke_a[k], True, 1)                         # dictSetVal
        access(st, st.kr_a[k], False, 1)                        # decrRefCount(old)
        if st.kv_h[k] >= 0:
            free(st, st.kv_a[k], st.kv_h[k])
        free(st, st.kr_a[k], st.kr_h[k])
        S[LIVE] += vbytes - st.kvb[k]
    st.kr_a[k], st.kr_h[k], st.kv_a[k], st.kv_h[k], st.kvb[k] = ra, rh, va, vh, vbytes
    access(st, ra, True, 1)                                     # incrRefCount
    _reply_small(st)                                            # +OK
    free(st, ca, ch)
    free(st, ka, kh)


@entry
def cmd_del(st, k):
    """DEL key k; returns whether it existed."""
    S = st.S
    ca, ch, ka, kh = _argv(st)
    _request(st, 3 + 1 + _bulk(3) + _bulk(S[KB]))
    b = _bucket_addr(st, k)
    access(st, b, False, 1)
    hit = st.kseq[k] >= 0
    if hit:
        access(st, st.ke_a[k], False, 1)
        access(st, st.kk_a[k], False, 1)
        access(st, b, True, 1)                                  # unlink
        free(st, st.kk_a[k], st.kk_h[k])
        access(st, st.kr_a[k], False, 1)                        # decrRefCount
        if st.kv_h[k] >= 0:
            free(st, st.kv_a[k], st.kv_h[k])
        free(st, st.kr_a[k], st.kr_h[k])
        free(st, st.ke_a[k], st.ke_h[k])
        S[LIVE] -= S[KB] + st.kvb[k]
        st.kseq[k] = -1
        S[NLIVE] -= 1
    _reply_small(st)
    free(st, ca, ch)
    free(st, ka, kh)
    return hit


@entry
def cmd_get(st, k):
    """GET key k; returns whether it existed."""
    S = st.S
    S[GETS] += 1
    ca, ch, ka, kh = _argv(st)
    _request(st, 3 + 1 + _bulk(3) + _bulk(S[KB]))
    access(st, _bucket_addr(st, k), False, 1)
    hit = st.kseq[k] >= 0
    if not hit:
        S[MISSES] += 1
        _reply_small(st)
    else:
        access(st, st.ke_a[k], False, 1)
        access(st, st.kk_a[k], False, 1)
        access(st, st.kr_a[k], False, 1)
        vaddr = st.kv_a[k] if st.kv_h[k] >= 0 else st.kr_a[k]
        vb = st.kvb[k]
        touch(st, vaddr, vb, False)
        if vb <= PROTO_REPLY_CHUNK_BYTES:                       # memcpy to c->buf, write(2)
            touch(st, S[CL_A] + 1024, vb + 16, True)
            touch(st, S[CL_A] + 1024, vb + 16, False)
    free(st, ca, ch)
    free(st, ka, kh)
    return hit


@entry
def checkpoint(st, force):
    """After an operation: end the batch if it is full; record [accesses, live
    bytes] at phase boundaries (``force``), every EVERY operations and when the
    live dataset moved by STEP bytes (unless equal to the last point)."""
    S = st.S
    if S[BATCH] >= BATCH_WORDS:
        flush(st)
    n = S[NCK]
    if force or S[OPS] % S[EVERY] == 0 or abs(S[LIVE] - st.ck_live[n - 1]) >= S[STEP]:
        if st.ck_acc[n - 1] != S[NACC] or st.ck_live[n - 1] != S[LIVE]:
            st.ck_acc[n] = S[NACC]
            st.ck_live[n] = S[LIVE]
            S[NCK] = n + 1


@entry
def run_ops(st, mode, keys, reads, i, end, out_limit):
    """Operations i..end-1 of a phase, each followed by ``checkpoint``:
    mode 0 SET key i (VB bytes), 1 DEL keys[i], 2 SET key NKEYS + NBIG
    (BVB bytes) while the live bytes are below P1B (``i``, ``end`` unused),
    3 GET keys[i] if reads[i] else SET it (VB bytes).  Stops early, between
    two operations, when the output holds ``out_limit`` records or an array
    needs ``grow``; returns (the next i, whether the phase is done)."""
    S = st.S
    while True:
        if (S[LIVE] >= S[P1B]) if mode == 2 else i >= end:
            return i, True
        if S[ON] >= out_limit or not room(st):
            return i, False
        if mode == 0:
            cmd_set(st, i, S[VB])
        elif mode == 1:
            cmd_del(st, keys[i])
        elif mode == 2:
            cmd_set(st, S[NKEYS] + S[NBIG], S[BVB])
            S[NBIG] += 1
        elif reads[i]:
            cmd_get(st, keys[i])
        else:
            cmd_set(st, keys[i], S[VB])
        S[OPS] += 1
        checkpoint(st, False)
        i += 1
