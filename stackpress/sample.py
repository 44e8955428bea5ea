"""What one engine tick saw, and what happened: the records that flow out of the engine.

Samples go one way (engine -> live view, recorder, analysis); commands go the
other. Every field is SI. Current is positive while charging, as in the
Battery Data Format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class Sample:
    """One reading of the whole bench at time `t`; read-only by convention (every consumer shares it).

    Not `frozen`: a frozen dataclass costs ~4 us more to build, once per engine tick, which
    is ~6 % of a simulated run; nothing hashes or changes a sample.
    """

    t: float  # s since the run started
    voltage: float  # V
    current: float  # A, positive = charging
    charge: float  # C, net charge passed since the run started (cycler's counter)
    temperature: float  # degC, NaN when the bench has no sensor
    force: float  # N, load cell
    pressure: float  # Pa, force / cell area
    setpoint: float  # Pa, regulator setpoint; NaN while no pressure is held
    gap: float  # m, fixture plate separation (displacement sensor / actuator readback)
    thickness: float  # m, electrode thickness = gap - the rest of the stack
    actuator: float  # actuator command readback, in the actuator's command unit
    step: int  # step count, BDF: 1-based, increases with every step started
    cycle: int  # cycle count, BDF: 1-based
    state: str  # engine state: "running", "paused", "tripped", "fault", "aborted", "finished"
    # While "paused" (an instrument lost, a pressure alarm, the operator) samples go on with what could
    # be read: a field an instrument could not give is NaN, never a repeated or invented value.


SAMPLE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Sample))
NAN = math.nan


@dataclass(slots=True, frozen=True)
class Event:
    """Something that happened at time `t`: a step change, an interlock trip, an operator action."""

    t: float
    kind: str  # "step", "trip", "operator", "run", "warning", ...
    message: str
    data: dict[str, Any] = field(default_factory=dict)
