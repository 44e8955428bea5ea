"""What the runner asks of the bench; only the engine carries it out on the instruments."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApplyCurrent:
    current: float  # A, positive charges
    voltage_limit: float  # V, the cycler's compliance and the step's cut-off


@dataclass(frozen=True, slots=True)
class ApplyVoltage:
    voltage: float  # V
    current_limit: float  # A, magnitude


@dataclass(frozen=True, slots=True)
class Rest:
    """Cycler output off."""


@dataclass(frozen=True, slots=True)
class HoldPressure:
    setpoint: float  # Pa
    rate: float | None = None  # Pa/s: ramp to the setpoint at this rate; None: the regulator's own slew rate


@dataclass(frozen=True, slots=True)
class ReleasePressure:
    """Bring the pressure down to the bench's safe preload and hold it there."""


Command = ApplyCurrent | ApplyVoltage | Rest | HoldPressure | ReleasePressure
