"""The live view's copy of a run: what the engine publishes, held for plotting in bounded memory.

The engine calls `sample` and `event` on its own thread; they only append to a
list under a short lock, so the engine never waits on painting. The GUI calls
`drain` on a timer, on its own thread, and reads the columns from there.

Memory stays flat however long the run: once `capacity` rows are held, every
other row is dropped and from then on only every `stride`-th sample is kept, so
the buffer always spans the whole run at an even density (a month at 1 s ticks is
2.6 M samples; the default 2^20 rows of 11 columns take 92 MB). The recorder, not
this buffer, keeps every sample that matters.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from stackpress.sample import Event, Sample

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("t", "voltage", "current", "charge", "force", "pressure", "setpoint", "thickness", "actuator",
           "step", "cycle")
DEFAULT_CAPACITY = 1 << 20


def recorded_columns(samples: pd.DataFrame) -> dict[str, np.ndarray]:
    """A run file's samples (`read_run(path).samples`) as the live view's columns, in floats."""
    return {name: samples[name].to_numpy(dtype=float) for name in COLUMNS}


class LiveBuffer:
    """Samples and events from the engine thread, columns for the GUI thread."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2:
            raise ValueError(f"live buffer capacity must be at least 2, not {capacity}")
        self._lock = threading.Lock()
        self._pending: list[Sample] = []
        self._events: list[Event] = []
        self._data = {name: np.empty(capacity) for name in COLUMNS}
        self.capacity = capacity
        self.size = 0  # rows held
        self.stride = 1  # one sample in `stride` is kept
        self.received = 0  # samples drained so far
        self.latest: Sample | None = None

    # --- engine thread ------------------------------------------------------------------------

    def sample(self, s: Sample) -> None:
        with self._lock:
            self._pending.append(s)

    def event(self, e: Event) -> None:
        with self._lock:
            self._events.append(e)

    # --- GUI thread ---------------------------------------------------------------------------

    def drain(self) -> tuple[list[Sample], list[Event]]:
        """Move what arrived into the columns; the new samples (all of them, kept or not) and events."""
        with self._lock:
            samples, self._pending = self._pending, []
            events, self._events = self._events, []
        if samples:
            self.latest = samples[-1]
            self._append(samples)
        return samples, events

    def load(self, columns: dict[str, np.ndarray]) -> None:
        """Start from a run's recorded samples (a continued run: its live view shows the whole run), thinned
        to the density the buffer would have reached had it received them one by one."""
        n = len(columns["t"])
        while -(-n // self.stride) > self.capacity:
            self.stride *= 2
        for name in COLUMNS:
            kept = np.asarray(columns[name], dtype=float)[:: self.stride]
            self._data[name][: len(kept)] = kept
        self.size = -(-n // self.stride)
        self.received = n

    def column(self, name: str) -> np.ndarray:
        """The held values of one column (a view: valid until the next `drain`)."""
        return self._data[name][: self.size]

    def _append(self, samples: list[Sample]) -> None:
        indexed = list(enumerate(samples, self.received))
        self.received += len(samples)
        while indexed:
            kept = [(i, s) for i, s in indexed if i % self.stride == 0]
            room = self.capacity - self.size
            self._write([s for _, s in kept[:room]])
            if len(kept) <= room:
                return
            if room:
                indexed = [(i, s) for i, s in indexed if i > kept[room - 1][0]]
            self._halve()

    def _write(self, samples: list[Sample]) -> None:
        if not samples:
            return
        rows = np.array([[getattr(s, name) for name in COLUMNS] for s in samples], dtype=float)
        for j, name in enumerate(COLUMNS):
            self._data[name][self.size : self.size + len(samples)] = rows[:, j]
        self.size += len(samples)

    def _halve(self) -> None:
        half = (self.size + 1) // 2
        for column in self._data.values():
            column[:half] = column[: self.size : 2]
        self.size = half
        self.stride *= 2
