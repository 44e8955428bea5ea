"""Device dialects as data: what a model's commands, replies and registers are.

A dialect is a TOML file in `stackpress/drivers/dialects/` (a bundled one is
named by its file stem, e.g. "keithley-2450"; any other is given by its path).
Its top level says which driver speaks it and which role it fills:

    name = "keithley-2450"
    description = "..."
    driver = "scpi"          # scpi | modbus | serial
    role = "cycler"          # cycler | load_cell | actuator

and the rest depends on the driver (see the bundled files, each commented):

- scpi (ScpiDialect): [connection], `identify`, `setup`, the error queue, and
  one declarative line per setting ([settings.NAME]: `set` template, `values`
  or `range` + `unit`) and per measurement ([measurements.NAME]: `query`,
  `reply` regex with a `value` group), PyMeasure-style.
- modbus (ModbusDialect): [connection] (`word_order`, `byte_swap`), one
  [registers.NAME] per register (`table` holding|input, 0-based wire `address`,
  `type` uint16|int16|uint32|int32|float32|float64, `scale`, `offset`, `unit`,
  `range` in SI), [status] bits, [control] values (actuators).
- serial (SerialDialect): [connection] (baud rate, framing, terminators), the
  [force] query with its `reply` regex, over-range and error replies, [identify].

Each may carry a [sim] table: how the simulator on the wire answers in this
dialect (stackpress.sims.servers); the drivers ignore it.

Every key is checked: an unknown one, a missing one or a bad value raises
ConfigError naming the file and `[table] key`. Numbers are SI; a text value
with a unit ("200 ms", "1.05 A") is converted and its dimension checked.
"""

from __future__ import annotations

import math
import re
import struct
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackpress.lookup import NotFound, bundled, resolve
from stackpress.units import UnitError, quantity

DRIVERS = ("scpi", "modbus", "serial")
ROLES = ("cycler", "load_cell", "actuator")


class ConfigError(ValueError):
    """A dialect or an [instruments] table that cannot be used; names the file or table and the key."""


# --- reading tables with every key accounted for -------------------------------------------


class Table:
    """One TOML table read key by key; `finish()` refuses keys nobody asked for."""

    def __init__(self, values: Any, where: str) -> None:
        if not isinstance(values, Mapping):
            raise ConfigError(f"{where} must be a table, not {values!r}")
        self.where = where
        self.values = dict(values)
        self._read: set[str] = set()

    def what(self, key: str) -> str:
        return f"{self.where} {key}"

    def has(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str, default: Any = None) -> Any:
        self._read.add(key)
        return self.values.get(key, default)

    def required(self, key: str) -> Any:
        self._read.add(key)
        if key not in self.values:
            raise ConfigError(f"{self.what(key)}: missing")
        return self.values[key]

    def _value(self, key: str, default: Any) -> Any:
        """The value of `key`, or `default` if it is absent; without a default (None) the key is required."""
        return self.get(key, default) if default is not None else self.required(key)

    def text(self, key: str, default: str | None = None) -> str:
        value = self._value(key, default)
        if not isinstance(value, str):
            raise ConfigError(f"{self.what(key)}: {value!r} must be text")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise ConfigError(f"{self.what(key)}: {value!r} must be one of {', '.join(choices)}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.what(key)}: {value!r} must be true or false")
        return value

    def integer(self, key: str, default: int | None = None, low: int = 0, high: int = 2**31) -> int:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{self.what(key)}: {value!r} must be a whole number from {low} to {high}")
        return value

    def number(self, key: str, unit: str, default: Any = None, *, positive: bool = False) -> float:
        """A number in SI `unit`, or a text quantity converted to it ("200 ms" -> 0.2 for unit "s")."""
        value = self._value(key, default)
        number = to_si(value, unit, self.what(key))
        if positive and not number > 0:
            raise ConfigError(f"{self.what(key)}: {value!r} must be positive")
        return number

    def span(self, key: str, unit: str, default: Any = None) -> tuple[float, float] | None:
        value = self.get(key, default)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) != 2:
            raise ConfigError(f"{self.what(key)}: {value!r} must be [low, high]")
        low, high = (to_si(v, unit, self.what(key)) for v in value)
        if not low <= high:
            raise ConfigError(f"{self.what(key)}: low {low:g} is above high {high:g}")
        return low, high

    def regex(self, key: str, default: str | None = None) -> re.Pattern[str] | None:
        value = self.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{self.what(key)}: {value!r} must be a regular expression as text")
        try:
            return re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{self.what(key)}: bad regular expression {value!r}: {exc}") from exc

    def value_regex(self, key: str) -> re.Pattern[str]:
        """A required regular expression that captures the reading in a `value` group."""
        pattern = self.regex(key)
        if pattern is None or "value" not in pattern.groupindex:
            raise ConfigError(f"{self.what(key)}: needs a regular expression with a (?P<value>...) group")
        return pattern

    def finish(self) -> None:
        unknown = sorted(set(self.values) - self._read)
        if unknown:
            known = ", ".join(sorted(self._read)) or "none"
            raise ConfigError(f"{self.what(unknown[0])}: unknown key (known: {known})")


