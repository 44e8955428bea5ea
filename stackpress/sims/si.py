"""Material laws of lithiated silicon, LixSi (0 <= x <= 3.75), as functions of the Li content x.

Every law is a plain function of floats (SI units) so the cell model can call it
in its inner loop; the docstrings give the equation, the parameters and where
the numbers come from. These are the laws the reference review's property
table is checked against (tests/sims/test_si.py):

| property            | x = 0                       | x ~ 3 (a-LixSi)   |
|---------------------|-----------------------------|-------------------|
| electronic sigma_e  | ~1e-4 S/cm                  | ~10 S/cm (x > 2)  |
| Li diffusivity D    | 1e-14 (c-Si) .. 1e-13 cm2/s | ~1e-8 cm2/s       |
| Young's modulus E   | 90-130 GPa (c-Si)           | 10-30 GPa         |
| volume              | V0                          | ~3.8 V0 at x=3.75 |
"""

from __future__ import annotations

import math

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)

X_MAX = 3.75  # Li15Si4, the fully lithiated phase at room temperature
SI_MOLAR_MASS = 28.0855e-3  # kg/mol
SI_DENSITY = 2330.0  # kg/m3
SI_MOLAR_VOLUME = SI_MOLAR_MASS / SI_DENSITY  # m3/mol, ~12.1 cm3/mol
SPECIFIC_CAPACITY = X_MAX * FARADAY / SI_MOLAR_MASS  # C/kg: 1.288e7 C/kg = 3579 mAh/g

# Partial molar volume of Li in a-LixSi. Obrovac & Christensen (2004, ESSL 7 A93) and
# Obrovac & Krause (2007, JES 154 A103) find the volume per Si atom growing linearly with x
# up to 3.8 V0 at Li15Si4: (3.8 - 1) * 12.06 / 3.75 = 9.0 cm3 per mol of Li.
LI_PARTIAL_MOLAR_VOLUME = (3.8 - 1.0) * SI_MOLAR_VOLUME / X_MAX  # m3/mol

# Young's modulus, Pa (see youngs_modulus)
E_CRYSTALLINE = 115e9
E_AMORPHOUS = 85e9
E_KNEE = 45e9
E_LITHIATED = 12e9
X_SOFTENING = 0.1

# Li3.5Si is the amorphous phase a c-Si reaction front leaves behind (Limthongkul et al. 2003)
X_AMORPHIZATION = 3.5

# Open-circuit potential vs Li/Li+ (see ocp_mean, HYSTERESIS_HALF_WIDTH)
HYSTERESIS_HALF_WIDTH = 0.12  # V
THERMAL_VOLTAGE_25C = GAS_CONSTANT * 298.15 / FARADAY
X_EDGE = 1e-4  # the OCP's ideal-solution term diverges at x = 0 and x = X_MAX; it is read this far inside

_LOGISTIC_AT_0 = 1.0 / (1.0 + math.exp(5.0))  # the logistic step of electronic_conductivity at x = 0


def volumetric_strain(x: float, porosity: float = 0.0) -> float:
    """Volume change of a Si particle relative to its delithiated volume, (V - V0) / V0.

    Dense Si: eps_v = Omega_Li * x / V_Si = 2.8 * x / 3.75, linear in x (Obrovac &
    Christensen 2004; Chevrier & Dahn's and Obrovac & Krause's Li-Si molar volumes),
    so V = 3.8 V0 at Li3.75Si.

    Porous Si (internal void fraction `porosity` = phi of the particle's apparent
    volume): the solid, a fraction (1 - phi) of the particle, swells by
    dV = (1 - phi) * eps_v; the internal voids absorb it first, with diminishing
    efficiency as they fill (`void_filled`), and only the rest swells the particle
    outward. With phi ~ 0.8 the particle swells ~18 % at full lithiation, the value
    reported for porous ("ant-nest", closed-pore) micron Si in the reference review.
    """
    solid = LI_PARTIAL_MOLAR_VOLUME * x / SI_MOLAR_VOLUME
    if porosity <= 0.0:
        return solid
    swell = (1.0 - porosity) * solid
    return swell - void_filled(swell, porosity)


def void_filled(swell: float, void: float) -> float:
    """How much of a volume increase `swell` the void volume `void` takes up (same units).

    void * (1 - exp(-swell / void)): all of a small swell goes into the voids, and
    the voids can never take more than their own volume. A phenomenological
    saturation law (no single source); it is used for the voids inside porous Si
    particles and for the pores of the composite electrode.
    """
    if void <= 0.0:
        return 0.0
    return void * (1.0 - math.exp(-swell / void))


