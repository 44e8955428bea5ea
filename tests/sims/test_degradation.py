"""Degradation: each law on its own, then in the cell (state, bookkeeping, what drives it, step size, settings)."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from stackpress.sims import degradation as deg
from stackpress.sims import si
from stackpress.sims.cell import Cell, CellParams, cell_params
from stackpress.sims.settings import Section
from stackpress.units import UnitError

from .cycling import cycle, run

MPA = 1e6
NM = 1e-9


# --- the laws ----------------------------------------------------------------------------------


def test_critical_sizes_are_150_nm_for_c_si_and_870_nm_for_a_si():
    assert deg.critical_size(crystalline=True) == pytest.approx(150 * NM)
    assert deg.critical_size(crystalline=False) == pytest.approx(870 * NM)


def test_particles_above_their_critical_size_crack():
    def cracked(size: float, crystalline: bool) -> float:
        return deg.fracture_fraction(size, deg.critical_size(crystalline))

    assert cracked(1000 * NM, True) > 0.99
    assert cracked(500 * NM, True) > 0.99
    assert cracked(100 * NM, True) < 0.2
    assert cracked(500 * NM, False) < 0.1  # a-Si 500 nm survives where c-Si 500 nm cracks
    assert 0.5 < cracked(1000 * NM, False) < 0.8  # just above a-Si's 870 nm: most of the powder
    sizes = [50 * NM * k for k in range(1, 60)]
    assert [cracked(d, False) for d in sizes] == sorted(cracked(d, False) for d in sizes)
    assert deg.fracture_fraction(870 * NM, 870 * NM) == pytest.approx(0.5)


def test_contact_loss_weight_falls_off_above_the_critical_pressure():
    assert deg.contact_loss_weight(0.0, 1 * MPA) == 1.0
    assert deg.contact_loss_weight(1 * MPA, 1 * MPA) == pytest.approx(math.exp(-1))
    assert deg.contact_loss_weight(10 * MPA, 1 * MPA) < 1e-4


def test_constrained_lithiation_stress_and_its_potential_shift():
    assert deg.constraint_stress(10 * MPA, 4.0, 1e9) == pytest.approx(40 * MPA)
    assert deg.constraint_stress(1e9, 4.0, 1e9) == 1e9  # capped by LixSi's flow stress
    shift_150 = si.stress_potential_shift(-deg.constraint_stress(150 * MPA, 4.0, 1e9))
    shift_10 = si.stress_potential_shift(-deg.constraint_stress(10 * MPA, 4.0, 1e9))
    assert -0.07 < shift_150 < -0.04  # tens of mV: enough to cut the charge at 4.2 V
    assert -0.005 < shift_10 < 0.0


def test_crack_driving_force_is_k_squared_over_e():
    stress, flaw, modulus = 300e6, 50 * NM, 17e9
    k_i = stress * math.sqrt(math.pi * flaw)
    assert deg.crack_driving_force(stress, flaw, modulus) == pytest.approx(k_i**2 / modulus)


def test_the_se_cracks_only_above_about_100_mpa():
    p = CellParams()
    cell = Cell(p)

    def over_stress(pressure: float) -> float:
        stress = p.swelling_stress * cell._se_stiffness_ratio + deg.constraint_stress(
            pressure, p.stress_concentration, p.si_flow_stress
        )
        driving = deg.crack_driving_force(stress, p.flaw_fraction * p.si_particle_size, cell._interface_modulus)
        return deg.se_crack_rate(driving, p.se_toughness)

    assert over_stress(10 * MPA) == over_stress(30 * MPA) == over_stress(100 * MPA) == 0.0
    assert over_stress(150 * MPA) > 0.5


def test_protection_is_a_smooth_toughness_criterion():
    assert deg.protection(0.0, 1.0) == 0.0
    assert deg.protection(1.0, 1.0) == pytest.approx(0.5)
    assert deg.protection(4.0, 1.0) > 0.9
    assert deg.protection(0.3, 1.0) < 0.1
    # a binder holds a 1 um particle with a few J/m2
    demand = deg.binder_demand(5e6, 1e-6, 0.4)
    assert 0.5 < demand < 2.0


def test_interphase_formation_passivates_and_never_takes_more_than_is_delivered():
    fresh = 0.4
    total, remaining = 0.0, fresh
    for _ in range(400):  # 4 Li per Si delivered in small steps
        formed = deg.interphase_formed(remaining, 0.01)
        assert 0.0 <= formed <= 0.01
        remaining -= formed
        total += formed
    assert total == pytest.approx(fresh, rel=1e-3)  # all of it passivated, then no more
    assert deg.interphase_formed(100.0, 0.01) == pytest.approx(0.01, rel=5e-3)  # a nano powder: ~all current
    assert deg.interphase_formed(1e-6, 0.3) == pytest.approx(1e-6 * (1 - math.exp(-1)), rel=1e-4)


def test_interphase_capacity_of_the_default_powder():
    area = deg.interface_area(1e-6, 1.0)
    assert 2e6 < area < 6e6  # 1/m: 6/d, less what the SE side cannot supply
    lam = deg.interphase_capacity(120 * NM, area)
    assert 0.3 < lam < 0.6  # Li per Si: ~10-15 % of the Si's capacity
    # finer powders have more interface, but the SE side saturates it
    assert deg.interface_area(100e-9, 1.0) < 10 * area
    assert deg.interface_area(1e-6, 1.0, film_thickness=4e-6) < 0.1 * area


def test_size_ratio_coverage_and_hotspots():
    assert deg.size_ratio_coverage(1.0) == pytest.approx(1.0)
    ratios = [0.1, 0.3, 1.0, 3.0, 10.0]
    coverage = [deg.size_ratio_coverage(r) for r in ratios]
    assert coverage == sorted(coverage)
    assert coverage[-1] < 1.5
    assert deg.hotspot_factor(0.25) == 4.0  # j_local = j_app / theta


def test_sintering_raises_tortuosity_and_goes_faster_under_pressure():
    assert deg.tortuosity(3.0, 0.0, 1.0) == 3.0
    assert deg.tortuosity(3.0, 0.5, 1.0) == pytest.approx(4.5)
    assert deg.sintering_rate(0.01, 150 * MPA, 50 * MPA) == pytest.approx(4 * deg.sintering_rate(0.01, 0.0, 50 * MPA))


# --- in the cell -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_cycles_at_1_mpa():
    return run(CellParams(), 1 * MPA, 10)


def test_lithium_bookkeeping_is_exact(ten_cycles_at_1_mpa):
    """x (the charge counter's) = Li in the active Si + in the interphase + in isolated Si."""
    for record in ten_cycles_at_1_mpa.records:
        s = record.state
        assert s.active < 1.0 and s.interphase > 0.0 and s.trapped > 0.0
        assert s.x == pytest.approx(s.active * s.x_active + s.interphase + s.trapped, abs=1e-9)


def test_the_degradation_state_only_moves_one_way(ten_cycles_at_1_mpa):
    states = [r.state for r in ten_cycles_at_1_mpa.records]
    for before, after in itertools.pairwise(states):
        assert after.active < before.active
        assert after.interphase > before.interphase
        assert after.swelling > before.swelling  # irreversible swelling only grows
        assert after.sintering > before.sintering
        assert after.fractured >= before.fractured


def test_irreversible_swelling_grows_monotonically_and_thickens_the_discharged_electrode():
    result = run(CellParams(), 10 * MPA, 30)
    swelling = [r.state.swelling for r in result.records]
    assert all(b > a for a, b in itertools.pairwise(swelling))
    assert 0.0 < swelling[-1] < 0.2  # of the Si's volume, after 30 cycles
    thickness = [r.thickness for r in result.records]
    assert thickness[-1] > thickness[1] * 1.003
    # separate from the reversible LixSi strain: at x_active = 0 the Si would still be this much bigger
    assert result.cell.state.swelling > 0.0


def test_a_cell_at_rest_does_not_degrade():
    cell = Cell()
    cell.prepare(1 * MPA)
    before = dataclasses.replace(cell.state)
    for _ in range(1000):
        cell.advance(0.0, 60.0)
        cell.update_mechanics()
        cell.prepare(1 * MPA)
    assert cell.state.interphase == before.interphase
    assert cell.state.interface == before.interface
    assert cell.state.active == before.active


def test_contact_is_lost_while_delithiating_and_partly_regained_while_lithiating():
    cell = Cell()
    cell.prepare(1 * MPA)
    cycle(cell, 1 * MPA)  # formation
    current = cell.nominal_capacity / 3 / 3600
    start = cell.state.interface
    for _ in range(300):  # 2.5 h of C/3 charge: the Si swells back against the SE
        cell.advance(current, 30.0)
        cell.update_mechanics()
        cell.prepare(1 * MPA)
    charged = cell.state.interface
    for _ in range(300):  # and discharge: the re-stiffening Si shrinks away
        cell.advance(-current, 30.0)
        cell.update_mechanics()
        cell.prepare(1 * MPA)
    assert charged >= start
    assert cell.state.interface < charged - 0.01


def test_degradation_off_is_the_ideal_cell():
    result = run(CellParams(degradation=False), 10 * MPA, 3)
    s = result.records[-1].state
    assert (s.active, s.interface, s.interphase, s.swelling, s.sintering) == (1.0, 1.0, 0.0, 0.0, 0.0)
    assert result.retention() == pytest.approx(1.0, abs=0.003)
    assert result.first_cycle_efficiency > 0.98


def test_first_cycle_efficiency_is_that_of_a_micro_si_ssb():
    result = run(CellParams(), 10 * MPA, 2)
    assert 0.75 < result.first_cycle_efficiency < 0.90
    second = result.records[1]
    assert second.discharge / second.charge > 0.97  # then the interphase is formed


def test_the_same_cell_degrades_the_same_way():
    a = run(CellParams(), 1 * MPA, 5)
    b = run(CellParams(), 1 * MPA, 5)
    assert a.records == b.records


def test_30_s_steps_give_the_same_100_cycles_as_10_s_steps():
    """The step the reference tables use (30 s) against a finer one: retention within 1 %, CE within 0.5 %."""
    coarse = run(CellParams(), 150 * MPA, 100, dt=30.0)
    fine = run(CellParams(), 150 * MPA, 100, dt=10.0)
    assert coarse.retention() == pytest.approx(fine.retention(), abs=0.01)
    assert coarse.first_cycle_efficiency == pytest.approx(fine.first_cycle_efficiency, abs=0.005)
    assert coarse.resistance_growth() == pytest.approx(fine.resistance_growth(), abs=0.01)
    assert coarse.records[-1].state.se_damage == pytest.approx(fine.records[-1].state.se_damage, rel=0.02)


def test_constrained_lithiation_only_shifts_the_lithiation_branch():
    squeezed = Cell(CellParams(initial_x=1.0))
    squeezed.prepare(150 * MPA)
    after_delithiation = squeezed.ocv()  # h = +1: no constraint
    squeezed.state.hysteresis = -1.0
    squeezed.prepare(150 * MPA)
    ideal = Cell(CellParams(initial_x=1.0, degradation=False))
    ideal.state.hysteresis = -1.0
    ideal.prepare(150 * MPA)
    shift = squeezed.ocv() - ideal.ocv()  # full cell: U_Si lower -> cell voltage higher
    assert shift == pytest.approx(-si.stress_potential_shift(-600 * MPA), rel=1e-3)
    ideal.state.hysteresis = 1.0
    ideal.prepare(150 * MPA)
    assert after_delithiation == pytest.approx(ideal.ocv(), abs=1e-12)


def test_the_half_cell_forms_its_interphase_on_lithiation():
    cell = Cell(CellParams(chemistry="half", initial_x=0.1))
    cell.prepare(10 * MPA)
    for _ in range(100):
        cell.advance(-1e-3, 30.0)  # discharging a half cell lithiates the Si
        cell.update_mechanics()
        cell.prepare(10 * MPA)
    s = cell.state
    assert s.interphase > 0.0
    assert s.x == pytest.approx(s.active * s.x_active + s.interphase + s.trapped, abs=1e-12)


# --- the bench file ----------------------------------------------------------------------------


def read_cell(table: dict) -> CellParams:
    section = Section({"cell": table}, "cell")
    params = cell_params(section)
    section.finish()
    return params


def test_degradation_settings_are_read_with_their_units():
    params = read_cell(
        {
            "degradation": "on",
            "si_morphology": "film",
            "si_se_size_ratio": 2.0,
            "se_modulus": "1 GPa",
            "se_toughness": "100 J/m2",
            "buffer_toughness": "5 J/m2",
            "binder_adhesion": "3 J/m2",
            "critical_pressure": "2 MPa",
            "stress_concentration": 3.0,
            "interphase_thickness": "50 nm",
            "interphase_growth": 0.02,
            "artificial_sei": 0.5,
            "contact_loss_rate": 0.1,
            "fragment_isolation_rate": 0.001,
            "sintering_rate": 0.02,
            "swelling_rate": 0.01,
        }
    )
    assert params.si_morphology == "film"
    assert params.se_modulus == pytest.approx(1e9)
    assert params.buffer_toughness == pytest.approx(5.0)
    assert params.critical_pressure == pytest.approx(2e6)
    assert params.interphase_thickness == pytest.approx(50e-9)
    assert params.artificial_sei == 0.5
    assert read_cell({"degradation": "off"}).degradation is False
    defaults, documented = dataclasses.asdict(read_cell({})), dataclasses.asdict(CellParams())
    assert defaults == {k: pytest.approx(v) if isinstance(v, float) else v for k, v in documented.items()}


@pytest.mark.parametrize(
    ("table", "error", "names"),
    [
        ({"degradation": True}, ValueError, "[cell] degradation"),
        ({"si_morphology": "pillars"}, ValueError, "[cell] si_morphology"),
        ({"buffer_toughness": "5 MPa"}, UnitError, "[cell] buffer_toughness"),
        ({"binder_adhesion": 5.0}, UnitError, "[cell] binder_adhesion"),
        ({"critical_pressure": "0 MPa"}, ValueError, "[cell] critical_pressure"),
        ({"se_modulus": "1 GPa/m"}, UnitError, "[cell] se_modulus"),
        ({"si_se_size_ratio": 0.0}, ValueError, "[cell] si_se_size_ratio"),
        ({"artificial_sei": 1.5}, ValueError, "[cell] artificial_sei"),
        ({"degradation_rate": 0.1}, ValueError, "[cell] degradation_rate"),
    ],
)
def test_a_bad_degradation_setting_is_refused_by_name(table, error, names):
    with pytest.raises(error) as raised:
        read_cell(table)
    assert names in str(raised.value)
