"""A process's trace as the run replays it: chunk by chunk, the next chunk
decoded on a second thread (``TraceReader.columns_ahead``)."""
from __future__ import annotations

import numpy as np

from workloads.trace import TraceReader


class TraceCursor:
    """Streams one process's trace chunk by chunk: ``words``/``args`` are the
    current chunk's records, valid until the next call of ``next_chunk``
    (with ``ahead``, the decode of the chunk after that reuses their arrays).

    ahead (default True): decode the next chunk on a second thread while this
    one replays (``TraceReader.columns_ahead``; same records, same order);
    False decodes each chunk when it is asked for (``sim.bench`` times both)."""

    def __init__(self, path, ahead: bool = True):
        self.reader = TraceReader(path)
        self.path = path
        self._chunks = self.reader.columns_ahead() if ahead else self.reader.columns()
        self.words = self.args = None
        self.i = 0
        self.record_base = 0
        self.phases = self.reader.phases
        self.pauses = self.reader.trailer.get("pauses", {})
        live = self.reader.trailer.get("live_bytes")
        self.live = np.asarray(live, dtype=np.float64) if live else None
        self.header = self.reader.header

    def next_chunk(self) -> bool:
        if self.words is not None:
            self.record_base += len(self.words)
        cols = next(self._chunks, None)
        if cols is None:
            self.words = None
            return False
        self.words, self.args = cols
        self.i = 0
        return True

    def live_bytes(self, accesses: int) -> float:
        if self.live is None or len(self.live) == 0:
            return float("nan")
        k = np.searchsorted(self.live[:, 0], accesses, side="right") - 1
        return float(self.live[max(k, 0), 1])
