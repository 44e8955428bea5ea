"""Samples, a hand-driven wall clock and a small synthetic run for the data tests."""

from __future__ import annotations

import math
from pathlib import Path

from stackpress.data.recorder import Recorder
from stackpress.sample import Sample

_DEFAULTS = dict(
    t=0.0,
    voltage=3.7,
    current=1e-3,
    charge=0.0,
    temperature=25.0,
    force=1000.0,
    pressure=10e6,
    setpoint=10e6,
    gap=1.2e-3,
    thickness=50e-6,
    actuator=0.0,
    step=1,
    cycle=1,
    state="running",
)


def make_sample(**changes: object) -> Sample:
    """A plausible bench reading, with the given fields changed."""
    return Sample(**{**_DEFAULTS, **changes})


class FakeWall:
    """Wall time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cycling_samples(cycles: int = 3, tick: float = 10.0) -> list[Sample]:
    """Engine ticks of a cell cycled at ±1 mA: 1 h charge, 10 min rest, 0.9 h discharge, 10 min rest.

    Pressure (held at 10 MPa) and electrode thickness rise with the charge in
    the cell, as a swelling Si anode does. Each phase is one BDF step.
    """
    phases = [(1e-3, 3600.0), (0.0, 600.0), (-1e-3, 3240.0), (0.0, 600.0)]
    samples, t, q, step = [], 0.0, 0.0, 0
    for cycle in range(1, cycles + 1):
        for current, duration in phases:
            step += 1
            for _ in range(round(duration / tick)):
                soc = q / 3.6  # 3.6 C = 1 mAh
                samples.append(
                    make_sample(
                        t=t,
                        voltage=3.3 + 0.9 * soc + 50.0 * current,
                        current=current,
                        charge=q,
                        pressure=10e6 + 0.4e6 * soc + 0.01e6 * math.sin(t / 300.0),
                        thickness=50e-6 * (1.0 + 0.3 * soc),
                        gap=1.2e-3 + 15e-6 * soc,
                        step=step,
                        cycle=cycle,
                    )
                )
                t += tick
                q += current * tick
    return samples


def record_run(path: Path, samples: list[Sample], **meta: object) -> Path:
    """Record `samples` with the default policy into a closed run file at `path`."""
    with Recorder(path, {"name": "synthetic", "protocol_name": "cc-cycling", **meta}) as recorder:
        for s in samples:
            recorder.sample(s)
    return path
