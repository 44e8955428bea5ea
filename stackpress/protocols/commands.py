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


Command = ApplyCurrent | ApplyVoltage | Rest | HoldPressure
