"""Progress of long jobs (trace generation, simulation, native replay) on stderr.

Through ``tqdm``: on a terminal, a bar redrawn in place at most every
``TTY_INTERVAL_S``; anywhere else (a job's log file), one line per report,
each ending in a newline (tqdm redraws with carriage returns, which a log
file would keep as one long line): the first after ``FIRST_S`` of wall
time (a job done sooner prints none), then at most every ``LOG_INTERVAL_S``,
and a last one with the whole job's rate when it ends::

    linux-thp [2/5]: 26% 18.8M/71.9M records, 18.7M records/s, 00:01 elapsed, ETA 00:02,
    simulated 0.66 s, 31% memory free

(one line in the log; a default-profile run of fig_fairness, 2026-11-29).

``Progress.update`` is called by the jobs' Python loops between chunks of
work (never inside compiled kernels): it costs a subtraction and tqdm's
clock check, and nothing at all with progress off.

The command lines share ``--progress [SECONDS]`` / ``--quiet``
(``progress_options``, ``progress_interval``).
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from tqdm import tqdm

from hpsim.io import InputError

# wall seconds between two lines in a log file (issue 14: at least every 10 s)
LOG_INTERVAL_S = 10.0
# wall seconds before the first line: a job of seconds shows its ETA once
FIRST_S = 1.0
# wall seconds between two redraws of a bar on a terminal
TTY_INTERVAL_S = 0.5
# a log line: done of total, rate, elapsed, ETA, then the job's own note (postfix);
# the unit carries its leading space (" records"), as tqdm's rate_fmt wants it
LOG_FORMAT = ("{desc}: {percentage:.0f}% {n_fmt}/{total_fmt}{unit}, {rate_fmt}, "
              "{elapsed} elapsed, ETA {remaining}{postfix}")


class _Bar(tqdm):
    # no monitor thread: updates come from the job's own loop, often enough
    monitor_interval = 0

    def __init__(self, *args, note=None, **kwargs):
        self.note = note     # before tqdm's __init__, which draws the first line
        super().__init__(*args, **kwargs)

    @property
    def format_dict(self):
        d = super().format_dict
        if self.note is not None:    # asked only when a line is drawn
            d["postfix"] = self.note()
        return d


class _Lines:
    """A file for tqdm that turns each in-place redraw into one line."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, s: str) -> None:
        line = s.replace("\r", "").rstrip()
        if line:
            self.stream.write(line + "\n")
            self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()


class Progress:
    """Progress of one job: ``done`` of ``total`` work units.

    desc: what runs (e.g. the policy); total: units of the whole job (> 0;
    e.g. a trace's records, from its trailer); unit: their name, plural.
    interval: wall seconds between two reports; None = the default
    (``TTY_INTERVAL_S`` on a terminal, ``LOG_INTERVAL_S`` otherwise);
    True = the default too; False = no progress at all.  stream: where
    (default ``sys.stderr``).  note: a function returning what ends each
    line (e.g. "simulated 12.50 s"), called only when a line is drawn.
    Use as a context manager, or call ``close`` (prints the final line)."""

    def __init__(self, desc: str, total: int, unit: str = "records",
                 interval: float | None | bool = None, stream=None,
                 note: Callable[[], str] | None = None):
        self.bar = None
        if interval is False:
            return
        stream = sys.stderr if stream is None else stream
        tty = bool(getattr(stream, "isatty", lambda: False)())
        if interval is None or interval is True:
            interval = TTY_INTERVAL_S if tty else LOG_INTERVAL_S
        self.interval = float(interval)
        self.log = not tty
        first = min(self.interval, FIRST_S)
        total = max(int(total), 1)
        # k/M/G from 1000 on; below, exact counts (tqdm would write 4 as "4.00")
        self.bar = _Bar(total=total, desc=desc, unit=f" {unit}", unit_scale=total >= 1000,
                        mininterval=first, delay=first, miniters=1, leave=True, note=note,
                        file=stream if tty else _Lines(stream), dynamic_ncols=tty,
                        bar_format=None if tty else LOG_FORMAT,
                        # a log has no lines to move between: several bars alive
                        # at once (sim.lockstep) each write their own line, with
                        # no cursor-up escapes (tqdm's default for a second bar)
                        position=None if tty else 0)

    def update(self, done: int) -> None:
        """``done`` units of the total are done by now (absolute, not an
        increment); draws a line if the interval has passed since the last."""
        bar = self.bar
        if bar is not None and bar.update(done - bar.n):
            bar.mininterval = self.interval    # after the first line

    def close(self) -> None:
        """Print the final line (done of total, overall rate) and stop."""
        bar = self.bar
        if bar is not None:
            if self.log and bar.n == bar.last_print_n:
                bar.leave = False    # the last line said it all: no copy in the log
            bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def progress_options(ap: argparse.ArgumentParser) -> None:
    """Add ``--progress [SECONDS]`` and ``--quiet`` (exclusive) to ``ap``."""
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--progress", type=float, nargs="?", const=None, default=None,
                   metavar="SECONDS",
                   help=f"progress on stderr at most every SECONDS of wall time (default: on, "
                        f"every {LOG_INTERVAL_S:g} s in a log file, {TTY_INTERVAL_S:g} s on a "
                        "terminal)")
    g.add_argument("--quiet", action="store_true", help="no progress lines")


def progress_interval(a: argparse.Namespace) -> float | None | bool:
    """The ``interval`` for ``Progress`` from ``progress_options``' options:
    False with --quiet, the SECONDS of --progress, else None (the default).
    Raises InputError for a negative or NaN SECONDS."""
    if a.quiet:
        return False
    if a.progress is not None and not a.progress >= 0:
        raise InputError(f"--progress {a.progress}: must be >= 0 seconds")
    return a.progress
