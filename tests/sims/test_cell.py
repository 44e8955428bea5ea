"""The cell model: voltage, capacity and impedance against pressure; the current-for-voltage solve."""

from __future__ import annotations

import math

import pytest

from stackpress.sims import si
from stackpress.sims.cell import Cell, CellParams
from stackpress.sims.materials import LI_IN_POTENTIAL

from .helpers import HOUR, charge_then_discharge, make_world, numeric_slope


def prepared(params: CellParams | None = None, pressure: float = 10e6) -> Cell:
    cell = Cell(params)
    cell.prepare(pressure)
    return cell


def pulse_resistance(cell: Cell, current: float) -> float:
    """(V(I) - V(0)) / I: what a current-pulse impedance measurement sees."""
    return (cell.voltage(current) - cell.voltage(0.0)) / current


IDEAL = {"cell": {"degradation": "off"}}  # the fresh cell's electrochemistry, without first-cycle loss or fade


@pytest.fixture(scope="module")
def cycles() -> dict[float, tuple[float, list, list]]:
    """CCCV charge + C/3 discharge of the default full cell, ideal, at 1, 10 and 30 MPa (hydraulic)."""
    results = {}
    for pressure in (1e6, 10e6, 30e6):
        world, clock = make_world(IDEAL, pressure=pressure)
        results[pressure] = (*charge_then_discharge(world, clock), world.nominal_capacity)
    return results


def test_default_cell_is_the_described_pellet():
    cell = Cell()
    assert cell.area == pytest.approx(0.785e-4)
    assert cell.nominal_capacity / 3.6 == pytest.approx(3.0 * 0.785, rel=1e-6)  # mAh
    assert cell.si_capacity / cell.nominal_capacity == pytest.approx(1.15)
    assert 5e-6 < cell.anode_free_thickness < 30e-6
    assert 2.6 < cell.ocv() < 3.1  # a discharged Si | NCM811 cell at rest


def test_charging_lithiates_si_in_the_full_cell_and_delithiates_it_in_the_half_cell():
    full = prepared()
    half = prepared(CellParams(chemistry="half", initial_x=2.0))
    for cell in (full, half):
        cell.advance(1e-3, 60.0)
    assert full.state.x > 0.1
    assert full.state.y < 0.9084
    assert half.state.x < 2.0


def test_half_cell_voltage_is_si_against_li_in():
    cell = prepared(CellParams(chemistry="half", initial_x=1.5), pressure=0.0)
    assert cell.voltage(0.0) == pytest.approx(
        si.ocp(1.5, 1.0, si.stress_potential_shift(0.0)) - LI_IN_POTENTIAL, abs=1e-12
    )


def test_voltage_rises_with_current():
    cell = prepared()
    values = [cell.voltage(i * 1e-4) for i in range(-20, 21)]
    assert values == sorted(values)


def test_current_for_voltage_inverts_voltage():
    cell = prepared()
    for target in (2.9, 3.2, 3.6):
        current, voltage = cell.current_for_voltage(target, -5e-3, 5e-3, 0.0)
        assert voltage == target
        assert cell.voltage(current) == pytest.approx(target, abs=1e-8)


def lithiate(cell: Cell, hours: float, rate: float = 0.5, pressure: float = 10e6) -> None:
    """Lithiate the Si at `rate` C for `hours` h in 30 s sub-steps (charging a full cell, discharging a half cell)."""
    current = (1.0 if cell.full else -1.0) * cell.nominal_capacity * rate / HOUR
    for _ in range(round(hours * HOUR / 30.0)):
        cell.advance(current, 30.0)
        cell.update_mechanics()
        cell.prepare(pressure)


def test_voltage_slope_is_exact_for_full_and_half_cells_fresh_and_lithiated():
    for params in (CellParams(), CellParams(chemistry="half")):
        cell = prepared(params)
        for hours in (0.0, 1.5):
            lithiate(cell, hours)
            for current in (-2e-3, -1e-4, 0.0, 3e-4, 2e-3):
                assert cell.slope(current) == pytest.approx(numeric_slope(cell.voltage, current, 1e-8), rel=1e-5)


def test_a_constant_voltage_hold_solves_in_one_or_two_evaluations_to_a_nanovolt():
    """Given the last sub-step's current, as the simulated cycler does, the solve starts from the extrapolation
    of its last two answers and Newton with the exact slope lands within NEWTON_ENOUGH on its first or second
    evaluation; the rest is closed unchecked, to well under the solve's nanovolt tolerance."""
    cell = prepared()
    limit = cell.nominal_capacity / HOUR  # 1C
    while cell.voltage(limit) < 4.2:
        lithiate(cell, 30.0 / HOUR, rate=1.0)
    evaluations = []
    evaluate = cell.voltage
    cell.voltage = lambda current: evaluations.append(current) or evaluate(current)
    current = limit
    counts = []
    for _ in range(60):  # 30 min of CV at 30 s sub-steps
        evaluations.clear()
        current, voltage = cell.current_for_voltage(4.2, 0.0, limit, current)
        assert voltage == 4.2
        assert evaluate(current) == pytest.approx(4.2, abs=1e-9)
        counts.append(len(evaluations))
        cell.advance(current, 30.0)
        cell.update_mechanics()
        cell.prepare(10e6)
    assert 0.0 < current < limit / 2  # it tapered
    assert max(counts[:2]) <= 3  # no history to extrapolate from yet
    assert max(counts[2:]) <= 2
    assert sum(counts) < 2 * len(counts)


