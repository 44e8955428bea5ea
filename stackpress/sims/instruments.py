"""Simulated instruments: the driver roles (stackpress.drivers.roles) over one SimWorld.

Each call first lets the world catch up with the clock, then reads or commands
it, so the three instruments always agree. They check their commands as the real
ones would (OutOfRange) and add their own measurement noise from seeded RNGs.

They also carry the world's injected faults (stackpress.sims.faults) as a real
instrument would show them: a dropout raises InstrumentTimeout on every call, a
stuck actuator answers but ignores its commands, the load cell adds spikes and
drift to its readings, the cycler's voltage sense an offset. A load cell at or
beyond its full scale raises OutOfRange (over range), as an indicator shows "OL",
instead of reporting its full scale as if it were the force.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from stackpress.drivers.errors import InstrumentTimeout, OutOfRange
from stackpress.drivers.roles import CyclerReading

if TYPE_CHECKING:
    from stackpress.sims.world import SimWorld


class SimCycler:
    """A cycler channel that behaves like a source-measure unit with compliance (roles.Cycler)."""

    name = "sim-cycler"

    def __init__(
        self,
        world: SimWorld,
        *,
        seed: int = 0,
        max_current: float = 0.1,
        voltage_range: tuple[float, float] = (-5.0, 10.0),
        voltage_noise: float = 1e-4,
        current_noise: float = 5e-9,
    ) -> None:
        """`max_current` A and `voltage_range` V: what the channel can source; noises are 1 sigma."""
        self.world = world  # the simulated world behind it: its truth, for tests and benchmarks
        self.max_current = max_current
        self.voltage_range = voltage_range
        self._voltage_noise = voltage_noise
        self._current_noise = current_noise
        self._gauss = random.Random(f"cycler:{seed}").gauss

    def _check_voltage(self, voltage: float, what: str) -> None:
        low, high = self.voltage_range
        if not low <= voltage <= high:
            raise OutOfRange(self.name, f"{what} {voltage!r} V is outside {low:g}..{high:g} V")

    def _check_current(self, current: float, what: str) -> None:
        if not abs(current) <= self.max_current:
            raise OutOfRange(self.name, f"{what} {current!r} A is beyond +-{self.max_current:g} A")

    def answering(self) -> bool:
        """False while a cycler_dropout fault is on (the world catches up with the clock first)."""
        world = self.world
        world.advance()
        return not (world.faults and world.faults.active("cycler_dropout", world.t))

    def _answer(self, what: str) -> None:
        """Raise InstrumentTimeout while the channel is not answering."""
        if not self.answering():
            raise InstrumentTimeout(self.name, f"no reply to {what} within 1 s")

    def apply_current(self, current: float, voltage_limit: float) -> None:
        """Source `current` A (positive charges); the voltage is clamped at `voltage_limit` V."""
        self._answer("SOURCE:CURRENT")
        self._check_current(current, "current")
        self._check_voltage(voltage_limit, "voltage limit")
        self.world.source_current(current, voltage_limit)

    def apply_voltage(self, voltage: float, current_limit: float) -> None:
        """Hold `voltage` V, passing at most `current_limit` A either way."""
        self._answer("SOURCE:VOLTAGE")
        self._check_voltage(voltage, "voltage")
        self._check_current(current_limit, "current limit")
        if current_limit < 0.0:
            raise OutOfRange(self.name, f"current limit {current_limit!r} A must not be negative")
        self.world.source_voltage(voltage, current_limit)

    def rest(self) -> None:
        """Output off."""
        self._answer("OUTPUT OFF")
        self.world.open_circuit()

    def read(self) -> CyclerReading:
        """Voltage, current (exactly 0 with the output off), charge counter and cell temperature."""
        world = self.world
        world.advance()
        offset = 0.0
        if world.faults:
            self._answer("READ?")
            fault = world.faults.active("cycler_voltage_offset", world.t)
            offset = 0.0 if fault is None else fault.params["offset"]
        gauss = self._gauss
        current = world.current
        if current != 0.0:
            current += gauss(0.0, self._current_noise)
        return CyclerReading(
            voltage=world.voltage + gauss(0.0, self._voltage_noise) + offset,
            current=current,
            charge=world.charge,
            temperature=world.temperature,
        )


class SimForceSensor:
    """The load cell under the stack (roles.ForceSensor)."""

    name = "sim-load-cell"

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    def read_force(self) -> float:
        """Compressive force on the stack as the load cell reports it, N; OutOfRange at its full scale."""
        world = self.world
        world.advance()
        force = world.fixture.force
        if world.faults:
            if world.faults.active("load_cell_dropout", world.t):
                raise InstrumentTimeout(self.name, "no reply to register read within 100 ms")
            force += world.faults.load_cell_offset(world.t)
        load_cell = world.load_cell
        reading = load_cell.measure(force, world.t)
        if abs(reading) >= load_cell.full_scale:
            way = "over" if reading > 0 else "under"
            raise OutOfRange(self.name, f"{way} range: {reading:g} N at its {load_cell.full_scale:g} N full scale",
                             reading)
        return reading


class SimActuator:
    """The fixture's actuator (roles.Actuator), in the fixture's command unit.

    hydraulic: ram force, N (regulated); rigid, tilted, spring with a manual seat:
    a preload, N, set once (not regulated); spring with a motor, servo: the
    motor's position, m (regulated). `max_force` N is the fixture's rating.
    """

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        fixture = world.fixture
        self.name = f"sim-{fixture.kind}"
        self.regulated = fixture.regulated
        self.command_unit = fixture.command_unit
        self.command_range = fixture.command_range
        self.max_force = fixture.max_force

    def _answer(self, what: str) -> bool:
        """Raise InstrumentTimeout while an actuator_dropout fault is on; False while it is stuck."""
        world = self.world
        world.advance()
        if not world.faults:
            return True
        if world.faults.active("actuator_dropout", world.t):
            raise InstrumentTimeout(self.name, f"no reply to {what} within 500 ms")
        return world.faults.active("actuator_stuck", world.t) is None

    def command(self, value: float) -> None:
        """Hydraulic: demand this ram force, N. Rigid: tighten to this preload, N. Motor: go to this position, m."""
        working = self._answer("command")
        low, high = self.command_range
        if not (math.isfinite(value) and low <= value <= high):
            unit = self.command_unit
            raise OutOfRange(self.name, f"command {value!r} {unit} is outside {low:g}..{high:g} {unit}")
        if working:
            self.world.command_fixture(value)

    def read_command(self) -> float:
        """What the actuator does now, in its unit: the ram's or frame's force, N; the motor's position, m."""
        self._answer("readback")
        return self.world.fixture.readback()

    def read_gap(self) -> float:
        """Plate separation, m."""
        self._answer("gap")
        return self.world.fixture.gap

    def read_state(self) -> tuple[float, float]:
        """(readback, gap), as `read_command` and `read_gap` give them, in one exchange."""
        self._answer("readback")
        fixture = self.world.fixture
        return fixture.readback(), fixture.gap

    def stop(self) -> None:
        """Hold: the ram keeps its present force, a motor stops where it is; a frame holds by itself."""
        if self._answer("stop"):
            self.world.hold_fixture()
