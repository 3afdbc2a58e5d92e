"""Version-2 chunk payloads: records as byte planes (``workloads/trace.py``).

A chunk of n records, words (uint64) and args (uint32), is stored as 12 byte
planes of n bytes each: byte 0 of every word, then byte 1, ... byte 7, then
bytes 0..3 of every arg (the (n, 12) little-endian byte matrix, transposed).
``split_planes`` and ``join_planes`` convert both ways, each by one of two
paths that give the same bytes: a numba kernel, or numpy's transposed copy.

Why two paths (measured 2026-11-30 on the 2-core build machine, load ~1.1-1.6,
numba cache warm): per 1 M records the compiled split takes 1.3 ms and
numpy's 3.4 ms, the compiled join 1.3 ms and numpy's 8.1 ms.  But a process
that has run no numba kernel yet pays 0.26 s for its first compiled call
(importing numba 0.12 s, loading the kernel 0.14 s), as much as numpy's
extra time on 124 M records (split) or 38 M (join); with another kernel
already run, loading this one takes 3 ms.  The small jobs (a small trace's
generator, every native replay) paid the 0.26 s for one chunk.  So:

- join (reading): a chunk of ``JOIN_COMPILED_MIN_RECORDS`` or more (a full
  chunk of the writer's default size: a big trace, which simulations read,
  whose kernels are loaded already) loads the kernel; smaller chunks take
  numpy's path until it is loaded.
- split (writing): numpy's path for the first ``SPLIT_NUMPY_RECORDS``
  records a process writes (its extra time at most the first call's cost:
  every default-profile trace, numba-free generators such as Graph500's
  included), the kernel after them (paper-scale traces).

numba is imported only for a kernel (``compiled``).
"""
from __future__ import annotations

import sys
import threading

import numpy as np

# the two paths' switch-over points (docstring)
JOIN_COMPILED_MIN_RECORDS = 1 << 20     # the writer's DEFAULT_CHUNK_RECORDS
SPLIT_NUMPY_RECORDS = 1 << 27
PLANES_PER_RECORD = 12          # 8 bytes of word, 4 of arg

_KERNELS: dict = {}             # python function -> its numba dispatcher
_split_numpy_records = 0        # records this process has split with numpy
_LOCK = threading.Lock()


def compiled(fn):
    """``numba.njit(cache=True, nogil=True)(fn)``, made at the first call and
    kept: importing a module of such kernels does not import numba."""
    d = _KERNELS.get(fn)
    if d is None:
        with _LOCK:
            d = _KERNELS.get(fn)
            if d is None:
                from numba import njit
                d = _KERNELS[fn] = njit(cache=True, nogil=True)(fn)
    return d


def load_kernels() -> None:
    """Compile (or load from numba's cache) both codec kernels, as the
    reader's and the writer's threads call them (``sim.warmup``)."""
    w, a, p = np.zeros(1, np.uint64), np.zeros(1, np.uint32), np.zeros(12, np.uint8)
    compiled(_split_kernel)(w, a, p)
    compiled(_join_kernel)(np.frombuffer(p.tobytes(), np.uint8), w, a, np.uint8(0), np.uint8(0))


def _use_numpy(fn, n: int) -> bool:
    """Whether n records take numpy's path rather than the kernel ``fn``
    (``_split_kernel`` or ``_join_kernel``; docstring)."""
    if fn in _KERNELS or sys.byteorder != "little":     # the byte views assume it
        return False
    if fn is _join_kernel:
        return n < JOIN_COMPILED_MIN_RECORDS
    return _split_numpy_records + n <= SPLIT_NUMPY_RECORDS


def split_planes(words: np.ndarray, args: np.ndarray, planes: np.ndarray) -> None:
    """Write the byte planes of records ``words`` (uint64, (n,)) and ``args``
    (uint32, (n,)) into ``planes`` (uint8, (12 n,), C-contiguous)."""
    global _split_numpy_records
    if _use_numpy(_split_kernel, len(words)):
        _split_numpy_records += len(words)
        _split_numpy(words, args, planes)
    else:
        compiled(_split_kernel)(words, args, planes)


