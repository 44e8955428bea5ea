"""A bench: the instruments around one cell, and the settings that go with them.

A bench is a TOML file (or the name of a bundled one, e.g. `sim-hydraulic`).
This module reads the settings every bench has — the cell's area and nominal
capacity, the hard pressure limit, the engine period, the regulator gains —
checks their units, and connects the instruments. The simulated instruments
read the [cell], [fixture] and [load_cell] tables themselves.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackpress.clock import Clock, VirtualClock, WallClock
from stackpress.control.engine import Instruments
from stackpress.control.pid import Gains
from stackpress.control.regulator import RegulatorSettings
from stackpress.lookup import NotFound, bundled, resolve
from stackpress.protocols.load import check_against_bench
from stackpress.units import UnitError, quantity

if TYPE_CHECKING:
    from stackpress.control.autotune import TuneResult
    from stackpress.drivers.connect import CheckResult
    from stackpress.protocols.steps import Protocol
    from stackpress.sims.world import SimWorld

DEFAULT_BENCH = "sim-hydraulic"
_SECTIONS = {
    "name", "description", "cell", "fixture", "load_cell", "engine", "limits", "regulator", "cycler", "faults",
    "instruments",
}
_SIMULATED_ONLY = ("fixture", "load_cell", "faults")  # a bench with [instruments] describes real hardware
_REAL_CELL_KEYS = {"area", "loading", "other_layers"}
_OWN_KEYS = {  # the sections this module reads whole; the simulator checks [cell], [fixture], [load_cell]
    "engine": {"period", "min_period", "sim_step", "speed"},
    "limits": {"max_pressure", "safe_preload"},
    "regulator": {"kp", "ki", "kd", "filter", "slew_rate", "feedforward", "stiffness", "backlash"},
    "cycler": {"max_current"},
}


class BenchError(ValueError):
    """A bench file that cannot be used, with the file and the setting named."""


@dataclass(frozen=True)
class Bench:
    name: str
    source: str
    text: str
    tables: dict[str, Any]
    area: float  # m2
    capacity: float  # C, nominal: loading x area, the reference of C-rates
    max_pressure: float  # Pa, the hard limit
    safe_preload: float  # Pa, where the actuator backs off to after an over-pressure
    period: float  # s, engine tick
    gains: Gains  # pressure regulator, in Pa/Pa and Pa/(Pa s)
    max_current: float  # A, the cycler channel's maximum: refuses larger steps, limits voltage holds
    sim_step: float = 1.0  # s, a simulated bench's longest physics sub-step ([engine] sim_step)
    min_period: float | None = None  # s, the shortest tick near a step's end ([engine] min_period); None: `period`
    regulation: RegulatorSettings = field(default_factory=RegulatorSettings)  # [regulator] beyond the gains
    other_layers: float = 0.0  # m, a real bench's stack thickness that is not electrode ([cell] other_layers)
    clock_speed: float = 1.0  # a real bench's wall clock speed ([engine] speed: >1 for a served simulator)

    @property
    def simulated(self) -> bool:
        """A bench without [instruments] is the simulator, in virtual time."""
        return "instruments" not in self.tables

    def make_clock(self, start: float = 0.0) -> Clock:
        """Virtual time for the simulator; the wall clock (at `clock_speed`) for instruments; from `start` s."""
        return VirtualClock(start) if self.simulated else WallClock(self.clock_speed, start)

    def connect(self, clock: Clock, seed: int = 0, *, world: SimWorld | None = None) -> tuple[Instruments, float]:
        """The bench's instruments and the stack thickness that is not electrode (m).

        `world`: for a simulated bench, the world to go on with (a resumed run's, as it
        was at its last checkpoint) instead of a new one; it runs on `clock` from now on.
        """
        if self.simulated:
            from stackpress.sims.world import SimWorld

            if world is not None:
                world.clock = clock
            else:
                try:
                    world = SimWorld.from_bench(self.tables, clock, seed=seed, max_step=self.sim_step)
                except ValueError as exc:
                    raise BenchError(f"{self.source}: {exc}") from exc
            instruments = Instruments(world.cycler, world.force_sensor, world.actuator)
            other_layers = world.other_layers_thickness
        else:
            from stackpress.drivers.connect import connect_instruments

            try:
                drivers = connect_instruments(self.tables, clock, base_dir=Path(self.source).parent)
            except ValueError as exc:
                raise BenchError(f"{self.source}: {exc}") from exc
            instruments = Instruments(*drivers)
            other_layers = self.other_layers
        rating = instruments.actuator.max_force / self.area  # the command range is a position for a motor
        if self.max_pressure > rating:
            raise BenchError(
                f"{self.source}: [limits] max_pressure {self.max_pressure / 1e6:g} MPa is above "
                f"the fixture's rating {rating / 1e6:g} MPa"
            )
        return instruments, other_layers

    def check_protocol(self, protocol: Protocol) -> None:
        """Refuse (ProtocolError) a protocol this bench cannot run: its capacity, area, limits and channel."""
        check_against_bench(
            protocol,
            capacity=self.capacity,
            area=self.area,
            max_pressure=self.max_pressure,
            max_current=self.max_current,
            safe_preload=self.safe_preload,
        )

    def check_instruments(self) -> list[CheckResult]:
        """`stackpress check`: connect each real instrument, identify and read it once, close it."""
        if self.simulated:
            raise BenchError(f"{self.source}: a simulated bench has no instruments to check")
        from stackpress.drivers.connect import check

        return check(self.tables, base_dir=Path(self.source).parent)

    def changed(self, changes: dict[str, dict[str, Any]], source: str) -> Bench:
        """This bench with some keys of its tables replaced (`{"engine": {"period": "30 s"}}`), named `source`;
        its text is written anew, so a run file records the bench that ran."""
        tables = copy.deepcopy(self.tables)
        for table, settings in changes.items():
            tables.setdefault(table, {}).update(settings)
        return parse_bench(tables, text=toml_text(tables), source=source, default_name=self.name)

    def disconnect(self, instruments: Instruments) -> None:
        """Close the connections of real instruments (the simulator has none)."""
        if not self.simulated:
            from stackpress.drivers.connect import close_instruments

            close_instruments((instruments.cycler, instruments.force_sensor, instruments.actuator))


def bundled_benches() -> dict[str, Path]:
    """The benches shipped with stackpress, by name (the file name without .toml)."""
    return bundled("stackpress", "benches")


def load_bench(name_or_path: str | Path = DEFAULT_BENCH, *, beside: Path | None = None) -> Bench:
    """Read a bench file (looked for in `beside` first, if given: a sweep's folder), or a bundled bench by name."""
    try:
        path = resolve(name_or_path, bundled_benches(), "bench", beside=beside).path
    except NotFound as exc:
        raise BenchError(str(exc)) from None
    text = path.read_text()
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: {exc}") from exc
    return parse_bench(tables, text=text, source=str(path), default_name=path.stem)


def parse_bench(tables: dict[str, Any], *, text: str, source: str, default_name: str) -> Bench:
    unknown = sorted(set(tables) - _SECTIONS)
    if unknown:
        raise BenchError(f"{source}: unknown section or key {', '.join(unknown)}")
    for section, keys in _OWN_KEYS.items():
        table = tables.get(section, {})
        if not isinstance(table, dict):
            raise BenchError(f"{source}: [{section}] must be a table")
        for key in sorted(set(table) - keys):
            raise BenchError(f"{source}: unknown key [{section}] {key} (known: {', '.join(sorted(keys))})")

    def setting(section: str, key: str, unit: str, default: str) -> float:
        value = tables.get(section, {}).get(key, default)
        number = _si(value, unit, source, section, key)
        if number <= 0:
            raise BenchError(f"{source}: [{section}] {key} must be positive, got {value!r}")
        return number

    def gain(key: str, default: float) -> float:
        value = tables.get("regulator", {}).get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise BenchError(f"{source}: [regulator] {key} must be a number >= 0, got {value!r}")
        return float(value)

    def regulation() -> RegulatorSettings:
        """[regulator] beyond the gains: each optional and >= 0; a slew rate of 0 (or none) means no ramp."""
        regulator = tables.get("regulator", {})
        feedforward = regulator.get("feedforward", True)
        if not isinstance(feedforward, bool):
            raise BenchError(f"{source}: [regulator] feedforward must be true or false, got {feedforward!r}")

        def at_least_zero(key: str, unit: str) -> float:
            return quantity_at_least_zero(tables, "regulator", key, unit, source)

        stiffness = at_least_zero("stiffness", "Pa/m") if "stiffness" in regulator else None
        if stiffness == 0.0:
            raise BenchError(f"{source}: [regulator] stiffness must be positive")
        return RegulatorSettings(
            filter=at_least_zero("filter", "s"),
            slew_rate=at_least_zero("slew_rate", "Pa/s") or math.inf,
            feedforward=feedforward,
            stiffness=stiffness,
            backlash=at_least_zero("backlash", "m"),
        )

    real = "instruments" in tables
    if real:
        for section in _SIMULATED_ONLY:
            if section in tables:
                raise BenchError(f"{source}: [{section}] describes a simulated bench; this one has [instruments]")
        for key in sorted(set(tables.get("cell", {})) - _REAL_CELL_KEYS):
            raise BenchError(f"{source}: unknown key [cell] {key} for a bench with [instruments] "
                             f"(known: {', '.join(sorted(_REAL_CELL_KEYS))})")
    other_layers = quantity_at_least_zero(tables, "cell", "other_layers", "m", source) if real else 0.0
    speed = tables.get("engine", {}).get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not speed > 0:
        raise BenchError(f"{source}: [engine] speed must be a number > 0, got {speed!r}")
    area = setting("cell", "area", "m**2", "0.785 cm2")
    capacity = setting("cell", "loading", "A*s/m**2", "3 mAh/cm2") * area
    period = setting("engine", "period", "s", "1 s")
    min_period = setting("engine", "min_period", "s", "1 s") if "min_period" in tables.get("engine", {}) else None
    if min_period is not None and min_period > period:
        raise BenchError(f"{source}: [engine] min_period ({min_period:g} s) must not be longer than period "
                         f"({period:g} s)")
    return Bench(
        name=str(tables.get("name", default_name)),
        source=source,
        text=text,
        tables=tables,
        area=area,
        capacity=capacity,
        max_pressure=setting("limits", "max_pressure", "Pa", "100 MPa"),
        safe_preload=setting("limits", "safe_preload", "Pa", "5 MPa"),
        period=period,
        min_period=min_period,
        gains=Gains(gain("kp", 0.5), gain("ki", 0.5), gain("kd", 0.0)),
        max_current=setting("cycler", "max_current", "A", "10 mA"),
        sim_step=setting("engine", "sim_step", "s", "1 s"),
        regulation=regulation(),
        other_layers=other_layers,
        clock_speed=float(speed),
    )


def quantity_at_least_zero(tables: dict[str, Any], section: str, key: str, unit: str, source: str) -> float:
    """An optional setting that may be zero (default 0), in SI."""
    value = tables.get(section, {}).get(key)
    if value is None:
        return 0.0
    number = _si(value, unit, source, section, key)
    if not number >= 0:
        raise BenchError(f"{source}: [{section}] {key} must not be negative, got {value!r}")
    return number


def _si(value: Any, unit: str, source: str, section: str, key: str) -> float:
    """A bench setting in SI `unit`; BenchError naming the file, the section and the key if it is not one."""
    try:
        return quantity(value, unit, f"{source}: [{section}] {key}")
    except UnitError as exc:
        raise BenchError(str(exc)) from exc


def toml_text(tables: Mapping[str, Any], prefix: str = "") -> str:
    """`tables` as TOML text, the way bench files are written: plain keys first, then one [table] per
    nested mapping (a mapping inside a list is an inline table); strings escaped as JSON, which TOML's
    basic strings share."""
    lines = [f"{_toml_key(k)} = {toml_value(v)}" for k, v in tables.items() if not isinstance(v, Mapping)]
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables.items():
        if isinstance(value, Mapping):
            name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
            body = toml_text(value, name)
            has_plain = any(not isinstance(v, Mapping) for v in value.values())
            text += f"\n[{name}]\n" + body if has_plain or not value else "\n" + body.lstrip("\n")
    return text


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # nan, inf and -inf are TOML too
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_tuned_bench(bench: Bench, result: TuneResult, path: Path) -> Path:
    """A copy of the bench file with an auto-tune's proposed [regulator] gains (and stiffness, on a position
    fixture), the rest of the file as written."""
    if result.gains is None:
        raise ValueError(f"no gains to write: {result.message}")
    values = {"kp": f"{result.gains.kp:.4g}", "ki": f"{result.gains.ki:.4g}", "kd": f"{result.gains.kd:.4g}"}
    if result.command_unit == "m" and math.isfinite(result.stiffness):
        values["stiffness"] = f'"{result.stiffness / 1e12:.4g} MPa/um"'
    stamp = datetime.date.today().isoformat()
    note = (f"# kp, ki, kd{' and stiffness' if 'stiffness' in values else ''} from `stackpress tune` ({stamp}, "
            f"{result.setpoint / 1e6:g} MPa, {result.period:g} s tick): Ku = {result.ultimate_gain:.4g}, "
            f"Pu = {result.ultimate_period:.4g} s, {result.rule}")
    text = set_regulator_keys(bench.text, values, note)
    parse_bench(tomllib.loads(text), text=text, source=str(path), default_name=Path(path).stem)  # still a bench
    Path(path).write_text(text)
    return Path(path)


_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def set_regulator_keys(text: str, values: dict[str, str], note: str = "") -> str:
    """The bench text with these [regulator] keys set (TOML values as text), the rest left as written."""
    lines = text.splitlines()
    headers = ((i, _HEADER.match(line)) for i, line in enumerate(lines))
    start = next((i for i, m in headers if m and m.group(1).strip() == "regulator"), None)
    if start is None:
        block = ["", "[regulator]"] + ([note] if note else []) + [f"{k} = {v}" for k, v in values.items()]
        return "\n".join(lines + block) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
    section = lines[start + 1:end]
    remaining = dict(values)
    for i, line in enumerate(section):
        match = re.match(r"^\s*([A-Za-z_]+)\s*=", line)
        if match and match.group(1) in remaining:
            key = match.group(1)
            section[i] = f"{key} = {remaining.pop(key)}"
    while section and not section[-1].strip():
        section.pop()
    section += [f"{k} = {v}" for k, v in remaining.items()]
    if note:
        section.insert(0, note)
    tail = lines[end:]
    return "\n".join(lines[: start + 1] + section + ([""] if tail else []) + tail) + "\n"
