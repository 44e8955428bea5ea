"""Minimal instruments over a linear cell, for testing the engine's logic exactly.

The cell's voltage rises linearly with charge; the load cell reads whatever
force the actuator last commanded plus an injectable offset. Each instrument
can be told to fail (`fail = True`: every call raises InstrumentTimeout), and
has its own faults to inject, to test the safe state.
"""

from __future__ import annotations

import math

from stackpress.clock import VirtualClock
from stackpress.drivers.errors import InstrumentTimeout, OutOfRange
from stackpress.drivers.roles import CyclerReading
from stackpress.sample import Sample


def measured(pressure: float, current: float = 0.0, t: float = 0.0) -> Sample:
    """A sample that carries what a regulator reads: the pressure (and the cell current)."""
    return Sample(t, 3.7, current, 0.0, 25.0, math.nan, pressure, math.nan, 1e-3, 1e-5, math.nan, 1, 1, "running")


class FakeCycler:
    name = "fake cycler"

    def __init__(self, clock: VirtualClock, capacity: float, v_empty: float = 3.0, v_full: float = 4.2):
        self.clock, self.capacity = clock, capacity
        self.v_empty, self.v_full = v_empty, v_full
        self.charge = 0.0
        self.current = 0.0
        self.voltage_limit = math.nan
        self.commands: list[tuple] = []
        self.fail = False
        self.voltage_offset = 0.0
        self.current_offset = 0.0  # A, added to the current it reads: an over-current
        self.rest_attempts = 0  # rest() calls, answered or not
        self._t = clock.now()

    def _advance(self) -> None:
        now = self.clock.now()
        self.charge += self.current * (now - self._t)
        self._t = now
        v = self._ocv()
        if (self.current > 0 and v >= self.voltage_limit) or (self.current < 0 and v <= self.voltage_limit):
            self.current = 0.0  # compliance reached: the linear cell has no taper to model

    def _ocv(self) -> float:
        return self.v_empty + (self.v_full - self.v_empty) * self.charge / self.capacity

    def _check(self) -> None:
        if self.fail:
            raise InstrumentTimeout(self.name, "no reply to READ?")

    def apply_current(self, current: float, voltage_limit: float) -> None:
        self._check()
        self._advance()
        self.commands.append(("current", current, voltage_limit))
        self.current, self.voltage_limit = current, voltage_limit

    def apply_voltage(self, voltage: float, current_limit: float) -> None:
        self._check()
        self._advance()
        self.commands.append(("voltage", voltage, current_limit))
        self.current = 0.0

    def rest(self) -> None:
        self.rest_attempts += 1
        self._check()
        self._advance()
        self.commands.append(("rest",))
        self.current = 0.0

    def read(self) -> CyclerReading:
        self._check()
        self._advance()
        return CyclerReading(
            self._ocv() + self.voltage_offset, self.current + self.current_offset, self.charge, 25.0
        )


class FakeActuator:
    name = "fake ram"
    command_unit = "N"
    command_range = (0.0, 10_000.0)

    def __init__(self, regulated: bool = True):
        self.regulated = regulated
        self.force = 0.0
        self.commands: list[float] = []
        self.stopped = 0
        self.stop_attempts = 0  # stop() calls, answered or not
        self.fail = False  # every call raises InstrumentTimeout
        self.stuck = False  # answers, but ignores command() and stop()
        self.delivers = 1.0  # fraction of a commanded force the ram reaches: a leak below 1

    def _check(self) -> None:
        if self.fail:
            raise InstrumentTimeout(self.name, "no reply")

    def _accept(self, value: float) -> bool:
        """A real actuator's checks; True if the command is taken (a stuck one ignores it)."""
        self._check()
        low, high = self.command_range
        if not low <= value <= high:
            raise OutOfRange(self.name, f"command {value!r} outside {low}..{high}")
        if self.stuck:
            return False
        self.commands.append(value)
        return True

    def command(self, value: float) -> None:
        if self._accept(value):
            self.force = value * self.delivers

    def read_command(self) -> float:
        self._check()
        return self.force

    def read_gap(self) -> float:
        self._check()
        return 1.0e-3

    def read_state(self) -> tuple[float, float]:
        return self.read_command(), self.read_gap()

    def stop(self) -> None:
        self.stop_attempts += 1
        self._check()
        if not self.stuck:
            self.stopped += 1


class FakeScrew(FakeActuator):
    """A position-controlled fixture: the stack force is the frame stiffness times the screw travel."""

    name = "fake screw"
    command_unit = "m"
    command_range = (0.0, 1e-3)
    stiffness = 1e8  # N/m: 100 N/um

    def __init__(self) -> None:
        super().__init__(regulated=True)
        self.position = 0.0

    def command(self, value: float) -> None:
        if self._accept(value):
            self.position = value
            self.force = self.stiffness * value

    def read_command(self) -> float:
        self._check()
        return self.position


class FakeLoadCell:
    name = "fake load cell"

    def __init__(self, actuator: FakeActuator):
        self.actuator = actuator
        self.offset = 0.0  # N, added to the true force: a spike or a fault
        self.fail = False
        self.over_range = False  # reads raise OutOfRange, as an indicator showing "OL"
        self.spikes: list[float] = []  # N, each added to one reading, in turn
        self.reads = 0

    def read_force(self) -> float:
        self.reads += 1
        if self.fail:
            raise InstrumentTimeout(self.name, "timeout reading register 0")
        if self.over_range:
            raise OutOfRange(self.name, "over range")
        spike = self.spikes.pop(0) if self.spikes else 0.0
        return self.actuator.force + self.offset + spike
