"""A session: one protocol run on one bench, recorded to one run file.

This is what the command line, scripts and (later) the GUI talk to. It checks
the protocol against the bench before anything moves, wires the engine to the
instruments and the recorder, and makes sure the run file is closed whatever
happens. `abort()`, `pause()` and `resume()` are safe to call from any thread
(`abort()` also from a signal handler), as are the operator's requests (`note`,
`skip_step`, `set_pressure`, `manual`, `jog`, `automatic`); they take effect at
the engine's next tick, each recorded as an event.
"""

from __future__ import annotations

import base64
import datetime
import math
import pickle
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackpress import __version__
from stackpress.bench import Bench, parse_bench
from stackpress.clock import Clock
from stackpress.control.engine import Engine
from stackpress.control.interlocks import Interlocks
from stackpress.control.pid import Gains
from stackpress.control.regulator import PressureRegulator, Regulator
from stackpress.data.recorder import Recorder, RecordingPolicy
from stackpress.data.runfile import last_checkpoint, last_sample_time, read_meta
from stackpress.drivers.roles import Actuator
from stackpress.protocols.commands import Command
from stackpress.protocols.load import parse_protocol_text
from stackpress.protocols.runner import Runner
from stackpress.protocols.steps import Protocol
from stackpress.sample import Event, Sample

if TYPE_CHECKING:
    from stackpress.sims.world import SimWorld


CHECKPOINT_EVERY = 0.5  # s of wall time between the runner's checkpoints (and one at every new step)
RUNNER_DECIDES = RecordingPolicy(interval=0.0)  # the recorder keeps what it is offered: the protocol's recording


class ResumeError(ValueError):
    """A run file that cannot be resumed (it has no checkpoint, or its protocol cannot be restored)."""


