"""What the regulator does before the load cell sees an error: feed-forward from the cell, and backlash.

The stack pressure moves because the Si swells and shrinks, and the swelling
follows the charge passed: the electrode grows by so many micrometres per
coulomb, a number that changes along the LixSi strain curve (it is small early
in lithiation and roughly doubles towards the end of it). The cycler reports
the current in every sample, so the regulator can move the actuator while the
swelling happens instead of after the load cell has seen it.

- `SwellingEstimator` learns the swelling per coulomb, dL/dQ in m/C, online
  from the history every sample carries: the plate separation (`sample.gap`)
  and the charge counter (`sample.charge`). While the pressure is held, the
  plates move exactly as much as the stack swells, so dL/dQ is the regression
  of gap increments on charge increments, exponentially forgetting the past
  with a memory of `memory` seconds (60 s: a few % of a charge at 1C, so it
  follows the strain curve). Chosen over learning from the actuator's motion
  because the gap is independent of the load-cell noise and of the loop's own
  corrections, and it exists on every fixture kind (a hydraulic ram has no
  position to learn from).
- Position fixtures (spring seat, screw): the actuator must move against the
  swelling, du = -dL/dQ x I dt each tick (`PressureRegulator` adds it to the
  PI's output).
- Force fixtures (hydraulic ram): the ram force IS the stack force, so the
  swelling itself needs no compensation, but the ram's seal friction does: the
  stack pushes the piston back while it swells (stack force = ram + f) and the
  piston follows it down while it shrinks (ram - f), and at each reversal the
  piston sticks until the ram has moved by 2 f, during which the loop has no
  hold on the stack. `FrictionFeedForward` learns from what the loop had to
  command in each swelling direction (command minus measured pressure) and
  moves the ram there the tick the current says the swelling reverses (the
  direction is the sign of the current times the sign of dL/dQ).
- `BacklashCompensator`: a screw's gearbox has lost motion; when the
  direction of the motor's motion reverses, the command jumps by the backlash
  so that the platen moves at once (a backlash inverse with a small hysteresis,
  so noise does not flip it back and forth).
"""

from __future__ import annotations

import math


class SwellingEstimator:
    """dL/dQ, m of stack growth per coulomb passed, from the plate separation and the charge counter."""

    def __init__(self, memory: float = 60.0) -> None:
        if not memory > 0.0:
            raise ValueError(f"the swelling estimator's memory must be positive, not {memory!r}")
        self.memory = memory
        self.rate = 0.0  # m/C, the estimate; 0 until the first charge has passed
        self._sqq = 0.0
        self._sqg = 0.0
        self._last_gap = math.nan
        self._last_charge = math.nan

    def restart(self) -> None:
        """Forget what was learned: after a pause it may come from the fault (a drifting load cell
        that still read "in contact" while the actuator backed away)."""
        self.rate = self._sqq = self._sqg = 0.0
        self._last_gap = self._last_charge = math.nan

    def update(self, gap: float, charge: float, dt: float, in_contact: bool = True) -> float:
        """Learn from one sample taken `in_contact` (the platen on the stack); the estimate, m/C.

        Out of contact the gap moves with the actuator, not with the cell: a screw crossing
        free air after a lift-off would otherwise teach a swelling a thousand times too large.
        """
        last_gap, last_charge = self._last_gap, self._last_charge
        self._last_gap, self._last_charge = (gap, charge) if in_contact else (math.nan, math.nan)
        if not (in_contact and all(map(math.isfinite, (gap, charge, last_gap, last_charge)))):
            return self.rate
        dq = charge - last_charge
        decay = math.exp(-max(dt, 0.0) / self.memory)
        self._sqq = decay * self._sqq + dq * dq
        self._sqg = decay * self._sqg + dq * (gap - last_gap)
        if self._sqq > 0.0:
            self.rate = self._sqg / self._sqq
        return self.rate


