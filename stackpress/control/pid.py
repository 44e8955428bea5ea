"""A PID controller that fits on one screen.

Written out rather than taken from simple-pid: its default sample_time
silently repeats the previous output when ticks come faster than 10 ms, and
the engine passes its own dt from the injected clock anyway (see NOTES.md).
It has what a fixture loop needs: output limits, anti-windup by clamping the
integral so the output never sits beyond a limit, and derivative on the
measurement so a setpoint step does not kick the actuator.
"""

from __future__ import annotations

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
