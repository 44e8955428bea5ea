"""Interlocks: the limits that are on in every run, simulated or real.

They look at each sample before the regulator or the protocol act on it, and
say what tripped and with which values; the engine then puts the bench in its
safe state. The hard maximum pressure protects the cell and the fixture; the
voltage window comes from the protocol's limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from stackpress.sample import Sample

# A cycler in compliance sits at its limit give or take its noise: a trip needs a
# clear excursion beyond the limit, not a reading of 2.4999 V at a 2.5 V cut-off.
VOLTAGE_MARGIN = 0.010  # V


@dataclass(frozen=True, slots=True)
class Trip:
    kind: str  # "over_pressure", "voltage_high", "voltage_low"
    message: str
    values: dict[str, Any] = field(default_factory=dict)


class SetpointRefused(ValueError):
    """A pressure setpoint the interlocks will not allow."""


@dataclass(frozen=True, slots=True)
class Interlocks:
    max_pressure: float  # Pa, hard limit: never above the fixture's rating
    voltage_min: float  # V
    voltage_max: float  # V

    def check(self, sample: Sample) -> Trip | None:
        if sample.pressure > self.max_pressure:
            return Trip(
                "over_pressure",
                f"pressure {sample.pressure / 1e6:.2f} MPa above the hard limit "
                f"{self.max_pressure / 1e6:.1f} MPa",
                {"pressure": sample.pressure, "limit": self.max_pressure},
            )
        if sample.voltage > self.voltage_max + VOLTAGE_MARGIN:
            return Trip(
                "voltage_high",
                f"cell voltage {sample.voltage:.4f} V above the limit {self.voltage_max:.3f} V",
                {"voltage": sample.voltage, "limit": self.voltage_max},
            )
        if sample.voltage < self.voltage_min - VOLTAGE_MARGIN:
            return Trip(
                "voltage_low",
                f"cell voltage {sample.voltage:.4f} V below the limit {self.voltage_min:.3f} V",
                {"voltage": sample.voltage, "limit": self.voltage_min},
            )
        return None

    def check_setpoint(self, setpoint: float) -> None:
        """Refuse a setpoint the regulator must never chase, whatever the protocol said."""
        if not math.isfinite(setpoint) or setpoint <= 0 or setpoint > self.max_pressure:
            raise SetpointRefused(
                f"pressure setpoint {setpoint / 1e6:.2f} MPa is outside 0..{self.max_pressure / 1e6:.1f} MPa "
                "(the hard limit)"
            )
