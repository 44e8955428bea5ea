"""A relay auto-tune run: a Session with the relay tuner (control.autotune) in the regulator's place.

It lives beside the session, not in control/: it assembles a whole run (bench,
protocol, recorder, engine), which the controllers must know nothing of.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from stackpress.bench import Bench
from stackpress.control.autotune import WINDOW, RelayTuner, TuneProgress, TuneRefused, TuneResult, check_tunable
from stackpress.drivers.roles import Actuator
from stackpress.protocols.load import parse_protocol_text
from stackpress.sample import Sample
from stackpress.session import Session


def _protocol_text(setpoint: float, max_time: float) -> str:
    return (
        'name = "relay-autotune"\n'
        "[limits]\n"
        'voltage = ["0.01 V", "5 V"]\n'
        'on_fault = "stop"\n'
        "[[block]]\n"
        f'steps = ["Hold pressure at {setpoint / 1e6:.6g} MPa", "Rest for {max_time:.0f} seconds"]\n'
    )


def autotune(
    bench: Bench,
    setpoint: float = 10e6,
    *,
    amplitude: float | None = None,
    seed: int = 0,
    out: Path | None = None,
    max_time: float = 600.0,
    progress: Callable[[TuneProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> TuneResult:
    """Run a relay auto-tune on `bench` at `setpoint` Pa (a Session run); the identified loop and the proposal.

    `amplitude` Pa: the target oscillation (default 2 % of the setpoint); `out`: keep the
    tuning run's file there (default: a temporary one); `max_time` s: give up after this
    long at rest; `progress` is called at each phase and relay cycle (from the thread that
    runs this), `cancel` every tick (True ends the run: a GUI's Cancel button). Raises
    TuneRefused before anything moves if the window does not allow it.
    """
    check_tunable(bench, setpoint, amplitude)
    protocol = parse_protocol_text(_protocol_text(setpoint, max_time), "relay-autotune.toml")
    box: dict[str, RelayTuner] = {}

    def end_when_finished(_sample: Sample) -> None:  # the tuner has finished: end the run (cleanup holds)
        tuner = box.get("tuner")
        if tuner is None:
            return
        if not tuner.finished and cancel is not None and cancel():
            tuner.stop("cancelled by the operator")
        if tuner.finished:
            session.abort("tuning finished" if tuner.ok else f"tuning failed: {tuner.message}")

    def make_tuner(bench: Bench, actuator: Actuator) -> RelayTuner:
        """The engine drives the tuner in the regulator's place."""
        if not actuator.regulated:
            raise TuneRefused(f"{bench.name}: the fixture ({actuator.name}) is not regulated; there is nothing to tune")
        box["tuner"] = RelayTuner(
            bench.gains,
            bench.area,
            actuator.command_range,
            actuator.command_unit,
            settings=bench.regulation,
            window=WINDOW,
            max_pressure=bench.max_pressure,
            amplitude=amplitude,
            progress=progress,
        )
        return box["tuner"]

    with tempfile.TemporaryDirectory(prefix="stackpress-tune-") as scratch:
        path = Path(out) if out is not None else Path(scratch) / "tune.sqlite"
        session = Session(
            protocol, bench, path, seed=seed, overwrite=out is None, on_sample=(end_when_finished,),
            make_regulator=make_tuner,
        )
        tuner = box["tuner"]
        state = session.run()
        if not tuner.finished:
            tuner.stop(f"no result within {max_time:g} s (run {state})")
        return tuner.result(bench.name, bench.period, state, str(path) if out is not None else "")
