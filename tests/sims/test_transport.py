"""Cell-level laws: contact under pressure, kinetics, conduction in composites."""

from __future__ import annotations

import math

import pytest

from stackpress.sims import transport

from .helpers import numeric_slope


def theta(pressure: float, stiffness_ratio: float = 1.0) -> float:
    return transport.contact_fraction(pressure, stiffness_ratio, minimum=0.05, saturation=3e6)


def test_contact_fraction_rises_with_pressure_and_saturates():
    values = [theta(p * 1e6) for p in (0, 0.5, 1, 2, 5, 10, 20, 30, 100)]
    assert values == sorted(values)
    assert values[0] == 0.05
    assert values[-1] == pytest.approx(1.0)
    assert theta(1e6) < 0.5 * theta(10e6)  # ~1 MPa leaves much of the interface unused
    assert theta(30e6) / theta(10e6) < 1.05  # 10 vs 30 MPa: a few % at most


def test_softer_si_conforms_at_lower_pressure():
    assert theta(1e6, stiffness_ratio=0.5) > theta(1e6, stiffness_ratio=1.0)


def test_contact_modulus_is_hertzian():
    assert transport.contact_modulus(1e9, 0.0, 1e9, 0.0) == pytest.approx(0.5e9)
    assert transport.contact_modulus(85e9, 0.22, 20e9, 0.3) < 20e9


def test_butler_volmer_is_the_inverse_of_the_current_law():
    i0, vt = 1e-3, 0.0257
    for current in (-5e-3, -1e-4, 0.0, 2e-4, 3e-3):
        eta = transport.butler_volmer_overpotential(current, i0, vt)
        assert 2 * i0 * math.sinh(eta / (2 * vt)) == pytest.approx(current, abs=1e-15)
    # the current crowding into half the contact needs more overpotential
    assert transport.butler_volmer_overpotential(1e-3, i0 / 2, vt) > transport.butler_volmer_overpotential(1e-3, i0, vt)


def test_butler_volmer_slope_is_the_derivative_of_the_overpotential():
    i0, vt = 1e-3, 0.0257
    for current in (-5e-3, -1e-4, 0.0, 2e-4, 3e-3):
        numeric = numeric_slope(lambda i: transport.butler_volmer_overpotential(i, i0, vt), current, 1e-9)
        assert transport.butler_volmer_slope(current, i0, vt) == pytest.approx(numeric, rel=1e-6)


def test_effective_conductivity_and_uniform_reaction_resistance():
    sigma = transport.effective_conductivity(0.25, 0.4, 3.0)
    assert sigma == pytest.approx(0.25 * 0.4 / 3.0)
    assert transport.electrode_resistance(30e-6, sigma, 1e-4) == pytest.approx(30e-6 / (3 * sigma * 1e-4))


def test_stack_pressure_in_a_die_is_compressive_hydrostatic_stress():
    assert transport.uniaxial_hydrostatic_stress(10e6, 0.0) == pytest.approx(-10e6 / 3)
    assert transport.uniaxial_hydrostatic_stress(10e6, 0.22) == pytest.approx(-0.5214e7, rel=1e-3)


def test_porous_modulus():
    assert transport.porous_modulus(100e9, 0.0) == 100e9
    assert transport.porous_modulus(100e9, 0.2) == pytest.approx(64e9)
