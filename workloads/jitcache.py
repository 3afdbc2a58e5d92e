"""How the trace generators' compiled code is cached.

``compiled`` is numba's ``njit(cache=True)`` with the cache of every
function keyed on the sources of all the generator kernel modules, not only
its own file as numba does: the Redis kernels inline the jemalloc arena and
the emitter of other modules, so a change in any of them must recompile
them.  The reference-counting runtime is off, as in ``machine/jit.py``'s
``kernel`` (the same keying: ``hpsim.numba_cache``): the state
travels as a namedtuple of ~40 arrays, and with it on each call that is not
inlined would count references to all of them (measured: 240 ns a call).
So kernels never allocate: the Python side grows their arrays between
operations (``arena_state.grow``).
"""
from __future__ import annotations

from pathlib import Path

from numba import njit

from hpsim.numba_cache import keyed_cache, sources_stamp

_ROOT = Path(__file__).resolve().parent
SOURCES = ["jitcache.py", "arena_state.py", "jemalloc_jit.py", "redis_jit.py"]


_Cache = keyed_cache(sources_stamp(_ROOT, SOURCES))


def _cached(fn, **options):
    """numba's ``njit`` with the NRT off and the cache keyed on SOURCES."""
    d = njit(_nrt=False, **options)(fn)
    d._cache = _Cache(d.py_func)
    return d


def compiled(fn):
    """``@compiled``: a numba function compiled once and cached on disk, called
    only from other compiled functions: numba builds it no CPython wrapper
    (``no_cpython_wrapper``; unboxing the ~40 arrays of the state took 12 of
    the 77 s of a cold compilation, measured with cProfile on 2026-11-30).
    Calling it from Python raises numba's TypeError."""
    return _cached(fn, no_cpython_wrapper=True)


def entry(fn):
    """``@entry``: as ``compiled``, and callable from Python (the generators'
    Python faces, ``workloads/redis.py`` and ``workloads/jemalloc.py``)."""
    return _cached(fn)
