"""A load cell on an ASCII serial indicator (roles.ForceSensor), over pyserial.

The dialect (e.g. dialects/generic-ascii-indicator.toml) gives the query, the
reply regex (a `value` group and optionally a `unit` group, converted to N by
its `units` table), and regexes for the replies that mean over range, under
range (OutOfRange) or an error (InstrumentError). A reply that matches none of
them is garbled (InstrumentError) and the input is flushed before every query.
"""

from __future__ import annotations

from stackpress.drivers.dialect import SerialDialect, escape
from stackpress.drivers.errors import InstrumentError, OutOfRange
from stackpress.drivers.transport import LinkGarbled, SerialLink


class _Refusal(Exception):
    def __init__(self, error: type[InstrumentError], message: str) -> None:
        super().__init__(message)
        self.error = error


class SerialLoadCell:
    """roles.ForceSensor: compressive force, N."""

    def __init__(self, link: SerialLink, dialect: SerialDialect, *, name: str = "load_cell") -> None:
        self.name = name
        self.link = link
        self.dialect = dialect

    @property
    def resource(self) -> str:
        return self.link.resource

    def _parse_force(self, reply: str) -> float | _Refusal:
        dialect = self.dialect
        text = reply.strip()
        for pattern, error, meaning in (
            (dialect.over_range, OutOfRange, "over range"),
            (dialect.under_range, OutOfRange, "under range"),
            (dialect.error, InstrumentError, "error reply"),
        ):
            if pattern is not None and pattern.search(text):
                return _Refusal(error, f"{meaning} {escape(text)!r}")
        match = dialect.reply.search(text)
        if match is None:
            raise LinkGarbled(f"{escape(reply)!r} does not match {dialect.reply.pattern!r}")
        try:
            value = float(match.group("value"))
        except ValueError:
            raise LinkGarbled(f"{match.group('value')!r} in {escape(reply)!r} is not a number") from None
        unit = match.groupdict().get("unit")
        if unit is None:
            return value * dialect.units.get("N", 1.0)
        if unit not in dialect.units:
            raise LinkGarbled(f"unit {unit!r} in {escape(reply)!r} is not one of {', '.join(dialect.units)}")
        return value * dialect.units[unit]

    def read_force(self) -> float:
        result = self.link.query(self.name, self.dialect.query, self._parse_force)
        if isinstance(result, _Refusal):
            raise result.error(self.name, self.link.describe(self.dialect.query, str(result)))
        return result

    def identify(self) -> str:
        dialect = self.dialect
        if dialect.identify_query is None:
            return dialect.name

        def parse(reply: str) -> str:
            match = dialect.identify_reply.search(reply.strip()) if dialect.identify_reply else None
            if match is None:
                raise LinkGarbled(f"{escape(reply)!r} does not match {dialect.identify_reply.pattern!r}")
            return match.group("value") if "value" in match.groupdict() else match.group(0)

        return f"{dialect.name}: {self.link.query(self.name, dialect.identify_query, parse)}"

    def close(self) -> None:
        self.link.close()
