"""A PID controller that fits on one screen, in two forms.

Written out rather than taken from simple-pid: its default sample_time
silently repeats the previous output when ticks come faster than 10 ms, and
the engine passes its own dt from the injected clock anyway (see NOTES.md).
It has what a fixture loop needs: output limits, anti-windup, derivative on the
measurement so a setpoint step does not kick the actuator, and the hooks the
pressure regulator uses: a feed-forward, a gain scale (scheduling) and a
switch to hold the integral (while the setpoint is still ramping).

Both forms use the same integral step,
    kp (1 - exp(-ki dt / kp)) e   (= ki e dt for ticks short against kp / ki),
which never exceeds kp e however long the tick: on a plant that settles
within a tick (gain G from output to measurement) the loop is then stable at
ANY tick length while G kp < 2/3 (with kp = 0 the plain ki e dt is used and
G ki dt < 2 is needed). So gains tuned at a 20 ms tick stay safe in a 30 s
tick simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Gains:
    kp: float  # output per unit error
    ki: float  # output per unit error per second
    kd: float = 0.0  # output per unit error rate (s)

    @property
    def usable(self) -> bool:
        """Finite, kp above zero, ki and kd not negative: what a loop can run on (an operator's or a tune's)."""
        return all(math.isfinite(v) and v >= 0 for v in (self.kp, self.ki, self.kd)) and self.kp > 0


def _clamp(value: float, low: float, high: float) -> float:
    """min(max(value, low), high), without the two builtin calls: the loop runs it twice a tick."""
    if value < low:
        value = low
    return high if value > high else value


def integral_step(kp: float, ki: float, error: float, dt: float) -> float:
    """The integral's share of one tick: ki e dt, limited to kp e for long ticks (exact for a lag kp / ki)."""
    if dt <= 0.0 or ki == 0.0:
        return 0.0
    if kp > 0.0:
        return kp * -math.expm1(-ki * dt / kp) * error
    return ki * dt * error


class PID:
    """Positional form: output = feedforward + kp (r - m) + I + D, clamped; for a force command.

    Anti-windup: the integral may only hold what keeps the output within its
    limits, so the output leaves a limit on the first tick the error reverses.
    """

    def __init__(self, gains: Gains, output_limits: tuple[float, float]) -> None:
        self.gains = gains
        self.low, self.high = output_limits
        self.integral = 0.0
        self._last_measurement: float | None = None

    def reset(self, integral: float) -> None:
        """Start with this integral and no derivative history: bumpless (re)engagement.

        Without a feed-forward the integral is the output the PID starts from.
        """
        self.integral = integral
        self._last_measurement = None

    def update(
        self,
        setpoint: float,
        measurement: float,
        dt: float,
        *,
        feedforward: float = 0.0,
        integrate: bool = True,
        scale: float = 1.0,
    ) -> float:
        """The output for this tick; `scale` multiplies kp, ki and kd."""
        g = self.gains
        kp, ki, kd = g.kp * scale, g.ki * scale, g.kd * scale
        error = setpoint - measurement
        derivative = 0.0
        if self._last_measurement is not None and dt > 0 and kd:
            derivative = -kd * (measurement - self._last_measurement) / dt
        self._last_measurement = measurement
        proportional = kp * error
        if integrate:
            self.integral += integral_step(kp, ki, error, dt)
        rest = proportional + derivative + feedforward
        low, high = self.low, self.high
        integral = _clamp(self.integral, low - rest, high - rest)
        self.integral = integral
        return _clamp(rest + integral, low, high)


class IncrementalPID:
    """A PID in velocity (incremental) form, for an actuator whose command is a position.

    Each update moves the output from where it was:
        du = kp (e_k - e_(k-1)) + integral_step(kp, ki, e_k, dt) + (D_k - D_(k-1)) + feedforward,
        D_k = -kd (m_k - m_(k-1)) / dt   (derivative on the measurement),
    and the output is clamped to its limits, so nothing winds up: the output IS
    the integral. On a static plant of gain G (output -> measurement) the loop
    is stable at ANY tick length when G kp < 2/3 (see the module docstring).
    A gain `scale` changes between ticks without a bump. Starting (`reset`)
    from the actuator's present output is bumpless.
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
        self.output = _clamp(output, self.low, self.high)
        self._last_error = None
        self._last_measurement = None
        self._last_derivative = 0.0

    def update(
        self,
        setpoint: float,
        measurement: float,
        dt: float,
        *,
        feedforward: float = 0.0,
        integrate: bool = True,
        scale: float = 1.0,
    ) -> float:
        """The output after this tick's move; `feedforward` is a move added to it (same unit)."""
        g = self.gains
        kp, ki, kd = g.kp * scale, g.ki * scale, g.kd * scale
        error = setpoint - measurement
        step = feedforward
        if self._last_error is not None:
            step += kp * (error - self._last_error)
        if integrate:
            step += integral_step(kp, ki, error, dt)
        if dt > 0.0 and kd and self._last_measurement is not None:
            derivative = -kd * (measurement - self._last_measurement) / dt
            step += derivative - self._last_derivative
            self._last_derivative = derivative
        self._last_error = error
        self._last_measurement = measurement
        self.output = output = _clamp(self.output + step, self.low, self.high)
        return output

    def limit(self, low: float, high: float) -> float:
        """Keep the output within [low, high] from now on as well: the output is the integral, so
        clamping it is the anti-windup for an actuator that cannot go as fast as it is told."""
        self.output = output = _clamp(self.output, low, high)
        return output
