"""One simulated world behind every simulated instrument: the cell, its fixture, the load cell.

The world advances LAZILY: whenever an instrument is read or commanded it first
catches up with `clock.now()`, in sub-steps of at most `max_step` seconds (one
step per tick when the engine ticks faster). Reading twice at the same clock
time does not advance it. It also holds the cycler's output mode (current with
a voltage compliance, voltage with a current compliance, or open circuit) and
its coulomb counter, so every instrument sees the same physics.

Each sub-step, with the current chosen at its start (explicit in the
coefficients, exact in the lags):
    cell.advance(I, dt) -> cell.update_mechanics() -> fixture.update(dt, L, C)
    -> cell.prepare(F / area) -> the mode decides the current and voltage for the next one.

Injected faults (`world.faults`, stackpress.sims.faults; a bench's [faults]
table) act in the instruments (dropouts, spikes, drift, a stuck actuator's
ignored commands) and in the physics (a seized or slow drive, a hydraulic leak,
an output stage driving too much current), which change exactly at the faults'
start and end times: `advance` splits its sub-steps there.

The cell is anything with the `CellModel` interface: one `Cell`, or a
`ZonedCell` (zones at different local pressures, for a fixture whose platens
are not parallel: [fixture] kind = "tilted").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from stackpress.clock import Clock
from stackpress.sims.cell import Cell, CellParams, cell_params
from stackpress.sims.faults import Faults
from stackpress.sims.fixtures import Fixture, HydraulicFixture, TiltedFixture, fixture_from_section
from stackpress.sims.instruments import SimActuator, SimCycler, SimForceSensor
from stackpress.sims.load_cell import LoadCell, load_cell_from_section
from stackpress.sims.settings import Section
from stackpress.sims.zones import ZonedCell, ZoneState

REST, CURRENT, VOLTAGE = 0, 1, 2


class CellStateView(Protocol):
    x: float
    y: float
    hysteresis: float


class CellModel(Protocol):
    """What the world needs of a cell: `Cell` and `ZonedCell` both have it."""

    params: CellParams
    full: bool
    area: float  # m2
    nominal_capacity: float  # C
    free_thickness: float  # m, the stack's, unloaded
    compliance: float  # m/N, the stack's
    anode_free_thickness: float  # m
    anode_compliance: float  # m/N
    other_layers_free_thickness: float  # m
    other_layers_compliance: float  # m/N
    contact: float  # contact fraction, 0..1
    si_modulus: float  # Pa
    pressure: float  # Pa, as last prepared

    @property
    def state(self) -> CellStateView: ...

    def update_mechanics(self) -> None: ...

    def prepare(self, pressure: float) -> None: ...

    def voltage(self, current: float) -> float: ...

    def current_for_voltage(self, target: float, low: float, high: float, guess: float) -> tuple[float, float]: ...

    def advance(self, current: float, dt: float) -> None: ...

    def ocv(self) -> float: ...


class Truth(NamedTuple):
    """The true state of the world, noiseless: for tests and benchmarks, never for the engine."""

    t: float  # s
    x: float  # Li per Si (particle mean)
    y: float  # Li per NCM (full cell; NaN in a half cell)
    hysteresis: float  # Si hysteresis state, -1 (lithiation branch) .. +1 (delithiation branch)
    voltage: float  # V
    current: float  # A, positive = charging
    charge: float  # C, the cycler's counter
    ocv: float  # V, open-circuit voltage of the relaxed particles
    pressure: float  # Pa, stack pressure
    force: float  # N, stack force
    anode_thickness: float  # m, under the present force
    gap: float  # m, plate separation
    contact_fraction: float  # Si/SE interface in contact, 0..1
    si_modulus: float  # Pa, Young's modulus of the LixSi
    temperature: float  # degC
    # Per zone: one for a uniform cell, one per strip under tilted platens (x, pressure, contact, ...).
    # Whole-cell fields above are area- (= capacity-) weighted means of the zones'.
    zones: tuple[ZoneState, ...] = ()


class SimWorld:
    """Cell + fixture + load cell on one clock, with the three instrument roles over them."""

    def __init__(
        self,
        cell: CellModel,
        fixture: Fixture,
        load_cell: LoadCell,
        clock: Clock,
        *,
        seed: int = 0,
        max_step: float = 1.0,
        voltage_noise: float = 1e-4,
        current_noise: float = 5e-9,
    ) -> None:
        """`max_step` s: the longest sub-step; noises (1 sigma, V and A) apply to the cycler's readings."""
        if not max_step > 0.0:
            raise ValueError(f"max_step must be positive, not {max_step!r}")
        self.cell = cell
        self.fixture = fixture
        self.load_cell = load_cell
        self.clock = clock
        self.max_step = max_step
        self.t = clock.now()
        self.charge = 0.0  # C, the cycler's coulomb counter
        self.current = 0.0  # A, flowing now
        self.voltage = math.nan  # V, now
        self._mode = REST
        self._setpoint = 0.0  # A or V
        self._limit = 0.0  # V or A
        self._inverse_area = 1.0 / cell.area
        self._overcurrent = 0.0  # A, while a cycler_overcurrent fault drives the output stage
        self.faults = Faults(cell.area, fixture.kind, fixture.regulated)
        fixture.attach(cell.free_thickness, cell.compliance)
        self._reprepare()
        self.cycler = SimCycler(self, seed=seed, voltage_noise=voltage_noise, current_noise=current_noise)
        self.force_sensor = SimForceSensor(self)
        self.actuator = SimActuator(self)

    @classmethod
    def from_bench(cls, tables: Mapping[str, Any], clock: Clock, seed: int = 0, max_step: float = 1.0) -> SimWorld:
        """The world a bench file describes: its [cell], [fixture], [load_cell] and [faults] tables (all optional).

        Other tables are someone else's and are ignored. An unknown key or a bad
        value raises ValueError (UnitError for units) naming `[section] key`.
        """
        sections = {name: Section(tables, name) for name in ("cell", "fixture", "load_cell")}
        params = cell_params(sections["cell"])
        fixture = fixture_from_section(sections["fixture"], params.area)
        if isinstance(fixture, TiltedFixture):
            cell: CellModel = ZonedCell(params, fixture.zones, fixture.tilt)
        else:
            cell = Cell(params)
        load_cell = load_cell_from_section(sections["load_cell"], seed)
        for section in sections.values():
            section.finish()
        faults = Faults.from_table(tables.get("faults"), params.area, fixture.kind, fixture.regulated)
        world = cls(cell, fixture, load_cell, clock, seed=seed, max_step=max_step)
        world.faults = faults
        return world

    # --- time ----------------------------------------------------------------------------

    def advance(self) -> None:
        """Catch up with the clock, in sub-steps of at most `max_step`."""
        end = self.clock.now()
        t = self.t
        faults = self.faults
        if faults.physical:
            self._advance_through_faults(t, end)
            return
        if end <= t:
            return
        step = self.max_step
        sub_step = self._step
        while end - t > step:
            sub_step(step)
            t += step
        sub_step(end - t)
        self.t = end

    def _advance_through_faults(self, t: float, end: float) -> None:
        """`advance` with physical faults: sub-steps split at their start and end times."""
        faults = self.faults
        step = self.max_step
        while t < end:
            stop = min(faults.next_boundary(t), end)
            self._apply_faults(t)
            while stop - t > step:
                self._step(step)
                t += step
            self._step(stop - t)
            t = stop
        self.t = max(self.t, end)
        self._apply_faults(self.t)

    def _apply_faults(self, t: float) -> None:
        """Put the physical faults active at `t` into the fixture and the cycler's output stage."""
        faults = self.faults
        fixture = self.fixture
        fixture.seized = faults.active("actuator_stuck", t) is not None
        slow = faults.active("actuator_slow", t)
        fixture.slowdown = 1.0 if slow is None else slow.params["factor"]
        if isinstance(fixture, HydraulicFixture):
            leak = faults.active("hydraulic_leak", t)
            fixture.leak = None if leak is None else leak.params["holds"]
        overcurrent = faults.active("cycler_overcurrent", t)
        current = 0.0 if overcurrent is None else overcurrent.params["current"]
        if current != self._overcurrent:
            self._overcurrent = current
            self._settle()

    def _step(self, dt: float) -> None:
        cell = self.cell
        current = self.current
        cell.advance(current, dt)
        self.charge += current * dt
        cell.update_mechanics()
        force = self.fixture.update(dt, cell.free_thickness, cell.compliance)
        cell.prepare(force * self._inverse_area)
        self._settle()

    def _settle(self) -> None:
        """Decide the current and voltage of the present state for the output mode."""
        cell = self.cell
        mode = self._mode
        if mode == CURRENT:
            setpoint = self._setpoint
            limit = self._limit
            voltage = cell.voltage(setpoint)
            if (setpoint > 0.0 and voltage > limit) or (setpoint < 0.0 and voltage < limit):
                low, high = (0.0, setpoint) if setpoint > 0.0 else (setpoint, 0.0)
                self.current, self.voltage = cell.current_for_voltage(limit, low, high, self.current)
            else:
                self.current = setpoint
                self.voltage = voltage
        elif mode == VOLTAGE:
            limit = self._limit
            self.current, self.voltage = cell.current_for_voltage(self._setpoint, -limit, limit, self.current)
        else:
            self.current = 0.0
            self.voltage = cell.voltage(0.0)
            return
        if self._overcurrent:  # a failed output stage: its current, whatever it was told
            direction = self._setpoint if mode == CURRENT else self.current
            self.current = math.copysign(self._overcurrent, direction)
            self.voltage = cell.voltage(self.current)

    def _reprepare(self) -> None:
        """The stack force changed outside a sub-step (a fixture command): update what depends on it."""
        self.cell.prepare(self.fixture.force * self._inverse_area)
        self._settle()

    # --- what the instruments do ---------------------------------------------------------

    def source_current(self, current: float, voltage_limit: float) -> None:
        """Cycler: source `current` A; clamp the voltage at `voltage_limit` V (the current tapers).

        The tapered current keeps the sign of `current` (a charge step never
        discharges): if even no current leaves the voltage beyond the limit, no
        current flows and the voltage reads open circuit.
        """
        self.advance()
        self._mode, self._setpoint, self._limit = CURRENT, current, voltage_limit
        self._settle()

    def source_voltage(self, voltage: float, current_limit: float) -> None:
        """Cycler: hold `voltage` V with at most `current_limit` A either way."""
        self.advance()
        self._mode, self._setpoint, self._limit = VOLTAGE, voltage, current_limit
        self._settle()

    def open_circuit(self) -> None:
        """Cycler: output off."""
        self.advance()
        self._mode = REST
        self._settle()

    def command_fixture(self, value: float) -> None:
        """Actuator: the fixture's command in its unit (ram force or preload, N; motor position, m)."""
        self.advance()
        force = self.fixture.force
        self.fixture.command(value)
        if self.fixture.force != force:  # most fixtures only move in the next sub-step
            self._reprepare()

    def hold_fixture(self) -> None:
        """Actuator: stop where it is."""
        self.advance()
        self.fixture.hold()

    @property
    def temperature(self) -> float:
        """degC: the cell is held at a constant temperature."""
        return self.cell.params.temperature

    @property
    def nominal_capacity(self) -> float:
        """C: the cell's nominal capacity (the cathode's in a full cell, the Si's in a half cell)."""
        return self.cell.nominal_capacity

    @property
    def other_layers_thickness(self) -> float:
        """m: stack thickness minus the anode (separator + cathode or Li-In), under the present force.

        electrode thickness = gap - this. The layers' own elastic compression makes
        it vary by well under a micrometre with the force (~0.4 um less at 10 MPa
        than unloaded).
        """
        cell = self.cell
        return cell.other_layers_free_thickness - self.fixture.force * cell.other_layers_compliance

    def truth(self) -> Truth:
        """The true, noiseless state now (the world first catches up with the clock, as on any read)."""
        self.advance()
        cell = self.cell
        s = cell.state
        force = self.fixture.force
        return Truth(
            t=self.t,
            x=s.x,
            y=s.y,
            hysteresis=s.hysteresis,
            voltage=self.voltage,
            current=self.current,
            charge=self.charge,
            ocv=cell.ocv(),
            pressure=force * self._inverse_area,
            force=force,
            anode_thickness=cell.anode_free_thickness - force * cell.anode_compliance,
            gap=self.fixture.gap,
            contact_fraction=cell.contact,
            si_modulus=cell.si_modulus,
            temperature=self.temperature,
            zones=self._zone_states(),
        )

    def _zone_states(self) -> tuple[ZoneState, ...]:
        cell = self.cell
        if isinstance(cell, ZonedCell):
            return cell.zone_states()
        force = self.fixture.force
        return (
            ZoneState(
                area=cell.area,
                offset=0.0,
                pressure=force * self._inverse_area,
                force=force,
                current=self.current,
                x=cell.state.x,
                contact_fraction=cell.contact,
                anode_thickness=cell.anode_free_thickness - force * cell.anode_compliance,
            ),
        )
