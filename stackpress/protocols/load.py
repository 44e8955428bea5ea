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
from importlib import resources
from pathlib import Path
from typing import Any

from stackpress.protocols.errors import ProtocolError, attempt, did_you_mean, located
from stackpress.protocols.parse import measure, parse_step
from stackpress.protocols.steps import (
    ON_FAULT,
    RESUME,
    Block,
    Current,
    CurrentStep,
    ElectricalStep,
    Limits,
    PressureStep,
    Protocol,
    Step,
    VoltageStep,
)

_TOP_KEYS = ("name", "limits", "block")
_LIMIT_KEYS = ("voltage", "pressure_window", "on_fault", "resume", "max_pause")
_CHOICES = {"on_fault": ON_FAULT, "resume": RESUME}
_BLOCK_KEYS = ("name", "repeat", "steps")
_RANGE_EXAMPLES = {
    "voltage": 'voltage = ["2.5 V", "4.3 V"]',
    "pressure_window": 'pressure_window = ["5 MPa", "50 MPa"]',
}
_BUNDLED = "bundled:"


def bundled_protocols() -> dict[str, Path]:
    """The protocols shipped with stackpress, by name (the file name without .toml)."""
    folder = resources.files(__package__).joinpath("bundled")
    files = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".toml"))
    return {Path(name).stem: Path(str(folder.joinpath(name))) for name in files}


def load_protocol(name_or_path: str | Path) -> Protocol:
    """The protocol in an existing file, else the bundled protocol of that name ("demo")."""
    path = Path(name_or_path)
    if path.is_file():
        return parse_protocol_text(_read(path), str(path))
    bundled = bundled_protocols()
    if str(name_or_path) in bundled:
        return parse_protocol_text(_read(bundled[str(name_or_path)]), f"{_BUNDLED}{name_or_path}")
    raise ProtocolError(
        [f"{name_or_path}: no such protocol file, and no bundled protocol of that name "
         f"(bundled: {', '.join(bundled)})"]
    )


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
    blocks = _blocks(document.get("block"), label, problems)
    if limits is not None:
        problems.extend(_limit_problems(limits, _steps(blocks)))
    if problems:
        raise ProtocolError(problems)
    return Protocol(name=name, source=source, text=text, limits=limits, blocks=blocks)


