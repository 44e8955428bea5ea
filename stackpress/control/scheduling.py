"""Gain scheduling on the stiffness of the fixture and stack, estimated online.

A position-controlled fixture turns actuator travel into stack pressure at a
rate G (Pa per metre): the frame (or springs) and the stack in series over the
cell area. The stack's share changes as the LixSi modulus drops on lithiation
and recovers on delithiation, and a stiffer stack than the gains were tuned for
makes the same gains ring. The regulator keeps its loop gain G x kp where it
was tuned by scaling kp, ki and kd by G_tuned / G_now (`[regulator] stiffness`
names G_tuned; the estimate starts there).

The estimate: the pressure is averaged over windows of `window` s (1 s, or one
tick if ticks are longer), as are the platen's position (the actuator's
readback through the backlash: a play operator, so motion inside the lost
motion does not count) and the motion the feed-forward gave for the
swelling. Between windows dP = G (du - ds): what the actuator did beyond
following the swelling, times G. A scalar recursive least-squares fit
with forgetting (`forgetting` per accepted window, ~10 windows of memory)
takes in only windows whose motion is clearly above the noise, i.e. predicted
|dP| > 4 sigma of the window-mean difference (sigma from the load cell's own
tick-to-tick scatter): setpoint ramps, the initial approach, and a loop that
starts to ring all qualify, steady holding does not (and needs no new
estimate). Windows below half the setpoint are left out. The estimate is kept
within 1/5..5 times the tuned stiffness.
"""

from __future__ import annotations

import math

from stackpress.control.filters import NoiseMeter

SIGNAL_TO_NOISE = 4.0


class StiffnessEstimator:
    def __init__(self, reference: float, window: float = 1.0, forgetting: float = 0.9) -> None:
        if not (math.isfinite(reference) and reference > 0.0):
            raise ValueError(f"the tuned stiffness must be positive, not {reference!r}")
        self.reference = reference  # Pa per command unit, what the gains were tuned at
        self.value = reference  # the estimate
        self.window = window
        self.forgetting = forgetting
        self.updates = 0  # windows taken in
        self.noise = NoiseMeter()
        self._sxx = 0.0
        self._sxy = 0.0
        self._new_window()
        self._previous: tuple[float, float, float, int] | None = None

    @property
    def scale(self) -> float:
        """What the tuned gains are multiplied by: G_tuned / G_now."""
        return self.reference / self.value

    def _new_window(self) -> None:
        self._time = 0.0
        self._count = 0
        self._sums = [0.0, 0.0, 0.0]  # position, pressure, swelling motion
        self._valid = True

    def restart(self) -> None:
        """The loop re-engaged (a resume after a pause, manual back to automatic): start again from
        the tuned stiffness. What was learned before may come from the very fault that paused the
        run (a drifting load cell, a platen that lifted off), and a soft estimate raises the gains
        past the loop's stability bound."""
        self.value = self.reference
        self._sxx = self._sxy = 0.0
        self._new_window()
        self._previous = None

    def update(self, position: float, pressure: float, swelling_motion: float, dt: float, valid: bool) -> None:
        """One tick: the platen position the actuator stands for, the measured pressure, the cumulative
        motion the feed-forward gave for the swelling (same unit as the position); `valid` False to
        leave this tick's window out."""
        self.noise.update(pressure)
        if not (math.isfinite(position) and math.isfinite(pressure) and math.isfinite(swelling_motion)):
            valid = False
        self._valid = self._valid and valid
        if valid:
            sums = self._sums
            sums[0] += position
            sums[1] += pressure
            sums[2] += swelling_motion
        self._count += 1
        self._time += dt
        if self._time + 1e-9 * dt < self.window:
            return
        if self._valid and self._count:
            n = self._count
            mean = (self._sums[0] / n, self._sums[1] / n, self._sums[2] / n, n)
            if self._previous is not None:
                self._learn(self._previous, mean)
            self._previous = mean
        else:
            self._previous = None
        self._new_window()

    def _learn(self, before: tuple[float, float, float, int], after: tuple[float, float, float, int]) -> None:
        x = (after[0] - before[0]) - (after[2] - before[2])
        y = after[1] - before[1]
        sigma = self.noise.sigma
        if not math.isfinite(sigma):
            return
        noise = sigma * math.sqrt(1.0 / before[3] + 1.0 / after[3])
        if abs(x) * self.value <= SIGNAL_TO_NOISE * noise:
            return
        self._sxx = self.forgetting * self._sxx + x * x
        self._sxy = self.forgetting * self._sxy + x * y
        self.updates += 1
        estimate = self._sxy / self._sxx
        self.value = min(max(estimate, self.reference / 5.0), self.reference * 5.0)
