"""The one source of time.

Every part of stackpress asks an injected clock for the time and waits through
it, so the same engine runs against the wall clock on hardware and against a
virtual clock in simulation, where a 500-hour test takes seconds and every run
is deterministic.
"""

from __future__ import annotations

import threading
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
        self.speed = _positive(speed)
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


BEHIND = 0.25  # wall s: an engine this far behind its pace is re-paced from where it is


class PacedClock:
    """Simulated time for a window to watch: virtual time, paced to the wall at the operator's speed.

    `VirtualClock` runs a simulation as fast as it computes, which no one can
    watch; `WallClock(speed)` paces it, but its time runs on whether or not the
    engine keeps up: when the window's painting or a busy machine delays a tick at
    10 000x, the next tick lands simulated minutes later and the regulator and the
    protocol miss everything in between. This clock is virtual — it moves only when
    the engine waits, so the run is tick for tick the run `stackpress run` makes —
    and each wait also lasts until the wall clock has caught up with `speed`. An
    engine that falls behind makes simulated time run slower, never skip; it does
    not sprint to catch up afterwards either. `set_speed` may be called from any
    thread and takes effect on the wait in progress. A continued run's clock starts
    where the run left off (`start`), paced from there."""

    def __init__(self, speed: float, start: float = 0.0) -> None:
        """`speed`: simulated seconds per wall second; `start`: the time it reads now, s."""
        self._changed = threading.Condition()
        self._t = float(start)
        self._speed = _positive(speed)
        self._pace_from(self._t)

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        speed = _positive(speed)
        with self._changed:
            self._speed = speed
            self._pace_from(self._t)
            self._changed.notify_all()

    def now(self) -> float:
        return self._t

    def sleep_until(self, t: float) -> None:
        with self._changed:
            while (late := time.monotonic() - self._due(t)) < 0:
                self._changed.wait(-late)
            if late > BEHIND:
                self._pace_from(t)
            self._t = max(self._t, float(t))

    def __getstate__(self) -> dict[str, object]:
        """Picklable (a session's checkpoint pickles the simulated world, and the world its clock)."""
        return {name: value for name, value in vars(self).items() if name != "_changed"}

    def __setstate__(self, state: dict[str, object]) -> None:
        vars(self).update(state)
        self._changed = threading.Condition()

    def _pace_from(self, t: float) -> None:
        """From now on, `t` is due now and later times `speed` times faster than the wall."""
        self._paced_t, self._paced_wall = t, time.monotonic()

    def _due(self, t: float) -> float:
        return self._paced_wall + (t - self._paced_t) / self._speed


def _positive(speed: float) -> float:
    if not speed > 0:
        raise ValueError(f"clock speed must be positive, not {speed!r}")
    return float(speed)
