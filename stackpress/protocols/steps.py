"""What a protocol is made of: steps, their end conditions, blocks and limits.

Steps are plain immutable data in SI units. They say what to do; the runner
(`runner.py`) decides how and when, and owns starting, ending and cleanup.
C-rates, areal currents and capacities stay symbolic until the bench supplies
the nominal capacity and the cell area.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from stackpress.sample import Sample

CurrentUnit = Literal["A", "C", "A/m2"]
PowerUnit = Literal["W", "W/m2"]
ChargeUnit = Literal["C", "C/m2", "nominal"]  # coulombs, coulombs per m2 of cell, a fraction of the nominal capacity
EndKind = Literal[
    "time",
    "voltage_above",
    "voltage_below",
    "current_below",
    "capacity",
    "pressure_above",
    "pressure_below",
    "thickness_above",
    "thickness_below",
    "dvdt_below",
]

VOLTAGE_TOLERANCE = 1e-3  # V: a compliance limit counts as reached within 1 mV
TIME_TOLERANCE = 1e-6  # s: a time end (and a ramp's, a wait's, a GITT relaxation's length) is met within this,
# so a tick scheduled at it (`Runner.due`) meets it whatever the rounding
_RISING = frozenset({"voltage_above", "capacity", "pressure_above", "thickness_above"})


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
class Power:
    """A power magnitude as the user wrote it: watts, or a power density (W/m2 of cell)."""

    magnitude: float
    unit: PowerUnit

    def watts(self, area: float) -> float:
        return self.magnitude * area if self.unit == "W/m2" else self.magnitude


@dataclass(frozen=True, slots=True)
class Charge:
    """A capacity as the user wrote it: coulombs ("2 mAh"), areal ("3 mAh/cm2"), or "80 %" of nominal."""

    magnitude: float
    unit: ChargeUnit

    def coulombs(self, capacity: float, area: float) -> float:
        if self.unit == "nominal":
            return self.magnitude * capacity
        if self.unit == "C/m2":
            return self.magnitude * area
        return self.magnitude


@dataclass(slots=True)
class Progress:
    """What an end condition needs besides the sample: how far the step has got. One per runner,
    updated in place every tick (the runner's tick is the inner loop of every simulation)."""

    elapsed: float = 0.0  # s in this step (or in this phase of a pulse step), pauses excluded
    charge: float = 0.0  # C passed in this step so far, a magnitude
    dvdt: float = math.nan  # V/s over the runner's dV/dt window; NaN until the step has run that long
    capacity: float = 0.0  # C, the nominal capacity (reference of C-rates)
    area: float = 0.0  # m2


@dataclass(frozen=True, slots=True)
class End:
    """One end condition; a step ends when any of its ends is met ("... or ...")."""

    kind: EndKind
    value: float | Current | Charge  # s, V, Pa, m, V/s; Current for current_below; Charge for capacity

    def met(self, s: Sample, p: Progress) -> bool:
        kind, value = self.kind, self.value
        if kind == "time":
            return p.elapsed >= value - TIME_TOLERANCE
        if kind == "voltage_above":
            return s.voltage >= value - VOLTAGE_TOLERANCE
        if kind == "voltage_below":
            return s.voltage <= value + VOLTAGE_TOLERANCE
        if kind == "current_below":
            return abs(s.current) <= value.amps(p.capacity, p.area)
        if kind == "capacity":
            return p.charge >= value.coulombs(p.capacity, p.area)
        if kind == "pressure_above":
            return s.pressure >= value
        if kind == "pressure_below":
            return s.pressure <= value
        if kind == "thickness_above":
            return s.thickness >= value
        if kind == "thickness_below":
            return s.thickness <= value
        return abs(p.dvdt) < value  # dvdt_below; NaN (not yet known) is never below

    def due(self, s: Sample, before: Sample, p: Progress) -> float:
        """When this end is expected to be met, s of run time, seen from the step's last sample `s` (with
        `p` brought up to it) and the one `before` it; math.inf if it is not expected (or not predictable).

        Where the straight line through the two samples meets the end's threshold (the one `met`
        uses), if the quantity moves towards it. Not for a time end (the runner knows when a step
        began) nor a dV/dt end: math.inf.
        """
        kind, value = self.kind, self.value
        if kind in ("time", "dvdt_below"):
            return math.inf
        if kind == "capacity":
            now, was, target = p.charge, p.charge - abs(s.charge - before.charge), value.coulombs(p.capacity, p.area)
        elif kind == "current_below":
            now, was, target = abs(s.current), abs(before.current), value.amps(p.capacity, p.area)
        else:
            quantity = kind.split("_")[0]
            now, was = getattr(s, quantity), getattr(before, quantity)
            target = value
            if quantity == "voltage":
                target += -VOLTAGE_TOLERANCE if kind == "voltage_above" else VOLTAGE_TOLERANCE
        gap, rate = target - now, (now - was) / (s.t - before.t)
        if kind not in _RISING:
            gap, rate = -gap, -rate
        return s.t + gap / rate if rate > 0.0 and gap >= 0.0 else math.inf  # (NaN: a reading was missing)


@dataclass(frozen=True, slots=True)
class Recording:
    """When a sample is worth a row in the run file, as a commercial cycler's per-step record settings.

    Every `interval` s, or sooner when the voltage moved by more than `voltage_delta` V or the
    pressure by more than `pressure_delta` Pa since the last recorded sample (0: not on change).
    Step, cycle and state changes, and each step's last sample, are always recorded.
    """

    interval: float = 10.0  # s
    voltage_delta: float = 0.005  # V
    pressure_delta: float = 0.1e6  # Pa


DEFAULT_RECORDING = Recording()


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    text: str  # what the user wrote
    where: str  # "demo.toml, block 2, step 3": where to point an error
    line: int = 0  # its line in the file (or in a script, the line of its yield); 0: not from a file
    record: Recording | None = None  # this step's own recording; None: its block's


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentStep(Step):
    """Constant current; `direction` is +1 to charge, -1 to discharge.

    With `hold` (CCCV), reaching the voltage cut-off does not end the step: the voltage is
    then held at the cut-off until one of the `hold` ends (a current cut-off, a time).
    """

    current: Current
    direction: int
    ends: tuple[End, ...]
    hold: tuple[End, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerStep(Step):
    """Constant power: the current is set each tick to power / voltage."""

    power: Power
    direction: int
    ends: tuple[End, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VoltageStep(Step):
    """Hold a voltage (constant voltage), typically until the current tapers."""

    voltage: float
    ends: tuple[End, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RestStep(Step):
    """Output off (open circuit) for a while, or until the voltage has relaxed (dV/dt below a threshold)."""

    ends: tuple[End, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PulseStep(Step):
    """Current pulses with open-circuit relaxations between them (GITT), until a voltage limit.

    Each pulse lasts `pulse` s (or ends early at `limit`), each relaxation `relax` s; the step
    ends after the relaxation that follows the pulse that reached `limit`.
    """

    current: Current
    direction: int
    pulse: float  # s
    relax: float  # s
    limit: float  # V

    @property
    def ends(self) -> tuple[End, ...]:
        """The pulse phase's ends (for the checks shared with current steps)."""
        kind = "voltage_above" if self.direction > 0 else "voltage_below"
        return (End("time", self.pulse), End(kind, self.limit))


@dataclass(frozen=True, slots=True, kw_only=True)
class PressureStep(Step):
    """Hold the stack pressure at `setpoint` Pa from now on, through the following steps (instant)."""

    setpoint: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RampStep(Step):
    """Ramp the pressure setpoint to `setpoint` Pa at `rate` Pa/s, then hold it; the cycler rests meanwhile."""

    setpoint: float
    rate: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitStep(Step):
    """Rest until the pressure has stayed within `band` Pa of its setpoint for `duration` s (or `timeout`)."""

    band: float
    duration: float
    timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseStep(Step):
    """Bring the pressure down to the bench's safe preload and hold it there (instant)."""


INSTANT_STEPS = (PressureStep, ReleaseStep)  # take no time: the runner moves straight on


ON_FAULT = ("pause", "stop")  # what a lost instrument or a pressure alarm does to the run
RESUME = ("operator", "auto")  # who ends a pause once its cause is gone
ON_ABORT = ("hold", "release")  # where an aborted run leaves the pressure: held, or down to the safe preload


@dataclass(frozen=True, slots=True)
class Limits:
    """The run's safety window: the voltage interlock, the allowed pressure setpoints, and what a fault does.

    `on_fault`: "pause" (the safe state, waiting: actuator holding, cycler resting) or
    "stop" (the safe state, and the run ends). `resume`: after an instrument fault
    (an instrument that stops answering), "auto" resumes as soon as it answers again,
    "operator" waits for `Engine.resume()`; a pressure alarm (pressure lost, regulator
    saturated, actuator at its travel limit or not following) always waits for the
    operator. `max_pause` s: a pause that lasts longer aborts the run (with its cleanup).
    `on_abort`: an aborted run's cleanup leaves the actuator holding ("hold") or brings the
    pressure down to the bench's safe preload ("release"); the cycler output goes off either way.
    """

    voltage_min: float
    voltage_max: float
    pressure_min: float = 5e6
    pressure_max: float = 50e6
    on_fault: str = "pause"
    resume: str = "operator"
    max_pause: float = 3600.0
    on_abort: str = "hold"


@dataclass(frozen=True, slots=True)
class StopCondition:
    """Ends a repeated block early: the last cycle's `which` capacity below `threshold`.

    `threshold` is a Charge, or with `reference_cycle` a fraction of that cycle's same
    capacity ("discharge capacity < 80 % of cycle 1").
    """

    text: str
    which: Literal["charge", "discharge"]
    threshold: float | Charge  # a fraction when reference_cycle is set
    reference_cycle: int | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """Steps (or nested blocks) run `repeat` times, or until one of `until` holds after a repetition."""

    steps: tuple[Step | Block, ...]
    repeat: int = 1
    until: tuple[StopCondition, ...] = ()
    record: Recording | None = None  # recording of its steps; None: the enclosing block's
    where: str = ""

    def leaves(self) -> Iterator[Step]:
        """Each step once, however often it repeats: a problem is reported once."""
        for node in self.steps:
            if isinstance(node, Block):
                yield from node.leaves()
            else:
                yield node


@dataclass(frozen=True, slots=True)
class Protocol:
    name: str
    source: str  # file path or "bundled:NAME"
    text: str  # the file as written, stored in the run file
    limits: Limits
    blocks: tuple[Block, ...]
    record: Recording = DEFAULT_RECORDING  # the protocol-wide default recording
    script: Callable[[Any], Iterator[Any]] | None = None  # a Python protocol's generator (script.py); blocks: ()

    @property
    def root(self) -> Block:
        """The whole protocol as one block run once: what the runner walks."""
        return Block(self.blocks, record=self.record)

    def steps(self) -> Iterator[Step]:
        """Each step once, in file order."""
        return self.root.leaves()

    def sequence(self) -> Iterator[Step]:
        """Every step in execution order, blocks repeated their full count (stop conditions aside)."""
        yield from _unrolled(self.root)


def _unrolled(block: Block) -> Iterator[Step]:
    for _ in range(block.repeat):
        for node in block.steps:
            if isinstance(node, Block):
                yield from _unrolled(node)
            else:
                yield node
