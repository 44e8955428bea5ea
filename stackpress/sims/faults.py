"""Faults injected into the simulated bench, to test the safe state without hardware.

Each fault has a kind, a start time `at` (s on the bench's clock, which starts
with the run) and a duration (`for` in a bench file, `duration` in Python;
without one a fault lasts to the end of the run, and a spike is one reading):

    load_cell_dropout       the load cell stops answering: reads raise InstrumentTimeout
    load_cell_spike         single wild readings: `size` (a force or a pressure on the cell area,
                            default "20 MPa", may be negative) added to the first reading at or
                            after `at`; with `for`, to every reading in the window
    load_cell_drift         extra zero drift: `rate` (N/s or Pa/s, default "5 MPa/h") from `at`;
                            the zero returns when the fault ends (a warm-up transient)
    actuator_dropout        the actuator stops answering: every call raises InstrumentTimeout
    actuator_stuck          the actuator seizes where it is and ignores commands (it still answers)
    actuator_slow           the actuator is `factor` times slower (default 10): a ram's oil lag x factor,
                            a motor's velocity / factor (fixtures with a drive only)
    hydraulic_leak          the ram reaches only `holds` (0..1, default 0: the line is open) of its
                            demand, so its force decays with the oil lag (hydraulic fixtures only)
    cycler_dropout          the cycler channel stops answering: reads and commands raise
                            InstrumentTimeout; the channel keeps doing what it was last told
    cycler_overcurrent      the channel's output stage fails: while its output is on it drives
                            `current` (default "20 mA") in the commanded direction, whatever it
                            was told and regardless of its compliance; rest still turns it off
    cycler_voltage_offset   the channel's voltage sense is off by `offset` (default "1 V")

From a bench file, a [faults] table with one entry per kind, an inline table or a
list of them (the same fault more than once):

    [faults]
    load_cell_dropout = [{ at = "2 h", for = "30 s" }, { at = "5 h", for = "2 min" }]
    load_cell_spike = { at = "1 h", size = "40 MPa" }
    hydraulic_leak = { at = "3 h", for = "10 min", holds = 0.2 }

From Python, on the world behind the simulated instruments (numbers in SI, or text with units):

    world.faults.inject("load_cell_dropout", at=7200, duration=30)
    world.faults.inject("hydraulic_leak", at="3 h", duration="10 min", holds=0.2)

Unknown kinds and settings are refused by name. Faults that change the physics
(actuator_stuck, actuator_slow, hydraulic_leak, cycler_overcurrent) start and
end exactly at their times: the world splits its sub-steps there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackpress.lookup import did_you_mean
from stackpress.units import UnitError, quantity

_NO_DRIVE = ("rigid", "tilted")


@dataclass(frozen=True, slots=True)
class _Kind:
    params: dict[str, tuple[str, str]]  # setting -> (SI unit, or "force", "force/s", "number"; default)
    physical: bool = False  # changes the physics: the world splits sub-steps at its start and end


KINDS: dict[str, _Kind] = {
    "load_cell_dropout": _Kind({}),
    "load_cell_spike": _Kind({"size": ("force", "20 MPa")}),
    "load_cell_drift": _Kind({"rate": ("force/s", "5 MPa/h")}),
    "actuator_dropout": _Kind({}),
    "actuator_stuck": _Kind({}, physical=True),
    "actuator_slow": _Kind({"factor": ("number", "10")}, physical=True),
    "hydraulic_leak": _Kind({"holds": ("number", "0")}, physical=True),
    "cycler_dropout": _Kind({}),
    "cycler_overcurrent": _Kind({"current": ("A", "20 mA")}, physical=True),
    "cycler_voltage_offset": _Kind({"offset": ("V", "1 V")}),
}
_NUMBER_RANGES = {"factor": (1.0, math.inf), "holds": (0.0, 1.0)}


@dataclass(slots=True)
class Fault:
    kind: str
    at: float  # s
    duration: float | None  # s; inf: to the end of the run; None: one reading (a spike)
    params: dict[str, float] = field(default_factory=dict)  # SI
    fired: bool = False  # a one-reading spike that has happened

    @property
    def end(self) -> float:
        return self.at if self.duration is None else self.at + self.duration

    def active(self, t: float) -> bool:
        return self.at <= t < self.end


class Faults:
    """The faults injected into one simulated world, and what each means at a given time."""

    def __init__(self, area: float, fixture_kind: str = "hydraulic", drive: bool = True) -> None:
        """`area` m2 turns pressures into forces; the fixture's kind and whether it has a driven actuator
        decide which faults make sense."""
        self.area = area
        self.fixture_kind = fixture_kind
        self.drive = drive
        self.faults: list[Fault] = []
        self.physical = False  # any fault that changes the physics: the world must watch the boundaries

    def __bool__(self) -> bool:
        return bool(self.faults)

    def inject(self, kind: str, *, at: float | str, duration: float | str | None = None, **params: Any) -> Fault:
        """Add one fault; settings as numbers in SI or text with units. ValueError names what is wrong."""
        return self._add(kind, f"fault {kind!r}", at=at, duration=duration, **params)

    def _add(self, kind: str, what: str, *, at: Any, duration: Any = None, **params: Any) -> Fault:
        fault = self._fault(kind, at, duration, params, what)
        self.faults.append(fault)
        self.physical = self.physical or KINDS[kind].physical
        return fault

    @classmethod
    def from_table(
        cls, table: Any, area: float, fixture_kind: str = "hydraulic", drive: bool = True
    ) -> Faults:
        """The faults of a bench's [faults] table (see the module docstring)."""
        faults = cls(area, fixture_kind, drive)
        if table is None:
            return faults
        if not isinstance(table, Mapping):
            raise ValueError(f"[faults] must be a table of faults, like load_cell_dropout = {_EXAMPLE}")
        for kind, entries in table.items():
            what = f"[faults] {kind}"
            if kind not in KINDS:
                raise ValueError(f"{what}: unknown fault{did_you_mean(kind, KINDS)} (known: {', '.join(KINDS)})")
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, Mapping):
                    raise ValueError(f"{what}: each fault is a table, like {kind} = {_EXAMPLE}, not {entry!r}")
                settings = dict(entry)
                if "at" not in settings:
                    raise ValueError(f"{what}: needs a start time, like {kind} = {_EXAMPLE}")
                faults._add(kind, what, **_python_names(settings, what))
        return faults

    # --- what the instruments and the world ask ----------------------------------------------

    def active(self, kind: str, t: float) -> Fault | None:
        for fault in self.faults:
            if fault.kind == kind and fault.active(t):
                return fault
        return None

    def load_cell_offset(self, t: float) -> float:
        """N added to a load-cell reading taken at `t`: spikes and extra drift (one-reading spikes fire here)."""
        offset = 0.0
        for fault in self.faults:
            if fault.kind == "load_cell_spike":
                if fault.duration is None and not fault.fired and t >= fault.at:
                    fault.fired = True
                    offset += fault.params["size"]
                elif fault.active(t):
                    offset += fault.params["size"]
            elif fault.kind == "load_cell_drift" and fault.active(t):
                offset += fault.params["rate"] * (t - fault.at)
        return offset

    def next_boundary(self, t: float) -> float:
        """The first start or end of a physical fault after `t` (inf if none)."""
        after = math.inf
        for fault in self.faults:
            if KINDS[fault.kind].physical:
                for edge in (fault.at, fault.end):
                    if t < edge < after:
                        after = edge
        return after

    # --- reading settings ----------------------------------------------------------------------

    def _fault(self, kind: str, at: Any, duration: Any, params: dict[str, Any], what: str) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"{what}: unknown fault{did_you_mean(kind, KINDS)} (known: {', '.join(KINDS)})")
        spec = KINDS[kind]
        unknown = sorted(set(params) - set(spec.params))
        if unknown:
            known = ", ".join(["at", "for", *spec.params])
            hint = did_you_mean(unknown[0], spec.params)
            raise ValueError(f"{what}: unknown setting {unknown[0]!r}{hint} (known: {known})")
        if kind == "hydraulic_leak" and self.fixture_kind != "hydraulic":
            raise ValueError(f"{what}: a hydraulic leak needs a hydraulic fixture, not {self.fixture_kind!r}")
        if kind == "actuator_slow" and not self.drive:
            raise ValueError(f"{what}: the {self.fixture_kind} fixture has no driven actuator to slow down")
        start = _time(at, f"{what}: at", zero=True)
        if duration is None:
            length = None if kind == "load_cell_spike" else math.inf
        else:
            length = _time(duration, f"{what}: for", zero=False)
        values = {
            name: self._value(params.get(name, default), unit, f"{what}: {name}", name)
            for name, (unit, default) in spec.params.items()
        }
        return Fault(kind, start, length, values)

    def _value(self, value: Any, unit: str, what: str, name: str) -> float:
        if unit == "number":
            number = float(value) if isinstance(value, str) and _is_number(value) else value
            low, high = _NUMBER_RANGES[name]
            if isinstance(number, bool) or not isinstance(number, int | float) or not low <= number <= high:
                raise ValueError(f"{what}: {value!r} must be a number from {low:g} to {high:g}")
            return float(number)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)  # SI already: N, N/s, A, V
        if unit in ("force", "force/s"):  # a force, or a pressure on the cell area
            per = "/s" if unit == "force/s" else ""
            try:
                return quantity(value, f"Pa{per}", what) * self.area
            except UnitError:
                return quantity(value, f"N{per}", what)
        return quantity(value, unit, what)


_EXAMPLE = '{ at = "2 h", for = "30 s" }'


def _python_names(settings: dict[str, Any], what: str) -> dict[str, Any]:
    """TOML's `for` is Python's `duration`."""
    if "duration" in settings:
        raise ValueError(f"{what}: write the duration as for = \"30 s\"")
    if "for" in settings:
        settings["duration"] = settings.pop("for")
    return settings


def _time(value: Any, what: str, zero: bool) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        seconds = quantity(value, "s", what)
    if not (seconds >= 0 if zero else seconds > 0) or math.isnan(seconds):
        raise ValueError(f"{what}: {value!r} must be a time {'of at least' if zero else 'above'} 0 s")
    return seconds


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