def to_si(value: Any, unit: str, what: str) -> float:
    """A plain number (already SI) or a text quantity in `unit`'s dimension, as an SI float."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: {value!r} must be a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and unit:
        try:
            return quantity(value, unit, what)
        except UnitError as exc:
            raise ConfigError(str(exc)) from exc
    raise ConfigError(f"{what}: {value!r} must be a number" + (f" or a quantity in {unit}" if unit else ""))


def escape(text: str) -> str:
    """Control characters made visible, for error messages."""
    return text.encode("unicode_escape").decode("ascii")


# --- common parts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    name: str
    description: str
    driver: str
    role: str
    source: str  # the file it came from
    sim: dict[str, Any]  # how the simulator answers in this dialect (drivers ignore it)


def bundled_dialects() -> dict[str, Path]:
    """The dialects shipped with stackpress, by name (the file name without .toml)."""
    return bundled("stackpress.drivers", "dialects")


def load_dialect(name_or_path: str | Path, *, driver: str | None = None, role: str | None = None) -> Any:
    """A dialect by bundled name or file path; `driver` and `role`, if given, must match the file's."""
    try:
        path = resolve(name_or_path, bundled_dialects(), "dialect").path
    except NotFound as exc:
        raise ConfigError(str(exc)) from None
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse_dialect(data, str(path), driver=driver, role=role)


def parse_dialect(data: Mapping[str, Any], source: str, *, driver: str | None = None, role: str | None = None) -> Any:
    top = Table(data, f"{source}:")
    name = top.text("name")
    kind = top.choice("driver", DRIVERS)
    what_role = top.choice("role", ROLES)
    if driver is not None and kind != driver:
        raise ConfigError(f"{source}: dialect {name!r} is for driver {kind!r}, not {driver!r}")
    if role is not None and what_role != role:
        raise ConfigError(f"{source}: dialect {name!r} is for a {what_role}, not a {role}")
    common = {
        "name": name,
        "description": top.text("description", ""),
        "driver": kind,
        "role": what_role,
        "source": source,
        "sim": dict(top.get("sim", {})),
    }
    if not isinstance(common["sim"], dict):
        raise ConfigError(f"{top.what('sim')}: must be a table")

    def section(key: str) -> Table:
        return Table(top.get(key, {}), f"{source}: [{key}]")

    parser = {"scpi": _scpi, "modbus": _modbus, "serial": _serial}[kind]
    dialect = parser(top, section, common)
    top.finish()
    return dialect


# --- SCPI ----------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{value(?::[^}]*)?\}")


@dataclass(frozen=True)
class ScpiSetting:
    """One instrument setting: its command template and what it accepts (PyMeasure's `control`)."""

    name: str
    template: str  # "{value:.6g}"-style placeholder for the value
    values: dict[str, str] | None = None  # symbolic choices -> what is sent
    range: tuple[float, float] | None = None  # SI, what the instrument accepts
    unit: str = ""

    def command(self, value: Any, instrument: str) -> str:
        """The command text for `value`; OutOfRange (nothing sent) when the value is not accepted."""
        from stackpress.drivers.errors import OutOfRange

        if self.values is not None:
            if value not in self.values:
                raise OutOfRange(instrument, f"{self.name} {value!r} is not one of {', '.join(self.values)}")
            return self.template.replace(_PLACEHOLDER.search(self.template).group(0), self.values[value])
        number = float(value)
        if not math.isfinite(number):
            raise OutOfRange(instrument, f"{self.name} {number!r} {self.unit} is not a finite number")
        if self.range is not None:
            low, high = self.range
            if not low <= number <= high:
                raise OutOfRange(
                    instrument, f"{self.name} {number:g} {self.unit} is outside {low:g}..{high:g} {self.unit}"
                )
        return self.template.format(value=number)

    def pattern(self) -> re.Pattern[str]:
        """The regex that recognises this command (for the simulator): the template with a value group."""
        head, tail = _PLACEHOLDER.split(self.template, maxsplit=1)
        return re.compile(rf"^{re.escape(head)}(?P<value>\S+){re.escape(tail)}$", re.IGNORECASE)


