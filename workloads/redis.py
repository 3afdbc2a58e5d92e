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
metadata.  Generation runs at ~14K requests/s (pure Python; the paper's 11M
keys take ~25 minutes), holding O(live keys) state, never the access stream.

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
"""
from __future__ import annotations

import numpy as np

from hpsim.units import PAGE_SIZE
from workloads import zipf
from workloads.base import Workload, register
from workloads.jemalloc import Jemalloc

LINE = 64
MASK64 = (1 << 64) - 1
PROTO_MBULK_BIG_ARG = 32 * 1024
PROTO_REPLY_CHUNK_BYTES = 16 * 1024
PROTO_IOBUF_LEN = 16 * 1024
SDS_MAX_PREALLOC = 1024 * 1024
OBJ_ENCODING_EMBSTR_SIZE_LIMIT = 44
ROBJ = 16
DICT_ENTRY = 24
YCSB_READ = {"A": 0.5, "B": 0.95, "C": 1.0}


def splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def sds_hdr_size(n: int) -> int:
    """Header bytes of an sds of length n: ``sdsHdrSize(sdsReqType(n))`` (sds.c;
    type 5 below 32 B, sdshdr8 below 256, sdshdr16 below 64 KiB, sdshdr32 below
    4 GiB, sdshdr64 above)."""
    return 1 if n < 32 else 3 if n < 256 else 5 if n < 65536 else 9 if n < 1 << 32 else 17


def sds_alloc_size(n: int) -> int:
    """Bytes ``sdsnewlen(init, n)`` asks ``s_malloc`` for: header + n + NUL (sds.c)."""
    return sds_hdr_size(n) + n + 1


def multibulk_bytes(*args: int) -> int:
    """Bytes of a RESP multibulk request whose arguments have these lengths
    (``*<argc>\\r\\n`` then ``$<len>\\r\\n<arg>\\r\\n`` each; networking.c
    ``processMultibulkBuffer``)."""
    return 3 + len(str(len(args))) + sum(5 + len(str(a)) + a for a in args)


class Emitter:
    """Queues accesses; flushes them before every mmap/munmap/madvise/phase.

    Accesses are queued as page words (page address | 16 for a write) and
    counts; ``maybe_flush`` (called between requests) writes them out in batches."""

    def __init__(self, out, batch: int = 1 << 16):
        self.out = out
        self.batch = batch
        self.words: list[int] = []
        self.counts: list[int] = []
        self._w = self.words.append
        self._c = self.counts.append

    def access(self, addr: int, write: bool, count: int = 1) -> None:
        self._w((addr & ~0xFFF) | (16 if write else 0))
        self._c(count)

    def touch(self, addr: int, nbytes: int, write: bool) -> None:
        """Access every 64-byte line of [addr, addr+nbytes), one record per page."""
        if nbytes <= 0:
            return
        end = addr + nbytes
        wbit = 16 if write else 0
        page = addr & ~0xFFF
        first = addr >> 6
        while page < end:
            nxt = page + PAGE_SIZE
            last = (min(end, nxt) - 1) >> 6
            self._w(page | wbit)
            self._c(last - first + 1)
            first = nxt >> 6
            page = nxt

    def maybe_flush(self) -> None:
        if len(self.words) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.words:
            w = np.array(self.words, np.uint64)
            self.out.access(w & np.uint64(~0x1F & 0xFFFFFFFFFFFFFFFF),
                            (w & np.uint64(16)) != 0, np.array(self.counts, np.uint64))
            self.words.clear()
            self.counts.clear()

    def event(self, kind: str, addr: int, length: int) -> None:
        self.flush()
        if kind == "mmap":
            self.out.mmap(addr, length)
        elif kind == "munmap":
            self.out.munmap(addr, length)
        elif kind == "madvise":
            self.out.madvise_dontneed(addr, length)
        else:
            raise ValueError(kind)

    def phase(self, name: str) -> None:
        self.flush()
        self.out.phase(name)

    @property
    def n_accesses(self) -> int:
        return self.out.n_accesses + sum(self.counts)


class _Obj:
    """A heap object: address, size in use, allocator handle."""
    __slots__ = ("addr", "size", "h")

    def __init__(self, heap: Jemalloc, size: int):
        self.addr, _, self.h = heap.malloc(size)
        self.size = size


class RedisModel:
    """The server: one db dict, one client, jemalloc underneath."""

    def __init__(self, em: Emitter, heap: Jemalloc, key_bytes: int, salt: int):
        self.em = em
        self.heap = heap
        self.key_bytes = key_bytes
        self.salt = salt
        self.keys: dict[int, tuple] = {}     # key id -> (entry, keysds, robj, valsds, vbytes)
        self.live_bytes = 0
        self.client = self._new(PROTO_REPLY_CHUNK_BYTES + 1024)   # client struct with buf
        self.em.touch(self.client.addr, 1024, True)
        # querybuf = sdsempty(): sdsnewlen makes an empty sds an sdshdr8 (3 + 0 + 1 B)
        self.qb = self._new(3 + 0 + 1, 4)
        self.qb_hdr, self.qb_cap = 3, 0
        self.ht_size = 4
        self.ht = self._new(8 * self.ht_size)
        self.em.touch(self.ht.addr, 8 * self.ht_size, True)
        self.gets = self.sets = self.misses = 0

    # -- helpers -----------------------------------------------------------
    def _new(self, size: int, write_bytes: int | None = None) -> _Obj:
        o = _Obj(self.heap, size)
        if write_bytes:
            self.em.touch(o.addr, write_bytes, True)
        return o

    def _free(self, o: _Obj) -> None:
        self.heap.free(o.h)

    def _realloc(self, o: _Obj, size: int, keep: int) -> None:
        """``s_realloc`` of o to size bytes, its first ``keep`` bytes kept:
        in place, or a new block, the copy (read, write) and the old block freed."""
        old_addr, old_h = o.addr, o.h
        o.addr, _, o.h, moved = self.heap.ralloc(o.h, size)
        o.size = size
        if moved:
            self.em.touch(old_addr, keep, False)
            self.em.touch(o.addr, keep, True)
            self.heap.free(old_h)

    def _hash(self, k: int) -> int:
        return splitmix64(k ^ self.salt)

    def _bucket_addr(self, k: int) -> int:
        return self.ht.addr + 8 * (self._hash(k) & (self.ht_size - 1))

    def _qb_make_room(self, qblen: int, addlen: int) -> None:
        """``sdsMakeRoomFor(c->querybuf, addlen)`` with ``qblen`` bytes in it (sds.c):
        below ``SDS_MAX_PREALLOC`` the new length doubles, above it grows by 1 MiB;
        the same header type is an ``s_realloc`` (``Jemalloc.ralloc``), a new one a
        malloc + copy of header + qblen+1 bytes + free."""
        if self.qb_cap - qblen >= addlen:
            return
        newlen = qblen + addlen
        newlen = newlen * 2 if newlen < SDS_MAX_PREALLOC else newlen + SDS_MAX_PREALLOC
        hdr = max(3, sds_hdr_size(newlen))                      # never type 5
        if hdr == self.qb_hdr:                                  # s_realloc
            self._realloc(self.qb, hdr + newlen + 1, hdr + qblen + 1)
            self.em.access(self.qb.addr, True)                  # sdssetalloc
        else:                                                   # new header type: copy
            old, old_data = self.qb, self.qb.addr + self.qb_hdr
            self.qb = self._new(hdr + newlen + 1)
            self.em.touch(old_data, qblen + 1, False)
            self.em.touch(self.qb.addr, hdr + qblen + 1, True)   # header, memcpy
            self._free(old)
        self.qb_hdr, self.qb_cap = hdr, newlen

    def _request(self, nbytes: int) -> None:
        """readQueryFromClient: ``sdsMakeRoomFor(PROTO_IOBUF_LEN)``, read(2) into
        the query buffer, then parse it (one read: the request fits)."""
        self._qb_make_room(0, PROTO_IOBUF_LEN)
        data = self.qb.addr + self.qb_hdr
        self.em.touch(data, nbytes, True)
        self.em.touch(data, nbytes, False)

    def _request_big(self, hlen: int, vbytes: int) -> tuple[_Obj, int]:
        """A request whose last argument (vbytes >= PROTO_MBULK_BIG_ARG) follows
        ``hlen`` header bytes, read as networking.c ``readQueryFromClient`` and
        ``processMultibulkBuffer`` (Redis 3.2 and 4.0) do: the first read(2) takes
        PROTO_IOBUF_LEN bytes; ``sdsrange`` moves the value's first bytes to the
        buffer's start; ``sdsMakeRoomFor(ll+2-qblen)`` makes room for value + CRLF;
        later reads stop at the argument's end; the buffer becomes the value
        (``createObject(OBJ_STRING, c->querybuf)``, ``sdsIncrLen(-2)``) and the next
        query buffer is ``sdsnewlen(NULL, ll+2)``, which memsets its
        header + ll+2 + 1 bytes (sds.c), then ``sdsclear``.  Returns the value
        and its sds ``alloc`` (B)."""
        ll = vbytes
        self._qb_make_room(0, PROTO_IOBUF_LEN)
        data = self.qb.addr + self.qb_hdr
        nread = min(PROTO_IOBUF_LEN, hlen + ll + 2)
        self.em.touch(data, nread, True)                        # read(2)
        self.em.touch(data, hlen, False)                        # parse the header
        qblen = nread - hlen
        self.em.touch(data + hlen, qblen, False)                # sdsrange: memmove
        self.em.touch(data, qblen, True)
        if qblen < ll + 2:
            self._qb_make_room(qblen, ll + 2 - qblen)
            data = self.qb.addr + self.qb_hdr
        self.em.touch(data + qblen, ll + 2 - qblen, True)       # the other reads
        vobj, cap = self.qb, self.qb_cap
        self.em.access(vobj.addr, True)                         # sdsIncrLen(-2): len
        self.em.access(data + ll, True)                         # and the NUL
        size = sds_alloc_size(ll + 2)
        self.qb = self._new(size, size)                         # sdsnewlen(NULL): memset
        self.qb_hdr, self.qb_cap = sds_hdr_size(ll + 2), ll + 2
        return vobj, cap

    def _reply_small(self) -> None:
        self.em.touch(self.client.addr + 1024, 16, True)
        self.em.touch(self.client.addr + 1024, 16, False)

    def _argv_key(self) -> _Obj:
        # createStringObject(key) -> embstr: robj + sdshdr8 + key + NUL in one allocation
        return self._new(ROBJ + 3 + self.key_bytes + 1, ROBJ + 3 + self.key_bytes + 1)

    def _argv_cmd(self) -> _Obj:
        return self._new(ROBJ + 3 + 3 + 1, ROBJ + 7)

    def _expand_if_needed(self) -> None:
        used = len(self.keys)
        if used < self.ht_size:
            return
        new_size = 1
        while new_size < 2 * used:
            new_size <<= 1
        new = self._new(8 * new_size)
        if self.heap.size_class(8 * new_size) <= self.heap.large_max:   # calloc: zero it
            self.em.touch(new.addr, 8 * new_size, True)
        # rehash: old buckets in order; per entry: entry, key, new bucket, entry->next
        old_b = {}
        for k, (entry, keysds, *_r) in self.keys.items():
            h = self._hash(k)
            old_b.setdefault(h & (self.ht_size - 1), []).append((h, entry, keysds))
        mask = new_size - 1
        for b in sorted(old_b):
            self.em.access(self.ht.addr + 8 * b, False)
            for h, entry, keysds in old_b[b]:
                self.em.access(entry.addr, False)
                self.em.access(keysds.addr, False)
                self.em.access(new.addr + 8 * (h & mask), True)
                self.em.access(entry.addr, True)
        self._free(self.ht)
        self.ht = new
        self.ht_size = new_size

    # -- commands -----------------------------------------------------------
    def set(self, k: int, vbytes: int) -> None:
        self.sets += 1
        kb = self.key_bytes
        cmd = self._argv_cmd()
        akey = self._argv_key()
        vsize = sds_alloc_size(vbytes)
        if vbytes >= PROTO_MBULK_BIG_ARG:
            # big-argument path: the query buffer receives the value and becomes it
            vobj, cap = self._request_big(multibulk_bytes(3, kb, vbytes) - vbytes - 2, vbytes)
            robj = self._new(ROBJ, ROBJ)
            if cap - vbytes > vbytes // 10:
                # tryObjectEncoding (object.c): sdsRemoveFreeSpace, a realloc to
                # header + len + 1 (the first big value: in place, the tail purged)
                self._realloc(vobj, sds_alloc_size(vbytes), sds_alloc_size(vbytes))
                self.em.access(vobj.addr, True)                     # sdssetalloc
        elif vbytes > OBJ_ENCODING_EMBSTR_SIZE_LIMIT:
            self._request(multibulk_bytes(3, kb, vbytes))
            robj = self._new(ROBJ, ROBJ)
            vobj = self._new(vsize, vsize)                          # memcpy from querybuf
        else:
            self._request(multibulk_bytes(3, kb, vbytes))
            robj = self._new(ROBJ + vsize, ROBJ + vsize)            # embstr
            vobj = None
        self.em.access(self._bucket_addr(k), False)                 # lookupKeyWrite
        cur = self.keys.get(k)
        if cur is None:
            self._expand_if_needed()
            keysds = self._new(sds_alloc_size(kb), sds_alloc_size(kb))  # sdsdup(key)
            entry = self._new(DICT_ENTRY, DICT_ENTRY)
            self.em.access(self._bucket_addr(k), True)
            self.keys[k] = (entry, keysds, robj, vobj, vbytes)
            self.live_bytes += kb + vbytes
        else:
            entry, keysds, orobj, ovobj, ovbytes = cur
            self.em.access(entry.addr, False)
            self.em.access(keysds.addr, False)
            self.em.access(entry.addr, True)                        # dictSetVal
            self.em.access(orobj.addr, False)                       # decrRefCount(old)
            if ovobj is not None:
                self._free(ovobj)
            self._free(orobj)
            self.keys[k] = (entry, keysds, robj, vobj, vbytes)
            self.live_bytes += vbytes - ovbytes
        self.em.access(robj.addr, True)                             # incrRefCount
        self._reply_small()                                         # +OK
        self._free(cmd)
        self._free(akey)

    def delete(self, k: int) -> bool:
        cmd = self._argv_cmd()
        akey = self._argv_key()
        self._request(multibulk_bytes(3, self.key_bytes))
        b = self._bucket_addr(k)
        self.em.access(b, False)
        cur = self.keys.pop(k, None)
        if cur is not None:
            entry, keysds, robj, vobj, vbytes = cur
            self.em.access(entry.addr, False)
            self.em.access(keysds.addr, False)
            self.em.access(b, True)                                 # unlink
            self._free(keysds)
            self.em.access(robj.addr, False)                        # decrRefCount
            if vobj is not None:
                self._free(vobj)
            self._free(robj)
            self._free(entry)
            self.live_bytes -= self.key_bytes + vbytes
        self._reply_small()
        self._free(cmd)
        self._free(akey)
        return cur is not None

    def get(self, k: int) -> bool:
        self.gets += 1
        cmd = self._argv_cmd()
        akey = self._argv_key()
        self._request(multibulk_bytes(3, self.key_bytes))
        self.em.access(self._bucket_addr(k), False)
        cur = self.keys.get(k)
        if cur is None:
            self.misses += 1
            self._reply_small()
        else:
            entry, keysds, robj, vobj, vbytes = cur
            self.em.access(entry.addr, False)
            self.em.access(keysds.addr, False)
            self.em.access(robj.addr, False)
            vaddr = vobj.addr if vobj is not None else robj.addr
            if vbytes <= PROTO_REPLY_CHUNK_BYTES:
                self.em.touch(vaddr, vbytes, False)                 # memcpy to c->buf
                self.em.touch(self.client.addr + 1024, vbytes + 16, True)
                self.em.touch(self.client.addr + 1024, vbytes + 16, False)   # write(2)
            else:
                self.em.touch(vaddr, vbytes, False)                 # writev from the object
        self._free(cmd)
        self._free(akey)
        return cur is not None


# Generator memory per key: peak RSS grew by 95 MB from 32768 to 131072 keys
# (986 B a key), measured with /usr/bin/time -f %M on this project's 2-core VM,
# 2026-11-29; rounded up.
HOST_BYTES_PER_KEY = 1000


@register("redis")
class Redis(Workload):
    __doc__ = __doc__  # the module docstring documents parameters and phases
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
        live: list[list[int]] = [[em.n_accesses, 0]]
        r = RedisModel(em, heap, kb, salt=int(rng.integers(0, 1 << 62)))
        p1_bytes = n * (kb + vb)
        n_del = int(round(float(p["delete_fraction"]) * n)) if p["bloat"] else 0
        n_big_est = (-(-(n_del * (kb + vb)) // (kb + bvb))) if p["bloat"] else 0
        total_ops = n + n_del + n_big_est + int(p["serve_requests"])
        every = max(1, total_ops // max(1, int(p["checkpoints"])))
        ops = 0

        step_bytes = max(1, p1_bytes // max(1, int(p["checkpoints"])))

        def ckpt(force=False):
            # at phase boundaries, every ~1% of the operations, and whenever the live
            # dataset moved by ~1% of its P1 size (P3's few large inserts)
            em.maybe_flush()
            if force or ops % every == 0 or abs(r.live_bytes - live[-1][1]) >= step_bytes:
                pt = [em.n_accesses, r.live_bytes]
                if not live or live[-1] != pt:
                    live.append(pt)

        ckpt(True)
        for k in range(n):
            r.set(k, vb)
            ops += 1
            ckpt()
        ckpt(True)
        stats = {"p1_bytes": p1_bytes}
        if p["bloat"]:
            em.phase("p2_delete")
            ckpt(True)
            for k in rng.permutation(n)[:n_del]:
                r.delete(int(k))
                ops += 1
                ckpt()
            ckpt(True)
            stats["live_after_p2"] = r.live_bytes
            em.phase("pause")
            ckpt(True)
            em.phase("p3_insert_large")
            n_big = 0
            while r.live_bytes < p1_bytes:
                r.set(n + n_big, bvb)
                n_big += 1
                ops += 1
                ckpt()
            ckpt(True)
            stats.update(n_deleted=n_del, n_large=n_big)
            self.trailer_extra["pauses"] = {"pause": float(p["pause_s"])}
        if int(p["serve_requests"]) > 0:
            em.phase("serve")
            ckpt(True)
            gen = zipf.make(p["distribution"], n, float(p["zipf_constant"]),
                            float(p["hot_data_fraction"]), float(p["hot_opn_fraction"]))
            rf = YCSB_READ[p["ycsb"]] if p["read_fraction"] is None else float(p["read_fraction"])
            left = int(p["serve_requests"])
            while left:
                b = min(left, 1 << 16)
                keys = gen.sample(rng, b)
                reads = rng.random(b) < rf
                for k, rd in zip(keys.tolist(), reads.tolist()):
                    if rd:
                        r.get(k)
                    else:
                        r.set(k, vb)
                    ops += 1
                    ckpt()
                left -= b
            ckpt(True)
        em.flush()
        self.trailer_extra["live_bytes"] = live
        stats.update(final_live_bytes=r.live_bytes, chunks_mapped=heap.n_chunks,
                     chunks_unmapped=heap.n_chunk_unmaps, huge_mappings=heap.n_huge,
                     purged_pages=heap.purged_pages, purges=heap.n_purges,
                     peak_mapped_bytes=heap.peak_mapped,
                     gets=r.gets, sets=r.sets, misses=r.misses)
        self.trailer_extra["redis"] = stats
