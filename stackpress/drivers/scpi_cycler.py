"""A battery-cycler channel on a SCPI source-measure unit (roles.Cycler), over pyvisa.

The commands are the dialect's (e.g. dialects/keithley-2450.toml); this class
holds only what every SMU-class cycler does:

- apply_current(I, V_limit): the limit becomes the SMU's own voltage compliance
  (a second line of defence behind the engine's interlocks): the new function's
  limit and level are set first, then the source function, then the output on,
  so the SMU never sources a new level with an old limit;
- apply_voltage(V, I_limit): the same with the current compliance;
- rest(): the dialect says how: "output-off", or "zero-current" (a 0 A current
  source with a wide voltage compliance: an open circuit that keeps measuring
  the cell, for SMUs whose output-off state shorts or disconnects the sense);
- read(): voltage and current (one query each), temperature if the dialect has
  one (else NaN), and the charge: "measured" if the instrument counts coulombs,
  else "integrated" here from timestamped current readings on the injected
  clock (trapezoids between reads; exact across a command step, where the
  current before the command is held until the command and the new current
  after it);
- after each group of commands the error queue is read (if the dialect has one):
  an instrument refusal raises InstrumentError, a value it rejects as out of
  range raises OutOfRange. Values outside the dialect's ranges (and the bench's
  `max_current` / `voltage_range`) raise OutOfRange before anything is sent.
"""

from __future__ import annotations

import math
from typing import Any

from stackpress.clock import Clock
from stackpress.drivers.dialect import ScpiDialect, ScpiMeasurement, escape
from stackpress.drivers.errors import InstrumentError, OutOfRange
from stackpress.drivers.roles import CyclerReading
from stackpress.drivers.transport import LinkGarbled, VisaLink

MAX_ERRORS = 10  # error-queue entries read after one group of commands


