"""Fixture actuators on Modbus (roles.Actuator): a hydraulic pressure controller, a screw drive.

One class, two kinds of dialect (the dialect's `kind`):

- "hydraulic" (dialects/generic-hydraulic.toml): a pressure/force controller;
  `command` takes the ram force in N, the readback is the force from the oil
  pressure transducer, the gap a displacement transducer on the platen;
- "screw" (dialects/generic-screw-drive.toml): a stepper/servo drive on a lead
  screw; `command` takes the target position in m, the readback is the encoder
  position, the velocity is set from the bench, limit switches are status bits.

Both have a control word (run / hold / disable values from the dialect) and a
status word. `command(value)` writes the setpoint, then "run" if the drive is
not known to be running on this connection (so it never runs to a stale
setpoint); `stop()` writes "hold": a ram keeps its force, a motor stops where it
is. Status bits listed as errors (a drive fault, a limit switch) make reads
raise InstrumentError; the engine then holds and reports.
"""

from __future__ import annotations

import math
from typing import Any

from stackpress.drivers.dialect import ModbusDialect
from stackpress.drivers.errors import OutOfRange
from stackpress.drivers.modbus_device import ModbusDevice
from stackpress.drivers.transport import ModbusLink


class ModbusActuator(ModbusDevice):
    """roles.Actuator over a Modbus drive or pressure controller."""

    def __init__(
        self,
        link: ModbusLink,
        unit: int,
        dialect: ModbusDialect,
        *,
        name: str = "actuator",
        command_range: tuple[float, float] | None = None,
        regulated: bool | None = None,
        max_force: float | None = None,
        velocity: float | None = None,
    ) -> None:
        """`command_range` (the fixture's, in the command unit) must lie within the dialect's setpoint range.

        `regulated` overrides the dialect's (False: a preload set once, as on a
        bolted frame); `max_force` N is the fixture's rating (default: the top of
        a force command range); `velocity` m/s is written to a screw drive's
        velocity register before its first command on each connection.
        """
        super().__init__(link, unit, dialect, name=name)
        self.kind = dialect.kind
        self.command_unit = dialect.command_unit
        self.regulated = dialect.regulated if regulated is None else regulated
        limits = dialect.registers["setpoint"].range
        if command_range is None:
            if limits is None:
                raise ValueError(f"{name}: the dialect's setpoint has no range; give the fixture's command_range")
            command_range = limits
        elif limits is not None and not (limits[0] <= command_range[0] <= command_range[1] <= limits[1]):
            unit_ = self.command_unit
            raise ValueError(
                f"{name}: command_range {command_range[0]:g}..{command_range[1]:g} {unit_} is beyond what "
                f"{dialect.name} accepts ({limits[0]:g}..{limits[1]:g} {unit_})"
            )
        self.command_range = (float(command_range[0]), float(command_range[1]))
        if max_force is None:
            max_force = self.command_range[1] if self.command_unit == "N" else math.inf
        self.max_force = max_force
        if velocity is not None and "velocity" not in dialect.registers:
            raise ValueError(f"{name}: {dialect.name} has no velocity register")
        self.velocity = velocity
        self._running = False  # "run" written on this connection
        self._velocity_set = False
        self._reads = ["feedback"] + (["gap"] if "gap" in dialect.registers else [])
        if dialect.status is not None:
            self._reads.append(dialect.status.register)
        link.on_open(self._new_connection)

    def _new_connection(self, _port: Any) -> None:
        self._running = False
        self._velocity_set = False

    # --- roles.Actuator ------------------------------------------------------------------------

    def command(self, value: float) -> None:
        """Hydraulic: demand this ram force, N. Screw: go to this position, m."""
        low, high = self.command_range
        if not (math.isfinite(value) and low <= value <= high):
            unit = self.command_unit
            raise OutOfRange(self.name, f"command {value!r} {unit} is outside {low:g}..{high:g} {unit}")
        with self.link.lock:
            if self.velocity is not None and not self._velocity_set:
                self.write_register("velocity", self.velocity)
                self._velocity_set = True
            self.write_register("setpoint", value)
            if not self._running:
                self.write_register("control", self.dialect.control["run"])
                self._running = True

    def read_state(self) -> tuple[float, float]:
        """(readback, gap) from one read of the input registers (gap NaN if the dialect has no gap register)."""
        values = self.read_registers(self._reads)
        self.check_status(values)
        return values["feedback"], values.get("gap", math.nan)

    def read_command(self) -> float:
        """What the actuator does now: the ram force (N) or the encoder position (m)."""
        return self.read_state()[0]

    def read_gap(self) -> float:
        """Plate separation, m (NaN if the dialect has no gap register)."""
        if "gap" not in self.dialect.registers:
            return math.nan
        return self.read_state()[1]

    def stop(self) -> None:
        """Hold: the ram keeps its present force, a motor stops where it is."""
        with self.link.lock:
            self.write_register("control", self.dialect.control["hold"])
            self._running = False

    # --- more than the role ------------------------------------------------------------------------

    def disable(self) -> None:
        """Drive off (a hydraulic valve closed, a motor de-energised with its brake on)."""
        with self.link.lock:
            self.write_register("control", self.dialect.control["disable"])
            self._running = False

    def status(self) -> dict[str, bool]:
        """The status bits by name (raising as reads do on an error bit)."""
        return self.check_status(self.read_registers(self._reads))
