"""The one source of time.

Every part of stackpress asks an injected clock for the time and waits through
it, so the same engine runs against the wall clock on hardware and against a
virtual clock in simulation, where a 500-hour test takes seconds and every run
is deterministic.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds since the clock started, and a way to wait for a moment."""

    def now(self) -> float: ...

    def sleep_until(self, t: float) -> None: ...


class WallClock:
    """Monotonic wall time, for real instruments; `speed` > 1 runs it faster (a served simulator)."""

    def __init__(self, speed: float = 1.0, start: float = 0.0) -> None:
        """`start`: the time now, s (a resumed run's clock goes on from where its run is)."""
        if not speed > 0:
            raise ValueError(f"clock speed must be positive, not {speed!r}")
        self.speed = float(speed)
        self._start = float(start)
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self.speed

    def sleep_until(self, t: float) -> None:
        delay = (t - self.now()) / self.speed
        if delay > 0:
            time.sleep(delay)


class VirtualClock:
    """Time that moves only when someone waits: simulation runs as fast as it computes."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)

    def now(self) -> float:
        return self._t

    def sleep_until(self, t: float) -> None:
        if t > self._t:
            self._t = float(t)

    def advance(self, dt: float) -> None:
        self.sleep_until(self._t + dt)
