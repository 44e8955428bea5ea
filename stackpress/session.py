"""A session: one protocol run on one bench, recorded to one run file.

This is what the command line, scripts and (later) the GUI talk to. It checks
the protocol against the bench before anything moves, wires the engine to the
instruments and the recorder, and makes sure the run file is closed whatever
happens. `abort()`, `pause()` and `resume()` are safe to call from any thread
(`abort()` also from a signal handler); they take effect at the engine's next tick.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path

from stackpress import __version__
from stackpress.bench import Bench
from stackpress.clock import Clock
from stackpress.control.engine import Engine
from stackpress.control.interlocks import Interlocks
from stackpress.control.regulator import PressureRegulator
from stackpress.data.recorder import Recorder
from stackpress.drivers.roles import Actuator
from stackpress.protocols.load import check_against_bench
from stackpress.protocols.runner import Runner
from stackpress.protocols.steps import Protocol
from stackpress.sample import Event, Sample


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
        make_regulator: Callable[[Bench, Actuator], PressureRegulator] = PressureRegulator.from_bench,
    ) -> None:
        """`make_regulator(bench, actuator)`: what drives the actuator; by default the bench's [regulator]
        (an auto-tuner stands in its place for a tuning run)."""
        check_against_bench(
            protocol,
            capacity=bench.capacity,
            area=bench.area,
            max_pressure=bench.max_pressure,
            max_current=bench.max_current,
        )
        self.clock = clock if clock is not None else bench.make_clock()
        instruments, other_layers = bench.connect(self.clock, seed)
        self._bench, self._instruments = bench, instruments
        regulator = make_regulator(bench, instruments.actuator)  # before the run file: a refusal leaves none
        self.path = Path(out)
        self.recorder = Recorder(self.path, meta=_meta(protocol, bench, seed), overwrite=overwrite)
        self._event_sinks = (self.recorder.event, *on_event)
        runner = Runner(
            protocol,
            capacity=bench.capacity,
            area=bench.area,
            current_limit=bench.max_current,
            on_event=self._emit,
        )
        self.engine = Engine(
            clock=self.clock,
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
            safe_preload=bench.safe_preload,
            on_sample=(self.recorder.sample, *on_sample),
            on_event=self._event_sinks,
        )

    def run(self) -> str:
        """Run to the end; the run file is closed however the run ends. Returns the final state."""
        try:
            return self.engine.run()
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

    @property
    def state(self) -> str:
        """The engine's state: idle, running, paused, tripped, fault, aborted or finished."""
        return self.engine.state

    def _emit(self, event: Event) -> None:
        for sink in self._event_sinks:
            sink(event)


def _meta(protocol: Protocol, bench: Bench, seed: int) -> dict[str, str]:
    return {
        "software_version": __version__,
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
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