class FrictionFeedForward:
    """The seal friction of a hydraulic ram: what the loop had to command in each swelling direction,
    set ahead on each reversal of the swelling.

    In each swelling direction d (+1 swelling, -1 shrinking) the piston slides and
    the loop ends up commanding ram = stack - f d, so the offset o_d = command -
    pressure (Pa) averages -f d + b (b: any bias, e.g. the load cell's drift).
    The offsets are averaged over `memory` s, from `settle` s into a direction
    (the stick-slip transient of the reversal is left out), while current flows.
    When the current says the swelling reverses, `update` returns the offset to
    start the new direction from: o_new as last learned, or, the first time,
    -o_old (friction opposes the motion equally both ways; the guess is off by
    2 b, e.g. twice the load cell's drift so far, which the loop then takes
    out). friction = (o_-1 - o_+1) / 2 once both are known (b cancels). While
    the piston is stuck at a reversal the loop has no hold on the stack at all
    (at 1C the stack sheds ~80 kPa in the first second), so moving the ram
    across the band at once is what keeps that transient short.
    """

    def __init__(self, memory: float = 20.0, settle: float = 10.0) -> None:
        self.memory = memory
        self.settle = settle
        self.direction = 0  # +1 swelling, -1 shrinking, 0 not yet known; kept through rests
        self.offsets = {1: math.nan, -1: math.nan}  # Pa, command - pressure in each direction
        self._in_direction = 0.0  # s
        self._max_current = 0.0

    @property
    def friction(self) -> float:
        """Pa on the cell area; NaN until a direction has been learned."""
        up, down = self.offsets[1], self.offsets[-1]
        if math.isnan(up) or math.isnan(down):
            known = up if math.isnan(down) else down
            sign = 1 if math.isnan(down) else -1
            return max(-sign * known, 0.0) if math.isfinite(known) else math.nan
        return max(0.5 * (down - up), 0.0)

    def direction_of(self, current: float, swelling_rate: float) -> int:
        """+1 if the stack swells at this current, -1 if it shrinks, 0 at rest (below 0.1 % of the largest current)."""
        self._max_current = max(self._max_current, abs(current))
        if not abs(current) > max(1e-3 * self._max_current, 1e-15):
            return 0
        grows = swelling_rate >= 0.0  # Si swells on lithiation: charging a full cell, until learned otherwise
        return 1 if (current > 0.0) == grows else -1

    def update(self, current: float, swelling_rate: float, command: float, pressure: float, dt: float) -> float | None:
        """One tick, with `command` the last pressure command (Pa). On a reversal, the offset to start from."""
        direction = self.direction_of(current, swelling_rate)
        if direction == 0:
            return None
        if direction != self.direction:
            reversal = self.direction != 0
            self.direction = direction
            self._in_direction = 0.0
            if not reversal:
                return None
            start, other = self.offsets[direction], self.offsets[-direction]
            if math.isfinite(start):
                return start
            return -other if math.isfinite(other) else None  # friction is the same both ways
        self._in_direction += dt
        if self._in_direction < self.settle or not (math.isfinite(command) and math.isfinite(pressure)):
            return None
        offset = command - pressure
        last = self.offsets[direction]
        weight = -math.expm1(-max(dt, 0.0) / self.memory)
        self.offsets[direction] = offset if math.isnan(last) else last + weight * (offset - last)
        return None


class BacklashCompensator:
    """Backlash inverse: command = base + direction x backlash / 2, the direction with a hysteresis.

    `base` is where the platen should go; the motor is told to go half the
    backlash beyond it in the direction of motion, so the drive flank is engaged
    and the platen sits at `base`. The direction flips once the base has gone
    back from its furthest point by `threshold` (default 1/200 of the backlash)
    if that is the way the feed-forward expects the motor to go (`expected`: the
    swelling is reversing), else by `sticky` x `threshold` (default 4x: noise
    at rest or a correction against the swelling); the platen lags the base by
    at most that much before the jump. The second, wider band keeps the motor
    from chattering across the backlash on load-cell noise.
    """

    def __init__(self, backlash: float, threshold: float | None = None, sticky: float = 4.0) -> None:
        if not backlash >= 0.0:
            raise ValueError(f"backlash must be >= 0, not {backlash!r}")
        self.backlash = backlash
        self.threshold = backlash / 200.0 if threshold is None else threshold
        self.sticky = sticky
        self.direction = 1  # engaged advancing: how a screw first comes to load a stack
        self._extreme = math.nan

    def base_of(self, command: float) -> float:
        """The platen position a motor command stands for, given the present direction."""
        return command - 0.5 * self.direction * self.backlash

    def reset(self, command: float, direction: int = 1) -> float:
        """Start from a motor at `command`, engaged in `direction`; the base (platen) position."""
        self.direction = direction
        base = self.base_of(command)
        self.start(base, direction)
        return base

    def start(self, base: float, direction: int) -> None:
        """Start from the platen at `base`, the drive engaged in `direction`."""
        self.direction = direction
        self._extreme = base

    def update(self, base: float, expected: int = 0) -> float:
        """The motor command for a platen at `base`; `expected` +1 / -1: the way the motor should be going."""
        if self.backlash == 0.0:
            return base
        if math.isnan(self._extreme):
            self._extreme = base
        direction = self.direction
        band = self.threshold if expected == -direction else self.sticky * self.threshold
        if direction > 0:
            if base >= self._extreme:
                self._extreme = base
            elif base < self._extreme - band:
                self.direction, self._extreme = -1, base
        elif base <= self._extreme:
            self._extreme = base
        elif base > self._extreme + band:
            self.direction, self._extreme = 1, base
        return base + 0.5 * self.direction * self.backlash
