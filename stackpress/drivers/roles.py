"""The three instrument roles around one cell, as typing.Protocols.

The engine is written against these and nothing else, so a simulated
instrument, a SCPI cycler or a Modbus load cell are interchangeable. All
values are SI. Methods may raise `InstrumentError` (or its subclasses).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class CyclerReading(NamedTuple):
    voltage: float  # V
    current: float  # A, positive = charging
    charge: float  # C, net charge since the instrument's counter was reset
    temperature: float  # degC, NaN if the channel has no sensor


class Cycler(Protocol):
    """One battery-cycler channel.

    Like a source-measure unit, each output mode carries a compliance limit
    enforced by the instrument itself: a current step never drives the cell
    past its end voltage, a voltage hold never passes more than its current.
    """

    name: str

    def apply_current(self, current: float, voltage_limit: float) -> None:
        """Source `current` A (positive charges) until the voltage reaches `voltage_limit` V."""

    def apply_voltage(self, voltage: float, current_limit: float) -> None:
        """Hold `voltage` V, passing at most `current_limit` A (magnitude)."""

    def rest(self) -> None:
        """Output off: open circuit, no current."""

    def read(self) -> CyclerReading: ...


class ForceSensor(Protocol):
    """A load cell under the stack."""

    name: str

    def read_force(self) -> float:
        """Compressive force on the stack, N."""


class Actuator(Protocol):
    """What sets the stack force: a hydraulic ram, a motor on a spring or a screw, or nothing.

    `command_unit` says what `command` takes: "N" for a force-controlled
    fixture (hydraulic), "m" for a position-controlled one (screw). A fixture
    with `regulated = False` (a rigid frame) takes one command, its preload in
    N, as an operator tightening bolts would, and cannot follow a setpoint.
    """

    name: str
    regulated: bool
    command_unit: str
    command_range: tuple[float, float]
    max_force: float  # N, the fixture's rating (inf if unknown): a bench's hard pressure limit must lie below it

    def command(self, value: float) -> None: ...

    def read_command(self) -> float:
        """What the actuator is doing now, in `command_unit` (readback, not the last command)."""

    def read_gap(self) -> float:
        """Plate separation, m."""

    def read_state(self) -> tuple[float, float]:
        """(`read_command()`, `read_gap()`) from one exchange: the engine wants both every tick."""

    def stop(self) -> None:
        """Hold where it is: neither squeeze nor release."""
