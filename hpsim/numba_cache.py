"""numba's on-disk cache keyed on a group of source files, not one.

numba keys a cached function on its own file only.  A compiled function
that inlines or links functions of other modules (the replay loop carries
copies of the fault path, the TLB and the allocator; the Redis kernels the
jemalloc arena) must be recompiled when any of them changes, so the caches
made here also key on the bytes of every file of the group.  Used by
``machine/jit.py`` and ``workloads/jitcache.py``.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import sys
from pathlib import Path

from numba.core.caching import CompileResultCacheImpl, FunctionCache


def sources_stamp(root: Path, sources: list[str]) -> bytes:
    """sha256 digest (32 bytes) of the files ``sources`` (paths relative to
    ``root``), names included; a missing file (not laid out as the
    repository) keys on its name alone instead of raising."""
    h = hashlib.sha256()
    for rel in sources:
        try:
            h.update(rel.encode() + b"\0" + (root / rel).read_bytes())
        except OSError:
            h.update(rel.encode() + b"\0?")
    return h.digest()


def keyed_cache(stamp: bytes) -> type[FunctionCache]:
    """A ``FunctionCache`` class whose entries are valid only for ``stamp``
    (``sources_stamp``); set it on a dispatcher as ``d._cache = cls(d.py_func)``,
    which is what ``njit(cache=True)`` does with numba's own class."""
    def keyed(locator):
        def get_source_stamp(self):
            return (locator.get_source_stamp(self), stamp)
        return type(locator.__name__, (locator,), {"get_source_stamp": get_source_stamp})

    impl = type("KeyedCacheImpl", (CompileResultCacheImpl,),
                {"_locator_classes": [keyed(c) for c in CompileResultCacheImpl._locator_classes]})
    return type("KeyedFunctionCache", (FunctionCache,), {"_impl_class": impl})


def is_cached(dispatcher) -> bool:
    """Whether numba's on-disk cache holds a compiled ``dispatcher`` (any
    signature) that is valid for its sources now, i.e. whether its first call
    loads instead of compiling.  Reads numba's index file the way numba's
    ``IndexDataCacheFile._load_index`` does (through it: a stale stamp or
    another numba version reads as empty); False if that private API moved."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except (AttributeError, OSError, ValueError, EOFError):
        return False


def cache_dir(dispatcher) -> str:
    """The folder of ``dispatcher``'s on-disk cache (under NUMBA_CACHE_DIR
    when set, else ``__pycache__`` beside its source), or "?" if unknown."""
    return str(getattr(getattr(dispatcher, "_cache", None), "_cache_path", "?"))


def announce_compile(dispatcher, what: str, seconds: float, stream=None) -> bool:
    """Before a first call that will compile (``is_cached`` false), say so on
    ``stream`` (default stderr), with the measured duration ``seconds`` and
    the cache folder, instead of a silent pause; returns whether it did."""
    if is_cached(dispatcher):
        return False
    print(f"compiling {what}, about {seconds:.0f} s, once per numba cache "
          f"(numba cache: {cache_dir(dispatcher)})", file=stream or sys.stderr, flush=True)
    return True


@contextlib.contextmanager
def compiling_alone(dispatcher, what: str, seconds: float, stream=None):
    """Run the block that makes ``dispatcher``'s first call while no other
    process compiles the same kernels: when they are not cached yet, take
    an exclusive ``flock`` on ``.compile.lock`` in their cache folder for
    the whole block, so a second job started meanwhile (two Redis traces of
    a cold workflow) waits and then loads them instead of compiling them
    again beside it.  Announces the compilation (``announce_compile``) when
    it is still needed once the lock is held.  Cached already, or no
    writable cache folder: no lock."""
    folder = Path(cache_dir(dispatcher))
    lock = None
    if not is_cached(dispatcher) and folder.is_absolute():
        lock = _open_lock(folder)
    if lock is None:
        announce_compile(dispatcher, what, seconds, stream)
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # waits while another process compiles
        if is_cached(dispatcher):            # it did: load, and let others go on
            fcntl.flock(lock, fcntl.LOCK_UN)
        else:
            announce_compile(dispatcher, what, seconds, stream)
        yield


def _open_lock(folder: Path):
    """``folder``/.compile.lock opened for writing, or None where it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return open(folder / ".compile.lock", "w")
    except OSError:
        return None