@dataclass(frozen=True)
class ScpiMeasurement:
    name: str
    query: str
    reply: re.Pattern[str]  # with a group named "value"
    unit: str = ""


@dataclass(frozen=True)
class ScpiDialect(Dialect):
    read_termination: str = "\n"
    write_termination: str = "\n"
    encoding: str = "ascii"
    timeout: float = 1.0  # s
    identify: str = "*IDN?"
    setup: tuple[str, ...] = ()
    error_query: str | None = None
    no_error: re.Pattern[str] | None = None
    out_of_range_error: re.Pattern[str] | None = None
    overflow: float = math.inf  # |reading| at or above this is the instrument's overflow marker
    charge: str = "integrated"  # "integrated" by the driver, or "measured" (a `charge` measurement)
    rest: str = "output-off"  # "output-off" or "zero-current"
    rest_voltage_limit: float = 0.0  # V, the compliance of a zero-current rest
    settings: dict[str, ScpiSetting] = field(default_factory=dict)
    measurements: dict[str, ScpiMeasurement] = field(default_factory=dict)


SCPI_CYCLER_SETTINGS = ("source_function", "current", "voltage_limit", "voltage", "current_limit", "output")
_SETTING_VALUES = {"source_function": ("current", "voltage"), "output": ("on", "off")}
_SETTING_UNITS = {"current": "A", "current_limit": "A", "voltage": "V", "voltage_limit": "V"}


def _scpi(top: Table, section: Callable[[str], Table], common: dict[str, Any]) -> ScpiDialect:
    source = common["source"]
    connection = section("connection")
    timeout = connection.number("timeout", "s", "1 s", positive=True)
    read_termination = connection.text("read_termination", "\n")
    write_termination = connection.text("write_termination", "\n")
    encoding = connection.text("encoding", "ascii")
    connection.finish()
    setup = top.get("setup", [])
    if not isinstance(setup, list) or not all(isinstance(s, str) for s in setup):
        raise ConfigError(f"{top.what('setup')}: must be a list of commands")
    settings_table = section("settings")
    settings: dict[str, ScpiSetting] = {}
    for key in SCPI_CYCLER_SETTINGS:
        table = Table(settings_table.required(key), f"{source}: [settings.{key}]")
        template = table.text("set")
        if len(_PLACEHOLDER.findall(template)) != 1:
            raise ConfigError(f"{table.what('set')}: {template!r} needs exactly one {{value}} placeholder")
        if key in _SETTING_VALUES:
            values = table.required("values")
            if not isinstance(values, dict) or set(values) != set(_SETTING_VALUES[key]):
                raise ConfigError(f"{table.what('values')}: must map {', '.join(_SETTING_VALUES[key])} to commands")
            settings[key] = ScpiSetting(key, template, values=dict(values))
        else:
            unit = _SETTING_UNITS[key]
            unit_given = table.text("unit", unit)
            if unit_given != unit:
                raise ConfigError(f"{table.what('unit')}: {unit_given!r} must be {unit!r}")
            settings[key] = ScpiSetting(key, template, range=table.span("range", unit), unit=unit)
            try:
                template.format(value=1.0)
            except (ValueError, IndexError, KeyError) as exc:
                raise ConfigError(f"{table.what('set')}: bad template {template!r}: {exc}") from exc
        table.finish()
    settings_table.finish()
    measurements_table = section("measurements")
    measurements: dict[str, ScpiMeasurement] = {}
    charge = top.choice("charge", ("integrated", "measured"), "integrated")
    needed = ["voltage", "current"] + (["charge"] if charge == "measured" else [])
    units = {"voltage": "V", "current": "A", "charge": "C", "temperature": "degC"}
    for key in list(measurements_table.values):
        if key not in units:
            raise ConfigError(f"{measurements_table.what(key)}: unknown measurement (known: {', '.join(units)})")
    for key in units:
        if key not in measurements_table.values:
            if key in needed:
                raise ConfigError(f"{measurements_table.what(key)}: missing")
            continue
        table = Table(measurements_table.get(key), f"{source}: [measurements.{key}]")
        reply = table.value_regex("reply")
        measurements[key] = ScpiMeasurement(key, table.text("query"), reply, table.text("unit", units[key]))
        table.finish()
    measurements_table.finish()
    rest = top.choice("rest", ("output-off", "zero-current"), "output-off")
    return ScpiDialect(
        **common,
        read_termination=read_termination,
        write_termination=write_termination,
        encoding=encoding,
        timeout=timeout,
        identify=top.text("identify", "*IDN?"),
        setup=tuple(setup),
        error_query=top.text("error_query", "") or None,
        no_error=top.regex("no_error"),
        out_of_range_error=top.regex("out_of_range_error"),
        overflow=top.number("overflow", "", math.inf),
        charge=charge,
        rest=rest,
        rest_voltage_limit=top.number("rest_voltage_limit", "V", 0.0) if rest == "zero-current" else 0.0,
        settings=settings,
        measurements=measurements,
    )


