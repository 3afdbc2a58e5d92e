"""The policies of a run replaying one trace side by side, the trace decoded
once for all of them.

Why: ``sim.batch`` keeps a run's decoded trace for its next policies only
when it fits the budget (``TraceCache``); a bigger one was decoded again for
every policy.  Decoding costs about 7 ns a record (``TraceReader.columns``,
measured 2026-11-30 on the default profile's xsbench, hotspot and graph500
traces: 6.9, 8.3 and 7.8 ns), and the paper profile's xsbench trace has 4.05
G records, replayed by 7 policies: 28 s each, about a third of the job.

How: a decoder thread (zstd and the plane join release the GIL) decodes the
chunks in order, at most ``WINDOW`` chunks beyond the one the slowest policy
is on.  Each policy's ``Simulation`` runs in a thread of its own, but only the
thread holding the run token replays, so the job uses the one core its rule
asks for, as before (the decoder may use a second, as ``columns_ahead``
did); a policy that needs a chunk not yet decoded hands the token on.  A
chunk is dropped once every policy is past it.  Memory: all the policies'
machines at once plus ``WINDOW`` chunks (``fits``).

One trace only.  With several (processes), each policy's positions in them
are tied together by its processes' clocks, differently for each policy, so
the policies drift apart on each trace and no window bounds what is kept:
on the paper profile's fig_fairness (three traces, 2.7G records, 7 policies;
2026-11-30) unbounded windows saved 19% of the job's CPU (419 -> 340 s) but
held 870 MiB of chunks more than planned (3.55 GB peak RSS); bounded, with
a policy that got too far ahead decoding a trace for itself, 12 of the 21
streams were decoded apart and the job took 425 CPU s.  Such runs keep
decoding per policy.

Results: each policy replays the same records in the same order on a machine
of its own, and nothing is shared but the read-only chunks, so every table is
byte-identical to the policies run one after another (tests/test_lockstep.py);
only the order in which their progress lines appear changes.
"""
from __future__ import annotations

import threading
from typing import Callable

from sim.cursor import TraceCursor
from workloads.trace import DEFAULT_CHUNK_RECORDS, RECORD_BYTES, TraceReader

WINDOW = 8      # decoded chunks kept beyond the slowest policy's (8 x 12 MiB)


class Aborted(Exception):
    """Another policy of the lockstep failed; this one stops too."""


