"""Protocol files -> Protocol, and the checks that refuse a protocol before it runs.

A protocol is a TOML file:

    name = "demo"                         # optional; default: the file name without .toml
    [limits]
    voltage = ["2.5 V", "4.3 V"]          # required: the voltage interlock
    pressure_window = ["5 MPa", "50 MPa"] # optional; this is the default, widening it is explicit
    on_fault = "pause"                    # optional: "pause" (default) or "stop", for a lost instrument
                                          # or a pressure alarm
    resume = "operator"                   # optional: "operator" (default) or "auto" (after an instrument
                                          # fault only, as soon as the instrument answers again)
    max_pause = "1 h"                     # optional: a longer pause aborts the run (default 1 h)
    on_abort = "hold"                     # optional: "hold" (default) or "release" (to the bench's safe
                                          # preload): where an aborted run leaves the pressure
    [[block]]                             # one or more
    name = "cycling"                      # optional
    repeat = 5                            # optional; default 1
    steps = ["Charge at C/3 until 4.2 V", "Rest for 10 minutes"]

As in tomato, every unit and limit is checked before anything is sent to
hardware. Nothing is refused one mistake at a time: all problems of a file are
collected and raised as one ProtocolError, each naming the file, the block and
the step. Loading checks what the file alone can tell (grammar, units, the
file's own limits); `check_against_bench` adds what needs the bench (capacity,
area, maximum pressure) just before a run.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackpress.lookup import NotFound, bundled, did_you_mean, resolve
from stackpress.protocols.errors import ProtocolError, attempt, located
from stackpress.protocols.parse import measure, parse_step, read_recording, read_stop_condition
from stackpress.protocols.script import load_script
from stackpress.protocols.steps import (
    DEFAULT_RECORDING,
    ON_ABORT,
    ON_FAULT,
    RESUME,
    Block,
    Charge,
    Current,
    CurrentStep,
    End,
    Limits,
    PowerStep,
    PressureStep,
    Protocol,
    PulseStep,
    RampStep,
    Recording,
    ReleaseStep,
    Step,
    StopCondition,
    VoltageStep,
    WaitStep,
)

_TOP_KEYS = ("name", "limits", "record", "block")
_LIMIT_KEYS = ("voltage", "pressure_window", "on_fault", "resume", "max_pause", "on_abort")
_CHOICES = {"on_fault": ON_FAULT, "resume": RESUME, "on_abort": ON_ABORT}
_BLOCK_KEYS = ("name", "repeat", "until", "record", "steps", "block")
_RANGE_EXAMPLES = {
    "voltage": 'voltage = ["2.5 V", "4.3 V"]',
    "pressure_window": 'pressure_window = ["5 MPa", "50 MPa"]',
}
_BUNDLED = "bundled:"


def bundled_protocols() -> dict[str, Path]:
    """The protocols shipped with stackpress, by name (the file name without .toml)."""
    return bundled("stackpress.protocols", "bundled")


def load_protocol(name_or_path: str | Path) -> Protocol:
    """The protocol in an existing file (TOML, or a Python script: see script.py), else the bundled
    protocol of that name ("demo")."""
    try:
        found = resolve(name_or_path, bundled_protocols(), "protocol")
    except NotFound as exc:
        raise ProtocolError([str(exc)]) from None
    if found.bundled:
        return parse_protocol_text(_read(found.path), f"{_BUNDLED}{name_or_path}")
    if found.path.suffix == ".py":
        return load_script_protocol(found.path)
    return parse_protocol_text(_read(found.path), str(found.path))


def parse_protocol_text(text: str, source: str) -> Protocol:
    """A protocol from the text of a TOML file; `source` (a path or "bundled:NAME") names it in errors."""
    label = _label(source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError([f"{label}: not valid TOML: {exc}"]) from None

    problems: list[str] = []
    _unknown_keys(document, _TOP_KEYS, label, problems)
    name = document.get("name", Path(label.removeprefix(_BUNDLED)).stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{label}: name must be non-empty text, like name = \"demo\", not {name!r}")
    limits = _limits(document.get("limits"), label, problems)
    record = attempt(problems, _recording, document["record"], label) if "record" in document else None
    blocks = _blocks(document.get("block"), label, _Lines(text), problems)
    steps = list(Block(blocks).leaves())
    if limits is not None:
        problems.extend(limit_problems(limits, steps))
    problems.extend(_order_problems(steps))
    if problems:
        raise ProtocolError(problems)
    return Protocol(name=name, source=source, text=text, limits=limits, blocks=blocks,
                    record=record or DEFAULT_RECORDING)


def load_script_protocol(path: Path) -> Protocol:
    """A Python protocol: the script's generator, with its LIMITS checked as a file's [limits] would be."""
    name, raw_limits, generator, text = load_script(path)
    problems: list[str] = []
    limits = _limits(raw_limits, path.name, problems)
    if problems:
        raise ProtocolError(problems)
    return Protocol(name=name, source=str(path), text=text, limits=limits, blocks=(), script=generator)


def check_against_bench(
    protocol: Protocol,
    *,
    capacity: float,
    area: float,
    max_pressure: float,
    max_current: float,
    safe_preload: float | None = None,
) -> None:
    """Refuse a protocol this bench cannot run, before the run starts.

    `capacity` is the cell's nominal capacity (C), `area` its area (m2), both
    needed to turn C-rates and current densities into amps; `max_pressure` (Pa)
    is the fixture's hard maximum; `max_current` (A) the most the cycler
    channel may pass, which also catches a unit slip such as "1 MA"; `safe_preload` (Pa)
    is where "Release pressure" goes, which must be inside the pressure window. The
    protocol's own limits are checked again too, since a protocol built in
    Python never went through the loader.
    """
    label = _label(protocol.source)
    limits = protocol.limits
    steps = list(protocol.steps())
    problems = list(limit_problems(limits, steps))
    problems.extend(f"{label}, limits: {problem}" for problem in _policy_problems(limits))
    if limits.pressure_max > max_pressure:
        problems.append(
            f"{label}, limits: pressure_window reaches {_show(limits.pressure_max, 'Pa')}, above the "
            f"bench's maximum of {_show(max_pressure, 'Pa')}"
        )
    bench = _Bench(capacity, area, max_pressure, max_current, limits.voltage_min)
    if safe_preload is not None and not limits.pressure_min <= safe_preload <= limits.pressure_max:
        problems.extend(
            located(step.where, step.text, f"releases to the bench's safe preload of {_show(safe_preload, 'Pa')}, "
                    f"outside the pressure window {_show(limits.pressure_min, 'Pa')} to "
                    f"{_show(limits.pressure_max, 'Pa')}", step.line)
            for step in steps if isinstance(step, ReleaseStep)
        )
    for previous, step in zip((None, *steps), steps, strict=False):
        problems.extend(
            located(step.where, step.text, problem, step.line) for problem in _bench_problems(step, previous, bench)
        )
    if problems:
        raise ProtocolError(problems)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError([f"{path.name}: cannot read the file: {exc}"]) from None


def _label(source: str) -> str:
    """How errors name a protocol: its file name, or "bundled:NAME"."""
    return source if source.startswith(_BUNDLED) else Path(source).name


def _unknown_keys(table: dict[str, Any], known: tuple[str, ...], where: str, problems: list[str]) -> None:
    """Refuse keys the language does not have, so a typo ("stpes", "repaet") is not silently ignored."""
    problems.extend(
        f"{where}: unknown key '{key}'{did_you_mean(key, known)}; expected {', '.join(known)}"
        for key in table
        if key not in known
    )


def _limits(raw: Any, label: str, problems: list[str]) -> Limits | None:
    if not isinstance(raw, dict):
        problems.append(f"{label}: needs a [limits] table with {_RANGE_EXAMPLES['voltage']}")
        return None
    where = f"{label}, limits"
    _unknown_keys(raw, _LIMIT_KEYS, where, problems)
    voltage = _range(raw, "voltage", "V", where, problems)
    pressure = _range(raw, "pressure_window", "Pa", where, problems) if "pressure_window" in raw else (5e6, 50e6)
    found = len(problems)
    policy: dict[str, Any] = {key: _choice(raw, key, where, problems) for key in _CHOICES if key in raw}
    if "max_pause" in raw:
        policy["max_pause"] = attempt(problems, _duration, raw["max_pause"], where)
    if not (voltage and pressure) or len(problems) > found:
        return None
    return Limits(*voltage, *pressure, **policy)


def _choice(table: dict[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    """One of the words `_CHOICES[key]` allows, or None with the reason added to `problems`."""
    value, choices = table[key], _CHOICES[key]
    if value in choices:
        return value
    hint = did_you_mean(value, choices) if isinstance(value, str) else ""
    problems.append(
        f"{where}: {key} must be {' or '.join(f'{c!r}' for c in choices)}, not {value!r}{hint}"
    )
    return None


def _duration(value: Any, where: str) -> float:
    """`max_pause`: a time above zero, like "1 h"."""
    return measure(value, "s", f"{where}: max_pause")


def _range(table: dict[str, Any], key: str, unit: str, where: str, problems: list[str]) -> tuple[float, float] | None:
    """A [min, max] pair of quantities from `table[key]`, or None with the reasons added to `problems`."""
    raw = table.get(key)
    if not (isinstance(raw, list) and len(raw) == 2):
        problems.append(f"{where}: {key} must be a pair [min, max], e.g. {_RANGE_EXAMPLES[key]}")
        return None
    found: list[str] = []
    low, high = (attempt(found, measure, value, unit, key) for value in raw)
    if not found and low >= high:
        found.append(f"{key}: the minimum {_show(low, unit)} must be below the maximum {_show(high, unit)}")
    problems.extend(f"{where}: {problem}" for problem in found)
    return None if found else (low, high)


def _blocks(raw: Any, label: str, lines: _Lines, problems: list[str], path: str = "") -> tuple[Block, ...]:
    """The [[block]] tables of `raw` (or, nested, a block's [[block.block]] tables), numbered 1, 2, ... or 2.1, 2.2."""
    where, key = (label, "block") if not path else (f"{label}, block {path}", "block.block")
    if isinstance(raw, dict):
        problems.append(f"{where}: write each block as [[{key}]] (two brackets), not [{key}]")
        return ()
    if not (isinstance(raw, list) and raw and all(isinstance(table, dict) for table in raw)):
        problems.append(f'{where}: needs one or more [[{key}]] tables, each with steps = ["..."]')
        return ()
    return tuple(
        _block(table, label, f"{path}.{n}" if path else f"{n}", lines, problems) for n, table in enumerate(raw, 1)
    )


def _block(table: dict[str, Any], label: str, number: str, lines: _Lines, problems: list[str]) -> Block:
    where = f"{label}, block {number}"
    name = table.get("name")
    if isinstance(name, str) and name.strip():
        where = f"{where} ({name})"
    elif name is not None:
        problems.append(f"{where}: name must be non-empty text, like name = \"cycling\", not {name!r}")
    _unknown_keys(table, _BLOCK_KEYS, where, problems)

    repeat = table.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        problems.append(f"{where}: repeat must be a whole number of 1 or more, like repeat = 5, not {repeat!r}")
        repeat = 1
    until = _stop_conditions(table.get("until", []), where, problems)
    if until and "repeat" not in table:
        problems.append(f"{where}: a block with until needs repeat, the most repetitions it may run "
                        "(without it the block could run forever), e.g. repeat = 500")
    record = attempt(problems, _recording, table["record"], where) if "record" in table else None

    if "steps" in table and "block" in table:
        problems.append(f'{where}: a block has either steps = ["..."] or nested [[block.block]] tables, not both')
        return Block(steps=(), repeat=repeat, until=until, record=record, where=where)
    if "block" in table:
        nested = _blocks(table["block"], label, lines, problems, number)
        return Block(steps=nested, repeat=repeat, until=until, record=record, where=where)

    texts = table.get("steps")
    if not (isinstance(texts, list) and texts):
        problems.append(f'{where}: steps must be a non-empty list, like steps = ["Rest for 10 minutes"]')
        texts = []
    steps = []
    for n, text in enumerate(texts, 1):
        if not isinstance(text, str):
            problems.append(f'{where}, step {n}: a step must be text in quotes, like "Rest for 10 minutes", '
                            f"not {text!r}")
            continue
        try:
            steps.append(parse_step(text, f"{where}, step {n}", lines.line_of(text)))
        except ProtocolError as exc:
            problems.extend(exc.problems)
    return Block(steps=tuple(steps), repeat=repeat, until=until, record=record, where=where)


class _Lines:
    """Finds the line of each step in the file, in file order, so a message can say "... at line 14"."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0

    def line_of(self, step_text: str) -> int:
        """The line of the next quoted occurrence of `step_text` in the file (0 if not found as written)."""
        found = self.text.find(f'"{step_text}"', self.offset)
        if found < 0:
            return 0
        self.offset = found + len(step_text) + 2
        return self.text.count("\n", 0, found) + 1


def _stop_conditions(raw: Any, where: str, problems: list[str]) -> tuple[StopCondition, ...]:
    texts = [raw] if isinstance(raw, str) else raw
    if not (isinstance(texts, list) and all(isinstance(text, str) for text in texts)):
        problems.append(f"{where}: until must be text like until = \"discharge capacity < 80 % of cycle 1\", "
                        f"not {raw!r}")
        return ()
    conditions = (attempt(problems, read_stop_condition, text, where) for text in texts)
    return tuple(condition for condition in conditions if condition is not None)


def _recording(value: Any, where: str) -> Recording:
    if not isinstance(value, str):
        raise ValueError(f"{where}: record must be text like record = \"every 10 s or 5 mV\", not {value!r}")
    try:
        return read_recording(f"record {value}")
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def limit_problems(limits: Limits, steps: Iterable[Step]) -> Iterator[str]:
    """Voltages and pressure setpoints outside the protocol's own limits (also for a script's steps as they come)."""
    v_min, v_max = limits.voltage_min, limits.voltage_max
    p_min, p_max = limits.pressure_min, limits.pressure_max
    window = f"the pressure window {_show(p_min, 'Pa')} to {_show(p_max, 'Pa')}"
    for step in steps:
        for voltage in _voltages(step):
            if not v_min <= voltage <= v_max:
                yield located(
                    step.where, step.text,
                    f"{_show(voltage, 'V')} is outside the voltage limits {_show(v_min, 'V')} to {_show(v_max, 'V')}",
                    step.line,
                )
        if isinstance(step, PressureStep | RampStep) and not p_min <= step.setpoint <= p_max:
            yield located(
                step.where, step.text,
                f"{_show(step.setpoint, 'Pa')} is outside {window} (set limits.pressure_window to change it)",
                step.line,
            )


def _order_problems(steps: Iterable[Step]) -> Iterator[str]:
    """Steps that need another before them: a wait for a stable pressure needs a pressure to be held."""
    held = False
    for step in steps:
        if isinstance(step, WaitStep) and not held:
            yield located(step.where, step.text, "no pressure is held yet; put e.g. \"Hold pressure at 10 MPa\" "
                          "before it", step.line)
        held = held or isinstance(step, PressureStep | RampStep | ReleaseStep)


def _policy_problems(limits: Limits) -> Iterator[str]:
    """What is wrong with the fault policy of limits built in Python (the loader refuses it in files)."""
    for key, choices in _CHOICES.items():
        value = getattr(limits, key)
        if value not in choices:
            yield f"{key} must be {' or '.join(f'{c!r}' for c in choices)}, not {value!r}"
    if not limits.max_pause > 0:  # also refuses NaN
        yield f"max_pause must be a time above zero, not {limits.max_pause!r} s"


@dataclass(frozen=True, slots=True)
class _Bench:
    """What `check_against_bench` knows of the bench, in SI."""

    capacity: float  # C
    area: float  # m2
    max_pressure: float  # Pa
    max_current: float  # A
    voltage_min: float  # V, the protocol's lower limit: where a constant power draws the most current


UNREACHABLE_CAPACITY = 2.0  # a step that must pass more than this many nominal capacities is refused


def _bench_problems(step: Step, previous: Step | None, bench: _Bench) -> Iterator[str]:
    """What keeps this bench from running `step`; `previous` is the step before it in the file."""
    capacity, area = bench.capacity, bench.area
    if isinstance(step, PressureStep | RampStep) and step.setpoint > bench.max_pressure:
        yield f"{_show(step.setpoint, 'Pa')} is above the bench's maximum of {_show(bench.max_pressure, 'Pa')}"
    driven = _driven_amps(step, bench)
    if driven is not None and driven > bench.max_current:
        yield (
            f"drives {_show(driven, 'A')}, above the cycler's maximum of {_show(bench.max_current, 'A')} "
            "(the bench's [cycler] max_current)"
        )
    units = {current.unit for current in _currents(step)} | {end.value.unit for end in _ends_of(step, "capacity")}
    if units & {"C", "nominal"} and capacity <= 0:
        yield (f"uses a C-rate or a share of the capacity, but the bench's nominal capacity is not set "
               f"(capacity = {capacity:g} C)")
    if units & {"A/m2", "C/m2"} and area <= 0:
        yield f"uses a current density or an areal capacity, but the bench's cell area is not set (area = {area:g} m2)"
    if isinstance(step, PowerStep) and step.power.unit == "W/m2" and area <= 0:
        yield f"uses a power density, but the bench's cell area is not set (area = {area:g} m2)"
    for end in _ends_of(step, "capacity"):
        if _known(end.value, capacity, area) and capacity > 0:
            share = end.value.coulombs(capacity, area) / capacity
            if share > UNREACHABLE_CAPACITY:
                yield (f"ends after {share:.3g} times the nominal capacity ({capacity / 3.6:g} mAh): the cell cannot "
                       "hold that much, so this end can never be reached")
    for end in _ends_of(step, "pressure_above"):
        if end.value >= bench.max_pressure:
            yield (f"the end at {_show(end.value, 'Pa')} is not below the bench's maximum of "
                   f"{_show(bench.max_pressure, 'Pa')}: the interlock would trip first, so it can never be reached")

    # A cut-off at or above the current the step starts from ends the step at once: almost always a
    # unit slip ("until 50 A"). A hold starts from the current of the constant-current step before it.
    if isinstance(step, CurrentStep):
        reference, cut_offs = step.current, step.ends + step.hold
    elif isinstance(step, VoltageStep) and isinstance(previous, CurrentStep):
        reference, cut_offs = previous.current, step.ends
    else:
        return
    for end in cut_offs:
        if end.kind == "current_below" and _known(end.value, capacity, area) and _known(reference, capacity, area):
            cutoff, start = end.value.amps(capacity, area), reference.amps(capacity, area)
            if cutoff >= start:
                yield (
                    f"the current cut-off ({cutoff:g} A) is not below the current it starts from "
                    f"({start:g} A), so the step would end at once"
                )


def _driven_amps(step: Step, bench: _Bench) -> float | None:
    """The most current a step drives, if the bench can say: a power step draws the most at the lowest voltage."""
    if isinstance(step, PowerStep):
        return step.power.watts(bench.area) / bench.voltage_min if bench.voltage_min > 0 else None
    if isinstance(step, CurrentStep | PulseStep) and _known(step.current, bench.capacity, bench.area):
        return step.current.amps(bench.capacity, bench.area)
    return None


def _voltages(step: Step) -> list[float]:
    """Every voltage a step holds or stops at."""
    held = [step.voltage] if isinstance(step, VoltageStep) else []
    return held + [end.value for end in _ends_of(step) if end.kind in ("voltage_above", "voltage_below")]


def _ends_of(step: Step, kind: str | None = None) -> list[End]:
    """Every end condition of a step (a CCCV's hold too), or those of one kind."""
    ends = [*getattr(step, "ends", ()), *getattr(step, "hold", ())]
    return [end for end in ends if kind is None or end.kind == kind]


def _currents(step: Step) -> list[Current]:
    """Every current a step drives or stops at."""
    driven = [step.current] if isinstance(step, CurrentStep | PulseStep) else []
    return driven + [end.value for end in _ends_of(step, "current_below")]


def _known(value: Current | Charge, capacity: float, area: float) -> bool:
    """Whether the bench can turn `value` into amps (or coulombs)."""
    if value.unit == "nominal" or (value.unit == "C" and isinstance(value, Current)):
        return capacity > 0
    if value.unit in ("A/m2", "C/m2"):
        return area > 0
    return True


def _show(value: float, unit: str) -> str:
    """A value for a message, pressures in MPa as users write them."""
    return f"{value / 1e6:g} MPa" if unit == "Pa" else f"{value:g} {unit}"
