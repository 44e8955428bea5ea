"""The runner: walks a protocol step by step and decides, each tick, what comes next.

It owns the step and cycle counters, the end conditions, the loops and the
per-step recording decision; it never touches an instrument. Each tick the
engine hands it the sample it just read and gets back the commands to carry
out. Instant steps (a new pressure setpoint, a release) take no time: the
runner moves straight on to the next step in the same tick.

Blocks nest and repeat; a block's `until` conditions are checked after each
repetition on the capacities the runner counts per cycle from the cycler's
charge counter (charge while it rises, discharge while it falls). Cycle
counting follows the Battery Data Format: cycles start at 1, and a new cycle
starts when a step driving current in the run's first direction (charge for a
full cell, usually discharge for a half cell) begins after one in the opposite
direction. A CCCV step, a constant-power step and a pulse (GITT) step are one
step each.

A pause (an instrument fault, a pressure alarm, the operator) does not lose the
runner's place: `pause(t)` stops the current step's clock, `resume(t)` restarts
it (the step's elapsed time excludes the pause) and returns the current step's
command again, since the engine rested the cycler meanwhile. Step and cycle
counters are untouched by a pause. For a crash, `position()` is a JSON-ready
snapshot of the place (where in the nested blocks, the counters, the step's
elapsed time and charge, the per-cycle capacities) and `Runner.restore` starts
a runner from it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stackpress.protocols.commands import (
    ApplyCurrent,
    ApplyVoltage,
    Command,
    HoldPressure,
    ReleasePressure,
    Rest,
)
from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.load import limit_problems
from stackpress.protocols.parse import parse_step
from stackpress.protocols.script import Measured
from stackpress.protocols.steps import (
    INSTANT_STEPS,
    TIME_TOLERANCE,
    Block,
    CurrentStep,
    End,
    PowerStep,
    PressureStep,
    Progress,
    Protocol,
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
from stackpress.sample import Event, Sample

DVDT_WINDOW = 900.0  # s: dV/dt is the voltage change over this long, so the cycler's noise averages out
DVDT_POINTS = 30  # voltages kept per window for dV/dt: a small history that a position can carry
POWER_RETUNE = 0.005  # a constant-power step re-sets the current when P/V has moved by this fraction
POSITION_VERSION = 1
APPROACH = 0.5  # an end extrapolated from the samples is approached in halves (see `due`)


@dataclass(slots=True)
class _Frame:
    """One block being walked: which repetition, which of its steps."""

    block: Block
    iteration: int = 0
    index: int = -1


@dataclass(slots=True)
class _Active:
    """The step being run, and what its end conditions need to remember."""

    step: Step
    phase: str  # "" for one-phase steps; "cc"/"cv" for CCCV; "pulse"/"relax" for GITT
    phase_started: float  # s, run time at which the phase's clock started (moved on by pauses)
    charge0: float = 0.0  # the cycler's charge counter that counts as zero for this step
    pulses: int = 0  # GITT pulses finished
    reached_limit: bool = False  # GITT: the last pulse reached the voltage limit
    ramp_duration: float | None = None  # s
    stable_since: float | None = None  # s, since when the pressure has stayed in the wait's band
    commanded: float = math.nan  # A, the current a power step last asked for
    history: deque[tuple[float, float]] = field(default_factory=deque)  # (t, V) for dV/dt
    tick: Callable[[Runner, _Active, Sample], list[Command]] = field(init=False)
    watches_dvdt: bool = field(init=False)
    ends: tuple[End, ...] = field(init=False)  # the ends in force in this phase, worked out once per phase

    def __post_init__(self) -> None:
        self.tick = _handler(self.step)
        self.watches_dvdt = any(end.kind == "dvdt_below" for end in getattr(self.step, "ends", ()))
        self.ends = _phase_ends(self.step, self.phase)


class Runner:
    def __init__(
        self,
        protocol: Protocol,
        *,
        capacity: float,
        area: float,
        current_limit: float,
        on_event: Callable[[Event], None],
    ) -> None:
        self.protocol = protocol
        self.capacity = capacity  # C, nominal: the reference of C-rates
        self.area = area  # m2, the reference of current densities
        self.current_limit = current_limit  # A, compliance of voltage holds
        self._on_event = on_event
        self._frames = [_Frame(protocol.root)]
        self._script = protocol.script(Measured(self)) if protocol.script is not None else None
        self._active: _Active | None = None
        self.step_count = 0
        self.cycle_count = 1
        self.finished = False
        self._first_direction = 0
        self._opposite_seen = False
        self._paused_at: float | None = None
        self.paused_time = 0.0  # s, paused in total so far
        self.pressure_setpoint: float | None = None  # Pa, the last pressure step's, if any
        self.pressure_before: float | None = None  # Pa, the setpoint before the current step (a ramp's start)
        self.cycle_capacities: dict[int, list[float]] = {}  # cycle -> [charge, discharge] C
        self._last_charge = 0.0  # the cycler's charge counter on the last sample; it starts at 0 with the run
        self._counter_known = True  # False after a restore, until a sample says where the counter stands
        self._last: Sample | None = None  # the last sample seen
        self._before: Sample | None = None  # the one before it
        self._resumed_at = -math.inf  # s: the last resume; samples before it do not extrapolate (see `due`)
        self._recording = protocol.record
        self._progress = Progress(capacity=capacity, area=area)
        self._last_recorded: Sample | None = None
        self._changed = False  # a step ended on the sample being decided about: keep it

    @property
    def step(self) -> Step | None:
        return None if self._active is None else self._active.step

    @property
    def last_sample(self) -> Sample | None:
        return self._last

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    # --- what the engine calls ---------------------------------------------------------------------

    def start(self, t: float) -> list[Command]:
        """The commands that begin the protocol at time `t`."""
        return self._advance(t)

    def pause(self, t: float) -> None:
        """Stop the current step's clock at `t`; a second pause before a resume keeps the first time."""
        if self._paused_at is None and not self.finished:
            self._paused_at = t

    def resume(self, t: float) -> list[Command]:
        """Restart the current step's clock at `t`; the commands that put the current step back in force.

        Only the electrical command: the pressure setpoint stays with the regulator
        through a pause, and a preload set once on an unregulated fixture must not
        be set again.
        """
        if self._paused_at is None:
            return []
        paused_for = max(t - self._paused_at, 0.0)
        self.paused_time += paused_for
        self._paused_at = None
        self._resumed_at = t
        active = self._active
        if self.finished or active is None:
            return []
        active.phase_started += paused_for
        if active.stable_since is not None:
            active.stable_since += paused_for
        active.history.clear()  # the voltage relaxed meanwhile: dV/dt starts again
        return self._electrical(active)

    @property
    def pressure_rate(self) -> float | None:
        """Pa/s: the rate of the pressure ramp in progress, else None (a ramp resumed after a pause goes on at it)."""
        active = self._active
        return active.step.rate if active is not None and isinstance(active.step, RampStep) else None

    def skip(self, t: float) -> list[Command]:
        """End the current step now and go on with the next one (the engine records the operator's event)."""
        if self.finished or self._active is None:
            return []
        return self._advance(t)

    def update(self, sample: Sample) -> list[Command]:
        """Commands for this tick: none while the current step goes on (or the runner is paused)."""
        active = self._active
        if self.finished or active is None or self._paused_at is not None:
            return []
        self._count_capacity(sample)
        self._before, self._last = self._last, sample
        self._measure(active, sample)
        return active.tick(self, active, sample)

    def due(self) -> float:
        """When the runner next wants a sample, s of run time (math.inf: whenever): for an engine that may
        tick sooner than its period near the end of a step (`[engine] min_period`).

        A step or phase that ends on time (a rest, a GITT relaxation, a ramp, a pressure wait): the
        moment it ends. An end on a measured quantity (voltage, current, capacity, pressure, thickness):
        halfway (APPROACH) to where the last two samples of the phase extrapolate it, so the ticks close
        in on it in halves however the quantity curves. Only ever sooner than the period: a poor guess
        costs ticks, never lateness.
        """
        active, last, before = self._active, self._last, self._before
        if self.finished or active is None or self._paused_at is not None or last is None:
            return math.inf
        step, started = active.step, active.phase_started
        due = math.inf
        if isinstance(step, RampStep) and active.ramp_duration is not None:
            due = started + active.ramp_duration
        elif isinstance(step, WaitStep):
            stable = math.inf if active.stable_since is None else active.stable_since + step.duration
            due = min(stable, started + step.timeout)
        elif isinstance(step, PulseStep) and active.phase == "relax":
            return started + step.relax
        # the sample read on the tick a phase began was read before its command, and one read before a resume
        # before the cycler rested and was commanded again: neither extrapolates
        extrapolate = before is not None and max(started, self._resumed_at) < before.t < last.t
        for end in active.ends:
            if end.kind == "time":
                due = min(due, started + end.value)
            elif extrapolate:
                expected = end.due(last, before, self._progress)
                due = min(due, last.t + APPROACH * (expected - last.t))
        return due

    def should_record(self, sample: Sample) -> bool:
        """Whether this sample is worth a row: the current step's recording, and always on a change.

        Called once per tick after `update`: the first sample, the sample a step ended on,
        a new step, cycle or engine state are always kept.
        """
        last = self._last_recorded
        rec = self._recording
        keep = (
            last is None
            or self._changed
            or sample.step != last.step
            or sample.cycle != last.cycle
            or sample.state != last.state
            or sample.t - last.t >= rec.interval
            or (rec.voltage_delta > 0 and abs(sample.voltage - last.voltage) > rec.voltage_delta)
            or (rec.pressure_delta > 0 and abs(sample.pressure - last.pressure) > rec.pressure_delta)
        )
        self._changed = False
        if keep:
            self._last_recorded = sample
        return keep

    # --- one tick of the current step --------------------------------------------------------------

    def _measure(self, active: _Active, sample: Sample) -> None:
        """Bring the shared Progress up to this sample: the step's elapsed time, charge and dV/dt."""
        t, progress = sample.t, self._progress
        progress.elapsed = t - active.phase_started
        progress.charge = abs(sample.charge - active.charge0)
        if not active.watches_dvdt:
            return
        history = active.history
        if not history or t - history[-1][0] >= DVDT_WINDOW / DVDT_POINTS:
            history.append((t, sample.voltage))
        while len(history) > 1 and t - history[1][0] >= DVDT_WINDOW:
            history.popleft()
        t0, v0 = history[0]
        progress.dvdt = (sample.voltage - v0) / (t - t0) if t - t0 >= DVDT_WINDOW else math.nan

    # One handler per kind of step, chosen when the step begins: (active, sample) -> commands.

    def _tick_ends(self, active: _Active, sample: Sample) -> list[Command]:
        """A step (or a CCCV's hold) that ends when one of its ends is met (current, voltage, rest)."""
        for end in active.ends:  # inline, not `_first_met`: the most common handler, run every tick
            if end.met(sample, self._progress):
                return self._advance(sample.t)
        return []

    def _tick_cccv(self, active: _Active, sample: Sample) -> list[Command]:
        if active.phase == "cv":
            return self._tick_ends(active, sample)
        end = _first_met(active.ends, sample, self._progress)
        if end is None:
            return []
        if end.kind.startswith("voltage"):  # the cut-off: hold it, in the same step
            self._new_phase(active, "cv", sample.t)
            return self._electrical(active)
        return self._advance(sample.t)

    def _tick_power(self, active: _Active, sample: Sample) -> list[Command]:
        """A constant power: the current follows the voltage, re-set when it has moved enough."""
        if _first_met(active.ends, sample, self._progress) is not None:
            return self._advance(sample.t)
        step, voltage = active.step, sample.voltage
        if not voltage > 0:
            return []
        amps = step.power.watts(self.area) / voltage
        if abs(amps - active.commanded) <= POWER_RETUNE * active.commanded:
            return []
        active.commanded = amps
        return [ApplyCurrent(step.direction * amps, self._voltage_limit(step))]

    def _tick_pulse(self, active: _Active, sample: Sample) -> list[Command]:
        step, t = active.step, sample.t
        if active.phase == "pulse":
            end = _first_met(active.ends, sample, self._progress)
            if end is None:
                return []
            active.reached_limit = end.kind != "time"
            active.pulses += 1
            self._new_phase(active, "relax", t)
            return [Rest()]
        if self._progress.elapsed < step.relax - TIME_TOLERANCE:
            return []
        if active.reached_limit:
            return self._advance(t)
        self._new_phase(active, "pulse", t)
        return self._electrical(active)

    def _tick_ramp(self, active: _Active, sample: Sample) -> list[Command]:
        if active.ramp_duration is None:
            start = self.pressure_before if self.pressure_before is not None else sample.pressure
            active.ramp_duration = abs(active.step.setpoint - start) / active.step.rate
        return self._advance(sample.t) if self._progress.elapsed >= active.ramp_duration - TIME_TOLERANCE else []

    def _tick_wait(self, active: _Active, sample: Sample) -> list[Command]:
        step, t = active.step, sample.t
        target = self.pressure_setpoint if self.pressure_setpoint is not None else sample.setpoint
        if abs(sample.pressure - target) <= step.band:
            if active.stable_since is None:
                active.stable_since = t
            if t - active.stable_since >= step.duration - TIME_TOLERANCE:
                return self._advance(t)
        else:
            active.stable_since = None
        if self._progress.elapsed >= step.timeout - TIME_TOLERANCE:
            self._emit(t, "warning", f"{step.where}: the pressure did not stay within {step.band / 1e6:g} MPa of "
                       f"{target / 1e6:g} MPa for {step.duration:g} s within {step.timeout:g} s; going on",
                       {"step": self.step_count, "pressure": sample.pressure, "setpoint": target})
            return self._advance(t)
        return []

    # --- walking the blocks ------------------------------------------------------------------------

    def _advance(self, t: float) -> list[Command]:
        """End the current step; begin the next ones until one takes time. Its commands."""
        commands: list[Command] = []
        self._changed = True
        while (step := self._next_step(t)) is not None:
            commands.extend(self._begin(step, t))
            if not isinstance(step, INSTANT_STEPS):
                return commands
        self._active = None
        self.finished = True
        commands.append(Rest())
        self._emit(t, "run", f"protocol {self.protocol.name!r} complete")
        return commands

    def _next_step(self, t: float) -> Step | None:
        if self._script is not None:
            return self._script_step()
        frames = self._frames
        while frames:
            frame = frames[-1]
            frame.index += 1
            if frame.index < len(frame.block.steps):
                return self._descend(frame.block.steps[frame.index])
            frame.iteration += 1
            if frame.iteration < frame.block.repeat and not self._stopped(frame, t):
                frame.index = -1
                continue
            frames.pop()
        return None

    def _script_step(self) -> Step | None:
        """The next step a script yields, checked against the protocol's limits; None when it returns."""
        script = self._script
        assert script is not None
        try:
            item = next(script)
        except StopIteration:
            return None
        frame = script.gi_frame  # suspended at the yield: its line is the step's
        line = frame.f_lineno if frame else 0
        where = f"{Path(self.protocol.source).name}, step {self.step_count + 1}"
        if isinstance(item, Step):
            step = item
        elif isinstance(item, str):
            step = parse_step(item, where, line)
        else:
            raise ProtocolError([f"{where} at line {line}: a script yields steps as text, like "
                                 f"\"Rest for 10 minutes\", not {item!r}"])
        problems = list(limit_problems(self.protocol.limits, [step]))
        if problems:
            raise ProtocolError(problems)
        return step

    def _descend(self, node: Step | Block) -> Step:
        while isinstance(node, Block):
            self._frames.append(_Frame(node, 0, 0))
            node = node.steps[0]
        return node

    def _stopped(self, frame: _Frame, t: float) -> bool:
        """Whether one of the block's `until` conditions holds after this repetition (with an event)."""
        for condition in frame.block.until:
            reason = self._holds(condition)
            if reason:
                self._emit(t, "run", f"{frame.block.where}: stopped after {frame.iteration} of {frame.block.repeat} "
                           f"repetitions: {condition.text} ({reason})",
                           {"cycle": self.cycle_count, "condition": condition.text})
                return True
        return False

    def cycle_capacity(self, cycle: int, which: Literal["charge", "discharge"]) -> float:
        """C charged or discharged in `cycle` so far (0 for a cycle not reached)."""
        totals = self.cycle_capacities.get(cycle)
        return 0.0 if totals is None else totals[0 if which == "charge" else 1]

    def _holds(self, condition: StopCondition) -> str:
        """Why the condition holds on the current cycle, or "" if it does not."""
        value = self.cycle_capacity(self.cycle_count, condition.which)
        if condition.reference_cycle is None:
            threshold = condition.threshold.coulombs(self.capacity, self.area)
        else:
            reference = self.cycle_capacity(condition.reference_cycle, condition.which)
            if reference <= 0:
                return ""
            threshold = condition.threshold * reference
        if value < threshold:
            return f"cycle {self.cycle_count}: {value / 3.6:.4g} mAh < {threshold / 3.6:.4g} mAh"
        return ""

    def _begin(self, step: Step, t: float) -> list[Command]:
        if isinstance(step, CurrentStep | PowerStep | PulseStep):
            self._count_cycle(step.direction)
        self.pressure_before = self.pressure_setpoint
        phase = {CurrentStep: "cc", PulseStep: "pulse"}.get(type(step), "")
        active = _Active(step, phase, t, charge0=self._last_charge)
        self._active = active
        self._recording = self._recording_of(step)
        self.step_count += 1
        self._emit(t, "step", step.text, {"step": self.step_count, "cycle": self.cycle_count, "where": step.where,
                                          "line": step.line})
        if isinstance(step, PressureStep):
            self.pressure_setpoint = step.setpoint
            return [HoldPressure(step.setpoint)]
        if isinstance(step, ReleaseStep):
            self.pressure_setpoint = None
            return [ReleasePressure()]
        if isinstance(step, RampStep):
            self.pressure_setpoint = step.setpoint
            if self.pressure_before is not None:  # its length is known now (`due`); else from its first sample
                active.ramp_duration = abs(step.setpoint - self.pressure_before) / step.rate
            return [HoldPressure(step.setpoint, step.rate), Rest()]
        return self._electrical(active)

    def _recording_of(self, step: Step) -> Recording:
        """The step's own recording, else the innermost block's that sets one, else the protocol's."""
        if step.record is not None:
            return step.record
        for frame in reversed(self._frames):
            if frame.block.record is not None:
                return frame.block.record
        return self.protocol.record

    def _new_phase(self, active: _Active, phase: str, t: float) -> None:
        active.phase = phase
        active.phase_started = t
        active.ends = _phase_ends(active.step, phase)
        self._emit(t, "phase", f"{active.step.text}: {phase}", {"step": self.step_count, "phase": phase,
                                                               "pulses": active.pulses})

    def _electrical(self, active: _Active) -> list[Command]:
        """The cycler command that puts the active step (in its current phase) in force."""
        step = active.step
        if isinstance(step, CurrentStep) and active.phase == "cv":
            return [ApplyVoltage(self._voltage_limit(step), step.current.amps(self.capacity, self.area))]
        if isinstance(step, CurrentStep) or (isinstance(step, PulseStep) and active.phase == "pulse"):
            return [ApplyCurrent(step.direction * step.current.amps(self.capacity, self.area),
                                 self._voltage_limit(step))]
        if isinstance(step, PowerStep):
            voltage = self._last.voltage if self._last is not None else math.nan
            if not voltage > 0:
                voltage = (self.protocol.limits.voltage_min + self.protocol.limits.voltage_max) / 2
            active.commanded = step.power.watts(self.area) / voltage
            return [ApplyCurrent(step.direction * active.commanded, self._voltage_limit(step))]
        if isinstance(step, VoltageStep):
            return [ApplyVoltage(step.voltage, self.current_limit)]
        if isinstance(step, RestStep | PulseStep | RampStep | WaitStep):
            return [Rest()]
        return []  # an instant pressure step: nothing for the cycler

    def _voltage_limit(self, step: CurrentStep | PowerStep | PulseStep) -> float:
        """The step's cut-off voltage (held by a CCCV's hold), else the protocol's limit in its direction."""
        cut_offs = [e.value for e in step.ends if e.kind in ("voltage_above", "voltage_below")]
        limits = self.protocol.limits
        return cut_offs[0] if cut_offs else (limits.voltage_max if step.direction > 0 else limits.voltage_min)

    def _count_cycle(self, direction: int) -> None:
        if not self._first_direction:
            self._first_direction = direction
        elif direction == self._first_direction and self._opposite_seen:
            self.cycle_count += 1
            self._opposite_seen = False
        if direction != self._first_direction:
            self._opposite_seen = True

    def _count_capacity(self, sample: Sample) -> None:
        """Charge and discharge capacity of the current cycle, from the cycler's charge counter."""
        charge = sample.charge
        if not math.isfinite(charge):
            return  # the cycler did not answer: the next reading counts the charge since the last one
        if not self._counter_known:  # restored: the counter goes on from here (a restarted driver counts from 0)
            self._counter_known = True
            if self._active is not None:
                self._active.charge0 += charge - self._last_charge
            self._last_charge = charge
            return
        delta, self._last_charge = charge - self._last_charge, charge
        if delta:
            totals = self.cycle_capacities.setdefault(self.cycle_count, [0.0, 0.0])
            totals[0 if delta > 0 else 1] += abs(delta)

    def _emit(self, t: float, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        self._on_event(Event(t, kind, message, data or {}))

    # --- crash resume ------------------------------------------------------------------------------

    def position(self) -> dict[str, Any]:
        """Where the run is, JSON-ready: enough for `Runner.restore` to go on from here after a crash."""
        active, last = self._active, self._last
        now = last.t if last is not None else 0.0
        if self._paused_at is not None:
            now = self._paused_at
        charge = self._last_charge - active.charge0 if active is not None else 0.0
        return {
            "version": POSITION_VERSION,
            "t": now,
            "finished": self.finished,
            "path": [[frame.iteration, frame.index] for frame in self._frames],
            "step_count": self.step_count,
            "cycle_count": self.cycle_count,
            "first_direction": self._first_direction,
            "opposite_seen": self._opposite_seen,
            "pressure_setpoint": self.pressure_setpoint,
            "pressure_before": self.pressure_before,
            "phase": active.phase if active else "",
            "elapsed": now - active.phase_started if active else 0.0,
            "step_charge": charge,
            "pulses": active.pulses if active else 0,
            "reached_limit": active.reached_limit if active else False,
            "ramp_duration": active.ramp_duration if active else None,
            "stable_for": now - active.stable_since if active and active.stable_since is not None else None,
            "voltages": [[now - t, v] for t, v in active.history] if active else [],  # (age, V) for dV/dt
            "cycle_capacities": {str(cycle): list(totals) for cycle, totals in self.cycle_capacities.items()},
            "paused_time": self.paused_time,
        }

    @classmethod
    def restore(
        cls,
        protocol: Protocol,
        position: dict[str, Any],
        t: float,
        *,
        capacity: float,
        area: float,
        current_limit: float,
        on_event: Callable[[Event], None],
    ) -> tuple[Runner, list[Command]]:
        """A runner that goes on from `position` (from `position()`) at time `t`, and the commands that put
        its pressure setpoint and its current step back in force. The step's clock and charge carry on
        from what they were; the gap is recorded as an event. The cycler's charge counter is taken up from
        the first sample with one (a restarted cycler driver counts from 0), so restoring reads nothing:
        only the engine talks to the instruments."""
        if protocol.script is not None:
            raise ValueError(f"{protocol.source}: a script protocol cannot be restored: a generator's place is "
                             "not data; start it again")
        if position.get("version") != POSITION_VERSION:
            raise ValueError(f"cannot restore a runner position of version {position.get('version')!r} "
                             f"(this stackpress writes version {POSITION_VERSION})")
        runner = cls(protocol, capacity=capacity, area=area, current_limit=current_limit, on_event=on_event)
        runner.finished = position["finished"]
        runner._frames = [] if runner.finished else _frames_at(protocol, position["path"])
        runner.step_count = position["step_count"]
        runner.cycle_count = position["cycle_count"]
        runner._first_direction = position["first_direction"]
        runner._opposite_seen = position["opposite_seen"]
        runner.pressure_setpoint = position["pressure_setpoint"]
        runner.pressure_before = position["pressure_before"]
        runner.cycle_capacities = {int(cycle): list(totals) for cycle, totals in position["cycle_capacities"].items()}
        runner.paused_time = position["paused_time"]
        runner._counter_known = False
        commands: list[Command] = []
        if runner.pressure_setpoint is not None:
            commands.append(HoldPressure(runner.pressure_setpoint))
        if runner.finished:
            return runner, [*commands, Rest()]
        frame = runner._frames[-1]
        step = frame.block.steps[frame.index]
        active = _Active(
            step, position["phase"], t - position["elapsed"], charge0=-position["step_charge"],
            pulses=position["pulses"], reached_limit=position["reached_limit"],
            ramp_duration=position["ramp_duration"],
            stable_since=None if position["stable_for"] is None else t - position["stable_for"],
            history=deque((t - age, voltage) for age, voltage in position["voltages"]),
        )
        runner._active = active
        runner._recording = runner._recording_of(step)
        runner._changed = True
        runner._emit(t, "run", f"restored at step {runner.step_count} ({step.text!r}), cycle {runner.cycle_count}, "
                     f"{position['elapsed']:g} s into it; {t - position['t']:g} s since the position was taken",
                     {"step": runner.step_count, "cycle": runner.cycle_count, "gap": t - position["t"]})
        return runner, [*commands, *runner._electrical(active)]


def _frames_at(protocol: Protocol, path: list[list[int]]) -> list[_Frame]:
    """The frames a `position()` path names, checked against the protocol's blocks."""
    frames: list[_Frame] = []
    node: Step | Block = protocol.root
    for depth, (iteration, index) in enumerate(path):
        if not (isinstance(node, Block) and 0 <= index < len(node.steps) and 0 <= iteration < node.repeat):
            raise ValueError(f"the saved position {path} does not fit protocol {protocol.name!r} (at depth {depth})")
        frames.append(_Frame(node, iteration, index))
        node = node.steps[index]
    if isinstance(node, Block) or not path:
        raise ValueError(f"the saved position {path} does not end on a step of protocol {protocol.name!r}")
    return frames


def _phase_ends(step: Step, phase: str) -> tuple[End, ...]:
    """The ends that can end `step` in `phase`: a CCCV's hold ends on its hold or its capacity, not on the
    cut-off it holds; other steps (a GITT pulse too) on their own ends."""
    if phase == "cv":
        return step.hold + tuple(end for end in step.ends if end.kind == "capacity")
    return getattr(step, "ends", ())


def _first_met(ends: tuple[End, ...], sample: Sample, progress: Progress) -> End | None:
    for end in ends:
        if end.met(sample, progress):
            return end
    return None


def _handler(step: Step) -> Callable[[Runner, _Active, Sample], list[Command]]:
    """How the runner ticks a step of this kind."""
    if isinstance(step, CurrentStep) and step.hold:
        return Runner._tick_cccv
    handlers = {PowerStep: Runner._tick_power, PulseStep: Runner._tick_pulse, RampStep: Runner._tick_ramp,
                WaitStep: Runner._tick_wait}
    return handlers.get(type(step), Runner._tick_ends)
