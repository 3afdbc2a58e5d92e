"""The system's C compiler, for the small C programs compiled at run time
(``sim/bench_ref.c``, the benchmark's reference loop; ``host/native.c``, the
native replay)."""
from __future__ import annotations

import os
import shutil


def compiler() -> str | None:
    """Absolute path of the C compiler to use: ``$CC``, else ``cc``, ``gcc`` or
    ``clang`` on PATH; None when there is none."""
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        path = shutil.which(name) if name else None
        if path:
            return path
    return None
