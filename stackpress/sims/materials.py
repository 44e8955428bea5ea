"""The materials around the Si anode: the NCM811 cathode, the Li-In counter electrode, Li6PS5Cl.

Plain functions and constants (SI units) for the cell model's inner loop; each
says where its numbers come from.
"""

from __future__ import annotations

import math

from stackpress.sims.si import FARADAY

BOLTZMANN_EV = 8.617333262e-5  # eV/K
T_REFERENCE = 298.15  # K, 25 degC

# NCM811, LiNi0.8Mn0.1Co0.1O2
NCM_MOLAR_MASS = 97.28e-3  # kg/mol
NCM_SPECIFIC_CAPACITY = FARADAY / NCM_MOLAR_MASS  # C/kg for a full Li, 275 mAh/g
NCM_DENSITY = 4750.0  # kg/m3
# Stoichiometry window of Chen et al. (2020): y = 0.9084 discharged, 0.2661 charged.
# The cell's nominal (cathode) capacity is the charge between the two.
NCM_Y_DISCHARGED = 0.9084
NCM_Y_CHARGED = 0.2661
NCM_PARTICLE_RADIUS = 5.22e-6  # m, Chen et al. (2020)
NCM_DIFFUSIVITY = 4e-15  # m2/s, Chen et al. (2020)

# Li-In alloy counter electrode (two-phase, flat): Santhosha et al., Batteries & Supercaps 2 (2019) 524
LI_IN_POTENTIAL = 0.62  # V vs Li/Li+

# Li6PS5Cl argyrodite
LPSCL_MODULUS = 20e9  # Pa, cold-pressed pellet (dense: ~22 GPa, Deng et al. 2016)
LPSCL_POISSON = 0.3


def ncm811_ocp(y: float) -> float:
    """Open-circuit potential of Li_yNi0.8Mn0.1Co0.1O2 vs Li/Li+, V.

    U(y) = -0.809 y + 4.4875 - 0.0428 tanh(18.5138 (y - 0.5542))
           - 17.7326 tanh(15.789 (y - 0.3117)) + 17.5842 tanh(15.9308 (y - 0.312))

    The GITT fit of Chen et al., J. Electrochem. Soc. 167 (2020) 080534 (LG M50,
    NMC811): 4.28 V at y = 0.266, 3.97 V at y = 0.5, 3.56 V at y = 0.908.
    """
    return (
        -0.809 * y
        + 4.4875
        - 0.0428 * math.tanh(18.5138 * (y - 0.5542))
        - 17.7326 * math.tanh(15.789 * (y - 0.3117))
        + 17.5842 * math.tanh(15.9308 * (y - 0.312))
    )


def ncm811_ocp_slope(y: float) -> float:
    """dU/dy of `ncm811_ocp`, V per unit y (< 0), with tanh' = 1 - tanh^2: for the cell's Newton solve."""
    a = math.tanh(18.5138 * (y - 0.5542))
    b = math.tanh(15.789 * (y - 0.3117))
    c = math.tanh(15.9308 * (y - 0.312))
    return (
        -0.809 - 0.0428 * 18.5138 * (1.0 - a * a) - 17.7326 * 15.789 * (1.0 - b * b)
        + 17.5842 * 15.9308 * (1.0 - c * c)
    )


def lpscl_conductivity(temperature: float, conductivity_25c: float, activation_energy: float) -> float:
    """Li+ conductivity of Li6PS5Cl at `temperature` K, S/m: Arrhenius from its 25 degC value.

    sigma(T) = sigma_25 exp(-Ea / k_B (1/T - 1/298.15)); cold-pressed Li6PS5Cl has
    sigma_25 ~ 1-3 mS/cm and Ea ~ 0.3-0.4 eV (Kraft et al., J. Am. Chem. Soc. 139
    (2017) 10909, and the Janek group's later argyrodite work). `activation_energy`
    is in eV.
    """
    return conductivity_25c * math.exp(-activation_energy / BOLTZMANN_EV * (1.0 / temperature - 1.0 / T_REFERENCE))
