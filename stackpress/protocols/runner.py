"""The runner: walks a protocol step by step and decides, each tick, what comes next.

It owns the step and cycle counters and the end conditions; it never touches
an instrument. Each tick the engine hands it the sample it just read and gets
back the commands to carry out. Instant steps (a new pressure setpoint) take
no time: the runner moves straight on to the next step in the same tick.

Cycle counting follows the Battery Data Format: cycles start at 1, and a new
cycle starts when a current step in the run's first direction (charge for a
full cell, usually discharge for a half cell) begins after a step in the
opposite direction.

A pause (an instrument fault, a pressure alarm, the operator) does not lose the
runner's place: `pause(t)` stops the current step's clock, `resume(t)` restarts
it (the step's elapsed time excludes the pause) and returns the current step's
command again, since the engine rested the cycler meanwhile. Step and cycle
counters are untouched by a pause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from stackpress.protocols.commands import ApplyCurrent, ApplyVoltage, Command, HoldPressure, Rest
from stackpress.protocols.steps import CurrentStep, PressureStep, Protocol, RestStep, Step, VoltageStep
from stackpress.sample import Event, Sample


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
        self._pending: Iterator[Step] = protocol.sequence()
        self.step: Step | None = None
        self.step_count = 0
        self.cycle_count = 1
        self.finished = False
        self._step_started = 0.0
        self._first_direction = 0
        self._opposite_seen = False
        self._paused_at: float | None = None
        self.paused_time = 0.0  # s, paused in total so far
        self.pressure_setpoint: float | None = None  # Pa, the last "Hold pressure" step's, if any

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

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
        self._step_started += paused_for
        self.paused_time += paused_for
        self._paused_at = None
        step = self.step
        if self.finished or step is None or isinstance(step, PressureStep):
            return []
        return [self._command_for(step)]

    def update(self, sample: Sample) -> list[Command]:
        """Commands for this tick: none while the current step goes on (or the runner is paused)."""
        step = self.step
        if self.finished or step is None or self._paused_at is not None:
            return []
        elapsed = sample.t - self._step_started
        for end in step.ends:
            if end.met(sample.voltage, sample.current, elapsed, self.capacity, self.area):
                return self._advance(sample.t)
        return []

    def _advance(self, t: float) -> list[Command]:
        commands: list[Command] = []
        for step in self._pending:
            self._begin(step, t)
            if isinstance(step, PressureStep):
                self.pressure_setpoint = step.setpoint
                commands.append(HoldPressure(step.setpoint))
                continue
            commands.append(self._command_for(step))
            return commands
        self.step = None
        self.finished = True
        commands.append(Rest())
        self._on_event(Event(t, "run", f"protocol {self.protocol.name!r} complete"))
        return commands

    def _begin(self, step: Step, t: float) -> None:
        if isinstance(step, CurrentStep):
            self._count_cycle(step.direction)
        self.step = step
        self.step_count += 1
        self._step_started = t
        counters = {"step": self.step_count, "cycle": self.cycle_count, "where": step.where}
        self._on_event(Event(t, "step", step.text, counters))

    def _count_cycle(self, direction: int) -> None:
        if not self._first_direction:
            self._first_direction = direction
        elif direction == self._first_direction and self._opposite_seen:
            self.cycle_count += 1
            self._opposite_seen = False
        if direction != self._first_direction:
            self._opposite_seen = True

    def _command_for(self, step: Step) -> Command:
        if isinstance(step, CurrentStep):
            limits = self.protocol.limits
            cut_offs = [e.value for e in step.ends if e.kind in ("voltage_above", "voltage_below")]
            default = limits.voltage_max if step.direction > 0 else limits.voltage_min
            voltage_limit = cut_offs[0] if cut_offs else default
            return ApplyCurrent(step.direction * step.current.amps(self.capacity, self.area), voltage_limit)
        if isinstance(step, VoltageStep):
            return ApplyVoltage(step.voltage, self.current_limit)
        if isinstance(step, RestStep):
            return Rest()
        raise TypeError(f"{step.where}: the runner does not know steps of type {type(step).__name__}")
