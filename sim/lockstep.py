"""The policies of a run replaying its traces side by side, each trace
decoded once for all of them.

Why: ``sim.batch`` keeps a run's decoded traces for its next policies only
when they fit the budget (``TraceCache``); bigger ones were decoded again for
every policy.  Decoding costs about 7 ns a record (``TraceReader.columns``,
measured 2026-11-30 on the default profile's xsbench, hotspot and graph500
traces: 6.9, 8.3 and 7.8 ns), and the paper profile's xsbench trace has 4.05
G records, replayed by 7 policies: 28 s each, about a third of the job.

How: a decoder thread per trace (zstd and the plane join release the GIL)
decodes its chunks in order, at most ``WINDOW`` chunks beyond the one the
slowest policy is on.  Each policy's ``Simulation`` runs in a thread of its
own, but only the thread holding the run token replays, so the job uses the
one core its rule asks for, as before (the decoders may use a second, as
``columns_ahead`` did); a policy that needs a chunk not decoded yet hands the
token on.  A chunk is dropped once every policy is past it.  With several
traces (processes), policy A can wait ahead on one trace for B while B waits
ahead on another for A: their processes' clocks tie each policy's positions
in the traces together, differently for each policy.  When every policy
waits so and every decoder is held by its window, the trace of the waiting
policy nearest its window gets one chunk more, up to ``WINDOW`` more; beyond
that the waiting policy leaves the shared stream of that trace and decodes
it for itself from where it is (``_unstick``; on the paper profile's
fig_fairness, three traces, the windows had grown by about 70 chunks, 870
MiB, before this bound).  Memory: all the policies' machines at once plus
the windows, twice ``WINDOW`` per trace at most (``bytes_held``).

Results: each policy replays the same records in the same order on a machine
of its own, and nothing is shared but the read-only chunks, so every table is
byte-identical to the policies run one after another (tests/test_lockstep.py);
only the order in which their progress lines appear changes.
"""
from __future__ import annotations

import itertools
import threading
from typing import Callable

from sim.cursor import TraceCursor
from workloads.trace import DEFAULT_CHUNK_RECORDS, RECORD_BYTES, TraceReader

WINDOW = 8      # decoded chunks kept beyond the slowest policy's, per trace (8 x 12 MiB)
DONE = 1 << 62  # the position of a policy that reads no more


class Aborted(Exception):
    """Another policy of the lockstep, or a decoder, failed; this one stops too."""


