"""Interlocks and alarms: the limits that are on in every run, simulated or real.

They look at each sample before the regulator or the protocol act on it, and
say what tripped and with which values; the engine then puts the bench in its
safe state. Two kinds:

- `Interlocks` TRIP: the run ends in the safe state. The hard maximum pressure
  protects the cell and the fixture (the actuator backs off); the voltage window
  comes from the protocol's limits and the current limit from the cycler
  channel's maximum (the cycler output goes off, the pressure is held). Pressure
  setpoints are refused outside the protocol's window and above the hard limit.
- `PressureWatch` raises ALARMS while the pressure is regulated: the pressure
  has been lost, the regulator is saturated, the actuator is at its travel
  limit, or it does not follow its commands. The engine PAUSES the run on an
  alarm (actuator holding, cycler resting) until the operator resumes it.

Every check is NaN-safe: a value that could not be read (NaN) trips nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from stackpress.sample import Sample

# A cycler in compliance sits at its limit give or take its noise: a trip needs a
# clear excursion beyond the limit, not a reading of 2.4999 V at a 2.5 V cut-off.
VOLTAGE_MARGIN = 0.010  # V
# A voltage hold passes up to the channel's maximum current, plus its noise: a
# trip needs more than 2 % beyond the channel's maximum.
CURRENT_MARGIN = 0.02  # fraction of max_current

# The pressure watch (see PressureWatch). Each condition must last both a number of consecutive
# ticks (several readings, however slow the tick) and a time (however fast the tick: at 50 Hz five
# ticks are 0.1 s, less than a hydraulic ram takes to answer).
ESTABLISHED_BAND = 0.10  # fraction of the setpoint: the pressure counts as reached within it ...
ESTABLISHED = (5, 1.0)  # ... for this many consecutive ticks and seconds (the regulator's own transient is over)
PRESSURE_LOSS = 0.25  # fraction of the setpoint: lost when the pressure falls this far below it
FOLLOW_TOLERANCE = 1e-4  # fraction of the command range: an actuator this far from its command is "away"
FOLLOW_PROGRESS = 1e-5  # fraction of the command range: less movement towards it than this is "not moving"
FOLLOW = (5, 2.0)  # consecutive ticks and seconds away and not moving: the actuator is not following
SATURATED = (5, 1.0)  # consecutive ticks and seconds at an end of a force actuator's range: saturated


@dataclass(frozen=True, slots=True)
class Trip:
    """Something that ends the run in the safe state, or (as an alarm) pauses it."""

    kind: str  # trips: "over_pressure", "load_cell_over_range", "voltage_high", "voltage_low",
    #            "current_high", "setpoint_refused"; alarms: "pressure_loss", "regulator_saturated",
    #            "travel_limit", "actuator_not_following"
    message: str
    values: dict[str, Any] = field(default_factory=dict)


Alarm = Trip  # the same record: what it does (end or pause the run) is the engine's business


class SetpointRefused(ValueError):
    """A pressure setpoint the interlocks will not allow."""


@dataclass(frozen=True, slots=True)
class Interlocks:
    max_pressure: float  # Pa, hard limit: never above the fixture's rating
    voltage_min: float  # V
    voltage_max: float  # V
    pressure_min: float = 5e6  # Pa, the protocol's window of setpoints (limits.pressure_window)
    pressure_max: float = 50e6  # Pa
    max_current: float = math.inf  # A, the cycler channel's maximum (the bench's [cycler] max_current)

    def check(self, sample: Sample) -> Trip | None:
        if sample.pressure > self.max_pressure:
            return Trip(
                "over_pressure",
                f"pressure {sample.pressure / 1e6:.2f} MPa above the hard limit "
                f"{self.max_pressure / 1e6:.1f} MPa",
                {"pressure": sample.pressure, "limit": self.max_pressure},
            )
        # before the voltage: an over-current is the cause when both are out
        if abs(sample.current) > self.max_current * (1.0 + CURRENT_MARGIN):
            return Trip(
                "current_high",
                f"cell current {sample.current * 1e3:.4g} mA beyond the cycler's maximum "
                f"{self.max_current * 1e3:.4g} mA",
                {"current": sample.current, "limit": self.max_current},
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
        """Refuse a setpoint the regulator must never chase, whatever the protocol said.

        Above the hard limit, never; outside the protocol's pressure window, only
        if the protocol widened the window (the protocol check does this before
        the run; the engine checks again, in case a protocol was built in Python).
        """
        if not math.isfinite(setpoint) or setpoint <= 0 or setpoint > self.max_pressure:
            raise SetpointRefused(
                f"pressure setpoint {setpoint / 1e6:.2f} MPa is outside 0..{self.max_pressure / 1e6:.1f} MPa "
                "(the hard limit)"
            )
        if not self.pressure_min <= setpoint <= self.pressure_max:
            raise SetpointRefused(
                f"pressure setpoint {setpoint / 1e6:.2f} MPa is outside the protocol's pressure window "
                f"{self.pressure_min / 1e6:g} to {self.pressure_max / 1e6:g} MPa (limits.pressure_window)"
            )


class PressureWatch:
    """The alarms of a regulated pressure, checked every tick the regulator commands the actuator.

    - pressure_loss: once the pressure has settled at the setpoint (within
      ESTABLISHED_BAND for ESTABLISHED ticks and seconds) since the regulator engaged,
      it falls more than PRESSURE_LOSS of the setpoint below it (a cracked pellet,
      a leaking line). Not armed while a new setpoint is being approached.
    - regulator_saturated (force actuators): the regulator's command has been at
      an end of the actuator's range for SATURATED consecutive ticks and seconds while
      the pressure error asks for more in that direction: a ram at its maximum
      force below the setpoint (a leak), or at zero force above it (a load cell
      whose zero drifted away). A big setpoint step may saturate it for a tick or
      two; the last saturated command is not sent.
    - travel_limit (position actuators): the same, once the motor has arrived
      at that end of its travel (a position within the travel is safe to send).
    - actuator_not_following: for FOLLOW consecutive ticks and seconds the
      actuator's readback has been more than FOLLOW_TOLERANCE of its range away
      from the last command and has moved less than FOLLOW_PROGRESS of its range
      towards it (a seized motor, a stuck valve, a ram that cannot build
      pressure). A slow actuator that still makes progress is not flagged.
    """

    def __init__(self, command_range: tuple[float, float], command_unit: str) -> None:
        self.low, self.high = command_range
        self.unit = command_unit
        span = self.high - self.low
        self._tolerance = FOLLOW_TOLERANCE * span
        self._progress = FOLLOW_PROGRESS * span
        self._at_end = 1e-9 * span
        self.engage()

    def engage(self) -> None:
        """The regulator (re-)engaged, on a new setpoint or after a pause: forget the history."""
        self._settled = _Lasting()  # within the band
        self._command: float | None = None  # the last command sent
        self._stalled = _Lasting()  # away from the command and not moving towards it ...
        self._stalled_from = math.nan  # ... from this readback, since it began
        self._saturated = _Lasting()

    def check_pressure(self, sample: Sample) -> Alarm | None:
        """The pressure-loss alarm, and the actuator-not-following one, before the regulator acts."""
        setpoint, pressure = sample.setpoint, sample.pressure
        if abs(pressure - setpoint) <= ESTABLISHED_BAND * setpoint:
            self._settled.holds(sample.t)
        elif self._settled.lasted(*ESTABLISHED) and pressure < (1.0 - PRESSURE_LOSS) * setpoint:
            return Alarm(
                "pressure_loss",
                f"pressure lost: {pressure / 1e6:.2f} MPa, more than {PRESSURE_LOSS:.0%} below the setpoint "
                f"{setpoint / 1e6:g} MPa",
                {"pressure": pressure, "setpoint": setpoint, "limit": (1.0 - PRESSURE_LOSS) * setpoint},
            )
        return self._check_following(sample)

    def _check_following(self, sample: Sample) -> Alarm | None:
        command, readback, stalled = self._command, sample.actuator, self._stalled
        if command is None or math.isnan(readback):
            return None
        start = self._stalled_from
        moved = (readback - start) * math.copysign(1.0, command - start) if stalled.ticks else 0.0
        if abs(command - readback) <= self._tolerance or moved >= self._progress:
            stalled.stop()  # there, or on its way
        if abs(command - readback) <= self._tolerance:
            return None
        if not stalled.ticks:
            self._stalled_from = readback
        stalled.holds(sample.t)
        if not stalled.lasted(*FOLLOW):
            return None
        return Alarm(
            "actuator_not_following",
            f"the actuator does not follow: commanded {command:.6g} {self.unit}, at {readback:.6g} {self.unit} "
            f"and not moving for {stalled.seconds:g} s ({stalled.ticks} ticks)",
            {"command": command, "readback": readback, "pressure": sample.pressure, "setpoint": sample.setpoint},
        )

    def check_command(self, sample: Sample, command: float) -> Alarm | None:
        """The saturation alarm for the command the regulator just computed; None lets it be sent."""
        error = sample.setpoint - sample.pressure
        high = command >= self.high - self._at_end and error > 0
        low = command <= self.low + self._at_end and error < 0
        if not (high or low):
            self._saturated.stop()
            return None
        end, limit, side = ("maximum", self.high, "below") if high else ("minimum", self.low, "above")
        readback = sample.actuator
        values = {"command": command, "limit": limit, "readback": readback,
                  "pressure": sample.pressure, "setpoint": sample.setpoint}
        pressure = (
            f"the pressure, {sample.pressure / 1e6:.2f} MPa, is still {side} the setpoint "
            f"{sample.setpoint / 1e6:g} MPa"
        )
        if self.unit == "m":  # a position within the travel is safe to send: the alarm waits until it is there
            if abs(readback - limit) > self._tolerance:
                return None
            message = f"the actuator is at the {end} of its travel ({limit:.6g} m) and {pressure}"
            return Alarm("travel_limit", message, values)
        self._saturated.holds(sample.t)
        if not self._saturated.lasted(*SATURATED):
            return None
        return Alarm(
            "regulator_saturated",
            f"the regulator is saturated at the {end} of the actuator's range ({limit:.6g} {self.unit}; the actuator "
            f"is at {readback:.6g} {self.unit}) for {self._saturated.seconds:g} s and {pressure}",
            values,
        )

    def commanded(self, command: float) -> None:
        """The command just sent."""
        self._command = command


@dataclass(slots=True)
class _Lasting:
    """How long a condition has held without a break: consecutive ticks, and seconds since the first."""

    ticks: int = 0
    since: float = math.nan  # s, the first tick's time
    last: float = math.nan  # s, the latest tick's

    def holds(self, t: float) -> None:
        if not self.ticks:
            self.since = t
        self.ticks += 1
        self.last = t

    def stop(self) -> None:
        self.ticks = 0

    @property
    def seconds(self) -> float:
        return self.last - self.since if self.ticks else 0.0

    def lasted(self, ticks: int, seconds: float) -> bool:
        return self.ticks >= ticks and self.seconds >= seconds