def join_planes(planes: np.ndarray, words: np.ndarray, args: np.ndarray,
                kind_mask: int, max_kind: int) -> int:
    """Rebuild records from byte ``planes`` (uint8, (12 n,)) into ``words``
    (uint64, (n,)) and ``args`` (uint32, (n,)), both C-contiguous.  Returns the
    index of the first record whose kind (``word & kind_mask``, in byte 0)
    exceeds ``max_kind``, or -1."""
    if _use_numpy(_join_kernel, len(words)):
        return _join_numpy(planes, words, args, kind_mask, max_kind)
    return compiled(_join_kernel)(planes, words, args, np.uint8(kind_mask), np.uint8(max_kind))


def _split_numpy(words, args, planes) -> None:
    """``split_planes``'s numpy path (little-endian hosts)."""
    n = len(words)
    p = planes.reshape(PLANES_PER_RECORD, n)
    p[:8] = np.ascontiguousarray(words).view(np.uint8).reshape(n, 8).T
    p[8:] = np.ascontiguousarray(args).view(np.uint8).reshape(n, 4).T


def _join_numpy(planes, words, args, kind_mask: int, max_kind: int) -> int:
    """``join_planes``'s numpy path (little-endian hosts)."""
    n = len(words)
    p = planes.reshape(PLANES_PER_RECORD, n)
    words.view(np.uint8).reshape(n, 8)[:] = p[:8].T
    args.view(np.uint8).reshape(n, 4)[:] = p[8:].T
    bad = np.flatnonzero((p[0] & np.uint8(kind_mask)) > max_kind)
    return int(bad[0]) if len(bad) else -1


def _join_kernel(planes, words, args, kind_mask, max_kind):
    """``join_planes``'s compiled path: one pass per record, straight-line, which
    LLVM vectorises."""
    n = len(words)
    b0, b1, b2, b3 = planes[:n], planes[n:2 * n], planes[2 * n:3 * n], planes[3 * n:4 * n]
    b4, b5, b6, b7 = (planes[4 * n:5 * n], planes[5 * n:6 * n], planes[6 * n:7 * n],
                      planes[7 * n:8 * n])
    a0, a1, a2, a3 = (planes[8 * n:9 * n], planes[9 * n:10 * n], planes[10 * n:11 * n],
                      planes[11 * n:12 * n])
    u8, u16, u24, u32 = np.uint64(8), np.uint64(16), np.uint64(24), np.uint64(32)
    u40, u48, u56 = np.uint64(40), np.uint64(48), np.uint64(56)
    for i in range(n):
        words[i] = (np.uint64(b0[i]) | (np.uint64(b1[i]) << u8) | (np.uint64(b2[i]) << u16)
                    | (np.uint64(b3[i]) << u24) | (np.uint64(b4[i]) << u32)
                    | (np.uint64(b5[i]) << u40) | (np.uint64(b6[i]) << u48)
                    | (np.uint64(b7[i]) << u56))
        args[i] = (np.uint32(a0[i]) | (np.uint32(a1[i]) << np.uint32(8))
                   | (np.uint32(a2[i]) << np.uint32(16)) | (np.uint32(a3[i]) << np.uint32(24)))
    for i in range(n):
        if (b0[i] & kind_mask) > max_kind:
            return i
    return -1


def _split_kernel(words, args, planes):
    """``split_planes``'s compiled path: a plane at a time, so that LLVM
    vectorises the inner loop."""
    n = len(words)
    for b in range(8):
        plane, shift = planes[b * n:(b + 1) * n], np.uint64(8 * b)
        for i in range(n):
            plane[i] = np.uint8((words[i] >> shift) & np.uint64(0xFF))
    for b in range(4):
        plane, shift = planes[(8 + b) * n:(9 + b) * n], np.uint32(8 * b)
        for i in range(n):
            plane[i] = np.uint8((args[i] >> shift) & np.uint32(0xFF))