# --- Modbus registers --------------------------------------------------------------------------

# type -> (struct code, registers)
REGISTER_TYPES = {
    "uint16": ("H", 1),
    "int16": ("h", 1),
    "uint32": ("I", 2),
    "int32": ("i", 2),
    "float32": ("f", 2),
    "float64": ("d", 4),
}
TABLES = ("holding", "input")


@dataclass(frozen=True)
class Register:
    """One value in a device's register map: where it is, how it is encoded, what it means in SI.

    engineering value (SI) = raw * scale + offset; `range` (SI) is what the
    device accepts when written. Multi-register values are sent high word first
    (`word_order` "big", "ABCD") or low word first ("little", "CDAB"), bytes
    within a word big-endian unless `byte_swap` ("BADC" / "DCBA").
    """

    name: str
    table: str  # "holding" (read FC3, written FC16) or "input" (read FC4, read-only)
    # `unit`: the SI unit of the engineering value (after scale and offset): "N", "m", "m/s" or ""
    address: int  # 0-based, as on the wire
    type: str
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    range: tuple[float, float] | None = None
    word_order: str = "big"
    byte_swap: bool = False

    @property
    def count(self) -> int:
        return REGISTER_TYPES[self.type][1]

    @property
    def integer(self) -> bool:
        return self.type != "float32" and self.type != "float64"

    def decode(self, registers: list[int]) -> float:
        """The SI value of this register's words."""
        code, count = REGISTER_TYPES[self.type]
        words = list(registers[:count])
        if self.word_order == "little":
            words.reverse()
        raw_bytes = b"".join(struct.pack(">H", w & 0xFFFF) for w in words)
        if self.byte_swap:
            raw_bytes = _swap_bytes(raw_bytes)
        (raw,) = struct.unpack(">" + code, raw_bytes)
        return raw * self.scale + self.offset

    def raw(self, value: float) -> int | float:
        """The raw number for an SI value (rounded for integer types); ValueError if it does not fit."""
        raw = (value - self.offset) / self.scale
        if not self.integer:
            return raw
        raw = round(raw)
        code = REGISTER_TYPES[self.type][0]
        bits = 16 * self.count
        low, high = (0, 2**bits - 1) if code.isupper() else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if not low <= raw <= high:
            raise ValueError(f"{value:g} {self.unit} is raw {raw}, beyond a {self.type} ({low}..{high})")
        return raw

    def encode(self, value: float) -> list[int]:
        """The words to write for an SI value; ValueError if it does not fit the type."""
        code = REGISTER_TYPES[self.type][0]
        raw_bytes = struct.pack(">" + code, self.raw(value))
        if self.byte_swap:
            raw_bytes = _swap_bytes(raw_bytes)
        words = [int.from_bytes(raw_bytes[i : i + 2], "big") for i in range(0, len(raw_bytes), 2)]
        if self.word_order == "little":
            words.reverse()
        return words


