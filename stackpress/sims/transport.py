"""Cell-level laws: contact under stack pressure, conduction in composites, kinetics, diffusion.

These connect the material laws (si.py, materials.py) to the geometry of a
pellet cell; each is a small float function, cheap enough for the inner loop.
"""

from __future__ import annotations

import math

# Polynomial-profile approximation of diffusion in a sphere (Subramanian et al.,
# J. Electrochem. Soc. 152 (2005) A2002). With t_D = R^2 / D and r = d(x_mean)/dt the
# surface content runs ahead of the particle mean by (R^2 / 15 D) r at steady state.
# One seventh of that appears at once, six sevenths build up (and relax at rest)
# with the time constant R^2 / 30 D:
#     x_surface = x_mean + w + SURFACE_INSTANT * t_D * r
#     dw/dt = (SURFACE_LAGGED * t_D * r - w) / (SURFACE_RELAXATION * t_D)
SURFACE_INSTANT = 1.0 / 105.0
SURFACE_LAGGED = 2.0 / 35.0
SURFACE_RELAXATION = 1.0 / 30.0


def contact_fraction(pressure: float, stiffness_ratio: float, minimum: float, saturation: float) -> float:
    """Fraction of the active-material surface in ionic contact with the solid electrolyte.

    theta(P) = theta_0 + (1 - theta_0) (1 - exp(-P / P_c)),  P_c = P_sat * E* / E*_ref

    Rises linearly with pressure at first, as real contact area does for rough
    surfaces (Greenwood & Williamson, Proc. R. Soc. A 295 (1966) 300: A_real ~ P / E*),
    and saturates once the particles conform: P_c is a few MPa, so ~1 MPa leaves a
    large part of the interface unused while 10 and 30 MPa differ by a few %
    (stack-pressure studies of sulfide cells, e.g. Doux et al., Adv. Energy Mater.
    10 (2020) 1903253). A softer (lithiated) Si conforms at lower pressure:
    `stiffness_ratio` = E* / E*_ref is the Si/SE contact modulus relative to that of
    delithiated a-Si. `minimum` (theta_0) is what stays in contact with no pressure.
    """
    if pressure <= 0.0:
        return minimum
    return minimum + (1.0 - minimum) * (1.0 - math.exp(-pressure / (saturation * stiffness_ratio)))


def contact_modulus(e1: float, nu1: float, e2: float, nu2: float) -> float:
    """Hertzian contact (reduced) modulus of two bodies, Pa: 1/E* = (1-nu1^2)/E1 + (1-nu2^2)/E2."""
    return 1.0 / ((1.0 - nu1 * nu1) / e1 + (1.0 - nu2 * nu2) / e2)


def effective_conductivity(conductivity: float, volume_fraction: float, tortuosity: float) -> float:
    """Conductivity of a phase spread through a composite: sigma_eff = sigma * phi / tau.

    The reference review's relation for the SE in a composite electrode (and the
    definition of tortuosity used in porous-electrode theory, Newman & Thomas-Alyea).
    """
    return conductivity * volume_fraction / tortuosity


def electrode_resistance(thickness: float, conductivity: float, area: float) -> float:
    """Resistance, Ohm, of a composite electrode's conducting phase when the reaction is spread evenly.

    R = L / (3 sigma_eff A): the current leaves (or enters) the phase uniformly over
    the thickness, so the mean path is a third of it (porous-electrode theory's
    uniform-reaction limit, Newman & Tobias 1962).
    """
    return thickness / (3.0 * conductivity * area)


def butler_volmer_overpotential(current: float, exchange_current: float, thermal_voltage: float) -> float:
    """Charge-transfer overpotential, V, for a symmetric (alpha = 1/2) Butler-Volmer reaction.

    eta = (2 RT/F) asinh(I / (2 I_0)), the exact inverse of I = 2 I_0 sinh(F eta / 2RT).
    The cell passes I_0 = j0 * theta * A: the current crowds into the fraction theta of
    the interface still in contact, j_local = j_app / theta.
    """
    return 2.0 * thermal_voltage * math.asinh(current / (2.0 * exchange_current))


def butler_volmer_slope(current: float, exchange_current: float, thermal_voltage: float) -> float:
    """d eta / dI of `butler_volmer_overpotential`, Ohm: (2 RT/F) / sqrt(4 I_0^2 + I^2)."""
    two_i0 = 2.0 * exchange_current
    return 2.0 * thermal_voltage / math.sqrt(two_i0 * two_i0 + current * current)


def uniaxial_hydrostatic_stress(pressure: float, poisson: float) -> float:
    """Hydrostatic stress, Pa (tensile positive), in a layer pressed by `pressure` inside a rigid die.

    A pellet in a die is laterally constrained (uniaxial strain), so the lateral
    stresses are nu / (1 - nu) of the axial one and
    sigma_h = -P (1 + nu) / (3 (1 - nu)); ~ -0.52 P for nu = 0.22.
    """
    return -pressure * (1.0 + poisson) / (3.0 * (1.0 - poisson))


def porous_modulus(solid_modulus: float, porosity: float) -> float:
    """Young's modulus of a compact with the given porosity: E = E_s (1 - p)^2 (Gibson & Ashby)."""
    solid = 1.0 - porosity
    return solid_modulus * solid * solid
