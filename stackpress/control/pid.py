"""A PID controller that fits on one screen.

Written out rather than taken from simple-pid: its default sample_time
silently repeats the previous output when ticks come faster than 10 ms, and
the engine passes its own dt from the injected clock anyway (see NOTES.md).
It has what a fixture loop needs: output limits, anti-windup by clamping the
integral so the output never sits beyond a limit, and derivative on the
measurement so a setpoint step does not kick the actuator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Gains:
    kp: float  # output per unit error
    ki: float  # output per unit error per second
    kd: float = 0.0  # output per unit error rate (s)


class PID:
    def __init__(self, gains: Gains, output_limits: tuple[float, float]) -> None:
        self.gains = gains
        self.low, self.high = output_limits
        self.integral = 0.0
        self._last_measurement: float | None = None

    def reset(self, output: float) -> None:
        """Start from `output` with no derivative history: bumpless (re)engagement."""
        self.integral = min(max(output, self.low), self.high)
        self._last_measurement = None

    def update(self, setpoint: float, measurement: float, dt: float) -> float:
        g = self.gains
        error = setpoint - measurement
        derivative = 0.0
        if self._last_measurement is not None and dt > 0 and g.kd:
            derivative = -g.kd * (measurement - self._last_measurement) / dt
        self._last_measurement = measurement
        proportional = g.kp * error
        self.integral += g.ki * error * dt
        # Anti-windup: the integral may only hold what keeps the output within its limits.
        rest = proportional + derivative
        self.integral = min(max(self.integral, self.low - rest), self.high - rest)
        return min(max(proportional + self.integral + derivative, self.low), self.high)


class IncrementalPID:
    """A PID in velocity (incremental) form, for an actuator whose command is a position.

    Each update moves the output from where it was:
        du = kp (e_k - e_(k-1)) + kp (1 - exp(-ki dt / kp)) e_k + (D_k - D_(k-1)),
        D_k = -kd (m_k - m_(k-1)) / dt   (derivative on the measurement),
    and the output is clamped to its limits, so nothing winds up: the output IS
    the integral. The integral term is ki e dt for ticks short against kp / ki
    and never more than kp e however long the tick: it is exact for a
    first-order lag with time constant kp / ki, so on a static plant of gain G
    (output -> measurement) the loop is stable at ANY tick length when
    G kp < 2/3 (with kp = 0 the plain ki e dt is used and G ki dt < 2 is needed).
    Starting (`reset`) from the actuator's present output is bumpless.
    """

    def __init__(self, gains: Gains, output_limits: tuple[float, float]) -> None:
        self.gains = gains
        self.low, self.high = output_limits
        self.output = 0.0
        self._last_error: float | None = None
        self._last_measurement: float | None = None
        self._last_derivative = 0.0

    def reset(self, output: float) -> None:
        """Start from `output` (the actuator's readback) with no history: bumpless engagement."""
        self.output = min(max(output, self.low), self.high)
        self._last_error = None
        self._last_measurement = None
        self._last_derivative = 0.0

    def update(self, setpoint: float, measurement: float, dt: float) -> float:
        g = self.gains
        error = setpoint - measurement
        step = 0.0
        if self._last_error is not None:
            step = g.kp * (error - self._last_error)
        if dt > 0.0:
            if g.kp > 0.0:
                step += g.kp * -math.expm1(-g.ki * dt / g.kp) * error
            else:
                step += g.ki * dt * error
            if g.kd and self._last_measurement is not None:
                derivative = -g.kd * (measurement - self._last_measurement) / dt
                step += derivative - self._last_derivative
                self._last_derivative = derivative
        self._last_error = error
        self._last_measurement = measurement
        self.output = min(max(self.output + step, self.low), self.high)
        return self.output
