"""The engine: the one loop that talks to the instruments, at a fixed rate.

One tick: read every instrument into one `Sample`; check the interlocks;
update the regulator and command the actuator; let the runner decide the
protocol's next command; publish the sample. Samples flow out through the
`on_sample` callbacks (recorder, progress, live view); commands come in only
from the runner and from `abort()`, which is safe to call from any thread.

Whatever ends the run — the protocol's end, an interlock trip, an instrument
fault, an abort or a bug — the cleanup runs: the cycler output goes off and
the actuator holds where it is.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stackpress.clock import Clock
from stackpress.control.interlocks import Interlocks, SetpointRefused, Trip
from stackpress.control.regulator import PressureRegulator
from stackpress.drivers.errors import InstrumentError
from stackpress.drivers.roles import Actuator, Cycler, ForceSensor
from stackpress.protocols.commands import ApplyCurrent, ApplyVoltage, Command, HoldPressure, Rest
from stackpress.protocols.runner import Runner
from stackpress.sample import Event, Sample


@dataclass(frozen=True, slots=True)
class Instruments:
    cycler: Cycler
    force_sensor: ForceSensor
    actuator: Actuator


class Engine:
    def __init__(
        self,
        *,
        clock: Clock,
        instruments: Instruments,
        runner: Runner,
        regulator: PressureRegulator,
        interlocks: Interlocks,
        area: float,
        other_layers_thickness: float,
        period: float,
        safe_preload: float,
        on_sample: Sequence[Callable[[Sample], None]] = (),
        on_event: Sequence[Callable[[Event], None]] = (),
    ) -> None:
        self.clock = clock
        self.cycler = instruments.cycler
        self.force_sensor = instruments.force_sensor
        self.actuator = instruments.actuator
        self.runner = runner
        self.regulator = regulator
        self.interlocks = interlocks
        self.area = area
        self.other_layers_thickness = other_layers_thickness
        self.period = period
        self.safe_preload = safe_preload  # Pa: where the actuator backs off to on over-pressure
        self._on_sample = tuple(on_sample)
        self._on_event = tuple(on_event)
        self.state = "idle"
        self._abort_reason: str | None = None
        self._abort_lock = threading.Lock()
        self._last_t: float | None = None
        self._backed_off = False  # after an over-pressure trip the actuator must not be told to hold

    def abort(self, reason: str = "operator abort") -> None:
        """Ask the loop to stop at its next tick; the cleanup still runs."""
        with self._abort_lock:
            self._abort_reason = self._abort_reason or reason

    def run(self) -> str:
        """Run the protocol to its end; returns the final state."""
        self.state = "running"
        start = self.clock.now()
        self.emit(Event(start, "run", f"run started: protocol {self.runner.protocol.name!r}"))
        try:
            try:
                self._apply(self.runner.start(start), start)
            except InstrumentError as exc:
                self._fault(start, exc)
            deadline = start
            while self.state == "running":
                self.clock.sleep_until(deadline)
                self.tick()
                deadline += self.period
        finally:
            self._cleanup()
        return self.state

    def tick(self) -> None:
        t = self.clock.now()
        with self._abort_lock:
            reason = self._abort_reason
        if reason is not None:
            self.state = "aborted"
            self.emit(Event(t, "operator", f"run aborted: {reason}"))
            return
        try:
            sample = self._read(t)
        except InstrumentError as exc:
            self._fault(t, exc)
            return
        before = self.state
        trip = self.interlocks.check(sample)
        try:
            if trip is not None:
                self._trip(trip, sample)
            else:
                self._regulate(sample)
                self._apply(self.runner.update(sample), t)
                if self.runner.finished:
                    self.state = "finished"
        except InstrumentError as exc:
            self._fault(t, exc)
        if self.state != before:
            sample = dataclasses.replace(sample, state=self.state)
        for callback in self._on_sample:
            callback(sample)

    def emit(self, event: Event) -> None:
        for callback in self._on_event:
            callback(event)

    def _read(self, t: float) -> Sample:
        reading = self.cycler.read()
        force = self.force_sensor.read_force()
        gap = self.actuator.read_gap()
        return Sample(
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
            actuator=self.actuator.read_command(),
            step=self.runner.step_count,
            cycle=self.runner.cycle_count,
            state=self.state,
        )

    def _regulate(self, sample: Sample) -> None:
        dt = self.period if self._last_t is None else sample.t - self._last_t
        self._last_t = sample.t
        if self.regulator.active:
            self.actuator.command(self.regulator.update(sample, dt))

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
                case HoldPressure(setpoint):
                    self._hold_pressure(setpoint, t)

    def _hold_pressure(self, setpoint: float, t: float) -> None:
        try:
            self.interlocks.check_setpoint(setpoint)
        except SetpointRefused as exc:
            self._trip(Trip("setpoint_refused", str(exc), {"setpoint": setpoint}), None)
            return
        if self.actuator.regulated:
            self.regulator.hold(setpoint, self.actuator.read_command())
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

    def _trip(self, trip: Trip, sample: Sample | None) -> None:
        t = self.clock.now() if sample is None else sample.t
        self.state = "tripped"
        self.emit(Event(t, "trip", trip.message, {"kind": trip.kind, **trip.values}))
        self.cycler.rest()
        if trip.kind == "over_pressure":
            self.regulator.release()
            if self.actuator.regulated:
                pressure = self.safe_preload if sample is None else sample.pressure
                readback = self.actuator.read_command()
                self.actuator.command(self.regulator.back_off(self.safe_preload, pressure, readback))
                self._backed_off = True

    def _fault(self, t: float, exc: InstrumentError) -> None:
        self.state = "fault"
        self.emit(Event(t, "fault", str(exc), {"instrument": exc.instrument}))

    def _cleanup(self) -> None:
        """Cycler output off and actuator held, each tried even if the other fails."""
        t = self.clock.now()
        actions = [self.cycler.rest] if self._backed_off else [self.cycler.rest, self.actuator.stop]
        for action in actions:
            try:
                action()
            except InstrumentError as exc:
                self.emit(Event(t, "fault", f"cleanup: {exc}", {"instrument": exc.instrument}))
        self.emit(Event(t, "run", f"run ended: {self.state}", {"state": self.state}))
