"""How the trace generators' compiled code is cached.

``compiled`` is numba's ``njit(cache=True)`` with the cache of every
function keyed on the sources of all the generator kernel modules, not only
its own file as numba does: the Redis kernels inline the jemalloc arena and
the emitter of other modules, so a change in any of them must recompile
them.  (The same keying as ``machine/jit.py``'s ``kernel``, which workloads
may not import; this one keeps numba's reference counting on, as the
generators grow their output and heap arrays.)
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from numba import njit
from numba.core.caching import CompileResultCacheImpl, FunctionCache

_ROOT = Path(__file__).resolve().parent
SOURCES = ["jitcache.py", "arena_state.py", "jemalloc_jit.py", "redis_jit.py"]


def _stamp() -> bytes:
    h = hashlib.sha256()
    for rel in SOURCES:
        try:
            h.update(rel.encode() + b"\0" + (_ROOT / rel).read_bytes())
        except OSError:
            h.update(rel.encode() + b"\0?")
    return h.digest()


_STAMP = _stamp()


def _keyed(locator):
    def get_source_stamp(self):
        return (locator.get_source_stamp(self), _STAMP)
    return type(locator.__name__, (locator,), {"get_source_stamp": get_source_stamp})


class _Impl(CompileResultCacheImpl):
    _locator_classes = [_keyed(c) for c in CompileResultCacheImpl._locator_classes]


class _Cache(FunctionCache):
    _impl_class = _Impl


def compiled(fn):
    """``@compiled``: a numba function compiled once and cached on disk."""
    d = njit(fn)
    d._cache = _Cache(d.py_func)
    return d
