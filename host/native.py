"""The compiled replay loop and probes (``host/native.c``): built with the
system C compiler at first use, cached by source hash.

The binary lives in ``$HPSIM_NATIVE_DIR`` (default: the temporary directory's
``hpsim-native``), named by the SHA-256 of the source and flags, so a changed
source is rebuilt and concurrent builds never see a half-written file.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from hpsim.cc import compiler
from hpsim.io import InputError, temp_path

SOURCE = Path(__file__).with_name("native.c")
# -z now: bind library calls at load, not at their first call inside the timed loop.
# -falign-loops=32: the compute spin's speed depends on where its loop lands; on this
# host (AMD EPYC, a VM) the spin loop of `native spin` straddled a 32-byte fetch block
# and ran at 1.82 iterations/ns while the replay's copy of the same loop ran at 3.6, so
# host.calibrate's cpu_ghz was half the rate at which the replay spins (measured
# 2026-11-29: 55.1 ms vs 27.8 ms for 1e8 iterations without/with the flag)
FLAGS = ["-O2", "-std=gnu11", "-Wall", "-falign-loops=32", "-Wl,-z,now"]
LIBS = ["-lm"]


class NativeUnavailable(InputError):
    """No C compiler, or the source does not compile here."""


def binary() -> Path:
    """Path of the compiled ``native`` program, building it if needed.
    Raises NativeUnavailable without a compiler or on a compile error."""
    cc = compiler()
    if cc is None:
        raise NativeUnavailable("no C compiler (set CC, or install cc/gcc/clang)")
    src = SOURCE.read_bytes()
    key = hashlib.sha256(src + " ".join([cc, *FLAGS, *LIBS]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("HPSIM_NATIVE_DIR")
                 or Path(tempfile.gettempdir()) / "hpsim-native")
    out = cache / f"native-{key}"
    if out.exists():
        return out
    tmp = temp_path(out)
    r = subprocess.run([cc, *FLAGS, "-o", str(tmp), str(SOURCE), *LIBS],
                       capture_output=True, text=True)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise NativeUnavailable(f"{cc} could not compile {SOURCE.name}: "
                                f"{r.stderr.strip().splitlines()[-1:] or r.returncode}")
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)
    return out


def run(*args: str, stdin=None, timeout: float | None = None) -> str:
    """Run the native program with ``args``; returns its stdout.  Raises
    RuntimeError with its stderr when it fails."""
    r = subprocess.run([str(binary()), *map(str, args)], input=stdin, capture_output=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"native {' '.join(map(str, args))}: "
                           f"{r.stderr.decode(errors='replace').strip()}")
    return r.stdout.decode()
