"""Samples and a small synthetic run for the data tests."""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections.abc import Iterable
from pathlib import Path

from stackpress.data.recorder import Recorder
from stackpress.sample import Event, Sample

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


def cycling_samples(cycles: int = 3, tick: float = 10.0, growth: float = 0.0) -> list[Sample]:
    """Engine ticks of a cell cycled at ±1 mA: 1 h charge, 10 min rest, 0.9 h discharge, 10 min rest.

    Pressure (held at 10 MPa) and electrode thickness rise with the charge in
    the cell, as a swelling Si anode does; `growth` (m per cycle) adds an
    irreversible swelling on top. Each phase is one BDF step. A sample's
    charge is the counter before its tick, its voltage
    3.3 V + 0.25 V/C x charge + 50 ohm x current: linear in the charge within a step.
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
                        thickness=50e-6 * (1.0 + 0.3 * soc) + growth * (cycle - 1),
                        gap=1.2e-3 + 15e-6 * soc,
                        step=step,
                        cycle=cycle,
                    )
                )
                t += tick
                q += current * tick
    return samples


CYCLER_FIELDS = ("voltage", "current", "charge", "temperature")
INSTRUMENT_FIELDS = (*CYCLER_FIELDS, "force", "pressure", "setpoint", "gap", "thickness", "actuator")


def with_pause(
    samples: list[Sample], start: float, end: float, lost: Iterable[str] = INSTRUMENT_FIELDS
) -> list[Sample]:
    """`samples` with paused rows interleaved 5 s after each tick from `start` to `end` (s).

    Each carries state "paused", NaN in the `lost` fields (what an instrument
    that does not answer leaves) and the tick's other values. The ticks are
    unchanged, so whatever is computed from the valid rows must come out as
    without the paused ones.
    """
    out: list[Sample] = []
    for s in samples:
        out.append(s)
        if start <= s.t < end:
            out.append(dataclasses.replace(s, t=s.t + 5.0, state="paused", **{f: math.nan for f in lost}))
    return out


def record_run(path: Path, samples: list[Sample], events: Iterable[Event] = (), **meta: object) -> Path:
    """Record `samples` (and `events`, each at its time) with the default policy into a closed run file."""
    pending = sorted(events, key=lambda e: e.t)
    with Recorder(path, {"name": "synthetic", "protocol_name": "cc-cycling", **meta}) as recorder:
        for s in samples:
            while pending and pending[0].t <= s.t:
                recorder.event(pending.pop(0))
            recorder.sample(s)
        for e in pending:
            recorder.event(e)
    return path


def crashed_copy(recorder: Recorder, to: Path) -> Path:
    """What a power cut would leave of `recorder`'s run now: its committed file and WAL, copied to `to`.

    The recorder is flushed first and goes on untouched; the copy has no open
    connection, no `closed` mark, and its last transactions only in its WAL.
    """
    recorder.flush()
    for suffix in ("", "-wal"):
        shutil.copyfile(recorder.path.with_name(recorder.path.name + suffix), to.with_name(to.name + suffix))
    return to
