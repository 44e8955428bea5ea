"""The engine: the one loop that talks to the instruments, at a fixed rate (or sooner near a step's end).

One tick: read every instrument into one `Sample`; check the interlocks;
update the regulator and command the actuator; let the runner decide the
protocol's next command; publish the sample. Samples flow out through the
`on_sample` callbacks (recorder, progress, live view); commands come in only
from the runner and from the operator's requests (`abort()`, `pause()`,
`resume()`, `operate()`), which are safe to call from any thread and take
effect at the next tick.

The operator's other requests (`operate(kind, value)`), each recorded as an
event, each refused with a "warning" event that says why when it cannot be
done (a typo at the bench must never end a run):

    note       a text for the run file, in any state.
    skip       end the current step now and go on with the next (running only).
    setpoint   hold a new pressure, Pa: checked like a protocol's (the hard limit, the
               protocol's window), ramped at the regulator's slew rate (running only).
    manual     the actuator gets this command (its unit: N or m) every tick, or keeps
               its last with None; a force above the hard limit times the area is refused.
               The interlocks stay armed: an over-pressure still trips and backs off.
    jog        manual, moved by this much from the actuator's last readback.
    automatic  back to the regulator, bumpless (running only).
    gains      new regulator gains (a pid.Gains), from the next tick; the integral carries over.

States and what the instruments are told:

    running   the protocol runs: the regulator commands the actuator, the runner the cycler.
    paused    an instrument stopped answering (InstrumentError, InstrumentTimeout), or gave no valid
              reading (a NaN voltage, current or force; a load-cell reading that a second read right
              away does not confirm is discarded, see below), a pressure alarm went off
              (interlocks.PressureWatch), or the operator paused: the cycler rests and the actuator
              holds where it is (neither squeezes nor releases), each retried every tick until it
              answers; the regulator and the runner's clock stand still. An operator's pause is the
              exception: with every instrument answering, the regulator goes on holding the pressure
              (a pause may last a weekend); should an instrument fail or an alarm go off meanwhile, it
              stops and the actuator holds where it is, as in any other pause. Samples keep being
              published with whatever could be read (NaN for the rest). The run resumes on its own
              once every instrument has answered for RESUME_TICKS ticks, if the cause was an
              instrument and the protocol says `resume = "auto"`; otherwise when `resume()` is called
              and every instrument answers. Resuming re-engages the regulator from where the actuator
              is (bumpless) and re-applies the current step's command. A pause longer than the
              protocol's `max_pause` aborts the run.
    tripped   an interlock tripped (over-pressure, load cell over range, voltage, current,
              a refused setpoint; or an alarm with `on_fault = "stop"`): the run ends. The
              cycler output goes off; on over-pressure the actuator backs off to the safe
              preload, otherwise it holds.
    fault     an instrument refused a command (OutOfRange: retrying cannot help), or failed
              with `on_fault = "stop"`: the run ends in the safe state.
    aborted   abort() was called, or a pause lasted longer than `max_pause`.
    finished  the protocol ended.

Whatever ends the run — the protocol's end, an interlock trip, an instrument
fault, an abort or a bug — the cleanup runs: the cycler output goes off and
the actuator holds where it is (unless it backed off from an over-pressure).

What counts as a lost reading (stale or missing): a read that raises
InstrumentError (a driver's timeout is InstrumentTimeout), or a reading
without a number (a NaN voltage, current or force). The instrument roles do not
carry the age of a reading, so a driver that could serve a cached value (a
Modbus gateway, an indicator on hold) must raise InstrumentTimeout once its
reading is older than one engine period; the simulated instruments raise on a
dropout. A reading that merely repeats is not taken as stale: a quiet sensor
with a coarse resolution repeats its readings legitimately.

A load-cell reading that jumps by more than SPIKE_JUMP from the last one is
read again before anything acts on it: a real change (or an over-range) is
confirmed by the second read; a single wild reading is discarded with a
warning event, so a spike neither trips the hard limit nor kicks the regulator.

Ticks come every `period`, unless `min_period` is shorter: then, while running,
a tick comes as soon as the runner wants its next sample (`Runner.due`: the end
of a timed step, or halfway to where a measured end is extrapolated), but never
sooner than `min_period` after the last. A step then ends close to when its end
is met instead of up to a period late, so a simulation in virtual time can take
long ticks without the error of long ticks (bench/sim_speed.py). The interlocks
are checked on every tick, as always; a tick only ever comes sooner.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stackpress.clock import Clock
from stackpress.control.interlocks import Alarm, Interlocks, PressureWatch, SetpointRefused, Trip
from stackpress.control.regulator import Regulator
from stackpress.drivers.errors import InstrumentError, OutOfRange
from stackpress.drivers.roles import Actuator, Cycler, CyclerReading, ForceSensor
from stackpress.protocols.commands import ApplyCurrent, ApplyVoltage, Command, HoldPressure, ReleasePressure, Rest
from stackpress.protocols.runner import Runner
from stackpress.sample import Event, Sample

SPIKE_JUMP = 2e6  # Pa: a load-cell reading that far from the last one is confirmed by a second read
OPERATOR_REQUESTS = ("note", "skip", "setpoint", "manual", "jog", "automatic", "gains")
RESUME_TICKS = 3  # an automatic resume waits until every instrument has answered on this many ticks
_NO_READING = CyclerReading(math.nan, math.nan, math.nan, math.nan)


@dataclass(frozen=True, slots=True)
class Instruments:
    cycler: Cycler
    force_sensor: ForceSensor
    actuator: Actuator


@dataclass(slots=True)
class _Pause:
    since: float  # s
    reason: str
    operator: bool  # only resume() ends it
    failing: set[str] = field(default_factory=set)  # instruments not answering now
    rested: bool = False  # the cycler has been told to rest
    holding: bool = False  # the actuator has been told to hold
    healthy: int = 0  # consecutive ticks on which every instrument answered
    regulating: bool = False  # an operator's pause: the regulator holds the pressure (instead of the actuator holding)


class Engine:
    def __init__(
        self,
        *,
        clock: Clock,
        instruments: Instruments,
        runner: Runner,
        regulator: Regulator,
        interlocks: Interlocks,
        area: float,
        other_layers_thickness: float,
        period: float,
        safe_preload: float,
        min_period: float | None = None,
        on_sample: Sequence[Callable[[Sample], None]] = (),
        on_event: Sequence[Callable[[Event], None]] = (),
        on_record: Sequence[Callable[[Sample], None]] = (),
    ) -> None:
        """`on_sample` gets every tick's sample (live view, progress); `on_record` only those the runner's
        `should_record` keeps (the run file: the protocol's recording intervals). The engine ticks every
        `period` s, or sooner, down to `min_period` s after the last tick (default: never sooner), when the
        runner expects its step to end before the next tick (`Runner.due`)."""
        self.clock = clock
        self.cycler = instruments.cycler
        self.force_sensor = instruments.force_sensor
        self.actuator = instruments.actuator
        self.runner = runner
        self.regulator = regulator
        self.interlocks = interlocks
        self.watch = PressureWatch(self.actuator.command_range, self.actuator.command_unit)
        self.area = area
        self.other_layers_thickness = other_layers_thickness
        self.period = period
        self.min_period = period if min_period is None else min_period
        self.safe_preload = safe_preload  # Pa: where the actuator backs off to on over-pressure
        limits = runner.protocol.limits
        self.on_fault = limits.on_fault  # "pause" or "stop"
        self.auto_resume = limits.resume == "auto"
        self.max_pause = limits.max_pause  # s
        self.on_abort = limits.on_abort  # "hold" or "release"
        self._on_sample = tuple(on_sample)
        self._on_event = tuple(on_event)
        self._on_record = tuple(on_record)
        self.state = "idle"
        self._lock = threading.Lock()  # guards the three requests below
        self._abort_reason: str | None = None
        self._pause_reason: str | None = None
        self._resume_requested = False
        self._operator: list[tuple[str, Any]] = []  # operate() requests, in order
        self._pause: _Pause | None = None
        self._last_t: float | None = None
        self._last_force: float | None = None  # N, the last accepted load-cell reading
        self._backed_off = False  # after an over-pressure trip the actuator must not be told to hold

    # --- requests, from any thread ---------------------------------------------------------

    def abort(self, reason: str = "operator abort") -> None:
        """Ask the loop to stop at its next tick; the cleanup still runs."""
        with self._lock:
            self._abort_reason = self._abort_reason or reason

    def pause(self, reason: str = "operator pause") -> None:
        """Ask the loop to pause at its next tick (cycler resting, actuator holding) until `resume()`."""
        with self._lock:
            self._pause_reason = self._pause_reason or reason

    def resume(self) -> None:
        """Ask a paused run to resume at its next tick; refused (with an event) while an instrument is down."""
        with self._lock:
            self._resume_requested = True

    def operate(self, kind: str, value: Any = None) -> None:
        """Ask for one of the operator's requests (see the module doc) at the next tick."""
        if kind not in OPERATOR_REQUESTS:
            raise ValueError(f"unknown operator request {kind!r} (known: {', '.join(OPERATOR_REQUESTS)})")
        with self._lock:
            self._operator.append((kind, value))

    def _take_requests(self) -> tuple[str | None, str | None, bool, list[tuple[str, Any]]]:
        with self._lock:
            requests = (self._abort_reason, self._pause_reason, self._resume_requested, self._operator)
            self._pause_reason, self._resume_requested, self._operator = None, False, []
        return requests

    # --- the loop --------------------------------------------------------------------------

    def run(self, first: list[Command] | None = None) -> str:
        """Run the protocol to its end; returns the final state.

        `first`: the commands that begin the run, if not the runner's start (a
        resumed run's: those that put its restored step back in force).
        """
        self.state = "running"
        start = self.clock.now()
        begun = "resumed" if first is not None else "started"
        self.emit(Event(start, "run", f"run {begun}: protocol {self.runner.protocol.name!r}"))
        try:
            try:
                self._apply(self.runner.start(start) if first is None else first, start)
            except InstrumentError as exc:
                self._instrument_error(start, exc)
            deadline = start
            while self.state in ("running", "paused"):
                self.clock.sleep_until(deadline)
                self.tick()
                deadline = self._next_deadline(deadline)
        finally:
            self._cleanup()
        return self.state

    def _next_deadline(self, deadline: float) -> float:
        """The next tick's time: one period on, or when the runner wants its next sample if that is sooner
        (but at least `min_period` on), so a step ends close to when its end is met, not up to a period late."""
        regular = deadline + self.period
        if self.min_period >= self.period or self.state != "running":
            return regular
        due = self.runner.due()
        return max(due, deadline + self.min_period) if due < regular else regular  # (a NaN is not sooner)

    def tick(self) -> None:
        t = self.clock.now()
        abort, pause, resume, operator = self._take_requests()
        if abort is not None:
            for kind, value in operator:  # an operator's last words before the abort still go in the run file
                if kind == "note":
                    self._note(t, value)
            self.state = "aborted"
            self.emit(Event(t, "operator", f"run aborted: {abort}"))
            return
        sample, failures = self._read(t)
        before = self.state
        try:
            for kind, value in operator:
                self._operate(kind, value, sample)
            if self.state == "running":
                self._tick_running(sample, failures, pause)
            elif self.state == "paused":
                self._tick_paused(sample, failures, pause, resume)
        except InstrumentError as exc:
            self._instrument_error(t, exc)
        if self.state != before:
            sample = dataclasses.replace(sample, state=self.state)
        if len(failures) < 3:  # something could be read: publish it, NaN for what could not
            for callback in self._on_sample:
                callback(sample)
            if self._on_record and self.runner.should_record(sample):
                for callback in self._on_record:
                    callback(sample)

    def emit(self, event: Event) -> None:
        for callback in self._on_event:
            callback(event)

    def _tick_running(self, sample: Sample, failures: dict[str, InstrumentError], pause: str | None) -> None:
        t = sample.t
        if self._tripped(sample, failures):
            return
        if failures:
            self._failed(t, failures)
            return
        if pause is not None:
            regulating = self.regulator.active and self.actuator.regulated
            self._enter_pause(
                t, f"paused by the operator: {pause}", {"cause": "operator"}, operator=True, regulating=regulating
            )
            return
        alarm = self._regulate(sample)
        if alarm is not None:
            self._alarm(alarm, sample)
            return
        self._apply(self.runner.update(sample), t)
        if self.runner.finished:
            self.state = "finished"

    def _tick_paused(
        self, sample: Sample, failures: dict[str, InstrumentError], pause: str | None, resume: bool
    ) -> None:
        t = sample.t
        paused = self._pause
        assert paused is not None
        if self._tripped(sample, failures):
            return
        if paused.regulating:
            alarm = None if failures else self._regulate(sample)
            if failures or alarm is not None:
                paused.regulating = paused.holding = False  # the actuator holds where it is from now on
            if alarm is not None:
                self._alarm(alarm, sample)
                return
        failing = {**failures}
        for name, exc in self._make_safe().items():  # retried every tick until done
            failing.setdefault(name, exc)
        for name in sorted(paused.failing - failing.keys()):
            self.emit(Event(t, "recovered", f"{name} answers again", {"instrument": name}))
        for name in sorted(failing.keys() - paused.failing):
            self._fault(t, failing[name], stop=False)
        paused.failing = set(failing)
        healthy = not failing and paused.rested and paused.holding
        paused.healthy = paused.healthy + 1 if healthy else 0
        if pause is not None:
            paused.operator = True  # the operator takes over: no automatic resume
        paused_for = t - paused.since
        if paused_for > self.max_pause:
            self.state = "aborted"
            self.emit(
                Event(
                    t,
                    "alarm",
                    f"paused for {paused_for:g} s, longer than max_pause ({self.max_pause:g} s): run aborted "
                    f"({paused.reason})",
                    {"kind": "max_pause", "paused_for": paused_for, "max_pause": self.max_pause,
                     "reason": paused.reason},
                )
            )
            return
        if resume:
            if healthy:
                self._resume(t, "operator")
            else:
                waiting = ", ".join(sorted(paused.failing)) or "the safe state"
                self.emit(Event(t, "warning", f"resume refused: still waiting for {waiting}",
                                {"failing": sorted(paused.failing)}))
        elif not paused.operator and paused.healthy >= RESUME_TICKS:
            self._resume(t, "auto")

    # --- the operator ----------------------------------------------------------------------

    def _operate(self, kind: str, value: Any, sample: Sample) -> None:
        t = sample.t
        if kind == "note":
            self._note(t, value)
            return
        if self.state != "running":
            self.emit(Event(t, "warning", f"operator request {kind!r} refused: the run is {self.state}",
                            {"request": kind, "value": value}))
            return
        try:
            message = getattr(self, f"_operate_{kind}")(value, sample)
        except (SetpointRefused, ValueError) as exc:
            self.emit(Event(t, "warning", f"operator request {kind!r} refused: {exc}",
                            {"request": kind, "value": value}))
            return
        self.emit(Event(t, "operator", message, {"request": kind, "value": value}))

    def _note(self, t: float, text: Any) -> None:
        self.emit(Event(t, "note", str(text), {"by": "operator"}))

    def _operate_skip(self, _value: Any, sample: Sample) -> str:
        step = self.runner.step
        if step is None:
            raise ValueError("no step is running")
        self._apply(self.runner.skip(sample.t), sample.t)
        if self.runner.finished:
            self.state = "finished"
        return f"step {step.text!r} skipped"

    def _operate_setpoint(self, setpoint: Any, _sample: Sample) -> str:
        if not self.actuator.regulated:
            raise ValueError(f"{self.actuator.name} cannot regulate a pressure")
        setpoint = float(setpoint)
        self.interlocks.check_setpoint(setpoint)
        self._engage(setpoint)
        return f"pressure setpoint {setpoint / 1e6:g} MPa"

    def _operate_manual(self, command: Any, _sample: Sample) -> str:
        if command is not None:
            command = float(command)
            self._check_manual(command)
        self.regulator.manual(command)
        return f"manual: actuator at {'its last command' if command is None else f'{command:g}'}"

    def _operate_jog(self, delta: Any, sample: Sample) -> str:
        if not math.isfinite(sample.actuator):
            raise ValueError("the actuator's position is unknown")
        command = sample.actuator + float(delta)
        self._check_manual(command)
        self.regulator.manual(command)
        return f"manual: actuator jogged by {float(delta):g} to {command:g} {self.actuator.command_unit}"

    def _operate_automatic(self, _value: Any, _sample: Sample) -> str:
        if self.regulator.mode != "manual":
            raise ValueError("the regulator is in automatic already")
        self.regulator.automatic()
        return "automatic: the regulator drives the actuator again"

    def _operate_gains(self, gains: Any, _sample: Sample) -> str:
        self.regulator.retune(gains)
        return f"regulator gains kp = {gains.kp:.4g}, ki = {gains.ki:.4g}, kd = {gains.kd:.4g}"

    def _check_manual(self, command: float) -> None:
        """Refuse a manual command outside the actuator's range, or a force above the hard limit."""
        low, high = self.actuator.command_range
        unit = self.actuator.command_unit
        if not (math.isfinite(command) and low <= command <= high):
            raise ValueError(f"{command:g} {unit} is outside {self.actuator.name}'s range {low:g}..{high:g} {unit}")
        if unit == "N" and command > self.interlocks.max_pressure * self.area:
            raise ValueError(f"{command:g} N is above the hard limit "
                             f"({self.interlocks.max_pressure / 1e6:g} MPa on {self.area * 1e4:g} cm2)")

    # --- reading ---------------------------------------------------------------------------

    def _read(self, t: float) -> tuple[Sample, dict[str, InstrumentError]]:
        """One sample; what could not be read is NaN in it and its error is in the dict, by instrument."""
        failures: dict[str, InstrumentError] = {}

        def attempt(read: Callable[[], Any], default: Any) -> Any:
            try:
                return read()
            except InstrumentError as exc:
                failures.setdefault(exc.instrument, exc)
                return default

        reading = attempt(self._read_cycler, _NO_READING)
        force = attempt(lambda: self._read_force(t), math.nan)
        actuator, gap = attempt(self.actuator.read_state, (math.nan, math.nan))
        sample = Sample(
            t=t,
            voltage=reading.voltage,
            current=reading.current,
            charge=reading.charge,
            temperature=reading.temperature,
            force=force,
            pressure=force / self.area,
            setpoint=self.regulator.setpoint,
            gap=gap,
            thickness=gap - self.other_layers_thickness,
            actuator=actuator,
            step=self.runner.step_count,
            cycle=self.runner.cycle_count,
            state=self.state,
        )
        return sample, failures

    def _read_cycler(self) -> CyclerReading:
        """The cycler's reading; one without a voltage or a current is no reading (a missing one)."""
        reading = self.cycler.read()
        if not (math.isfinite(reading.voltage) and math.isfinite(reading.current)):
            raise InstrumentError(self.cycler.name, f"no valid reading ({reading.voltage!r} V, {reading.current!r} A)")
        return reading

    def _read_force(self, t: float) -> float:
        """The load cell's reading, N; a sudden jump is confirmed by a second read (see the module doc)."""
        sensor = self.force_sensor
        jump = SPIKE_JUMP * self.area
        try:
            first = sensor.read_force()
        except OutOfRange:
            first = math.nan  # over range: a second read confirms it (by raising again) or not
        last = self._last_force
        if math.isfinite(first) and (last is None or abs(first - last) <= jump):
            self._last_force = first
            return first
        second = sensor.read_force()
        if not math.isfinite(second):
            raise InstrumentError(sensor.name, f"no valid reading ({second!r}) on two reads")
        if math.isfinite(first) and abs(second - first) <= jump:
            accepted = second  # a real change, confirmed
        else:
            if last is not None and math.isfinite(first) and abs(first - last) < abs(second - last):
                accepted, rejected = first, second
            else:
                accepted, rejected = second, first
            shown = f"{rejected:.1f} N" if math.isfinite(rejected) else "over range"
            self.emit(
                Event(
                    t,
                    "warning",
                    f"{sensor.name}: a reading ({shown}) was not confirmed by a second read "
                    f"({accepted:.1f} N) and was discarded",
                    {"instrument": sensor.name, "rejected": rejected, "accepted": accepted},
                )
            )
        self._last_force = accepted
        return accepted

    # --- acting ----------------------------------------------------------------------------

    def _regulate(self, sample: Sample) -> Alarm | None:
        """Command the actuator for this sample, unless a pressure alarm says not to (returned)."""
        dt = self.period if self._last_t is None else sample.t - self._last_t
        self._last_t = sample.t
        if not self.regulator.active:
            return None
        alarm = self.watch.check_pressure(sample)
        if alarm is not None:
            return alarm
        command = self.regulator.update(sample, dt)
        alarm = self.watch.check_command(sample, command)
        if alarm is not None:
            return alarm
        self.actuator.command(command)
        self.watch.commanded(command)
        return None

    def _apply(self, commands: list[Command], t: float) -> None:
        for command in commands:
            if self.state != "running":
                return  # a trip on an earlier command: nothing more goes to the instruments
            match command:
                case ApplyCurrent(current, voltage_limit):
                    self.cycler.apply_current(current, voltage_limit)
                case ApplyVoltage(voltage, current_limit):
                    self.cycler.apply_voltage(voltage, current_limit)
                case Rest():
                    self.cycler.rest()
                case HoldPressure(setpoint, rate):
                    self._hold_pressure(setpoint, t, rate)
                case ReleasePressure():
                    self._hold_pressure(self.safe_preload, t)

    def _engage(self, setpoint: float, rate: float | None = None) -> None:
        """The regulator holds `setpoint` Pa from the actuator's readback (bumpless), its alarms' history
        forgotten: the transient of a new setpoint or of a re-engagement is no alarm."""
        self.regulator.hold(setpoint, self.actuator.read_command(), rate)
        self.watch.engage()

    def _hold_pressure(self, setpoint: float, t: float, rate: float | None = None) -> None:
        """Hold `setpoint` Pa from now on, reached at `rate` Pa/s if given (a protocol's ramp)."""
        try:
            self.interlocks.check_setpoint(setpoint)
        except SetpointRefused as exc:
            self._trip(Trip("setpoint_refused", str(exc), {"setpoint": setpoint}), None)
            return
        if self.actuator.regulated:
            self._engage(setpoint, rate)
            self.emit(Event(t, "pressure", f"holding {setpoint / 1e6:g} MPa", {"setpoint": setpoint}))
            return
        self.actuator.command(setpoint * self.area)
        self.emit(
            Event(
                t,
                "warning",
                f"{self.actuator.name} cannot regulate: {setpoint / 1e6:g} MPa set once as a preload; "
                "the pressure is NOT regulated and will follow the cell's swelling",
                {"preload": setpoint},
            )
        )

    # --- trips, faults, alarms, pauses ----------------------------------------------------------

    def _tripped(self, sample: Sample, failures: dict[str, InstrumentError]) -> bool:
        """Check the interlocks (on what could be read) and trip; True if the run ended here."""
        over_range = failures.get(self.force_sensor.name)
        if isinstance(over_range, OutOfRange):
            self._trip(
                Trip(
                    "load_cell_over_range",
                    f"the load cell is over its range ({over_range}): the pressure is beyond what it can "
                    "measure",
                    {"instrument": over_range.instrument, "limit": self.interlocks.max_pressure},
                ),
                sample,
            )
            return True
        trip = self.interlocks.check(sample)
        if trip is None:
            return False
        self._trip(trip, sample)
        return True

    def _trip(self, trip: Trip, sample: Sample | None) -> None:
        t = self.clock.now() if sample is None else sample.t
        self.state = "tripped"
        self.emit(Event(t, "trip", trip.message, {"kind": trip.kind, **trip.values}))
        self._try(self.cycler.rest, t)
        if trip.kind in ("over_pressure", "load_cell_over_range"):
            self.regulator.release()
            if self.actuator.regulated:
                pressure = self.safe_preload if sample is None else sample.pressure
                if not math.isfinite(pressure):  # over range: at least the hard limit
                    pressure = self.interlocks.max_pressure
                try:
                    self._back_off(pressure)
                except InstrumentError as exc:
                    self.emit(Event(t, "fault", f"backing off: {exc}", {"instrument": exc.instrument}))

    def _alarm(self, alarm: Alarm, sample: Sample) -> None:
        """A pressure alarm: pause for the operator, or end the run with `on_fault = "stop"`."""
        data = {"kind": alarm.kind, **alarm.values}
        self.emit(Event(sample.t, "alarm", alarm.message, data))
        if self.on_fault == "stop":
            self.state = "tripped"  # the cleanup rests the cycler and holds the actuator
            return
        self._enter_pause(sample.t, alarm.message, data, operator=True)

    def _failed(self, t: float, failures: dict[str, InstrumentError]) -> None:
        """Instruments failed while running: OutOfRange ends the run; the rest pause it (or stop it)."""
        refused = next((exc for exc in failures.values() if isinstance(exc, OutOfRange)), None)
        if refused is not None:
            self._fault(t, refused)
            return
        for exc in failures.values():
            self._fault(t, exc, stop=self.on_fault == "stop")
        if self.state == "running":
            names = sorted(failures)
            self._enter_pause(
                t,
                f"{', '.join(names)} not answering",
                {"cause": "fault", "instruments": names, "errors": [str(e) for e in failures.values()]},
                operator=not self.auto_resume,
                failing=set(names),
            )

    def _instrument_error(self, t: float, exc: InstrumentError) -> None:
        """An instrument failed while being commanded."""
        if self.state == "running":
            self._failed(t, {exc.instrument: exc})
        else:  # the run has ended already: record it
            self._fault(t, exc, stop=False)

    def _fault(self, t: float, exc: InstrumentError, stop: bool = True) -> None:
        """Record an instrument's failure as a "fault" event; `stop`: it also ends the run."""
        if stop:
            self.state = "fault"
        self.emit(Event(t, "fault", str(exc), {"instrument": exc.instrument}))

    def _enter_pause(
        self,
        t: float,
        reason: str,
        data: dict[str, Any],
        *,
        operator: bool,
        failing: set[str] | None = None,
        regulating: bool = False,
    ) -> None:
        self.state = "paused"
        self.runner.pause(t)
        self._pause = _Pause(
            since=t, reason=reason, operator=operator, failing=set(failing or ()), holding=regulating,
            regulating=regulating,
        )
        waiting = "the operator" if operator else "the instruments to answer again"
        actuator = "pressure held by the regulator" if regulating else "actuator holding"
        self.emit(
            Event(
                t,
                "pause",
                f"run paused: {reason}; cycler resting, {actuator}; waiting for {waiting} "
                f"(at most {self.max_pause:g} s)",
                {**data, "resume": "operator" if operator else "auto", "max_pause": self.max_pause,
                 "step": self.runner.step_count, "cycle": self.runner.cycle_count},
            )
        )
        paused = self._pause
        for name, exc in self._make_safe().items():
            if name not in paused.failing:
                paused.failing.add(name)
                self._fault(t, exc, stop=False)

    def _make_safe(self) -> dict[str, InstrumentError]:
        """Cycler resting, actuator holding: each tried until it has been done once. What failed, by name."""
        paused = self._pause
        assert paused is not None
        failed: dict[str, InstrumentError] = {}
        if not paused.rested:
            try:
                self.cycler.rest()
                paused.rested = True
            except InstrumentError as exc:
                failed[exc.instrument] = exc
        if not paused.holding:
            try:
                self.actuator.stop()
                paused.holding = True
            except InstrumentError as exc:
                failed[exc.instrument] = exc
        return failed

    def _resume(self, t: float, by: str) -> None:
        paused = self._pause
        assert paused is not None
        self._pause = None
        self.state = "running"
        self._last_t = None
        paused_for = t - paused.since
        self.emit(
            Event(
                t,
                "resume",
                f"run resumed ({by}) after {paused_for:g} s paused: {paused.reason}",
                {"by": by, "paused_for": paused_for, "reason": paused.reason,
                 "step": self.runner.step_count, "cycle": self.runner.cycle_count},
            )
        )
        if self.actuator.regulated:
            setpoint = self.regulator.setpoint
            if not math.isnan(setpoint):  # re-engage from where the actuator is now: bumpless
                self.regulator.release()
                self._engage(setpoint, self.runner.pressure_rate)
            elif not self.regulator.active and self.runner.pressure_setpoint is not None:
                self._hold_pressure(self.runner.pressure_setpoint, t)  # it failed to engage before the pause
        self._apply(self.runner.resume(t), t)
        if self.runner.finished:
            self.state = "finished"

    def _back_off(self, pressure: float) -> None:
        """Command the actuator down from `pressure` Pa to the safe preload, at once (see regulator.back_off)."""
        readback = self.actuator.read_command()
        self.actuator.command(self.regulator.back_off(self.safe_preload, pressure, readback))
        self._backed_off = True

    def _release(self) -> None:
        """An aborted run's cleanup with `on_abort = "release"`: down to the safe preload (the loop has ended)."""
        self.regulator.release()
        if not self.actuator.regulated:
            self.actuator.stop()  # a preload set once cannot be taken back by command: it holds
            return
        pressure = self._last_force / self.area if self._last_force is not None else self.interlocks.max_pressure
        self._back_off(pressure)
        self.emit(Event(self.clock.now(), "pressure", f"released to the safe preload, {self.safe_preload / 1e6:g} MPa",
                        {"setpoint": self.safe_preload}))

    def _try(self, action: Callable[[], None], t: float) -> None:
        try:
            action()
        except InstrumentError as exc:
            self._fault(t, exc, stop=False)

    def _cleanup(self) -> None:
        """Cycler output off and actuator held (or, aborted with `on_abort = "release"`, down to the safe
        preload), each tried even if the other fails."""
        t = self.clock.now()
        actions = [self.cycler.rest] if self._backed_off else [self.cycler.rest, self.actuator.stop]
        if self.state == "aborted" and self.on_abort == "release" and not self._backed_off:
            actions[1:] = [self._release]
        for action in actions:
            try:
                action()
            except InstrumentError as exc:
                self.emit(Event(t, "fault", f"cleanup: {exc}", {"instrument": exc.instrument}))
        self.emit(Event(t, "run", f"run ended: {self.state}", {"state": self.state}))
