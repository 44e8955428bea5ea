"""Experiment strings -> steps.

Electrical steps are written in PyBaMM's experiment syntax, so a protocol reads
the same in our files as in a PyBaMM simulation script; the rest are our own:

    Charge at C/3 until 4.2 V
    Discharge at 1 A for 2 hours or until 2.5 V
    Charge at C/3 until 4.2 V and hold until C/20       (CCCV, one step)
    Discharge at 2 mW/cm2 until 2.5 V                   (constant power: W, mW, W/m2, mW/cm2)
    Hold at 4.2 V until C/50                            (also "... until 50 mA", "... for 1 hour")
    Rest for 10 minutes
    Rest until dV/dt < 1 mV/h or for 4 hours            (open-circuit relaxation)
    Discharge pulses at C/20 for 10 minutes with 1 hour rests until 2.5 V   (GITT)
    Hold pressure at 10 MPa
    Ramp pressure to 30 MPa at 5 MPa/min
    Wait until pressure is stable within 0.1 MPa for 5 minutes or for 1 hour
    Release pressure                                    (to the bench's safe preload)

End conditions are "for DURATION" or "until CONDITION", combined with "or".
A bare condition is read by its unit and the verb: "until 4.2 V" is the
cut-off voltage of a charge, "until C/20" the cut-off current of a hold,
"until 2 mAh", "until 3 mAh/cm2" or "until 80 %" (of the nominal capacity) the
charge passed in the step. Others name what they compare: "until pressure >
12 MPa", "until thickness < 15 um", "until voltage < 3 V", "until current <
C/20", "until dV/dt < 1 mV/h". A step may end with "; record every 1 s or
1 mV or 0.05 MPa" (its own recording, see `read_recording`).

A current is amps ("500 mA"), a C-rate ("C/3", "0.5C", "2 C") or a current
density ("1 mA/cm2"); C-rates and densities stay symbolic until the bench gives
the capacity and the area. Every number in a step is a positive magnitude: the
direction comes from the verb.

Keywords are case-insensitive. Units are read by pint and are case-sensitive,
as in SI: "10 mPa" is a millipascal and "1 ma" a milli-year, so folding case
would turn a typo into a value a billion times off. A unit that differs from a
common one only in case is refused with a "did you mean" hint.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from stackpress.lookup import did_you_mean
from stackpress.protocols.errors import ProtocolError, attempt, located
from stackpress.protocols.steps import (
    Charge,
    Current,
    CurrentStep,
    End,
    Power,
    PowerStep,
    PressureStep,
    PulseStep,
    RampStep,
    Recording,
    ReleaseStep,
    RestStep,
    Step,
    StopCondition,
    VoltageStep,
    WaitStep,
)
from stackpress.units import UnitError, quantity

MAX_STEP_LENGTH = 300  # characters: longer text is not a step (and keeps every match below cheap)

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"
# A setting is a C-rate or a number with at most one unit word ("C/3", "0.5C", "4.2 V", "1 mA/cm2"); what it
# means is for pint to say. Every repetition here is unambiguous, so a long typo cannot stall the match.
_VALUE = r"(?:C\s*/\s*\S+|[-+.\d]\S*(?:\s+[^\s\d]\S*)?)"
_ENDS = r"(?P<ends>(?:\s+(?:for|until)\s.*)?)"
_FORMS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "pulses": rf"(?P<verb>charge|discharge) pulses at (?P<setting>{_VALUE}) for (?P<pulse>.+?) "
        r"with (?P<relax>.+?) rests? until (?P<limit>.+)",
        "ramp pressure": rf"ramp pressure to (?P<setting>{_VALUE}) at (?P<rate>{_VALUE})",
        "wait": r"wait until pressure is stable within (?P<band>.+?) for (?P<duration>.+?)"
        r"(?: or for (?P<timeout>.+))?",
        "release pressure": r"release pressure",
        "hold pressure": rf"hold pressure at (?P<setting>{_VALUE}){_ENDS}",
        "current": rf"(?P<verb>charge|discharge) at (?P<setting>{_VALUE}){_ENDS}",
        "hold": rf"hold at (?P<setting>{_VALUE}){_ENDS}",
        "rest": rf"rest{_ENDS}",
    }.items()
}
_LEADING_VERB = re.compile(r"(?:ramp pressure|release pressure|hold pressure|charge|discharge|hold|rest|wait)\b",
                           re.IGNORECASE)
_C_RATE = re.compile(rf"C\s*/\s*(?P<divisor>{_NUMBER})|(?P<rate>{_NUMBER})\s*C", re.IGNORECASE)
_PERCENT = re.compile(rf"(?P<number>{_NUMBER})\s*%")
_UNIT = re.compile(rf"{_NUMBER}\s*(?P<unit>.*)", re.IGNORECASE)
_END = re.compile(r"(?P<keyword>for|until)\s+(?P<value>.+)", re.IGNORECASE)
_KEYWORD = re.compile(r"\b(?:for|until)\b", re.IGNORECASE)
_COMPARISON = re.compile(
    r"(?P<what>voltage|current|capacity|pressure|thickness|dV/dt)\s*(?P<op>[<>])=?\s*(?P<value>.+)", re.IGNORECASE
)
_CCCV = re.compile(r"\s+and\s+hold\b", re.IGNORECASE)

_EXAMPLES = {
    "charge": "Charge at C/3 until 4.2 V",
    "discharge": "Discharge at C/3 until 2.5 V",
    "hold": "Hold at 4.2 V until C/20",
    "hold pressure": "Hold pressure at 10 MPa",
    "rest": "Rest for 10 minutes",
    "ramp pressure": "Ramp pressure to 30 MPa at 5 MPa/min",
    "wait": "Wait until pressure is stable within 0.1 MPa for 5 minutes or for 1 hour",
    "release pressure": "Release pressure",
}
_NEEDS_END = {
    "charge": "a charge needs an end, e.g. 'until 4.2 V' or 'for 2 hours'",
    "discharge": "a discharge needs an end, e.g. 'until 2.5 V' or 'for 2 hours'",
    "hold": "a voltage hold needs an end, e.g. 'until C/20', 'until 50 mA' or 'for 1 hour'",
    "rest": "a rest needs a duration, e.g. \"Rest for 10 minutes\"",
}
# Units people type, for the "did you mean" hint when only the case is wrong ("10 Mpa", "4.2 v").
_COMMON_UNITS = {
    "Pa": ("Pa", "kPa", "MPa", "GPa", "bar", "psi"),
    "Pa/s": ("MPa/min", "MPa/s", "kPa/s"),
    "V": ("V", "mV"),
    "V/s": ("mV/h", "mV/min", "uV/s"),
    "A": ("A", "mA", "uA", "A/m2", "mA/cm2", "uA/cm2"),
    "W": ("W", "mW", "W/m2", "mW/cm2"),
    "C": ("Ah", "mAh", "mAh/cm2"),
    "m": ("m", "mm", "um"),
    "s": ("s", "min", "h"),
}
# Ends that only watch the bench: a step with nothing else may never end.
WATCHING = ("pressure_above", "pressure_below", "thickness_above", "thickness_below", "dvdt_below")


def parse_step(text: str, where: str, line: int = 0) -> Step:
    """One step from its text, or a ProtocolError listing everything wrong with it.

    `where` ("demo.toml, block 2, step 3") and `line` (its line in the file, 0 if unknown) are
    kept on the step and name it in every message, so the user is pointed at the line to fix.
    """
    body, _, record_text = text.partition(";")
    words = " ".join(body.split())
    form, match = _match(words)
    if match is None:
        raise ProtocolError([located(where, text, _unreadable(words), line)])
    problems: list[str] = []
    record = attempt(problems, read_recording, record_text) if record_text.strip() else None
    try:
        step = _BUILDERS[form](match, text, where, record)
    except ProtocolError as exc:
        problems.extend(exc.problems)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise ProtocolError(located(where, text, problem, line) for problem in problems)
    return dataclasses.replace(step, line=line) if line else step


def read_recording(text: str) -> Recording:
    """ "record every 10 s or 5 mV or 0.1 MPa" -> Recording: an interval and changes worth a row.

    Each part after "every" is a time, a voltage change or a pressure change; what is
    not given is not recorded on (a change of 0), except that the interval defaults
    to the protocol's 10 s when only changes are given.
    """
    words = " ".join(text.split())
    match = re.fullmatch(r"record every (?P<parts>.+)", words, re.IGNORECASE)
    if match is None:
        raise ValueError(f"cannot read the recording {words!r}; write e.g. 'record every 10 s or 5 mV or 0.1 MPa'")
    keys = {"s": "interval", "V": "voltage_delta", "Pa": "pressure_delta"}
    found: dict[str, float] = {}
    for part in re.split(r"\s+or\s+", match["parts"], flags=re.IGNORECASE):
        read = _in_units(part, keys, "recording")
        if read is None:
            raise UnitError(f"recording: {part!r} is not a time, a voltage or a pressure (write e.g. '10 s', "
                            f"'5 mV' or '0.1 MPa')")
        found[keys[read[1]]] = _positive(read[0], part, "recording")
    return Recording(found.get("interval", 10.0), found.get("voltage_delta", 0.0), found.get("pressure_delta", 0.0))


_STOP = re.compile(
    r"(?P<which>charge|discharge) capacity\s*<\s*(?P<value>.+?)(?: of cycle (?P<cycle>\d+))?", re.IGNORECASE
)


def read_stop_condition(text: str, where: str) -> StopCondition:
    """ "discharge capacity < 80 % of cycle 1" (or "< 2 mAh", "< 1.5 mAh/cm2", "< 80 %" of nominal)."""
    words = " ".join(text.split())
    match = _STOP.fullmatch(words)
    if match is None:
        raise ValueError(f"{where}: cannot read until = {text!r}; write e.g. \"discharge capacity < 80 % of cycle 1\" "
                         "or \"discharge capacity < 2 mAh\"")
    which = match["which"].lower()
    try:
        threshold = _capacity(match["value"], "until")
    except UnitError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if match["cycle"] is None:
        return StopCondition(words, which, threshold)
    if threshold.unit != "nominal":
        raise ValueError(f"{where}: until = {text!r}: compare with a cycle as a percentage, e.g. '80 % of cycle 1'")
    cycle = int(match["cycle"])
    if cycle < 1:
        raise ValueError(f"{where}: until = {text!r}: cycles count from 1")
    return StopCondition(words, which, threshold.magnitude, cycle)


def _match(words: str) -> tuple[str, re.Match[str] | None]:
    if len(words) > MAX_STEP_LENGTH:
        return "", None
    for form, pattern in _FORMS.items():
        match = pattern.fullmatch(words)
        if match is not None:
            ends = match.groupdict().get("ends") or ""
            return form, (match if all(_readable_end(part) for part in _end_parts(ends)) else None)
    return "", None


def _end_parts(ends: str) -> list[str]:
    """ "for 2 h or until 4.2 V" -> ["for 2 h", "until 4.2 V"]: one part per end condition."""
    return re.split(r"\s+or\s+", ends.strip(), flags=re.IGNORECASE) if ends.strip() else []


def _readable_end(part: str) -> bool:
    """One keyword per part: "for 2 hours until 4.2 V" (a missing "or") is not readable."""
    cccv = _CCCV.split(part, maxsplit=1)
    match = _END.fullmatch(cccv[0])
    return match is not None and not _KEYWORD.search(match["value"]) and (len(cccv) == 1 or bool(cccv[1]))


def _unreadable(words: str) -> str:
    """Why a step does not fit the grammar, with an example of the form the user seems to want."""
    if not words:
        return f'the step is empty; write e.g. "{_EXAMPLES["charge"]}"'
    if len(words) > MAX_STEP_LENGTH:
        return f"a step is at most {MAX_STEP_LENGTH} characters; is this one a list of steps?"
    verb = _LEADING_VERB.match(words)
    if verb:
        return f'cannot read this step; expected e.g. "{_EXAMPLES[_verb(verb[0])]}"'
    first = words.split(" ", 1)[0]
    hint = did_you_mean(first, ["Charge", "Discharge", "Hold", "Rest", "Ramp", "Wait", "Release"])
    return (
        f"unknown step '{first}'{hint}; a step starts with Charge, Discharge, Hold, Rest, Hold pressure, "
        f'Ramp pressure, Wait or Release pressure, e.g. "{_EXAMPLES["charge"]}"'
    )


def _verb(written: str) -> str:
    """A verb as the tables here key it: "HOLD  Pressure" -> "hold pressure"."""
    return " ".join(written.lower().split())


# --- one builder per form: (match, text, where, record) -> Step, raising ValueError on the first problem --------


def _collect(problems: list[str], *reads: tuple[Callable[..., object], tuple[object, ...]]) -> list[object]:
    """Each read attempted (so every problem is found), then one ProtocolError for all of them."""
    values = [attempt(problems, read, *args) for read, args in reads]
    if problems:
        raise ProtocolError(problems)
    return values


def _ends(verb: str, ends_text: str, problems: list[str]) -> tuple[End, ...]:
    parts = _end_parts(ends_text)
    if not parts and verb in _NEEDS_END:
        problems.append(f"{_NEEDS_END[verb]}; without one it would run forever")
    ends = tuple(attempt(problems, _end, verb, part) for part in parts)
    if ends and all(end is not None and end.kind in WATCHING for end in ends):
        problems.append(
            "it ends only on what the bench does (pressure, thickness or dV/dt), which may never happen; "
            "add a time limit, e.g. 'or for 4 hours'"
        )
    return ends


def _current_step(match: re.Match[str], text: str, where: str, record: Recording | None) -> Step:
    verb = _verb(match["verb"])
    direction = 1 if verb == "charge" else -1
    problems: list[str] = []
    pieces = _CCCV.split(match["ends"], maxsplit=1)
    cc_text = pieces[0]
    hold_text = pieces[1] if len(pieces) > 1 else None
    setting = attempt(problems, _drive, match["setting"])
    ends = _ends(verb, cc_text, problems)
    hold = _ends("hold", hold_text, problems) if hold_text is not None else ()
    if hold_text is not None and not any(e is not None and e.kind.startswith("voltage") for e in ends):
        problems.append(f"'and hold' holds the cut-off voltage: give one, e.g. \"{_EXAMPLES[verb]} and hold until "
                        "C/20\"")
    if hold_text is not None and isinstance(setting, Power):
        problems.append("'and hold' follows a constant current, not a constant power")
    if problems:
        raise ProtocolError(problems)
    if isinstance(setting, Power):
        return PowerStep(text=text, where=where, record=record, power=setting, direction=direction, ends=ends)
    return CurrentStep(text=text, where=where, record=record, current=setting, direction=direction, ends=ends,
                       hold=hold)


def _hold_step(match: re.Match[str], text: str, where: str, record: Recording | None) -> Step:
    problems: list[str] = []
    voltage = attempt(problems, measure, match["setting"], "V", "hold voltage")
    ends = _ends("hold", match["ends"], problems)
    if problems:
        raise ProtocolError(problems)
    return VoltageStep(text=text, where=where, record=record, voltage=voltage, ends=ends)


def _rest_step(match: re.Match[str], text: str, where: str, record: Recording | None) -> Step:
    problems: list[str] = []
    ends = _ends("rest", match["ends"], problems)
    if problems:
        raise ProtocolError(problems)
    return RestStep(text=text, where=where, record=record, ends=ends)


def _pressure_step(match: re.Match[str], text: str, where: str, record: Recording | None) -> Step:
    problems: list[str] = []
    setpoint = attempt(problems, measure, match["setting"], "Pa", "pressure")
    for part in _end_parts(match["ends"]):
        problems.append(
            f"'{part}': a pressure step takes no end condition; the pressure is held through the steps "
            'that follow (add e.g. "Rest for 10 minutes" to wait)'
        )
    if problems:
        raise ProtocolError(problems)
    return PressureStep(text=text, where=where, record=record, setpoint=setpoint)


def _ramp_step(match: re.Match[str], text: str, where: str, record: Recording | None) -> Step:
    setpoint, rate = _collect(
        [], (measure, (match["setting"], "Pa", "pressure")), (measure, (match["rate"], "Pa/s", "ramp rate"))
    )
    return RampStep(text=text, where=where, record=record, setpoint=setpoint, rate=rate)


def _wait_step(match: re.Match[str], text: str, where: str, record: Recording | None) -> Step:
    problems: list[str] = []
    if match["timeout"] is None:
        problems.append("a wait needs a time limit, since the pressure may never settle; add e.g. 'or for 1 hour'")
    band, duration, timeout = _collect(
        problems,
        (measure, (match["band"], "Pa", "band")),
        (measure, (match["duration"], "s", "stable time")),
        (measure, (match["timeout"] or "1 h", "s", "time limit")),
    )
    if timeout < duration:
        raise ValueError(f"the time limit ({timeout:g} s) is shorter than the stable time ({duration:g} s)")
    return WaitStep(text=text, where=where, record=record, band=band, duration=duration, timeout=timeout)


def _release_step(match: re.Match[str], text: str, where: str, record: Recording | None) -> Step:
    return ReleaseStep(text=text, where=where, record=record)


def _pulse_step(match: re.Match[str], text: str, where: str, record: Recording | None) -> Step:
    current, pulse, relax, limit = _collect(
        [],
        (_current, (match["setting"], "pulse current")),
        (measure, (match["pulse"], "s", "pulse duration")),
        (measure, (match["relax"], "s", "rest duration")),
        (measure, (match["limit"], "V", "voltage limit")),
    )
    direction = 1 if _verb(match["verb"]) == "charge" else -1
    return PulseStep(text=text, where=where, record=record, current=current, direction=direction, pulse=pulse,
                     relax=relax, limit=limit)


_BUILDERS: dict[str, Callable[[re.Match[str], str, str, Recording | None], Step]] = {
    "pulses": _pulse_step,
    "ramp pressure": _ramp_step,
    "wait": _wait_step,
    "release pressure": _release_step,
    "hold pressure": _pressure_step,
    "current": _current_step,
    "hold": _hold_step,
    "rest": _rest_step,
}


# --- end conditions -----------------------------------------------------------------------------------------------


def _end(verb: str, part: str) -> End:
    """One end condition ("for 2 hours", "until 4.2 V", "until pressure > 12 MPa") as it reads after `verb`."""
    match = _END.fullmatch(part)
    assert match is not None  # _readable_end has checked it
    keyword, value = match["keyword"].lower(), match["value"]
    if keyword == "for":
        return End("time", measure(value, "s", "duration"))
    comparison = _COMPARISON.fullmatch(value)
    if comparison is not None:
        return _compared(comparison["what"].lower(), comparison["op"], comparison["value"], part)
    if _reads_as(_capacity, value):
        return End("capacity", _capacity(value, "capacity"))
    if verb == "hold":
        return End("current_below", _current(value, "cut-off current"))
    if verb == "rest":
        raise ValueError(f"'{part}': a rest can only end after a duration, or on the voltage's relaxation, e.g. "
                         "\"Rest for 10 minutes\" or \"Rest until dV/dt < 1 mV/h or for 4 hours\"")
    if _reads_as(_current, value):
        raise ValueError(
            f"'{part}': the current of a {verb} is constant, so it cannot end on a current; end it on a "
            f'voltage and add a hold, e.g. "{_EXAMPLES[verb]} and hold until C/20"'
        )
    if _reads_as(lambda v, w: measure(v, "Pa", w), value):
        raise ValueError(f"'{part}': say which way the pressure goes, e.g. 'until pressure > {value}'")
    return End("voltage_above" if verb == "charge" else "voltage_below", measure(value, "V", "cut-off voltage"))


def _compared(what: str, op: str, value: str, part: str) -> End:
    """ "pressure > 12 MPa" and the like: what is compared decides the unit, the operator the kind."""
    side = "above" if op == ">" else "below"
    if what == "capacity":
        if op != ">":
            raise ValueError(f"'{part}': the capacity of a step only grows; write 'until capacity > {value}'")
        return End("capacity", _capacity(value, "capacity"))
    if what == "current":
        if op != "<":
            raise ValueError(f"'{part}': a current end is a cut-off below which the step ends: 'current < {value}'")
        return End("current_below", _current(value, "cut-off current"))
    if what == "dv/dt":
        if op != "<":
            raise ValueError(f"'{part}': a relaxation ends when dV/dt falls below a threshold: 'dV/dt < {value}'")
        return End("dvdt_below", measure(value, "V/s", "dV/dt threshold"))
    unit = {"voltage": "V", "pressure": "Pa", "thickness": "m"}[what]
    return End(f"{what}_{side}", measure(value, unit, what))


def measure(text: str, unit: str, what: str) -> float:
    """`text` in SI `unit` ("Pa", "V", "A", "s", ...), refusing unknown units, wrong dimensions and values
    that are not above zero; a unit in the wrong case gets a hint. The limits are read with it too."""
    try:
        value = quantity(text, unit, what)
    except UnitError as exc:
        raise UnitError(f"{exc}{_case_hint(text, _COMMON_UNITS.get(unit, ()))}") from None
    return _positive(value, text, what)


def _drive(text: str) -> Current | Power:
    """What a charge or discharge drives: a current (A, C-rate, A/m2) or a power (W, W/m2)."""
    found = _in_units(text, ("W", "W/m2"), "power")
    if found is None:
        return _current(text, "current")
    return Power(_positive(found[0], text, "power"), found[1])


def _current(text: str, what: str) -> Current:
    """A current as written: a C-rate, amps, or a current density (A/m2)."""
    rate = _C_RATE.fullmatch(text)
    if rate:
        divisor = float(rate["divisor"] or 1)
        # "C/0" and "C/-3" have no meaningful rate: let them fail the positivity check below.
        magnitude = float(rate["rate"] or 1) / divisor if divisor > 0 else 0.0
        return Current(_positive(magnitude, text, what), "C")
    found = _in_units(text, ("A", "A/m2"), what)
    if found is None:
        raise UnitError(
            f"{what}: {text!r} is not a current, a C-rate or a current density "
            f"(write e.g. '500 mA', 'C/3', '0.5C' or '1 mA/cm2'){_case_hint(text, _COMMON_UNITS['A'])}"
        )
    return Current(_positive(found[0], text, what), found[1])


def _capacity(text: str, what: str) -> Charge:
    """A capacity: a charge ("2 mAh"), an areal capacity ("3 mAh/cm2") or a share of the nominal ("80 %")."""
    percent = _PERCENT.fullmatch(text.strip())
    if percent:
        return Charge(_positive(float(percent["number"]) / 100.0, text, what), "nominal")
    found = _in_units(text, ("C", "C/m2"), what)
    if found is None:
        raise UnitError(f"{what}: {text!r} is not a capacity (write e.g. '2 mAh', '3 mAh/cm2' or '80 %')"
                        f"{_case_hint(text, _COMMON_UNITS['C'])}")
    return Charge(_positive(found[0], text, what), found[1])


def _in_units(text: str, units: Iterable[str], what: str) -> tuple[float, str] | None:
    """`text` in the first of `units` whose dimension it has, with that unit; None when it has none of them.
    The sign is left to the caller, so a zero power is refused as a zero, not as "not a current"."""
    for unit in units:
        try:
            return quantity(text, unit, what), unit
        except UnitError:
            continue
    return None


def _reads_as(read: Callable[[str, str], object], text: str) -> bool:
    try:
        read(text, "")
    except UnitError:
        return False
    return True


def _positive(value: float, text: str, what: str) -> float:
    if not value > 0:
        raise UnitError(f"{what}: {text!r} must be more than zero")
    return value


def _case_hint(text: str, units: Iterable[str]) -> str:
    """A hint when the unit written is a common unit in the wrong case ("Mpa" -> "MPa")."""
    match = _UNIT.fullmatch(text.strip()) if isinstance(text, str) else None
    written = match["unit"] if match else ""
    for unit in units:
        if written != unit and written.lower() == unit.lower():
            return f" (units are case-sensitive: did you mean '{unit}'?)"
    return ""
