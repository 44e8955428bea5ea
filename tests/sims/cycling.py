"""Cycling a bare Cell at constant stack pressure, fast: no world, no engine, coarse sub-steps.

A cycle is what the bench's protocols do, reduced to its electrochemistry: CC charge at
`rate` C until `v_max` (the cycler's compliance then tapers the current: a CV hold)
until the current falls to `cv_cutoff` C or `cv_time` s have passed, then CC discharge at
`rate` C until `v_min`. The pressure is held exactly (an ideal isostatic fixture), so
each sub-step is `advance -> update_mechanics -> prepare(P)`, as the world does it.

The cell does not know about cycles: the helper only reads it. Coarse steps (30 s) run
100 cycles of the default cell in about a second; `test_degradation` checks that 10 s
steps give the same retention.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from stackpress.sims.cell import Cell, CellParams, CellState

HOUR = 3600.0


@dataclass(frozen=True)
class CycleRecord:
    charge: float  # C, charge passed while charging (CC + CV)
    discharge: float  # C, charge returned on discharge
    resistance: float  # Ohm, discharge pulse resistance (V(0) - V(-I)) / I at the top of charge
    charged_thickness: float  # m, anode free thickness at the top of charge
    thickness: float  # m, anode free thickness at the end of the discharge
    state: CellState  # the cell's state at the end of the discharge


@dataclass
class Cycling:
    cell: Cell
    pressure: float
    records: list[CycleRecord] = field(default_factory=list)

    @property
    def discharges(self) -> list[float]:
        return [r.discharge for r in self.records]

    def retention(self, cycle: int = -1) -> float:
        """Discharge capacity of `cycle` (default the last) over the first cycle's."""
        return self.records[cycle].discharge / self.records[0].discharge

    def resistance_growth(self, cycle: int = -1) -> float:
        return self.records[cycle].resistance / self.records[0].resistance

    @property
    def first_cycle_efficiency(self) -> float:
        first = self.records[0]
        return first.discharge / first.charge


def _step(cell: Cell, current: float, dt: float, pressure: float) -> None:
    cell.advance(current, dt)
    cell.update_mechanics()
    cell.prepare(pressure)


def _compliant(cell: Cell, setpoint: float, limit: float, last: float) -> float:
    """The current the cycler passes: the setpoint, or less once the voltage reaches its limit.

    The solve starts from the `last` sub-step's current, as the simulated cycler's does.
    """
    voltage = cell.voltage(setpoint)
    if (setpoint > 0.0 and voltage > limit) or (setpoint < 0.0 and voltage < limit):
        low, high = (0.0, setpoint) if setpoint > 0.0 else (setpoint, 0.0)
        return cell.current_for_voltage(limit, low, high, last)[0]
    return setpoint


def cycle(
    cell: Cell,
    pressure: float,
    *,
    dt: float = 30.0,
    rate: float = 1 / 3,
    v_max: float = 4.2,
    v_min: float = 2.5,
    cv_cutoff: float = 1 / 10,
    cv_time: float = HOUR,
) -> CycleRecord:
    """One CC-CV charge and CC discharge of a full cell at constant `pressure` Pa."""
    current = cell.nominal_capacity * rate / HOUR
    cutoff = cell.nominal_capacity * cv_cutoff / HOUR
    charged = 0.0
    held = 0.0
    i = current
    for _ in range(100_000):
        i = _compliant(cell, current, v_max, i)
        if i < current:
            if i <= cutoff or held >= cv_time:
                break
            held += dt
        _step(cell, i, dt, pressure)
        charged += i * dt
    resistance = (cell.voltage(0.0) - cell.voltage(-current)) / current
    charged_thickness = cell.anode_free_thickness
    discharged = 0.0
    i = -current
    for _ in range(100_000):
        i = _compliant(cell, -current, v_min, i)
        if i > -current:  # the voltage reached its limit: the discharge ends
            break
        _step(cell, i, dt, pressure)
        discharged -= i * dt
    cell.settle()  # the degradation state up to date, for the record
    return CycleRecord(
        charged, discharged, resistance, charged_thickness, cell.anode_free_thickness, copy.copy(cell.state)
    )


def run(
    params: CellParams | None = None, pressure: float = 10e6, cycles: int = 100, *, dt: float = 30.0, **kwargs
) -> Cycling:
    """`cycles` cycles of a fresh cell at constant `pressure` Pa."""
    cell = Cell(params)
    cell.prepare(pressure)
    result = Cycling(cell, pressure)
    for _ in range(cycles):
        result.records.append(cycle(cell, pressure, dt=dt, **kwargs))
    return result
