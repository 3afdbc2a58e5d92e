"""How the trace generators' compiled code is cached.

``compiled`` is numba's ``njit(cache=True)`` with the cache of every
function keyed on the sources of all the generator kernel modules, not only
its own file as numba does: the Redis kernels inline the jemalloc arena and
the emitter of other modules, so a change in any of them must recompile
them.  The reference-counting runtime is off, as in ``machine/jit.py``'s
``kernel`` (the same keying, which workloads may not import): the state
travels as a namedtuple of ~40 arrays, and with it on each call that is not
inlined would count references to all of them (measured: 240 ns a call).
So kernels never allocate: the Python side grows their arrays between
operations (``arena_state.grow``).
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
    d = njit(_nrt=False)(fn)
    d._cache = _Cache(d.py_func)
    return d