def youngs_modulus(x: float, branch: float = -1.0, crystalline: float = 0.0) -> float:
    """Young's modulus of LixSi, Pa, on the lithiation (branch = -1) or delithiation (+1) path.

    Lithiation:   E_L(x) = E_k + (E_f - E_k) x / 3.75 + (E_a - E_k) exp(-x / 0.1)
                  a sharp drop from E_a = 85 GPa (a-Si) to ~E_k = 45 GPa over x = 0..0.37,
                  then a gradual decrease to E_f = 12 GPa at Li3.75Si (~19 GPa at x = 3).
    Delithiation: E_D(x) = E_f + (E_a - E_f) (1 - x / 3.75), almost linear in x.

    The shape (sharp early softening on lithiation, linear re-stiffening on
    delithiation, so the two paths differ) is Sethuraman et al.'s in-situ
    measurement on a-Si films (Electrochem. Commun. 12 (2010) 1614); the
    end values follow Shenoy, Johari & Qi (J. Power Sources 195 (2010) 6825) and
    Hertzberg et al. (Electrochem. Commun. 13 (2011) 818). A `branch` between -1
    and +1 (the cell passes its hysteresis state) blends the two paths linearly,
    so the modulus changes continuously after a current reversal.

    `crystalline` is the fraction of Si still in the pristine crystal (1 for a
    fresh c-Si particle); it is mixed in by rule of mixtures at E_c = 115 GPa
    (c-Si is 130-169 GPa along the cube axes; powders and indentation give 90-130).
    """
    lithiation = E_KNEE + (E_LITHIATED - E_KNEE) * x / X_MAX + (E_AMORPHOUS - E_KNEE) * math.exp(-x / X_SOFTENING)
    delithiation = E_LITHIATED + (E_AMORPHOUS - E_LITHIATED) * (1.0 - x / X_MAX)
    amorphous = lithiation + 0.5 * (1.0 + branch) * (delithiation - lithiation)
    return amorphous + crystalline * (E_CRYSTALLINE - amorphous)


def electronic_conductivity(x: float) -> float:
    """Electronic conductivity of LixSi, S/m: log-sigmoid from 1e-4 S/cm (x = 0) to 10 S/cm (x > 2).

    log10(sigma / (S/cm)) = -4 + 5 * s(x), s a logistic step in x centred at
    x = 1 (width 0.2) normalised so that s(0) = 0 and s(inf) = 1. Pristine Si is a
    semiconductor; LixSi turns metallic as Li is added (Pollak et al., J. Phys.
    Chem. C 111 (2007) 11437: in-situ conductivity of a-Si; the reference review's
    "self-wiring").
    """
    step = (1.0 / (1.0 + math.exp(-(x - 1.0) / 0.2)) - _LOGISTIC_AT_0) / (1.0 - _LOGISTIC_AT_0)
    return 100.0 * 10.0 ** (-4.0 + 5.0 * step)


def diffusivity(x: float, crystalline: float = 0.0) -> float:
    """Chemical diffusion coefficient of Li in LixSi, m2/s.

    log10(D / (cm2/s)) = l0 + (-8 - l0) (1 - exp(-x / 0.8)),
    l0 = -13 for a-Si and -14 for c-Si (mixed linearly by `crystalline`):
    D rises by five to six decades, fastest in the first Li added, to ~1e-8 cm2/s in
    highly lithiated a-LixSi. Low-x values: Ding et al. (Solid State Ionics 180
    (2009) 222), 1e-14..1e-13 cm2/s; the high-x value is the reference review's. The
    lower value for c-Si stands in for the slow reaction-front lithiation of the
    crystal (Pharr et al., Nano Lett. 12 (2012) 5039).
    """
    low = -13.0 - crystalline
    return 1e-4 * 10.0 ** (low + (-8.0 - low) * (1.0 - math.exp(-x / 0.8)))


def ocp_mean(x: float) -> float:
    """Centre line between the lithiation and delithiation OCP of a-LixSi, V vs Li/Li+.

    U_eq(x) = 0.365 - 0.042 x + 0.45 exp(-x / 0.12) + (RT/F) ln((3.75 - x) / x)

    A fit to slow (C/20-like) a-Si curves: with the hysteresis half-width M = 0.12 V
    the lithiation branch U_eq - M is 0.27 V at x = 0.5, 0.13 V at x = 2 and 0.02 V at
    x = 3.5; the delithiation branch U_eq + M is ~0.52 V at x = 0.5 and ~0.40 V at
    x = 2 (a-Si film curves of Sethuraman et al. 2010; Obrovac & Krause 2007).
    The ideal-solution term (evaluated at 25 degC: part of the fit) gives the steep
    walls at the ends of the composition range, which end a charge or discharge.
    Within X_EDGE of an end (and beyond it, where a forced current would push the
    particle surface) the curve continues as a straight line of the wall's slope,
    (RT/F) / X_EDGE ~ 260 V per unit x, so the voltage of an exhausted electrode
    keeps running away instead of stalling.
    """
    inside = X_EDGE if x < X_EDGE else (X_MAX - X_EDGE if x > X_MAX - X_EDGE else x)
    return (
        0.365
        - 0.042 * inside
        + 0.45 * math.exp(-inside / 0.12)
        + THERMAL_VOLTAGE_25C * (math.log((X_MAX - inside) / inside) + (inside - x) / X_EDGE)
    )


