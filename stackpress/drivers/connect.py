"""Real instruments from a bench's [instruments] table, and a check that each one answers.

    [instruments.cycler]
    driver = "scpi"
    resource = "TCPIP0::192.168.1.30::5025::SOCKET"
    dialect = "keithley-2450"
    [instruments.load_cell]
    driver = "modbus"                                  # or "serial"
    resource = "modbus-tcp://192.168.1.31:502?unit=1"
    dialect = "generic-modbus-load-cell"
    [instruments.actuator]
    driver = "modbus"
    resource = "modbus-tcp://192.168.1.31:502?unit=2"
    dialect = "generic-hydraulic"
    command_range = ["0 N", "11.8 kN"]                 # the fixture's (within the dialect's)

Resources:

    scpi     a VISA resource string, opened with pyvisa (`visa_library`, default "@py",
             pyvisa-py): TCPIP0::HOST::PORT::SOCKET (raw SCPI socket, port 5025 on most
             instruments), TCPIP0::HOST::inst0::INSTR (VXI-11), ASRL/dev/ttyUSB0::INSTR,
             GPIB0::24::INSTR, USB0::0x05E6::0x2450::SERIAL::INSTR
    modbus   modbus-tcp://HOST[:PORT]?unit=N          (port 502 by default, unit 1 by default)
             modbus-rtu:///dev/ttyUSB0?baud=19200&parity=E&bytesize=8&stopbits=1&unit=N
             (modbus-rtu://COM3?... on Windows). Instruments on the same TCP server or the same
             RTU bus share one connection (and its lock), each with its own unit id.
    serial   serial:///dev/ttyUSB0?baud=9600&parity=N&bytesize=8&stopbits=1
             (parameters override the dialect's; COM3 as serial://COM3)

Keys of every instrument table: driver, resource, dialect (a bundled name or a
path to a TOML file, relative to `base_dir`), and optionally name (in messages;
default the table's key), timeout ("200 ms", default the dialect's), retries
(after a dropped connection, default 1), backoff ("500 ms": first wait before
reconnecting to an instrument that could not be reached; doubles up to 10 s).
The cycler also takes visa_library, max_current ("10 mA"; default the bench's
[cycler] max_current) and voltage_range (["0 V", "5 V"]); the actuator
command_range, max_force, velocity ("20 um/s") and regulated (true/false).
Anything else is refused with the table and key named; nothing is opened until
the first read or command (or `identify`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackpress.clock import Clock, WallClock
from stackpress.drivers.dialect import ROLES, ConfigError, Table, load_dialect, to_si
from stackpress.drivers.errors import InstrumentError
from stackpress.drivers.modbus_actuators import ModbusActuator
from stackpress.drivers.modbus_load_cell import ModbusLoadCell
from stackpress.drivers.scpi_cycler import ScpiCycler
from stackpress.drivers.serial_load_cell import SerialLoadCell
from stackpress.drivers.transport import (
    LinkSettings,
    ModbusLink,
    SerialLink,
    VisaLink,
    parse_modbus_resource,
    parse_serial_resource,
)
from stackpress.lookup import did_you_mean

DRIVERS = {"cycler": ("scpi",), "load_cell": ("modbus", "serial"), "actuator": ("modbus",)}
COMMON_KEYS = ("driver", "resource", "dialect", "name", "timeout", "retries", "backoff")
ROLE_KEYS = {
    "cycler": ("visa_library", "max_current", "voltage_range"),
    "load_cell": (),
    "actuator": ("command_range", "max_force", "velocity", "regulated"),
}


def connect_instruments(
    tables: Mapping[str, Any], clock: Clock, *, base_dir: str | Path | None = None
) -> tuple[ScpiCycler, ModbusLoadCell | SerialLoadCell, ModbusActuator]:
    """(cycler, force_sensor, actuator) from the bench's [instruments] table; ConfigError names what is wrong.

    `clock` times the reconnect backoff and the integrated charge (the wall
    clock on hardware). Nothing is opened yet.
    """
    section = tables.get("instruments")
    if section is None:
        raise ConfigError("[instruments]: missing (needs [instruments.cycler], .load_cell and .actuator)")
    if not isinstance(section, Mapping):
        raise ConfigError("[instruments] must be a table")
    for key in section:
        if key not in ROLES:
            hint = did_you_mean(key, ROLES)
            raise ConfigError(f"[instruments] {key}: unknown instrument{hint} (known: {', '.join(ROLES)})")
    for role in ROLES:
        if role not in section:
            raise ConfigError(f"[instruments.{role}]: missing")
    buses: dict[tuple[Any, ...], ModbusLink] = {}
    base = Path(base_dir) if base_dir is not None else None
    cycler = _instrument("cycler", section["cycler"], tables, clock, buses, base)
    load_cell = _instrument("load_cell", section["load_cell"], tables, clock, buses, base)
    actuator = _instrument("actuator", section["actuator"], tables, clock, buses, base)
    return cycler, load_cell, actuator


def _instrument(
    role: str,
    values: Any,
    tables: Mapping[str, Any],
    clock: Clock,
    buses: dict[tuple[Any, ...], ModbusLink],
    base: Path | None,
) -> Any:
    where = f"[instruments.{role}]"
    table = Table(values, where)
    known = COMMON_KEYS + ROLE_KEYS[role]
    for key in table.values:
        if key not in known:
            raise ConfigError(f"{where} {key}: unknown key{did_you_mean(key, known)} (known: {', '.join(known)})")
    driver = table.text("driver")
    if driver not in DRIVERS[role]:
        raise ConfigError(
            f"{where} driver: {driver!r} cannot be a {role}{did_you_mean(driver, DRIVERS[role])} "
            f"(known: {', '.join(DRIVERS[role])})"
        )
    resource = table.text("resource")
    dialect_name = table.text("dialect")
    path = Path(dialect_name)
    if base is not None and not path.is_absolute() and (base / path).is_file():
        dialect_name = str(base / path)
    try:
        dialect = load_dialect(dialect_name, driver=driver, role=role)
    except ConfigError as exc:
        raise ConfigError(f"{where} dialect: {exc}") from None
    name = table.text("name", role)
    settings = LinkSettings(
        timeout=table.number("timeout", "s", dialect.timeout, positive=True),
        retries=table.integer("retries", 1, 0, 10),
        backoff=table.number("backoff", "s", "500 ms", positive=True),
    )

    def resource_error(exc: ValueError) -> ConfigError:
        return ConfigError(f"{where} resource: {exc}")

    if role == "cycler":
        limit = None
        if table.has("max_current"):
            limit = table.number("max_current", "A", positive=True)
        elif isinstance(tables.get("cycler"), Mapping) and "max_current" in tables["cycler"]:
            limit = to_si(tables["cycler"]["max_current"], "A", "[cycler] max_current")
        link = VisaLink(
            resource,
            settings,
            clock,
            library=table.text("visa_library", "@py"),
            read_termination=dialect.read_termination,
            write_termination=dialect.write_termination,
            encoding=dialect.encoding,
        )
        return ScpiCycler(
            link, dialect, name=name, clock=clock, max_current=limit, voltage_range=table.span("voltage_range", "V")
        )
    if driver == "serial":
        try:
            endpoint = parse_serial_resource(resource)
        except ValueError as exc:
            raise resource_error(exc) from None
        link = SerialLink(
            resource,
            settings,
            clock,
            device=endpoint.device,
            baud=endpoint.baud or dialect.baud,
            bytesize=endpoint.bytesize or dialect.bytesize,
            parity=endpoint.parity or dialect.parity,
            stopbits=endpoint.stopbits or dialect.stopbits,
            read_termination=dialect.read_termination,
            write_termination=dialect.write_termination,
            encoding=dialect.encoding,
        )
        return SerialLoadCell(link, dialect, name=name)
    try:
        endpoint = parse_modbus_resource(resource)
    except ValueError as exc:
        raise resource_error(exc) from None
    link = buses.get(endpoint.bus)
    if link is None:
        link = buses[endpoint.bus] = ModbusLink(endpoint, settings, clock)
    elif link.endpoint.transport == "rtu" and (link.endpoint.baud, link.endpoint.parity) != (
        endpoint.baud,
        endpoint.parity,
    ):
        raise ConfigError(f"{where} resource: {resource!r} shares a bus with another instrument, at other settings")
    if role == "load_cell":
        return ModbusLoadCell(link, endpoint.unit, dialect, name=name)
    unit = dialect.command_unit
    velocity = table.number("velocity", "m/s") if table.has("velocity") else None
    max_force = table.number("max_force", "N", positive=True) if table.has("max_force") else None
    try:
        return ModbusActuator(
            link,
            endpoint.unit,
            dialect,
            name=name,
            command_range=table.span("command_range", unit),
            regulated=table.flag("regulated", dialect.regulated),
            max_force=max_force,
            velocity=velocity,
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def check(tables: Mapping[str, Any], clock: Clock | None = None, *, base_dir: str | Path | None = None
          ) -> list[CheckResult]:
    """`stackpress check BENCH`: connect the bench's instruments, identify and read each once, close them.

    ConfigError if the [instruments] table is wrong; otherwise one CheckResult
    per instrument (`ok`, or `error` saying why, with a hint).
    """
    drivers = connect_instruments(tables, clock if clock is not None else WallClock(), base_dir=base_dir)
    try:
        return identify(drivers)
    finally:
        close_instruments(drivers)


def close_instruments(instruments: Iterable[Any]) -> None:
    """Close every connection (the instruments keep doing what they were last told)."""
    for instrument in instruments:
        close = getattr(instrument, "close", None)
        if close is not None:
            close()


# --- stackpress check ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    role: str  # "cycler", "load_cell", "actuator"
    name: str
    resource: str
    ok: bool
    identity: str  # what it says it is ("" if it did not answer)
    reading: str  # one reading, formatted with units ("" if none)
    error: str  # why not, with a hint ("" if ok)
    seconds: float  # wall time spent

    def line(self) -> str:
        head = f"{self.role:<10} {self.name} at {self.resource}"
        if self.ok:
            return f"ok    {head}: {self.identity}; {self.reading} ({self.seconds * 1e3:.1f} ms)"
        return f"FAIL  {head}: {self.error}"


_HINTS = {
    "timeout": "it is connected but does not answer: check power, the unit id or address, the baud rate, the cabling",
    "connect": "check the resource address, that the instrument is on and reachable, and that nothing else holds it",
}


def identify(instruments: Sequence[Any]) -> list[CheckResult]:
    """Identify (cycler, force_sensor, actuator) and read each once; one result per instrument, failures explained."""
    cycler, force_sensor, actuator = instruments

    def cycler_reading() -> str:
        r = cycler.read()
        return f"{r.voltage:.4f} V, {r.current * 1e3:.4g} mA, {r.charge:.4g} C"

    def force_reading() -> str:
        return f"{force_sensor.read_force():.2f} N"

    def actuator_reading() -> str:
        unit = actuator.command_unit
        value = actuator.read_command()
        shown = f"{value:.2f} N" if unit == "N" else f"{value * 1e6:.3f} um"
        gap = actuator.read_gap()
        return f"readback {shown}, gap " + ("n/a" if math.isnan(gap) else f"{gap * 1e6:.3f} um")

    checks: list[tuple[str, Any, Callable[[], str]]] = [
        ("cycler", cycler, cycler_reading),
        ("load_cell", force_sensor, force_reading),
        ("actuator", actuator, actuator_reading),
    ]
    results = []
    for role, instrument, read in checks:
        start = time.perf_counter()
        name = getattr(instrument, "name", role)
        resource = getattr(instrument, "resource", "?")
        try:
            identity = instrument.identify() if hasattr(instrument, "identify") else name
            reading = read()
        except InstrumentError as exc:
            text = str(exc)
            hint = _HINTS["timeout"] if "no reply" in text else _HINTS["connect"] if "connect" in text else ""
            results.append(
                CheckResult(role, name, resource, False, "", "", text + (f" — {hint}" if hint else ""),
                            time.perf_counter() - start)
            )
            continue
        results.append(CheckResult(role, name, resource, True, identity, reading, "", time.perf_counter() - start))
    return results
