"""The LixSi material laws against the reference review's property table."""

from __future__ import annotations

import itertools

import pytest

from stackpress.sims import si

from .helpers import numeric_slope

GPA = 1e9
S_PER_CM = 100.0  # S/m
CM2_PER_S = 1e-4  # m2/s


def test_electronic_conductivity_rises_from_semiconductor_to_metal():
    assert si.electronic_conductivity(0.0) / S_PER_CM == pytest.approx(1e-4, rel=0.1)
    for x in (2.1, 3.0, 3.75):
        assert 5.0 <= si.electronic_conductivity(x) / S_PER_CM <= 15.0
    values = [si.electronic_conductivity(0.25 * k) for k in range(16)]
    assert values == sorted(values)


def test_diffusivity_spans_the_table():
    assert 1e-14 <= si.diffusivity(0.0, crystalline=1.0) / CM2_PER_S <= 1e-13
    assert 1e-14 <= si.diffusivity(0.0) / CM2_PER_S <= 1e-13
    assert si.diffusivity(0.0, crystalline=1.0) < si.diffusivity(0.0)
    assert si.diffusivity(3.0) / CM2_PER_S == pytest.approx(1e-8, rel=0.3)
    values = [si.diffusivity(0.25 * k) for k in range(16)]
    assert values == sorted(values)


def test_modulus_end_values():
    assert 90 * GPA <= si.youngs_modulus(0.0, crystalline=1.0) <= 130 * GPA
    assert 80 * GPA <= si.youngs_modulus(0.0) <= 90 * GPA
    for branch in (-1.0, 1.0):
        assert 10 * GPA <= si.youngs_modulus(3.0, branch) <= 30 * GPA


def test_modulus_drops_sharply_early_in_lithiation_then_gradually():
    e0, e1, e2 = (si.youngs_modulus(x, -1.0) for x in (0.0, 0.37, 0.74))
    assert e0 - e1 > 0.4 * e0  # most of the softening happens by x = 0.37
    assert e0 - e1 > 5 * (e1 - e2)  # and the next 0.37 softens far less


def test_modulus_rises_linearly_on_delithiation_and_the_paths_differ():
    xs = [0.25 * k for k in range(16)]
    delithiation = [si.youngs_modulus(x, 1.0) for x in xs]
    steps = [a - b for a, b in itertools.pairwise(delithiation)]
    assert max(steps) == pytest.approx(min(steps), rel=1e-9)  # linear
    assert si.youngs_modulus(1.0, 1.0) > 1.5 * si.youngs_modulus(1.0, -1.0)
    halfway = si.youngs_modulus(1.0, 0.0)
    assert si.youngs_modulus(1.0, -1.0) < halfway < si.youngs_modulus(1.0, 1.0)


def test_volume_is_3_8_v0_at_li15si4_and_linear():
    assert 1.0 + si.volumetric_strain(si.X_MAX) == pytest.approx(3.8, abs=0.01)
    assert si.volumetric_strain(1.0) == pytest.approx(si.volumetric_strain(si.X_MAX) / si.X_MAX)
    omega = si.LI_PARTIAL_MOLAR_VOLUME
    assert omega == pytest.approx(9.0e-6, rel=0.01)


def test_porous_si_swells_less():
    dense = si.volumetric_strain(si.X_MAX)
    swells = [si.volumetric_strain(si.X_MAX, porosity) for porosity in (0.0, 0.3, 0.5, 0.7, 0.8)]
    assert swells[0] == dense
    assert swells == sorted(swells, reverse=True)
    assert 0.1 < si.volumetric_strain(si.X_MAX, 0.78) < 0.25  # "as low as ~18 %"


def test_specific_capacity_is_li15si4():
    mah_per_g = si.SPECIFIC_CAPACITY / 3600
    assert mah_per_g == pytest.approx(3579, rel=0.002)


def test_ocp_branches_are_the_lithiation_and_delithiation_plateaus():
    # a-Si curves slope: the "plateaus" are the middle of the lithiation and delithiation ranges
    for x in (0.5, 0.75, 1.0, 1.25):
        assert 0.2 <= si.ocp(x, -1.0) <= 0.3
    for x in (0.75, 1.0, 1.5, 1.9):
        assert 0.4 <= si.ocp(x, 1.0) <= 0.5
    values = [si.ocp_mean(0.05 + 0.1 * k) for k in range(37)]
    assert values == sorted(values, reverse=True)


def test_ocp_walls_keep_rising_beyond_the_composition_range():
    assert si.ocp_mean(-0.001) > si.ocp_mean(0.0) + 0.2
    assert si.ocp_mean(si.X_MAX + 0.001) < si.ocp_mean(si.X_MAX) - 0.2


def _walk(h: float, x: float, to: float, step: float = 0.01) -> tuple[float, float]:
    """Move the Li content from x to `to` in small steps; return (h, x)."""
    while abs(to - x) > 1e-12:
        dx = max(-step, min(step, to - x))
        h = si.hysteresis_step(h, dx, rate=8.0)
        x += dx
    return h, x


def test_hysteresis_is_path_dependent():
    h_lith, x = _walk(1.0, 0.0, 2.0)
    h_delith, _ = _walk(*_walk(1.0, 0.0, 3.0), 2.0)
    after_lithiation = si.ocp(x, h_lith)
    after_delithiation = si.ocp(x, h_delith)
    assert after_delithiation - after_lithiation == pytest.approx(2 * si.HYSTERESIS_HALF_WIDTH, rel=0.01)
    # a partial reversal (lithiate to 2.05, delithiate 0.05) lands between the branches
    h_partial, x_partial = _walk(*_walk(1.0, 0.0, 2.05), 2.0)
    partial = si.ocp(x_partial, h_partial)
    assert after_lithiation + 0.05 < partial < after_delithiation - 0.05


def test_compressive_stress_makes_lithiation_harder():
    compressive = -1e9  # Pa
    shift = si.stress_potential_shift(compressive)
    assert shift < 0.0  # lower potential vs Li: Li is less welcome in a compressed alloy
    assert -0.125 < shift < -0.08  # ~93 mV/GPa (Sethuraman et al.: 100-125 mV/GPa)
    assert si.ocp(1.0, -1.0, shift) < si.ocp(1.0, -1.0)


def test_crystal_is_consumed_by_lithiation_and_never_returns():
    c = si.crystalline_left(1.0, 1.75)
    assert c == pytest.approx(0.5)
    assert si.crystalline_left(c, 0.0) == c
    assert si.crystalline_left(c, 3.75) == 0.0


def test_ocp_slope_is_the_derivative_of_the_ocp_inside_and_beyond_the_walls():
    for x in (-0.01, 0.02, 0.1, 0.5, 1.0, 2.0, 3.0, 3.7, si.X_MAX + 0.01):
        slope = si.ocp_mean_slope(x)
        assert slope == pytest.approx(numeric_slope(si.ocp_mean, x, 1e-7), rel=1e-5)
        assert slope < 0.0  # the potential falls as Li is added: the cell's voltage rises with the charge