def ocp_mean_slope(x: float) -> float:
    """dU_eq/dx of `ocp_mean`, V per unit x (< 0): the cell's constant-voltage solve takes Newton steps with it.

    Inside: -0.042 - (0.45 / 0.12) exp(-x / 0.12) - (RT/F) (1 / (3.75 - x) + 1 / x); on the
    straight continuations beyond X_EDGE of either end, the wall's slope -(RT/F) / X_EDGE.
    """
    if x < X_EDGE or x > X_MAX - X_EDGE:
        return -THERMAL_VOLTAGE_25C / X_EDGE
    return -0.042 - 0.45 / 0.12 * math.exp(-x / 0.12) - THERMAL_VOLTAGE_25C * (1.0 / (X_MAX - x) + 1.0 / x)


def ocp(x: float, hysteresis: float, stress_shift: float = 0.0) -> float:
    """Open-circuit potential of LixSi vs Li/Li+ with path-dependent hysteresis, V.

    U(x, h) = U_eq(x) + h * M + dU_sigma, with h in [-1, 1] the hysteresis state
    (-1 after lithiating, +1 after delithiating, in between after a partial reversal:
    see `hysteresis_step`) and dU_sigma the stress-potential coupling
    (`stress_potential_shift`).
    """
    return ocp_mean(x) + hysteresis * HYSTERESIS_HALF_WIDTH + stress_shift


def hysteresis_step(h: float, dx: float, rate: float) -> float:
    """The hysteresis state after the Li content changes by `dx`.

    dh/d|x| = rate * (h_target - h), h_target = -1 while lithiating (dx > 0) and +1
    while delithiating, integrated exactly over the step:
    h' = h_target + (h - h_target) exp(-rate |dx|).
    This is Plett's one-state hysteresis model (J. Power Sources 134 (2004) 262),
    written per unit of Li content as Verbrugge & Baker do for Si: the OCP leaves
    one branch and approaches the other as charge passes after a reversal, so a
    partial reversal lands between the branches. rate ~ 8 per unit x switches
    branches within ~10 % of the composition range.
    """
    if dx == 0.0:
        return h
    target = -1.0 if dx > 0.0 else 1.0
    return target + (h - target) * math.exp(-rate * abs(dx))


def stress_potential_shift(hydrostatic_stress: float) -> float:
    """Shift of the LixSi OCP by mechanical stress, V: dU = Omega_Li * sigma_h / F.

    sigma_h is the hydrostatic stress in the Si, Pa, tensile positive. The Li
    chemical potential in the alloy is mu = mu_0 - Omega * sigma_h, and
    U = -(mu - mu_Li) / F, so compression (sigma_h < 0, e.g. from stack pressure)
    LOWERS the potential at a given x: lithiation needs a lower potential (it is
    harder), delithiation an easier one. Omega = 9.0e-6 m3/mol gives 93 mV/GPa,
    the magnitude Sethuraman et al. measured on a-Si films (100-125 mV/GPa,
    J. Electrochem. Soc. 157 (2010) A1253 / Electrochem. Commun. 12 (2010) 1614).
    At 10 MPa stack pressure the shift is well under 1 mV.
    """
    return LI_PARTIAL_MOLAR_VOLUME * hydrostatic_stress / FARADAY


def crystalline_left(crystalline: float, x: float) -> float:
    """Fraction of the Si still crystalline after lithiating to x.

    c-Si converts to amorphous Li~3.5Si at a moving reaction front (Limthongkul et
    al., Acta Mater. 51 (2003) 1103; Obrovac & Christensen 2004), so Li content x
    has consumed a fraction x / 3.5 of the crystal. The crystal never comes back:
    the result never exceeds `crystalline`.
    """
    remaining = 1.0 - x / X_AMORPHIZATION
    if remaining < 0.0:
        remaining = 0.0
    return remaining if remaining < crystalline else crystalline
