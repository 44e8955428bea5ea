"""Units at the edges.

Users write "10 MPa", "0.785 cm2", "3 mAh/cm2", "2 h"; everything inside is a
plain float in SI (Pa, N, m, s, A, V, C). pint parses the text and checks its
dimension here, once, so a unit typo is refused with a message that names the
setting instead of surfacing as a wrong number hours into a run.
"""

from __future__ import annotations

import functools
import re

import pint

ureg = pint.UnitRegistry()

_NUMBER_THEN_UNIT = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_BARE_POWER = re.compile(r"([A-Za-zµ])(\d+)")


class UnitError(ValueError):
    """A quantity that is malformed or has the wrong dimension."""


def quantity(text: str, unit: str, what: str) -> float:
    """The magnitude of `text` expressed in `unit`, or a UnitError naming `what`.

    >>> quantity("10 MPa", "Pa", "setpoint")
    10000000.0
    """
    if not isinstance(text, str):
        raise UnitError(f"{what}: {text!r} needs a unit, written as text like '1 {unit}'")
    try:
        return _in(text, unit)
    except UnitError as exc:
        raise UnitError(f"{what}: {exc}") from exc.__cause__


@functools.lru_cache(maxsize=4096)
def _in(text: str, unit: str) -> float:
    """`text` in `unit`; cached, since every simulated world and every bench parses the same few dozen
    settings (pint takes ~0.3 ms a quantity; a sweep or the test suite builds hundreds of worlds)."""
    match = _NUMBER_THEN_UNIT.match(text)
    if not match or not match.group(2):
        raise UnitError(f"{text!r} needs a number and a unit")
    number, written = match.groups()
    try:
        value = ureg.Quantity(float(number), ureg.parse_units(_BARE_POWER.sub(r"\1**\2", written)))  # cm2 -> cm**2
    except (pint.PintError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
        raise UnitError(f"unknown unit {written!r} in {text!r}") from exc
    target = ureg.parse_units(_BARE_POWER.sub(r"\1**\2", unit))
    if value.dimensionality != (1 * target).dimensionality:
        raise UnitError(f"{text!r} is not a {describe(unit)} (expected units like {unit})")
    return float(value.to(target).magnitude)


_DIMENSION_NAMES = {
    "Pa": "pressure",
    "N": "force",
    "m": "length",
    "m**2": "area",
    "s": "time",
    "A": "current",
    "V": "voltage",
    "C": "charge",
    "A*s/m**2": "areal capacity",
    "W": "power",
    "degC": "temperature",
}


def describe(unit: str) -> str:
    """A word for the dimension of `unit`, for error messages."""
    return _DIMENSION_NAMES.get(unit, f"quantity in {unit}")
