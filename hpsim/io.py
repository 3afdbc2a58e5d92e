"""Input errors, progress messages and atomic file writes: one home for the
helpers every command line uses (workloads, sim, report).

An output is written to a temporary file beside it and renamed into place, so
a run that stops half-way never leaves a half-written file under its name.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator


class InputError(Exception):
    """A missing or invalid input file; the message names it."""


def log(msg: str) -> None:
    """Progress and warnings go to stderr (stdout stays clean)."""
    print(msg, file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    log(f"warning: {msg}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_path(path) -> Path:
    """A new empty temporary file beside ``path`` (same directory, so the final
    rename is atomic), named ``<name>.<random>.part``, with the permissions a
    plain open() gives.  Creates the parent directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    return Path(tmp)


@contextlib.contextmanager
def atomic_paths(*paths) -> Iterator[list[Path]]:
    """Yield one temporary path per output path; when the block ends without
    an exception, rename every one into place (all written first, then all
    moved), else delete them.  Outputs are never seen half-written."""
    tmps = [temp_path(p) for p in paths]
    try:
        yield tmps
    except BaseException:
        for t in tmps:
            t.unlink(missing_ok=True)
        raise
    for t, p in zip(tmps, paths):
        os.replace(t, p)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see ``atomic_paths``)."""
    with atomic_paths(path) as (tmp,):
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path, df) -> Path:
    return atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))


def require_file(path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    return path


def require_dir(path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{what} not found (no such directory): {path}")
    return path