def test_current_for_voltage_stops_at_the_ends_of_the_range():
    cell = prepared()
    current, voltage = cell.current_for_voltage(6.0, -1e-3, 1e-3, 0.0)
    assert current == 1e-3
    assert voltage == pytest.approx(cell.voltage(1e-3))
    current, voltage = cell.current_for_voltage(0.5, -1e-3, 1e-3, 5e-4)
    assert current == -1e-3
    assert voltage == pytest.approx(cell.voltage(-1e-3))


def test_impedance_is_clearly_higher_at_1_mpa():
    current = Cell().nominal_capacity / 3 / HOUR
    low, nominal, high = (pulse_resistance(prepared(pressure=p), current) for p in (1e6, 10e6, 30e6))
    assert low > 1.5 * nominal
    assert abs(high - nominal) < 0.05 * nominal


def test_c3_capacity_is_near_nominal_at_10_mpa(cycles):
    discharged, _, _, nominal = cycles[10e6]
    assert discharged == pytest.approx(nominal, rel=0.15)


def test_the_first_cycle_loses_lithium_to_the_interphase():
    """With degradation (the default) the first C/3 cycle returns 75-90 % of its charge, ~0.8 of nominal."""
    world, clock = make_world()
    charged_before = world.charge
    discharged, _, _ = charge_then_discharge(world, clock)
    charged = world.charge - charged_before + discharged  # CC + CV
    assert 0.75 < discharged / charged < 0.92
    assert 0.7 < discharged / world.nominal_capacity < 0.9
    assert world.cell.state.interphase > 0.0


def test_c3_capacity_is_lower_at_1_mpa_and_about_the_same_at_30(cycles):
    low, nominal, high = (cycles[p][0] for p in (1e6, 10e6, 30e6))
    assert low < 0.97 * nominal
    assert abs(high - nominal) < 0.02 * nominal


def test_voltage_curve_is_realistic(cycles):
    _, charging, discharging, _ = cycles[10e6]
    charge_v = [t.voltage for t in charging]
    discharge_v = [t.voltage for t in discharging]
    assert 2.8 < charge_v[0] < 3.6
    assert charge_v == sorted(charge_v)  # CC charge: voltage only rises
    assert charge_v[-1] == pytest.approx(4.2, abs=1e-6)
    assert discharge_v == sorted(discharge_v, reverse=True)
    assert 3.9 < discharge_v[0] < 4.2
    mean_discharge = sum(discharge_v) / len(discharge_v)
    assert 3.1 < mean_discharge < 3.6  # Si delithiates ~0.45 V vs Li, NCM811 ~3.8 V
    assert discharge_v[-1] == pytest.approx(2.5, abs=1e-6)
    # the Si swells and shrinks back, the electrode by tens of %
    top = max(t.anode_thickness for t in charging)
    assert top > 1.3 * charging[0].anode_thickness
    assert discharging[-1].anode_thickness < 1.05 * charging[0].anode_thickness


def test_voltage_relaxes_at_rest_after_a_charge():
    world, clock = make_world()
    world.cycler.apply_current(world.nominal_capacity / 3 / HOUR, 4.3)
    clock.advance(HOUR)
    world.cycler.rest()
    at_stop = world.truth().voltage
    clock.advance(60)
    soon = world.cycler.read().voltage
    clock.advance(2 * HOUR)
    relaxed = world.truth()
    assert at_stop > soon > relaxed.voltage  # the ohmic drop at once, then the particles relax
    assert relaxed.voltage == pytest.approx(relaxed.ocv, abs=2e-3)


def test_coarse_particles_cut_the_accessible_capacity():
    fine, clock = make_world(IDEAL)
    coarse, coarse_clock = make_world({"cell": {"si_particle_size": "5 um", "degradation": "off"}})
    assert charge_then_discharge(coarse, coarse_clock)[0] < 0.97 * charge_then_discharge(fine, clock)[0]


def test_temperature_enters_the_electrolyte_conductivity():
    cold = prepared(CellParams(temperature=0.0))
    warm = prepared()
    assert pulse_resistance(cold, 1e-3) > 1.2 * pulse_resistance(warm, 1e-3)
    assert not math.isnan(cold.ocv())


def test_stack_pressure_shifts_the_si_potential_down():
    """Compression lowers U_Si (lithiation is harder), so the full cell's OCV rises, by ~Omega sigma_h / F."""
    relaxed = prepared(CellParams(initial_x=1.0), pressure=0.0)
    squeezed = prepared(CellParams(initial_x=1.0), pressure=100e6)
    expected = -si.stress_potential_shift(-100e6 * (1 + 0.22) / (3 * (1 - 0.22)))
    assert squeezed.ocv() - relaxed.ocv() == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(4.9e-3, rel=0.05)