def check_against_bench(
    protocol: Protocol, *, capacity: float, area: float, max_pressure: float, max_current: float
) -> None:
    """Refuse a protocol this bench cannot run, before the run starts.

    `capacity` is the cell's nominal capacity (C), `area` its area (m2), both
    needed to turn C-rates and current densities into amps; `max_pressure` (Pa)
    is the fixture's hard maximum; `max_current` (A) the most the cycler
    channel may pass, which also catches a unit slip such as "1 MA". The
    protocol's own limits are checked again too, since a protocol built in
    Python never went through the loader.
    """
    label = _label(protocol.source)
    limits = protocol.limits
    problems = list(_limit_problems(limits, _steps(protocol.blocks)))
    problems.extend(f"{label}, limits: {problem}" for problem in _policy_problems(limits))
    if limits.pressure_max > max_pressure:
        problems.append(
            f"{label}, limits: pressure_window reaches {_show(limits.pressure_max, 'Pa')}, above the "
            f"bench's maximum of {_show(max_pressure, 'Pa')}"
        )
    for block in protocol.blocks:
        for previous, step in zip((None, *block.steps), block.steps, strict=False):
            problems.extend(
                located(step.where, step.text, problem)
                for problem in _bench_problems(step, previous, capacity, area, max_pressure, max_current)
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


def _blocks(raw: Any, label: str, problems: list[str]) -> tuple[Block, ...]:
    if isinstance(raw, dict):
        problems.append(f"{label}: write each block as [[block]] (two brackets), not [block]")
        return ()
    if not (isinstance(raw, list) and raw and all(isinstance(table, dict) for table in raw)):
        problems.append(f'{label}: needs one or more [[block]] tables, each with steps = ["..."]')
        return ()
    return tuple(_block(table, f"{label}, block {number}", problems) for number, table in enumerate(raw, 1))


def _block(table: dict[str, Any], where: str, problems: list[str]) -> Block:
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

    texts = table.get("steps")
    if not (isinstance(texts, list) and texts):
        problems.append(f'{where}: steps must be a non-empty list, like steps = ["Rest for 10 minutes"]')
        texts = []
    steps = []
    for number, text in enumerate(texts, 1):
        step_where = f"{where}, step {number}"
        if not isinstance(text, str):
            problems.append(f'{step_where}: a step must be text in quotes, like "Rest for 10 minutes", not {text!r}')
            continue
        try:
            steps.append(parse_step(text, step_where))
        except ProtocolError as exc:
            problems.extend(exc.problems)
    return Block(steps=tuple(steps), repeat=repeat)


def _steps(blocks: Iterable[Block]) -> Iterator[Step]:
    """Each step once, however often its block repeats: a problem is reported once."""
    for block in blocks:
        yield from block.steps


def _limit_problems(limits: Limits, steps: Iterable[Step]) -> Iterator[str]:
    """Voltages and pressure setpoints outside the protocol's own limits."""
    v_min, v_max = limits.voltage_min, limits.voltage_max
    p_min, p_max = limits.pressure_min, limits.pressure_max
    for step in steps:
        for voltage in _voltages(step):
            if not v_min <= voltage <= v_max:
                yield located(
                    step.where, step.text,
                    f"{_show(voltage, 'V')} is outside the voltage limits {_show(v_min, 'V')} to {_show(v_max, 'V')}",
                )
        if isinstance(step, PressureStep) and not p_min <= step.setpoint <= p_max:
            yield located(
                step.where, step.text,
                f"{_show(step.setpoint, 'Pa')} is outside the pressure window {_show(p_min, 'Pa')} to "
                f"{_show(p_max, 'Pa')} (set limits.pressure_window to change it)",
            )


def _policy_problems(limits: Limits) -> Iterator[str]:
    """What is wrong with the fault policy of limits built in Python (the loader refuses it in files)."""
    for key, choices in _CHOICES.items():
        value = getattr(limits, key)
        if value not in choices:
            yield f"{key} must be {' or '.join(f'{c!r}' for c in choices)}, not {value!r}"
    if not limits.max_pause > 0:  # also refuses NaN
        yield f"max_pause must be a time above zero, not {limits.max_pause!r} s"


def _bench_problems(
    step: Step, previous: Step | None, capacity: float, area: float, max_pressure: float, max_current: float
) -> Iterator[str]:
    """What keeps this bench from running `step`; `previous` is the step before it in its block."""
    if isinstance(step, PressureStep) and step.setpoint > max_pressure:
        yield f"{_show(step.setpoint, 'Pa')} is above the bench's maximum of {_show(max_pressure, 'Pa')}"
    if isinstance(step, CurrentStep) and _known(step.current, capacity, area):
        amps = step.current.amps(capacity, area)
        if amps > max_current:
            yield (
                f"drives {_show(amps, 'A')}, above the cycler's maximum of {_show(max_current, 'A')} "
                "(the bench's [cycler] max_current)"
            )
    units = {current.unit for current in _currents(step)}
    if "C" in units and capacity <= 0:
        yield f"uses a C-rate, but the bench's nominal capacity is not set (capacity = {capacity:g} C)"
    if "A/m2" in units and area <= 0:
        yield f"uses a current density, but the bench's cell area is not set (area = {area:g} m2)"

    # A cut-off at or above the current the step starts from ends the step at once: almost always a
    # unit slip ("until 50 A"). A hold starts from the current of the constant-current step before it.
    if isinstance(step, CurrentStep):
        reference = step.current
    elif isinstance(step, VoltageStep) and isinstance(previous, CurrentStep):
        reference = previous.current
    else:
        return
    for end in step.ends:
        if end.kind == "current_below" and _known(end.value, capacity, area) and _known(reference, capacity, area):
            cutoff, start = end.value.amps(capacity, area), reference.amps(capacity, area)
            if cutoff >= start:
                yield (
                    f"the current cut-off ({cutoff:g} A) is not below the current it starts from "
                    f"({start:g} A), so the step would end at once"
                )


def _voltages(step: Step) -> list[float]:
    """Every voltage a step holds or stops at."""
    held = [step.voltage] if isinstance(step, VoltageStep) else []
    ends = step.ends if isinstance(step, ElectricalStep) else ()
    return held + [end.value for end in ends if end.kind in ("voltage_above", "voltage_below")]


def _currents(step: Step) -> list[Current]:
    """Every current a step drives or stops at."""
    driven = [step.current] if isinstance(step, CurrentStep) else []
    ends = step.ends if isinstance(step, ElectricalStep) else ()
    return driven + [end.value for end in ends if end.kind == "current_below"]


def _known(current: Current, capacity: float, area: float) -> bool:
    """Whether the bench can turn `current` into amps."""
    return current.unit == "A" or (current.unit == "C" and capacity > 0) or (current.unit == "A/m2" and area > 0)


def _show(value: float, unit: str) -> str:
    """A value for a message, pressures in MPa as users write them."""
    return f"{value / 1e6:g} MPa" if unit == "Pa" else f"{value:g} {unit}"
