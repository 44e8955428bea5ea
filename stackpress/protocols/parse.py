"""Experiment strings -> steps.

Steps are written in PyBaMM's experiment syntax, so a protocol reads the same
in our files as in a PyBaMM simulation script, plus one step of our own for the
fixture:

    Charge at C/3 until 4.2 V
    Discharge at 1 A for 2 hours or until 2.5 V
    Hold at 4.2 V until C/50            (also "... until 50 mA", "... for 1 hour")
    Rest for 10 minutes
    Hold pressure at 10 MPa

A current is amps ("500 mA"), a C-rate ("C/3", "0.5C", "2 C") or a current
density ("1 mA/cm2"); C-rates and densities stay symbolic until the bench gives
the capacity and the area. Every number in a step is a positive magnitude: the
direction comes from the verb.

Keywords (charge, at, for, until, or, and the C of a C-rate) are
case-insensitive. Units are read by pint and are case-sensitive, as in SI:
"10 mPa" is a millipascal and "1 ma" a milli-year, so folding case would turn a
typo into a value a billion times off. A unit that differs from a common one
only in case is refused with a "did you mean" hint, and a pressure typed as
"mPa" is refused later by the protocol's pressure window.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stackpress.protocols.errors import ProtocolError, attempt, did_you_mean, located
from stackpress.protocols.steps import (
    Current,
    CurrentStep,
    End,
    PressureStep,
    RestStep,
    Step,
    VoltageStep,
)
from stackpress.units import UnitError, quantity

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"
# A value is a C-rate or a number with at most one unit word ("C/3", "0.5C", "4.2 V", "1 mA/cm2"); what
# it means is for pint to say. Every repetition here is unambiguous, so a long typo cannot stall the match.
_VALUE = r"(?:C\s*/\s*\S+|[-+.\d]\S*(?:\s+[^\s\d]\S*)?)"
_END = rf"(?:for|until)\s+{_VALUE}"
_VERB = r"charge|discharge|hold\s+pressure|hold|rest"
_STEP = re.compile(
    rf"(?P<verb>{_VERB})(?:\s+at\s+(?P<setting>{_VALUE}))?(?P<ends>(?:\s+{_END}(?:\s+or\s+{_END})*)?)",
    re.IGNORECASE,
)
_LEADING_VERB = re.compile(rf"(?:{_VERB})\b", re.IGNORECASE)
_C_RATE = re.compile(rf"C\s*/\s*(?P<divisor>{_NUMBER})|(?P<rate>{_NUMBER})\s*C", re.IGNORECASE)
_UNIT = re.compile(rf"{_NUMBER}\s*(?P<unit>.*)", re.IGNORECASE)

_EXAMPLES = {
    "charge": "Charge at C/3 until 4.2 V",
    "discharge": "Discharge at C/3 until 2.5 V",
    "hold": "Hold at 4.2 V until C/20",
    "hold pressure": "Hold pressure at 10 MPa",
    "rest": "Rest for 10 minutes",
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
    "V": ("V", "mV"),
    "A": ("A", "mA", "uA", "A/m2", "mA/cm2", "uA/cm2"),
    "s": ("s", "min", "h"),
}


def parse_step(text: str, where: str) -> Step:
    """One step from its text, or a ProtocolError listing everything wrong with it.

    `where` ("demo.toml, block 2, step 3") is kept on the step and starts every
    message, so the user is pointed at the line to fix.
    """
    words = " ".join(text.split())
    match = _STEP.fullmatch(words)
    verb = _verb(match["verb"]) if match else ""
    if match is None or (match["setting"] is None) != (verb == "rest"):
        raise ProtocolError([located(where, text, _unreadable(words))])

    problems: list[str] = []
    setting = attempt(problems, _setting, verb, match["setting"]) if verb != "rest" else None
    parts = re.split(r"\s+or\s+", match["ends"].strip(), flags=re.IGNORECASE) if match["ends"] else []
    ends = tuple(attempt(problems, _end, verb, part) for part in parts)
    if not parts and verb in _NEEDS_END:
        problems.append(f"{_NEEDS_END[verb]}; without one it would run forever")
    if problems:
        raise ProtocolError(located(where, text, problem) for problem in problems)

    if verb == "hold pressure":
        return PressureStep(text=text, where=where, setpoint=setting)
    if verb == "rest":
        return RestStep(text=text, where=where, ends=ends)
    if verb == "hold":
        return VoltageStep(text=text, where=where, voltage=setting, ends=ends)
    direction = 1 if verb == "charge" else -1
    return CurrentStep(text=text, where=where, current=setting, direction=direction, ends=ends)


def _unreadable(words: str) -> str:
    """Why a step does not fit the grammar, with an example of the form the user seems to want."""
    if not words:
        return f'the step is empty; write e.g. "{_EXAMPLES["charge"]}"'
    verb = _LEADING_VERB.match(words)
    if verb:
        return f'cannot read this step; expected e.g. "{_EXAMPLES[_verb(verb[0])]}"'
    first = words.split(" ", 1)[0]
    hint = did_you_mean(first, ["Charge", "Discharge", "Hold", "Rest"])
    return (
        f"unknown step '{first}'{hint}; a step starts with Charge, Discharge, Hold, Hold pressure or Rest, "
        f'e.g. "{_EXAMPLES["charge"]}"'
    )


def _verb(written: str) -> str:
    """A verb as the tables here key it: "HOLD  Pressure" -> "hold pressure"."""
    return " ".join(written.lower().split())


def _setting(verb: str, text: str) -> float | Current:
    """The value after "at": a pressure, a hold voltage, or a current."""
    if verb == "hold pressure":
        return measure(text, "Pa", "pressure")
    if verb == "hold":
        return measure(text, "V", "hold voltage")
    return _current(text, "current")


def _end(verb: str, part: str) -> End:
    """One end condition ("for 2 hours", "until 4.2 V", "until C/20") as it reads after `verb`."""
    keyword, value = part.split(" ", 1)
    if verb == "hold pressure":
        raise ValueError(
            f"'{part}': a pressure step takes no end condition; the pressure is held through the steps "
            'that follow (add e.g. "Rest for 10 minutes" to wait)'
        )
    if keyword.lower() == "for":
        return End("time", measure(value, "s", "duration"))
    if verb == "hold":
        return End("current_below", _current(value, "cut-off current"))
    if verb == "rest":
        raise ValueError(f"'{part}': a rest can only end after a duration, e.g. \"Rest for 10 minutes\"")
    if _reads_as_current(value):
        raise ValueError(
            f"'{part}': the current of a {verb} is constant, so it cannot end on a current; end it on a "
            f'voltage and add a hold, e.g. "{_EXAMPLES[verb]}" then "Hold at 4.2 V until C/20"'
        )
    return End("voltage_above" if verb == "charge" else "voltage_below", measure(value, "V", "cut-off voltage"))


def measure(text: str, unit: str, what: str) -> float:
    """`text` in SI `unit` ("Pa", "V", "A" or "s"), refusing unknown units, wrong dimensions and values
    that are not above zero; a unit in the wrong case gets a hint. The limits are read with it too."""
    try:
        value = quantity(text, unit, what)
    except UnitError as exc:
        raise UnitError(f"{exc}{_case_hint(text, _COMMON_UNITS[unit])}") from None
    return _positive(value, text, what)


def _current(text: str, what: str) -> Current:
    """A current as written: a C-rate, amps, or a current density (A/m2)."""
    rate = _C_RATE.fullmatch(text)
    if rate:
        divisor = float(rate["divisor"] or 1)
        # "C/0" and "C/-3" have no meaningful rate: let them fail the positivity check below.
        magnitude = float(rate["rate"] or 1) / divisor if divisor > 0 else 0.0
        return Current(_positive(magnitude, text, what), "C")
    for unit in ("A", "A/m2"):
        try:
            magnitude = quantity(text, unit, what)
        except UnitError:
            continue
        return Current(_positive(magnitude, text, what), unit)
    raise UnitError(
        f"{what}: {text!r} is not a current, a C-rate or a current density "
        f"(write e.g. '500 mA', 'C/3', '0.5C' or '1 mA/cm2'){_case_hint(text, _COMMON_UNITS['A'])}"
    )


def _reads_as_current(text: str) -> bool:
    try:
        _current(text, "current")
    except UnitError:
        return False
    return True


def _positive(value: float, text: str, what: str) -> float:
    if value <= 0:
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
