"""What a protocol is made of: steps, their end conditions, blocks and limits.

Steps are plain immutable data in SI units. They say what to do; the runner
(`runner.py`) decides how and when, and owns starting, ending and cleanup.
C-rates and areal currents stay symbolic until the bench supplies the
nominal capacity and the cell area.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

CurrentUnit = Literal["A", "C", "A/m2"]
EndKind = Literal["time", "voltage_above", "voltage_below", "current_below"]

VOLTAGE_TOLERANCE = 1e-3  # V: a compliance limit counts as reached within 1 mV


@dataclass(frozen=True, slots=True)
class Current:
    """A current magnitude as the user wrote it: amps, a C-rate, or a current density."""

    magnitude: float
    unit: CurrentUnit

    def amps(self, capacity: float, area: float) -> float:
        """The magnitude in A, given the nominal capacity (C) and the cell area (m2)."""
        if self.unit == "C":
            return self.magnitude * capacity / 3600.0
        if self.unit == "A/m2":
            return self.magnitude * area
        return self.magnitude


@dataclass(frozen=True, slots=True)
class End:
    """One end condition; a step ends when any of its ends is met."""

    kind: EndKind
    value: float | Current  # s for time, V for voltages, Current for current_below

    def met(self, voltage: float, current: float, elapsed: float, capacity: float, area: float) -> bool:
        if self.kind == "time":
            return elapsed >= self.value
        if self.kind == "voltage_above":
            return voltage >= self.value - VOLTAGE_TOLERANCE
        if self.kind == "voltage_below":
            return voltage <= self.value + VOLTAGE_TOLERANCE
        return abs(current) <= self.value.amps(capacity, area)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    text: str  # what the user wrote
    where: str  # "demo.toml, block 2, step 3": where to point an error


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentStep(Step):
    """Constant current; `direction` is +1 to charge, -1 to discharge."""

    current: Current
    direction: int
    ends: tuple[End, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VoltageStep(Step):
    """Hold a voltage (constant voltage), typically until the current tapers."""

    voltage: float
    ends: tuple[End, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RestStep(Step):
    """Output off (open circuit) for a while."""

    ends: tuple[End, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PressureStep(Step):
    """Hold the stack pressure at `setpoint` Pa from now on, through the following steps."""

    setpoint: float


ElectricalStep = CurrentStep | VoltageStep | RestStep


ON_FAULT = ("pause", "stop")  # what a lost instrument or a pressure alarm does to the run
RESUME = ("operator", "auto")  # who ends a pause once its cause is gone


@dataclass(frozen=True, slots=True)
class Limits:
    """The run's safety window: the voltage interlock, the allowed pressure setpoints, and what a fault does.

    `on_fault`: "pause" (the safe state, waiting: actuator holding, cycler resting) or
    "stop" (the safe state, and the run ends). `resume`: after an instrument fault
    (an instrument that stops answering), "auto" resumes as soon as it answers again,
    "operator" waits for `Engine.resume()`; a pressure alarm (pressure lost, regulator
    saturated, actuator at its travel limit or not following) always waits for the
    operator. `max_pause` s: a pause that lasts longer aborts the run (with its cleanup).
    """

    voltage_min: float
    voltage_max: float
    pressure_min: float = 5e6
    pressure_max: float = 50e6
    on_fault: str = "pause"
    resume: str = "operator"
    max_pause: float = 3600.0


@dataclass(frozen=True, slots=True)
class Block:
    steps: tuple[Step, ...]
    repeat: int = 1


@dataclass(frozen=True, slots=True)
class Protocol:
    name: str
    source: str  # file path or "bundled:NAME"
    text: str  # the file as written, stored in the run file
    limits: Limits
    blocks: tuple[Block, ...]

    def sequence(self) -> Iterator[Step]:
        """Every step in execution order, blocks repeated."""
        for block in self.blocks:
            for _ in range(block.repeat):
                yield from block.steps