class Session:
    def __init__(
        self,
        protocol: Protocol,
        bench: Bench,
        out: Path,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        overwrite: bool = False,
        on_sample: Sequence[Callable[[Sample], None]] = (),
        on_event: Sequence[Callable[[Event], None]] = (),
        make_regulator: Callable[[Bench, Actuator], Regulator] = PressureRegulator.from_bench,
    ) -> None:
        """`make_regulator(bench, actuator)`: what drives the actuator; by default the bench's [regulator]
        (an auto-tuner stands in its place for a tuning run)."""
        bench.check_protocol(protocol)
        self._assemble(
            protocol,
            bench,
            clock if clock is not None else bench.make_clock(),
            seed=seed,
            open_recorder=lambda: Recorder(
                Path(out), meta=_meta(protocol, bench, seed), policy=RUNNER_DECIDES, overwrite=overwrite
            ),
            on_sample=on_sample,
            on_event=on_event,
            make_regulator=make_regulator,
        )

    @classmethod
    def continue_run(
        cls,
        path: Path,
        *,
        on_sample: Sequence[Callable[[Sample], None]] = (),
        on_event: Sequence[Callable[[Event], None]] = (),
        make_clock: Callable[[float], Clock] | None = None,
    ) -> Session:
        """Go on with the run in `path` whose process died (a power cut, kill -9), appending to its run file.

        The protocol and the bench are the run file's own copies. The runner goes on
        from its last checkpoint (the step it was in, its elapsed time and charge, the
        step and cycle counters); the time goes on from the last sample (virtual time),
        or from the wall time since the run started (instruments), and the gap is an
        event. A simulated bench's world goes on from its state at that checkpoint, with
        the commands it had then; real instruments are where the crash left them.
        `make_clock(start)`: the run's clock, reading `start` s now (default: the bench's
        own, `Bench.make_clock`; the GUI paces simulated time with its own).
        """
        path = Path(path)
        meta = read_meta(path)
        checkpoint = last_checkpoint(path)
        if checkpoint is None:
            raise ResumeError(f"{path}: the run stored no checkpoint before it stopped: nothing to resume from")
        protocol, bench = recorded_setup(meta)
        start = last_sample_time(path)
        start = checkpoint.t if start is None else start
        start += bench.period
        if not bench.simulated:  # the instruments went on in real time: so does the run's clock
            started = datetime.datetime.fromisoformat(meta["started_at"])
            since = (datetime.datetime.now(datetime.UTC) - started).total_seconds() * bench.clock_speed
            start = max(start, since)
        position = checkpoint.position
        world = pickle.loads(base64.b64decode(position["world"])) if "world" in position else None
        session = cls.__new__(cls)
        session._assemble(
            protocol,
            bench,
            (make_clock or bench.make_clock)(start),
            seed=int(meta["seed"]),
            world=world,
            open_recorder=lambda: Recorder(path, meta={"resumed_at": _now()}, policy=RUNNER_DECIDES, resume_at=start),
            restore=position["runner"],
            on_sample=on_sample,
            on_event=on_event,
        )
        return session

    def _assemble(
        self,
        protocol: Protocol,
        bench: Bench,
        clock: Clock,
        *,
        seed: int,
        open_recorder: Callable[[], Recorder],
        on_sample: Sequence[Callable[[Sample], None]],
        on_event: Sequence[Callable[[Event], None]],
        make_regulator: Callable[[Bench, Actuator], Regulator] = PressureRegulator.from_bench,
        world: SimWorld | None = None,
        restore: dict[str, Any] | None = None,
    ) -> None:
        """Instruments, regulator, run file, runner (new, or restored from `restore`) and engine, in that order."""
        self.clock = clock
        instruments, other_layers = bench.connect(clock, seed, world=world)
        self._bench, self._instruments = bench, instruments
        self._world = getattr(instruments.force_sensor, "world", None)  # a simulated bench's, for checkpoints
        regulator = make_regulator(bench, instruments.actuator)  # before the run file: a refusal leaves none
        self.recorder = open_recorder()
        self.path = self.recorder.path
        self._event_sinks = (self.recorder.event, *on_event)
        runner_settings = {
            "capacity": bench.capacity,
            "area": bench.area,
            "current_limit": bench.max_current,
            "on_event": self._emit,
        }
        self._first: list[Command] | None = None
        if restore is None:
            runner = Runner(protocol, **runner_settings)
        else:
            try:
                runner, self._first = Runner.restore(protocol, restore, clock.now(), **runner_settings)
            except ValueError as exc:
                self.recorder.close()
                raise ResumeError(f"{self.path}: {exc}") from exc
        self._checkpointed = (-math.inf, -1)  # (wall time, step) of the last checkpoint
        self.engine = Engine(
            clock=clock,
            instruments=instruments,
            runner=runner,
            regulator=regulator,
            interlocks=Interlocks(
                bench.max_pressure,
                protocol.limits.voltage_min,
                protocol.limits.voltage_max,
                pressure_min=protocol.limits.pressure_min,
                pressure_max=protocol.limits.pressure_max,
                max_current=bench.max_current,
            ),
            area=bench.area,
            other_layers_thickness=other_layers,
            period=bench.period,
            min_period=bench.min_period,
            safe_preload=bench.safe_preload,
            on_sample=on_sample,
            on_record=(self.recorder.sample, self._checkpoint),
            on_event=self._event_sinks,
        )

    def run(self) -> str:
        """Run to the end; the run file is closed however the run ends. Returns the final state."""
        try:
            return self.engine.run(self._first)
        finally:
            self.recorder.close()
            self._bench.disconnect(self._instruments)

    def abort(self, reason: str = "operator abort") -> None:
        self.engine.abort(reason)

    def pause(self, reason: str = "operator pause") -> None:
        """Pause the run (cycler resting, actuator holding) until `resume()`; its place is kept."""
        self.engine.pause(reason)

    def resume(self) -> None:
        """Resume a paused run, if every instrument answers; the current step goes on where it was."""
        self.engine.resume()

    def note(self, text: str) -> None:
        """Add the operator's note to the run file (an event "note"), in any state."""
        self.engine.operate("note", text)

    def skip_step(self) -> None:
        """End the current step now and go on with the next one."""
        self.engine.operate("skip")

    def set_pressure(self, setpoint: float) -> None:
        """Hold a new setpoint, Pa; refused (a warning event) outside the hard limit or the protocol's window."""
        self.engine.operate("setpoint", setpoint)

    def manual(self, command: float | None = None) -> None:
        """The actuator gets `command` (N or m: its `command_unit`) every tick, None: its last; interlocks stay on."""
        self.engine.operate("manual", command)

    def jog(self, delta: float) -> None:
        """Manual, moved by `delta` (N or m) from the actuator's last readback."""
        self.engine.operate("jog", delta)

    def automatic(self) -> None:
        """The regulator takes the actuator back, bumpless."""
        self.engine.operate("automatic")

    def set_gains(self, gains: Gains) -> None:
        """New regulator gains (units as in the bench's [regulator]) from the next tick; refused if not positive."""
        self.engine.operate("gains", gains)

    @property
    def gains(self) -> Gains:
        """The regulator's gains now."""
        return self.engine.regulator.gains

    @property
    def actuator_command(self) -> tuple[str, tuple[float, float]]:
        """The actuator's command unit ("N" for a ram, "m" for a motor) and range: what `manual` and `jog` take."""
        actuator = self._instruments.actuator
        return actuator.command_unit, actuator.command_range

    @property
    def state(self) -> str:
        """The engine's state: idle, running, paused, tripped, fault, aborted or finished."""
        return self.engine.state

    def _emit(self, event: Event) -> None:
        for sink in self._event_sinks:
            sink(event)

    def _checkpoint(self, sample: Sample) -> None:
        """Store where the run is with this sample: at every new step, else every CHECKPOINT_EVERY wall seconds.

        The recorder commits about once a wall second, with the last checkpoint before
        it, so a crash never finds a step change between the checkpoint on disk and the
        samples after it. A simulated bench's world goes with it (pickled: the cell's
        state is the run's as much as the runner's place is); it costs ~0.5 ms, hence
        wall time rather than run time, which runs thousands of times faster in simulation.
        """
        wall, step = self._checkpointed
        now = time.monotonic()
        if now - wall < CHECKPOINT_EVERY and sample.step == step:
            return
        self._checkpointed = (now, sample.step)
        position: dict[str, Any] = {"runner": self.engine.runner.position()}
        if self._world is not None:
            position["world"] = base64.b64encode(pickle.dumps(self._world)).decode("ascii")
        self.recorder.checkpoint(position)


def recorded_setup(meta: dict[str, str]) -> tuple[Protocol, Bench]:
    """The protocol and the bench a run file's meta holds (`_meta` wrote them): its own copies, to go on with.

    ResumeError for a Python-script protocol: its text is a script, and its place in its generator was
    never stored.
    """
    if meta["protocol_source"].endswith(".py"):
        raise ResumeError(f"its protocol is a Python script ({meta['protocol_source']}), whose place in its "
                          "generator cannot be stored: start the script again on a new run file")
    protocol = parse_protocol_text(meta["protocol"], meta["protocol_source"])
    bench = parse_bench(
        tomllib.loads(meta["bench"]), text=meta["bench"], source=meta["bench_source"], default_name=meta["bench_name"]
    )
    return protocol, bench


def _meta(protocol: Protocol, bench: Bench, seed: int) -> dict[str, str]:
    return {
        "software_version": __version__,
        "started_at": _now(),
        "protocol_name": protocol.name,
        "protocol_source": protocol.source,
        "protocol": protocol.text,
        "bench_name": bench.name,
        "bench_source": bench.source,
        "bench": bench.text,
        "seed": str(seed),
        "area": repr(bench.area),
        "nominal_capacity": repr(bench.capacity),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
