"""The command-line convention of every entry point: a bad argument, a bad
input file or a bad trace found mid-run is reported as one line
``error: ...`` on stderr with exit status 2, never as a traceback.
"""
from __future__ import annotations

import functools
import sys

from hpsim.io import InputError

# what an entry point reports as ``error:`` (bad input), besides InputError:
# ValueError covers config/spec checks and workloads.trace.TraceFormatError
USER_ERRORS = (InputError, ValueError, KeyError, OSError)


def fail(msg: str) -> int:
    """Print ``error: msg`` on stderr and return exit status 2."""
    print(f"error: {msg}", file=sys.stderr, flush=True)
    return 2


def cli(main):
    """Wrap ``main(argv) -> int``: an InputError becomes ``error: ...`` on
    stderr and exit status 2."""
    @functools.wraps(main)
    def wrapper(argv=None) -> int:
        try:
            return main(argv) or 0
        except InputError as e:
            return fail(str(e))
    return wrapper