def _swap_bytes(raw: bytes) -> bytes:
    """The two bytes of every word exchanged ("BADC" / "DCBA" devices)."""
    return bytes(b for i in range(0, len(raw), 2) for b in (raw[i + 1], raw[i]))


@dataclass(frozen=True)
class StatusBits:
    """A status register's bits: name -> bit; the ones that mean over range, or a fault."""

    register: str
    bits: dict[str, int]
    out_of_range: tuple[str, ...] = ()  # a reading with one of these set raises OutOfRange
    errors: tuple[str, ...] = ()  # one of these set raises InstrumentError

    def decode(self, word: float) -> dict[str, bool]:
        value = int(word)
        return {name: bool(value >> bit & 1) for name, bit in self.bits.items()}

    def encode(self, flags: Mapping[str, bool]) -> int:
        return sum(1 << self.bits[name] for name, on in flags.items() if on and name in self.bits)


@dataclass(frozen=True)
class ModbusDialect(Dialect):
    timeout: float = 0.5  # s
    word_order: str = "big"
    byte_swap: bool = False
    registers: dict[str, Register] = field(default_factory=dict)
    status: StatusBits | None = None
    identify: tuple[str, ...] = ()  # registers read and shown by identify()
    # actuators
    kind: str = ""  # "hydraulic" (force command, N) or "screw" (position command, m)
    command_unit: str = ""
    regulated: bool = True
    control: dict[str, int] = field(default_factory=dict)  # run / hold / disable -> control word


_MODBUS_REQUIRED = {
    "load_cell": ("force",),
    "actuator": ("setpoint", "feedback", "control"),
}
_MODBUS_OPTIONAL = {
    "load_cell": ("status",),
    "actuator": ("gap", "status", "velocity"),
}


def _modbus(top: Table, section: Callable[[str], Table], common: dict[str, Any]) -> ModbusDialect:
    source, role = common["source"], common["role"]
    connection = section("connection")
    timeout = connection.number("timeout", "s", "500 ms", positive=True)
    word_order = connection.choice("word_order", ("big", "little"), "big")
    byte_swap = connection.flag("byte_swap", False)
    connection.finish()
    registers_table = section("registers")
    registers: dict[str, Register] = {}
    for name in list(registers_table.values):
        table = Table(registers_table.get(name), f"{source}: [registers.{name}]")
        data_type = table.choice("type", tuple(REGISTER_TYPES))
        unit = table.text("unit", "")
        scale = table.number("scale", "", 1.0)
        if scale == 0:
            raise ConfigError(f"{table.what('scale')}: must not be 0")
        registers[name] = Register(
            name=name,
            table=table.choice("table", TABLES),
            address=table.integer("address", high=65535),
            type=data_type,
            scale=scale,
            offset=table.number("offset", "", 0.0),
            unit=unit,
            range=table.span("range", unit),
            word_order=word_order,
            byte_swap=byte_swap,
        )
        table.finish()
    registers_table.finish()
    for name in _MODBUS_REQUIRED[role]:
        if name not in registers:
            needed = ", ".join(_MODBUS_REQUIRED[role])
            raise ConfigError(f"{registers_table.what(name)}: missing (a {role} needs {needed})")
    _check_overlaps(registers, source)
    status = None
    if top.has("status"):
        table = section("status")
        register = table.text("register")
        if register not in registers:
            raise ConfigError(f"{table.what('register')}: no register {register!r}")
        bits = table.required("bits")
        if not isinstance(bits, dict) or not all(
            isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 16 * registers[register].count
            for b in bits.values()
        ):
            raise ConfigError(f"{table.what('bits')}: must map names to bit numbers")
        lists = {}
        for key in ("out_of_range", "errors"):
            names = table.get(key, [])
            if not isinstance(names, list) or not set(names) <= set(bits):
                raise ConfigError(f"{table.what(key)}: must list names from [status] bits")
            lists[key] = tuple(names)
        status = StatusBits(register, dict(bits), **lists)
        table.finish()
    identify = top.get("identify", [])
    if not isinstance(identify, list) or not set(identify) <= set(registers):
        raise ConfigError(f"{top.what('identify')}: must list register names")
    extra: dict[str, Any] = {}
    if role == "actuator":
        kind = top.choice("kind", ("hydraulic", "screw"))
        unit = {"hydraulic": "N", "screw": "m"}[kind]
        for name in ("setpoint", "feedback"):
            if registers[name].unit != unit:
                raise ConfigError(
                    f"{source}: [registers.{name}] unit: {registers[name].unit!r} must be {unit!r} "
                    f"for a {kind} actuator"
                )
        if "gap" in registers and registers["gap"].unit != "m":
            raise ConfigError(f"{source}: [registers.gap] unit: {registers['gap'].unit!r} must be 'm'")
        control = section("control")
        values = {key: control.integer(key, high=65535) for key in ("run", "hold", "disable")}
        control.finish()
        extra = {"kind": kind, "command_unit": unit, "regulated": top.flag("regulated", True), "control": values}
    else:
        if registers["force"].unit and registers["force"].unit != "N":
            raise ConfigError(f"{source}: [registers.force] unit: {registers['force'].unit!r} must be 'N'")
    allowed = _MODBUS_REQUIRED[role] + _MODBUS_OPTIONAL[role]
    for name in registers:
        if name not in allowed and name not in identify:
            raise ConfigError(
                f"{registers_table.what(name)}: unknown register for a {role} "
                f"(known: {', '.join(sorted(allowed))}, or one listed in `identify`)"
            )
    return ModbusDialect(
        **common,
        timeout=timeout,
        word_order=word_order,
        byte_swap=byte_swap,
        registers=registers,
        status=status,
        identify=tuple(identify),
        **extra,
    )


