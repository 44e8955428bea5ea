"""Reading one section of the bench TOML for the simulator, with errors that name `[section] key`.

Every key is optional (the caller gives the default, written as the user would);
a key the caller never asks for is a typo or belongs to another kind of
fixture, and `finish` refuses it so a misspelt setting cannot be silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackpress.units import quantity


class Section:
    """The settings of one `[name]` table, read key by key."""

    def __init__(self, tables: Mapping[str, Any], name: str) -> None:
        values = tables.get(name, {})
        if not isinstance(values, Mapping):
            raise ValueError(f"[{name}] must be a table of settings, not {values!r}")
        self.name = name
        self._values = dict(values)
        self._read: set[str] = set()

    def _what(self, key: str) -> str:
        return f"[{self.name}] {key}"

    def _get(self, key: str, default: Any) -> Any:
        self._read.add(key)
        return self._values.get(key, default)

    def quantity(self, key: str, unit: str, default: str, minimum: float | None = 0.0, positive: bool = True) -> float:
        """`key` in SI `unit`, refused below `minimum` (or at it, when `positive`); None: no bound."""
        value = quantity(self._get(key, default), unit, self._what(key))
        if minimum is not None and (value < minimum or (positive and value == minimum)):
            bound = "above" if positive else "at least"
            raise ValueError(f"{self._what(key)}: {value:g} {unit} must be {bound} {minimum:g} {unit}")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        """A plain number in [low, high]."""
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"{self._what(key)}: {value!r} must be a number from {low:g} to {high:g}")
        return float(value)

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        """One of `choices`."""
        value = self._get(key, default)
        if value not in choices:
            raise ValueError(f"{self._what(key)}: {value!r} must be one of {', '.join(choices)}")
        return value

    def finish(self) -> None:
        """Refuse any key that was not read: a typo, or a setting that does not apply."""
        unknown = sorted(set(self._values) - self._read)
        if unknown:
            raise ValueError(f"{self._what(unknown[0])}: unknown setting (known: {', '.join(sorted(self._read))})")