class ScpiCycler:
    """roles.Cycler on a SCPI SMU; every I/O goes through its VisaLink."""

    def __init__(
        self,
        link: VisaLink,
        dialect: ScpiDialect,
        *,
        name: str = "cycler",
        clock: Clock | None = None,
        max_current: float | None = None,
        voltage_range: tuple[float, float] | None = None,
    ) -> None:
        """`max_current` A and `voltage_range` V: the bench's own limits, within the dialect's."""
        self.name = name
        self.link = link
        self.dialect = dialect
        self.clock = clock if clock is not None else link.clock
        self.max_current = max_current
        self.voltage_range = voltage_range
        self._charge = 0.0  # C, integrated
        self._last: tuple[float, float] | None = None  # (t, current) of the last reading
        self._switched: float | None = None  # clock time of the last command that changed the output
        link.on_open(self._setup)

    @property
    def resource(self) -> str:
        return self.link.resource

    # --- I/O ---------------------------------------------------------------------------------

    def _setup(self, port: Any) -> None:
        """On every new connection: the dialect's setup commands (remote sense, ranges, clearing errors)."""
        for command in self.dialect.setup:
            self.link._write(port, command)

    def _send(self, commands: list[str]) -> None:
        """Write a group of commands, then read the error queue (under one hold of the lock)."""
        with self.link.lock:
            for command in commands:
                self.link.write(self.name, command)
            self._check_errors(commands)

    def _check_errors(self, commands: list[str]) -> None:
        dialect = self.dialect
        if dialect.error_query is None or dialect.no_error is None:
            return
        errors: list[str] = []
        for _ in range(MAX_ERRORS):
            reply = self.link.query(self.name, dialect.error_query)
            if dialect.no_error.search(reply):
                break
            errors.append(reply.strip())
        if errors:
            sent = "; ".join(commands)
            out_of_range = dialect.out_of_range_error is not None and any(
                dialect.out_of_range_error.search(e) for e in errors
            )
            error = OutOfRange if out_of_range else InstrumentError
            raise error(self.name, self.link.describe(sent, f"refused: {' | '.join(errors)}"))

    def _measure(self, measurement: ScpiMeasurement) -> float:
        overflow = self.dialect.overflow

        def parse(reply: str) -> float:
            match = measurement.reply.search(reply)
            if match is None:
                raise LinkGarbled(f"{escape(reply)!r} does not match {measurement.reply.pattern!r}")
            try:
                return float(match.group("value"))
            except ValueError:
                raise LinkGarbled(f"{match.group('value')!r} in {escape(reply)!r} is not a number") from None

        value = self.link.query(self.name, measurement.query, parse)
        if abs(value) >= overflow:
            problem = f"{measurement.name} over range ({value:g})"
            raise OutOfRange(self.name, self.link.describe(measurement.query, problem))
        return value

    # --- checks ------------------------------------------------------------------------------

    def _check_current(self, current: float, what: str) -> None:
        if self.max_current is not None and not abs(current) <= self.max_current:
            raise OutOfRange(self.name, f"{what} {current:g} A is beyond the channel's +-{self.max_current:g} A")

    def _check_voltage(self, voltage: float, what: str) -> None:
        if self.voltage_range is not None:
            low, high = self.voltage_range
            if not low <= voltage <= high:
                raise OutOfRange(self.name, f"{what} {voltage:g} V is outside {low:g}..{high:g} V")

    def _command(self, setting: str, value: Any) -> str:
        return self.dialect.settings[setting].command(value, self.name)

    # --- roles.Cycler ----------------------------------------------------------------------------

    def identify(self) -> str:
        return self.link.query(self.name, self.dialect.identify).strip()

    def apply_current(self, current: float, voltage_limit: float) -> None:
        """Source `current` A (positive charges) with `voltage_limit` V as the SMU's voltage compliance."""
        self._check_current(current, "current")
        self._check_voltage(voltage_limit, "voltage limit")
        self._source("current", current, voltage_limit)

    def apply_voltage(self, voltage: float, current_limit: float) -> None:
        """Hold `voltage` V with `current_limit` A (magnitude) as the SMU's current compliance."""
        if not current_limit >= 0:
            raise OutOfRange(self.name, f"current limit {current_limit!r} A must not be negative")
        self._check_current(current_limit, "current limit")
        self._check_voltage(voltage, "voltage")
        self._source("voltage", voltage, current_limit)

    def rest(self) -> None:
        """No current: output off, or a 0 A source (dialect `rest`)."""
        if self.dialect.rest == "zero-current":
            self._source("current", 0.0, self.dialect.rest_voltage_limit)
        else:
            self.output_off()

    def output_off(self) -> None:
        """Output off, whatever the dialect's rest: for closing down."""
        self._switch([self._command("output", "off")])

    def _source(self, function: str, level: float, limit: float) -> None:
        """Source `level` of `function` ("current" or "voltage") within `limit` of the other quantity.

        The limit goes first, then the level, then the source function, then the
        output on: the SMU never sources a new level with an old limit.
        """
        limit_setting = "voltage_limit" if function == "current" else "current_limit"
        self._switch([
            self._command(limit_setting, limit),
            self._command(function, level),
            self._command("source_function", function),
            self._command("output", "on"),
        ])

    def _switch(self, commands: list[str]) -> None:
        with self.link.lock:
            self._send(commands)
            self._switched = self.clock.now()

    def read(self) -> CyclerReading:
        """Voltage, current, charge counter and temperature (NaN without a sensor)."""
        measurements = self.dialect.measurements
        with self.link.lock:
            voltage = self._measure(measurements["voltage"])
            current = self._measure(measurements["current"])
            t = self.clock.now()
            temperature = self._measure(measurements["temperature"]) if "temperature" in measurements else math.nan
            if self.dialect.charge == "measured":
                charge = self._measure(measurements["charge"])
            else:
                charge = self._integrate(t, current)
        return CyclerReading(voltage=voltage, current=current, charge=charge, temperature=temperature)

    def _integrate(self, t: float, current: float) -> float:
        last = self._last
        self._last = (t, current)
        if last is not None and t > last[0]:
            t0, current0 = last
            switched = self._switched
            if switched is not None and t0 <= switched <= t:
                self._charge += current0 * (switched - t0) + current * (t - switched)
            else:
                self._charge += 0.5 * (current0 + current) * (t - t0)
        self._switched = None
        return self._charge

    def reset_charge(self) -> None:
        """Start the coulomb counter again at 0 (the integrated one)."""
        self._charge = 0.0
        self._last = None

    def close(self) -> None:
        self.link.close()