def _check_overlaps(registers: dict[str, Register], source: str) -> None:
    taken: dict[tuple[str, int], str] = {}
    for register in registers.values():
        for address in range(register.address, register.address + register.count):
            other = taken.setdefault((register.table, address), register.name)
            if other != register.name:
                raise ConfigError(
                    f"{source}: [registers.{register.name}] overlaps [registers.{other}] "
                    f"at {register.table} register {address}"
                )


# --- ASCII serial ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SerialDialect(Dialect):
    baud: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    timeout: float = 0.5  # s
    read_termination: str = "\r\n"
    write_termination: str = "\r\n"
    encoding: str = "ascii"
    query: str = ""
    reply: re.Pattern[str] = re.compile("(?P<value>.*)")  # groups: value, optional unit
    units: dict[str, float] = field(default_factory=dict)  # reply unit -> N per unit
    over_range: re.Pattern[str] | None = None
    under_range: re.Pattern[str] | None = None
    error: re.Pattern[str] | None = None
    identify_query: str | None = None
    identify_reply: re.Pattern[str] | None = None


def _serial(top: Table, section: Callable[[str], Table], common: dict[str, Any]) -> SerialDialect:
    if common["role"] != "load_cell":
        raise ConfigError(f"{common['source']}: the serial driver reads load cells only, not a {common['role']}")
    connection = section("connection")
    settings = {
        "baud": connection.integer("baud", 9600, 50, 4_000_000),
        "bytesize": connection.integer("bytesize", 8, 5, 8),
        "parity": connection.choice("parity", ("N", "E", "O", "M", "S"), "N"),
        "stopbits": connection.number("stopbits", "", 1),
        "timeout": connection.number("timeout", "s", "500 ms", positive=True),
        "read_termination": connection.text("read_termination", "\r\n"),
        "write_termination": connection.text("write_termination", "\r\n"),
        "encoding": connection.text("encoding", "ascii"),
    }
    if settings["stopbits"] not in (1, 1.5, 2):
        raise ConfigError(f"{connection.what('stopbits')}: must be 1, 1.5 or 2")
    connection.finish()
    force = section("force")
    reply = force.value_regex("reply")
    units = force.get("units", {"N": 1.0})
    if not isinstance(units, dict) or not all(isinstance(v, int | float) and v > 0 for v in units.values()):
        raise ConfigError(f"{force.what('units')}: must map reply units to newtons per unit")
    parsed = {
        "query": force.text("query"),
        "reply": reply,
        "units": {k: float(v) for k, v in units.items()},
        "over_range": force.regex("over_range"),
        "under_range": force.regex("under_range"),
        "error": force.regex("error"),
    }
    force.finish()
    identify = section("identify")
    identify_query = identify.get("query")
    identify_reply = identify.regex("reply", "(?P<value>.*)")
    identify.finish()
    return SerialDialect(
        **common, **settings, **parsed, identify_query=identify_query, identify_reply=identify_reply
    )
