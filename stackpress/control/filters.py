"""Small signal pieces of the pressure loop: a low-pass filter, a slew-rate limit, a noise meter.

Each takes the time since its last call (`dt`, from the engine's injected
clock), so it behaves the same at a 20 ms tick on hardware and at a 30 s tick
in a long simulation.
"""

from __future__ import annotations

import math


class LowPass:
    """First-order low-pass: y += (1 - exp(-dt / tau)) (x - y).

    Exact for a signal held over the tick, so a long tick (dt >> tau) passes the
    signal through instead of going unstable. `tau` = 0 passes it through always.
    The first value after `reset()` (or construction) starts the filter there.
    """

    def __init__(self, tau: float) -> None:
        if not tau >= 0.0:
            raise ValueError(f"a filter time constant must be >= 0 s, not {tau!r}")
        self.tau = tau
        self.value = math.nan
        self._cache = (math.nan, 0.0)  # (dt, 1 - exp(-dt / tau))

    def reset(self, value: float = math.nan) -> None:
        self.value = value

    def update(self, x: float, dt: float) -> float:
        if self.tau == 0.0 or math.isnan(self.value):
            self.value = x
            return x
        if self._cache[0] != dt:
            self._cache = (dt, -math.expm1(-max(dt, 0.0) / self.tau))
        self.value += self._cache[1] * (x - self.value)
        return self.value


class SlewRate:
    """A value that moves towards its target at no more than `rate` per second (inf: jumps)."""

    def __init__(self, rate: float = math.inf) -> None:
        if not rate > 0.0:
            raise ValueError(f"a slew rate must be positive (inf for none), not {rate!r}")
        self.rate = rate
        self.value = math.nan

    def reset(self, value: float) -> None:
        self.value = value

    def ahead(self, target: float, dt: float, rate: float | None = None) -> float:
        """Where the value would be after `dt` more seconds (it does not move)."""
        value = self.value
        if math.isnan(value) or math.isnan(target):
            return target
        rate = self.rate if rate is None else rate
        if rate == math.inf:
            return target
        step = rate * dt if dt > 0.0 else 0.0
        if target > value + step:
            return value + step
        if target < value - step:
            return value - step
        return target

    def update(self, target: float, dt: float, rate: float | None = None) -> float:
        """Move towards `target` for `dt` s; the value now. `rate` overrides the slew rate for this step."""
        self.value = self.ahead(target, dt, rate)
        return self.value


class NoiseMeter:
    """The standard deviation of a measurement's noise, from the differences of successive readings.

    sigma^2 ~ mean((x_k - x_(k-1))^2) / 2, averaged over about `memory` readings.
    Real changes between readings count as noise too, so it errs high, which is
    the safe side for what it is used for (telling signal from noise).
    """

    def __init__(self, memory: int = 200) -> None:
        self.memory = memory
        self.variance = math.nan
        self._last = math.nan
        self._count = 0

    @property
    def sigma(self) -> float:
        return math.sqrt(self.variance) if self._count else math.nan

    def update(self, x: float) -> None:
        last, self._last = self._last, x
        if math.isnan(last) or math.isnan(x):
            return
        half_square = 0.5 * (x - last) ** 2
        self._count += 1
        weight = max(1.0 / self._count, 1.0 / self.memory)
        self.variance = half_square if self._count == 1 else self.variance + weight * (half_square - self.variance)