def bytes_held(readers: list[TraceReader], window: int | None = None) -> int:
    """Host bytes of decoded chunks held at most in the ordinary course: per
    trace the window, the chunk the slowest policy is on and the one its
    decoder holds, each as big as the trace's largest (the writer's chunks
    are all equal but the last)."""
    w = WINDOW if window is None else window
    # with several traces each window may grow by w chunks (_unstick), and a
    # policy decoding a trace for itself holds one chunk of it
    per_trace = w + 2 if len(readers) == 1 else 2 * w + 3
    out = 0
    for r in readers:
        per_chunk = max(DEFAULT_CHUNK_RECORDS,
                        -(-int(r.trailer["n_records"]) // max(1, r.n_chunks)))
        out += per_trace * per_chunk * RECORD_BYTES
    return out


class _Trace:
    """One trace's decoded chunks and where each policy is in it."""

    def __init__(self, path, n: int):
        self.path = path
        self.chunks: dict[int, tuple] = {}
        self.pos = [0] * n            # the chunk each policy needs next
        self.decoded = 0              # chunks decoded so far
        self.end: int | None = None   # number of chunks, once decoded to the end
        self.extra = 0                # chunks beyond the window granted by _unstick
        self.blocked = False          # the decoder waits for the window
        self.private: dict[int, object] = {}   # policy -> its own stream of this trace

    def held(self, window: int) -> bool:
        """The decoder waits with its next chunk (number ``decoded``) in hand
        and its window is still closed (a flag alone could be stale: it is
        set before the wait and cleared only when the decoder runs again)."""
        return self.blocked and self.decoded >= min(self.pos) + window + self.extra

    def available(self, j: int) -> bool:
        return j < self.decoded or self.end is not None

    def drop(self) -> None:
        # policy k is on chunk pos[k] - 1: every chunk before min(pos) - 1 is done with
        low = min(self.pos) - 1
        for j in [j for j in self.chunks if j < low]:
            del self.chunks[j]


class Lockstep:
    """The traces of a run decoded once for ``n`` policies, each reading them
    through cursors (``cursor``) in a thread of its own, one at a time by
    the run token (see the module doc).

    Chunks are (words u64, args u32) arrays as ``TraceReader.columns`` yields
    them, each its own (never reused: several policies hold them)."""

    def __init__(self, paths: list, n: int, window: int | None = None):
        self.paths = [str(p) for p in paths]
        self.n = n
        self.window = WINDOW if window is None else window
        self.cond = threading.Condition()
        self.traces = [_Trace(p, n) for p in self.paths]
        self.holder: int | None = None    # the policy with the run token
        self.waiting: dict[int, tuple[int, int]] = {}   # policy -> (trace, chunk) it waits for
        self.live = n
        self.error: BaseException | None = None
        self.made = 0                     # cursors handed out
        self._decoders = [threading.Thread(target=self._decode, args=(t,), daemon=True,
                                           name=f"lockstep-decode-{t}")
                          for t in range(len(self.traces))]

    # --- decoding --------------------------------------------------------
    def _decode(self, t: int) -> None:
        tr = self.traces[t]
        try:
            for j, cols in enumerate(TraceReader(tr.path).columns()):
                with self.cond:
                    while j >= min(tr.pos) + self.window + tr.extra and self.error is None:
                        tr.blocked = True
                        self._unstick()
                        self.cond.wait()
                    tr.blocked = False
                    if self.error is not None:
                        return
                    if min(tr.pos) == DONE:    # nobody reads this stream any more
                        tr.end = tr.decoded
                        self.cond.notify_all()
                        return
                    tr.chunks[j] = cols
                    tr.decoded = j + 1
                    self.cond.notify_all()
            with self.cond:
                tr.end = tr.decoded
                self.cond.notify_all()
        except BaseException as e:    # a corrupt chunk: every policy stops with it
            self.abort(e)

    def _unstick(self) -> None:
        """(Lock held.)  When nobody replays, every live policy waits for a
        chunk not decoded and every decoder is held by its window: the trace
        of the waiting policy nearest its window gets one chunk more, or,
        once it has ``WINDOW`` more, that policy a stream of its own."""
        if self.holder is not None or len(self.waiting) < self.live or self.live == 0:
            return
        if any(self.traces[t].available(j) or k in self.traces[t].private
               for k, (t, j) in self.waiting.items()):
            return
        if not all(tr.end is not None or tr.held(self.window) for tr in self.traces):
            return                    # a decoder is busy, or free to go on: its chunk may be the one
        k, (t, j) = min(self.waiting.items(),
                        key=lambda kv: kv[1][1] - min(self.traces[kv[1][0]].pos))
        tr = self.traces[t]
        if tr.extra < self.window:
            tr.extra += 1
        else:                         # k decodes trace t for itself from chunk j on
            tr.private[k] = itertools.islice(TraceReader(tr.path).columns(), j, None)
            tr.pos[k] = DONE
            tr.drop()
        self.cond.notify_all()

    def abort(self, error: BaseException) -> None:
        """Stop the decoders and every policy (they raise ``Aborted``); the
        first error is kept (``error``) for ``run_all`` to raise."""
        with self.cond:
            if self.error is None:
                self.error = error
            self.cond.notify_all()

    def summary(self) -> str:
        """One line for the job's log: how far the windows grew and how many
        policies decoded a trace for themselves (``_unstick``)."""
        grown = sum(tr.extra for tr in self.traces)
        own = sum(len(tr.private) for tr in self.traces)
        return (f"lockstep: {len(self.traces)} trace(s) decoded once for {self.n} policies; "
                f"windows grown by {grown} chunk(s), {own} trace stream(s) decoded by a "
                "policy for itself")

    # --- the policies' side ----------------------------------------------
    def acquire(self, k: int) -> None:
        """Policy k's first turn: wait for the run token."""
        with self.cond:
            while self.error is None and self.holder is not None:
                self.cond.wait()
            if self.error is not None:
                raise Aborted()
            self.holder = k

    def done(self, k: int) -> None:
        """Policy k reads no more (its run ended or failed): it gives the
        token up and holds back neither the decoders nor the drops."""
        with self.cond:
            self.live -= 1
            self.waiting.pop(k, None)
            for tr in self.traces:
                tr.pos[k] = DONE
                tr.drop()
            if self.holder == k:
                self.holder = None
            self._unstick()
            self.cond.notify_all()

    def next(self, k: int, t: int):
        """Policy k's next chunk of trace t, or None at its end.  When it is
        not decoded yet, k gives the run token up and waits for both.
        Raises ``Aborted`` when another policy or a decoder failed."""
        tr = self.traces[t]
        with self.cond:
            own = tr.private.get(k)
            if own is None:
                j = tr.pos[k]
                if not tr.available(j):
                    self.holder = None
                    self.waiting[k] = (t, j)
                    self.cond.notify_all()
                    while self.error is None and not (
                            (tr.available(j) or k in tr.private) and self.holder is None):
                        self._unstick()
                        self.cond.wait()
                    del self.waiting[k]
                    if self.error is None:
                        self.holder = k
                if self.error is not None:
                    raise Aborted()
                own = tr.private.get(k)
                if own is None:
                    tr.pos[k] = j + 1
                    tr.drop()
                    self.cond.notify_all()     # a decoder may go on
                    return None if j >= tr.decoded else tr.chunks[j]
        return next(own, None)    # its own stream: decoded here, with the token held

    def cursor(self, path) -> TraceCursor:
        """A ``TraceCursor`` (the ``cursor`` factory ``Simulation`` takes):
        the i-th call is policy i // len(paths)'s cursor over trace
        i % len(paths), as ``Simulation`` asks for its traces in order, one
        policy after another.  Raises ValueError for a path out of that order
        or more cursors than policies."""
        k, t = divmod(self.made, len(self.paths))
        if k >= self.n or str(path) != self.paths[t]:
            raise ValueError(f"lockstep: cursor {self.made} asked for {path}, expected "
                             f"{self.paths[t] if k < self.n else 'none'} ({self.n} policies "
                             f"over {self.paths})")
        self.made += 1
        cur = TraceCursor(path, ahead=False)
        cur._chunks = iter(lambda: self.next(k, t), None)
        return cur


def run_all(ls: Lockstep, jobs: list[Callable[[], None]]) -> None:
    """Run ``jobs`` (job k replays through ``ls``'s policy k cursors), one
    thread each, one at a time by the run token; returns when all are done.
    Raises the first job's error (the others stop with ``Aborted``) or a
    decoder's."""
    def body(k: int) -> None:
        try:
            ls.acquire(k)
            jobs[k]()
        except BaseException as e:
            if not isinstance(e, Aborted):
                ls.abort(e)
        finally:
            ls.done(k)

    threads = [threading.Thread(target=body, args=(k,), name=f"lockstep-{k}", daemon=True)
               for k in range(len(jobs))]
    for d in ls._decoders:
        d.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if ls.error is not None:
        raise ls.error
