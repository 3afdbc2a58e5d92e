"""The command-line convention of every entry point: a bad argument, a bad
input file, or a bad trace found mid-run is reported as one line
``error: ...`` on stderr with exit status 2, never as a traceback
(``HPSIM_DEBUG=1`` in the environment re-raises, for debugging).
"""
from __future__ import annotations

import functools
import os
import sys

from hpsim.io import InputError

# what an entry point reports as bad input: InputError, ValueError (config and
# spec checks, workloads.trace.TraceFormatError, workloads.lackey's format
# errors), OSError (a missing or unreadable file) and KeyError (a missing
# key in a JSON spec)
USER_ERRORS = (InputError, ValueError, OSError, KeyError)


def fail(msg: str) -> int:
    """Print ``error: msg`` (one line) on stderr and return exit status 2."""
    msg = " ".join(str(msg).split()) if "\n" not in str(msg) else str(msg).strip()
    print(f"error: {msg}", file=sys.stderr, flush=True)
    return 2


def describe(e: BaseException) -> str:
    """The message of a user error, with its file where an OSError names one."""
    if isinstance(e, KeyError):   # a lookup that carries its own message, or a bare key
        arg = e.args[0] if e.args else ""
        return arg if isinstance(arg, str) and " " in arg else f"missing key {arg!r}"
    if isinstance(e, OSError) and e.filename is not None:
        return f"{e.filename}: {e.strerror or e}"
    return str(e)


def cli(main):
    """Wrap ``main(argv) -> int`` with the convention above.  argparse's own
    errors (exit status 2, one usage line) pass through unchanged."""
    @functools.wraps(main)
    def wrapper(argv=None) -> int:
        try:
            return main(argv) or 0
        except USER_ERRORS as e:
            if os.environ.get("HPSIM_DEBUG"):
                raise
            return fail(describe(e))
    return wrapper