class SharedTrace:
    """One trace decoded once for ``n`` consumers (policies), each reading it
    through ``cursor()`` in a thread of its own (see the module doc).

    Chunks are (words u64, args u32) arrays as ``TraceReader.columns`` yields
    them, each its own (never reused: several consumers hold them)."""

    def __init__(self, path, n: int, window: int | None = None):
        self.path = path
        self.n = n
        self.window = WINDOW if window is None else window
        self.cond = threading.Condition()
        self.chunks: dict[int, tuple] = {}
        self.pos = [0] * n            # the chunk each consumer needs next
        self.decoded = 0              # chunks decoded so far
        self.end: int | None = None   # number of chunks, once the decoder is done
        self.error: BaseException | None = None
        self.holder: int | None = None    # the consumer with the run token
        self.consumers = 0
        self._decoder = threading.Thread(target=self._decode, name="lockstep-decode",
                                         daemon=True)

    @staticmethod
    def bytes_held(reader: TraceReader, window: int | None = None) -> int:
        """Host bytes of the decoded chunks held at most: the window, the
        chunk the slowest consumer is on and the one the decoder holds while
        it waits, each as big as the trace's largest (the writer's chunks are
        all equal but the last)."""
        n_chunks = max(1, reader.n_chunks)
        per_chunk = max(DEFAULT_CHUNK_RECORDS, -(-int(reader.trailer["n_records"]) // n_chunks))
        return ((WINDOW if window is None else window) + 2) * per_chunk * RECORD_BYTES

    def start(self) -> None:
        self._decoder.start()

    def _decode(self) -> None:
        try:
            for j, cols in enumerate(TraceReader(self.path).columns()):
                with self.cond:
                    while j >= min(self.pos) + self.window and self.error is None:
                        self.cond.wait()
                    if self.error is not None:
                        return
                    self.chunks[j] = cols
                    self.decoded = j + 1
                    self.cond.notify_all()
            with self.cond:
                self.end = self.decoded
                self.cond.notify_all()
        except BaseException as e:    # a corrupt chunk: every consumer stops with it
            self.abort(e)

    def abort(self, error: BaseException) -> None:
        """Stop the decoder and every consumer (they raise ``Aborted``); the
        first error is kept (``error``) for ``run_all`` to raise."""
        with self.cond:
            if self.error is None:
                self.error = error
            self.cond.notify_all()

    def _available(self, j: int) -> bool:
        return j < self.decoded or self.end is not None

    def _wait_turn(self, k: int, j: int) -> None:
        """Wait (holding the lock) until chunk j is decoded or the trace has
        ended, and nobody replays; then take the run token."""
        while self.error is None and not (self._available(j) and self.holder is None):
            self.cond.wait()
        if self.error is not None:
            raise Aborted()
        self.holder = k

    def acquire(self, k: int) -> None:
        """Consumer k's first turn: wait for its first chunk and the token."""
        with self.cond:
            self._wait_turn(k, self.pos[k])

    def done(self, k: int) -> None:
        """Consumer k reads no more chunks (its run ended or failed): it
        gives up the token and holds back neither the decoder nor the drop."""
        with self.cond:
            self.pos[k] = 1 << 62
            if self.holder == k:
                self.holder = None
            self._drop()
            self.cond.notify_all()

    def _drop(self) -> None:
        # consumer c is on chunk pos[c] - 1: every chunk before min(pos) - 1 is done with
        low = min(self.pos) - 1
        for j in [j for j in self.chunks if j < low]:
            del self.chunks[j]

    def next(self, k: int):
        """Consumer k's next chunk, or None at the trace's end.  When it is
        not decoded yet, k gives the run token up and waits for both.
        Raises ``Aborted`` when another consumer or the decoder failed."""
        with self.cond:
            j = self.pos[k]
            if not self._available(j):
                self.holder = None
                self.cond.notify_all()
                self._wait_turn(k, j)
            if self.error is not None:
                raise Aborted()
            self.pos[k] = j + 1
            self._drop()
            self.cond.notify_all()     # the decoder may go on
            return None if j >= self.decoded else self.chunks[j]

    def cursor(self, path) -> TraceCursor:
        """A ``TraceCursor`` over this trace for the next consumer (the
        ``cursor`` factory ``Simulation`` takes).  Raises ValueError for
        another trace's path or more cursors than consumers."""
        if str(path) != str(self.path) or self.consumers >= self.n:
            raise ValueError(f"lockstep: a cursor for {path}, but the shared trace is "
                             f"{self.path} with {self.n} consumers")
        k = self.consumers
        self.consumers += 1
        cur = TraceCursor(path, ahead=False)
        cur._chunks = iter(lambda: self.next(k), None)
        return cur


def side_by_side_bytes(readers: list[TraceReader], needs: list[int]) -> int | None:
    """Host bytes of a run replaying the traces of ``readers`` side by side
    with one policy per entry of ``needs`` (each its machine's estimate,
    ``sim.budget.estimate``): the machines together and the decoded window.
    None where lockstep does not apply: other than one trace (module doc) or
    fewer than two policies."""
    if len(readers) != 1 or len(needs) < 2:
        return None
    return sum(needs) + SharedTrace.bytes_held(readers[0])


def run_all(shared: SharedTrace, jobs: list[Callable[[], None]]) -> None:
    """Run ``jobs`` (job k replays through ``shared``'s consumer k), one
    thread each, one at a time by the run token; returns when all are done.
    Raises the first job's error (the others stop with ``Aborted``) or the
    decoder's."""
    def body(k: int) -> None:
        try:
            shared.acquire(k)
            jobs[k]()
        except BaseException as e:
            if not isinstance(e, Aborted):
                shared.abort(e)
        finally:
            shared.done(k)

    threads = [threading.Thread(target=body, args=(k,), name=f"lockstep-{k}", daemon=True)
               for k in range(len(jobs))]
    shared.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = shared.error
    if first is not None:
        raise first
