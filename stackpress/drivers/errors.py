"""Errors an instrument may raise; each names the instrument and what went wrong."""

from __future__ import annotations

import math


class InstrumentError(RuntimeError):
    """An instrument refused, failed or stopped answering."""

    def __init__(self, instrument: str, message: str) -> None:
        super().__init__(f"{instrument}: {message}")
        self.instrument = instrument


class InstrumentTimeout(InstrumentError):
    """No answer within the instrument's timeout."""


class OutOfRange(InstrumentError):
    """A command outside what the instrument (or the fixture) can do, or a reading beyond a sensor's range."""

    def __init__(self, instrument: str, message: str, reading: float = math.nan) -> None:
        """`reading`: a sensor's reading at or beyond its full scale, whose sign says over or under range."""
        super().__init__(instrument, message)
        self.reading = reading
