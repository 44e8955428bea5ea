"""The plan of a protocol, as `stackpress check-protocol` prints it: every step with its repeat count
and an estimated duration, before anything moves.

How a step's duration is estimated (the cell's real behaviour is unknown until it runs):

- a time limit bounds every step;
- a constant current ending on a voltage passes the nominal capacity (a full charge or discharge);
  ending on a capacity, that capacity; at its current;
- a constant power passes the nominal capacity times the middle of the voltage limits (its energy);
- a voltage hold (or the hold of a CCCV) ending on a current is counted as HOLD_ESTIMATE;
- a rest, a relaxation or a wait for a stable pressure lasts its duration (a relaxation or a wait at
  most its time limit, at least the stable time);
- GITT passes the nominal capacity in pulses, each followed by its rest;
- a pressure ramp lasts the change over the rate, from the setpoint before it (else the bench's
  safe preload); pressure setpoints and releases take no time;
- a block with `until` is counted at its full repeat count (an upper bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stackpress.protocols.steps import (
    Block,
    CurrentStep,
    End,
    PowerStep,
    PressureStep,
    Protocol,
    PulseStep,
    RampStep,
    ReleaseStep,
    Step,
    VoltageStep,
    WaitStep,
)

HOLD_ESTIMATE = 3600.0  # s, a voltage hold until a current cut-off, when no time limit is shorter
HOW = "each charge or discharge passes the nominal capacity at its current, voltage holds 1 h, time limits as written"


@dataclass(frozen=True, slots=True)
class PlanLine:
    depth: int  # nesting: 0 for the protocol's blocks
    text: str  # a block's header or a step's text
    repeat: int  # how often it runs in all (a step's: the product of its blocks' repeats)
    seconds: float | None  # one run of a step; None for a block header


@dataclass(frozen=True, slots=True)
class Plan:
    lines: tuple[PlanLine, ...]
    total: float  # s, the whole protocol
    bounded: bool  # True when a block may stop early (`until`): the total is then an upper bound

    def render(self) -> str:
        """The plan as text, one line per block and step, the estimate in the right column."""
        if math.isnan(self.total):
            return "  a script decides its steps as it runs: no plan or estimate before it runs"
        rows = []
        for line in self.lines:
            indent = "  " * (line.depth + 1)
            if line.seconds is None:
                rows.append(f"{indent}{line.text}")
                continue
            each = "instant" if line.seconds == 0 else duration(line.seconds)
            times = f"  x{line.repeat}" if line.repeat > 1 else ""
            rows.append(f"{indent}{line.text:<{max(70 - len(indent), 1)}} {each:>9}{times}")
        total = ("at most " if self.bounded else "") + duration(self.total)
        rows.append(f"estimated duration: {total} ({HOW})")
        return "\n".join(rows)


def plan(protocol: Protocol, *, capacity: float, area: float, safe_preload: float) -> Plan:
    """The protocol's steps, flattened with their repeat counts, and the estimated duration (see module doc)."""
    if protocol.script is not None:
        return Plan((), math.nan, False)
    estimate = _Estimator(protocol, capacity, area, safe_preload)
    lines: list[PlanLine] = []
    total = estimate.block(protocol.root, 0, 1, lines)
    return Plan(tuple(lines), total, any(block.until for block in _blocks(protocol.root)))


def duration(seconds: float) -> str:
    """A duration the way a researcher says it: "45 s", "12 min", "3.5 h", "2.1 days"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.3g} days"


def _blocks(block: Block) -> list[Block]:
    nested = [node for node in block.steps if isinstance(node, Block)]
    return [block, *(inner for node in nested for inner in _blocks(node))]


class _Estimator:
    def __init__(self, protocol: Protocol, capacity: float, area: float, safe_preload: float) -> None:
        self.capacity, self.area = capacity, area
        self.voltage = (protocol.limits.voltage_min + protocol.limits.voltage_max) / 2
        self.setpoint = safe_preload  # Pa, where a ramp starts from

    def block(self, block: Block, depth: int, repeat: int, lines: list[PlanLine]) -> float:
        """Lines for the nodes of `block` (run `repeat` times in all); the seconds of one run of it."""
        seconds = 0.0
        for node in block.steps:
            if isinstance(node, Block):
                header = node.where.split(", ", 1)[-1] + (f", {node.repeat} times" if node.repeat > 1 else "")
                until = f", until {' or '.join(c.text for c in node.until)}" if node.until else ""
                lines.append(PlanLine(depth, header + until, repeat * node.repeat, None))
                seconds += node.repeat * self.block(node, depth + 1, repeat * node.repeat, lines)
            else:
                each = self.step(node)
                lines.append(PlanLine(depth, node.text, repeat, each))
                seconds += each
        return seconds

    def step(self, step: Step) -> float:
        if isinstance(step, PressureStep):
            self.setpoint = step.setpoint
            return 0.0
        if isinstance(step, ReleaseStep):
            return 0.0
        if isinstance(step, RampStep):
            seconds = abs(step.setpoint - self.setpoint) / step.rate
            self.setpoint = step.setpoint
            return seconds
        if isinstance(step, WaitStep):
            return step.duration
        if isinstance(step, PulseStep):
            amps = step.current.amps(self.capacity, self.area)
            pulses = math.ceil(self.capacity / (amps * step.pulse)) if amps > 0 else 1
            return pulses * (step.pulse + step.relax)
        ends = getattr(step, "ends", ())
        limit = _time_limit(ends)
        if isinstance(step, CurrentStep):
            cc = min(limit, self._charge_time(ends, step.current.amps(self.capacity, self.area)))
            return cc + (self._hold_time(step.hold) if step.hold else 0.0)
        if isinstance(step, PowerStep):
            watts = step.power.watts(self.area)
            return min(limit, self.capacity * self.voltage / watts if watts > 0 else math.inf)
        if isinstance(step, VoltageStep):
            return self._hold_time(ends)
        return limit if math.isfinite(limit) else 0.0  # a rest (a relaxation: at most its limit)

    def _charge_time(self, ends: tuple[End, ...], amps: float) -> float:
        """A constant current's time to its capacity end, else to a full charge or discharge."""
        charges = [end.value.coulombs(self.capacity, self.area) for end in ends if end.kind == "capacity"]
        charge = min(charges, default=self.capacity)
        return charge / amps if amps > 0 else math.inf

    @staticmethod
    def _hold_time(ends: tuple[End, ...]) -> float:
        return min(_time_limit(ends), HOLD_ESTIMATE)


def _time_limit(ends: tuple[End, ...]) -> float:
    """The shortest `for DURATION` among `ends`, in s; inf when there is none."""
    return min((end.value for end in ends if end.kind == "time"), default=math.inf)
