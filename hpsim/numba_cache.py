"""numba's on-disk cache keyed on a group of source files, not one.

numba keys a cached function on its own file only.  A compiled function
that inlines or links functions of other modules (the replay loop carries
copies of the fault path, the TLB and the allocator; the Redis kernels the
jemalloc arena) must be recompiled when any of them changes, so the caches
made here also key on the bytes of every file of the group.  Used by
``machine/jit.py`` and ``workloads/jitcache.py``.
"""
from __future__ import annotations

import hashlib
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
