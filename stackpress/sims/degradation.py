"""Degradation of the Si solid-state cell: the failure mechanisms and mitigation strategies of the review.

Each mechanism is a small float function here, with its equation, parameters and
source; the cell (cell.py) holds the degradation state in CellState and integrates
these laws in `Cell.advance` from what the cell goes through: the Li it moves into
or out of the Si and the direction, the Si's strain and modulus, the stack pressure,
the contact fraction. Nothing counts cycles: a cycle is simply one lithiation strain
followed by one delithiation strain. Everything is deterministic.

The driving variable of the mechanical laws is the Si particle's (outward) true
linear strain, e = ln(1 + eps_v(x, phi)) / 3, with eps_v of si.volumetric_strain:
it rises while lithiating and falls while delithiating. One full cycle of the
default cell (x = 0.1 .. 3.3) sweeps e by ~0.39 each way; porous Si (internal
porosity phi) sweeps far less, which is how the review's "C_ret ~ 1 / ((1 - phi)
eps_v)" comes out: every strain-driven rate below scales with the particle's swing.

Per sub-step the cell forms interphase on fresh interface, cracks particles on
their first lithiations and tracks the strain; the strain-driven laws are settled
in batches of 0.01 of strain and at every change of direction (cell.STRAIN_BATCH).

| mechanism (law here)                         | state (CellState)  | what it does in the cell                    |
|----------------------------------------------|--------------------|---------------------------------------------|
| contact loss below ~1-2 MPa, on delithiation | interface, active  | theta = theta(P) g(r) c: impedance up,      |
|   (contact_loss_weight)                      |                    | Si cut off: accessible capacity down        |
| constrained lithiation > ~100 MPa            | -                  | U_Si lower on the lithiation branch:        |
|   (constraint_stress)                        |                    | charge ends early                           |
| SE cracking > ~100 MPa (crack_driving_force, | se_damage, active  | SE conductivity x (1 - D), Si behind        |
|   se_crack_rate)                             |                    | cracks cut off                              |
| particle fracture > 150 nm c-Si / 870 nm a-Si| fractured, active, | fresh interface, isolated fragments         |
|   (critical_size, fracture_fraction)         | fresh              |                                             |
| SSI on fresh interface; first-cycle loss     | interphase, fresh  | Li lost, anode ASR up                       |
|   (interphase_capacity, interphase_formed)   |                    |                                             |
| electrochemical sintering (sintering_rate,   | sintering          | pores sealed (less room to swell),          |
|   tortuosity)                                |                    | tortuosity up, fragments held together      |
| irreversible swelling                        | swelling           | thicker electrode, cycle after cycle        |

State (dimensionless):

| field        | meaning                                                                  | fresh cell |
|--------------|--------------------------------------------------------------------------|------------|
| interface    | c, integrity of the Si/SE contact: theta = min(1, theta(P) g(r)) * c     | 1          |
| active       | a, fraction of the Si still wired to the SE and the current collector    | 1          |
| interphase   | Li consumed into the SSI, per Si atom (x units)                          | 0          |
| trapped      | Li locked in isolated Si, per Si atom                                    | 0          |
| fresh        | Li it would take to passivate the interface exposed now, per Si atom     | lambda     |
| fractured    | F, fraction of the particles cracked                                     | 0          |
| se_damage    | D, cracking of the solid electrolyte                                     | 0          |
| sintering    | s, fraction of the composite's pore space sealed by sintering            | 0          |
| swelling     | eps_irr, irreversible volume gained by the Si, of its pristine volume    | 0          |

The Li content the Si's potential sees is x_active = (x - interphase - trapped) / a,
where x (the charge counter's view) stays exactly the integral of the current.

The laws as the cell integrates them (de > 0 lithiating, de < 0 delithiating; H = 1 / theta
the hotspot factor; (1 - p_buf), (1 - p_bind) the buffer's and binder's `protection`):

    contact      de < 0: dc = -k_c w(P) (E_Si / E_a) H (1 - p_buf)(1 - p_bind) c |de|,  da = -0.3 a dc/c
                 de > 0: dc = +k_r (1 - w(P)) (1 - c) de                  (k_c = 0.08, k_r = 0.1)
    SE cracking  de > 0: dD = k_D (1 - D) max(0, G / G_c - 1) (1 - p_buf) de,   da = -0.5 a dD   (k_D = 0.02)
    fracture     dx > 0: dF = (F_max - F)(1 - exp(-dx)),  fresh += 0.3 n lambda dF,  da = -0.05 n a dF
                 de < 0: da = -k_f n F (1 - s) H (1 - p_bind) a |de|      (n = 3 c-Si, 1 a-Si; k_f = 0.0025)
    interphase   dx > 0: dL = f (1 - exp(-a dx / (f + 0.3))), f -= dL, x_active -= dL / a
                 de > 0: f += chi lambda (a + 0.3 n F) H (1 - p_buf) de   (chi = 0.01)
    sintering    de > 0: ds = k_s (1 + P / 50 MPa)(1 - s) de,  tau = tau_0 (1 + s)   (k_s = 0.01)
    swelling     de > 0: d eps_irr = k_irr a de; isolated Si keeps its eps_v(x)   (k_irr = 0.005)

A film (si_morphology = "film") feels 0.2 of the strain at its interface: the contact,
SE-cracking and stretching laws run at 0.2 de.

Design strategies (CellParams / bench [cell] keys): internal porosity (si_porosity),
thin film or columnar Si (si_morphology = "film": the interface feels a fifth of the
Si's strain and is planar), Si/SE size ratio (si_se_size_ratio: coverage, hotspots),
buffer coating (buffer_toughness vs K_I^2 / E'), binder (binder_adhesion vs
sigma_interface dA), an elastic SE (se_modulus, se_toughness: it follows the Si at
far lower pressure), an artificial SEI (artificial_sei), and a sintering-prone
electrode (sintering_rate: a network that holds cracked Si together).
"""

from __future__ import annotations

import math

from stackpress.sims.si import SI_MOLAR_VOLUME

# Critical particle sizes for fracture on the first lithiation (diameters, m):
# crystalline Si (anisotropic lithiation): Liu et al., ACS Nano 6 (2012) 1522;
# amorphous Si (isotropic): McDowell et al., Nano Lett. 13 (2013) 758.
CRITICAL_SIZE_CRYSTALLINE = 150e-9
CRITICAL_SIZE_AMORPHOUS = 870e-9
PARTICLE_SIZE_SPREAD = 1.5  # geometric standard deviation of a milled powder's size distribution
# Fragments per cracked particle (new surface, in units of the particle's outer surface): c-Si splits
# along {111} planes and pulverises (Liu 2012; Lee et al., PNAS 109 (2012) 4080), a-Si opens a few cracks.
FRAGMENTS_CRYSTALLINE = 3.0
FRAGMENTS_AMORPHOUS = 1.0
FRACTURE_LITHIATION = 1.0  # x over which a particle above its critical size cracks (first lithiation)

# Solid-state interphase: Li density of Li2S (1.66 g/cm3, 45.95 g/mol), the main Li-bearing product of
# Li6PS5Cl reduction (with Li3P and LiCl; Wenzel et al., Solid State Ionics 318 (2018) 102).
SSI_LITHIUM_DENSITY = 2.0 * 1660.0 / 45.95e-3  # mol Li per m3 of SSI
SSI_FORMATION_LITHIATION = 0.3  # x over which a fresh interface is passivated (1/e)
INTERFACE_AREA_SATURATION = 10e6  # 1/m, Si/SE area per Si volume beyond which the SE side limits the SSI
REFERENCE_PARTICLE_SIZE = 1e-6  # m

# Si/SE particle-size ratio: coverage of the Si by the SE, relative to equal sizes
COVERAGE_HALF_RATIO = 0.5

X_FULL_SWING = 3.75  # a full cycle's Li swing, for the strain a binder must hold (per particle radius)


def critical_size(crystalline: bool) -> float:
    """Critical Si particle diameter for fracture on the first lithiation, m: 150 nm c-Si, 870 nm a-Si.

    c-Si lithiates by an anisotropic reaction front (fastest along <110>) whose
    mismatch strain concentrates hoop tension at the surface: particles above
    ~150 nm crack on their first lithiation (Liu et al., ACS Nano 6 (2012) 1522).
    a-Si lithiates isotropically and survives up to ~870 nm (McDowell et al.,
    Nano Lett. 13 (2013) 758).
    """
    return CRITICAL_SIZE_CRYSTALLINE if crystalline else CRITICAL_SIZE_AMORPHOUS


def fracture_fraction(size: float, critical: float, spread: float = PARTICLE_SIZE_SPREAD) -> float:
    """Fraction of a powder's particles above the critical size (they crack on their first lithiations).

    F_max = 1/2 erfc( ln(d_c / d) / (sqrt(2) ln s_g) ): a lognormal size distribution
    of median d and geometric standard deviation s_g (~1.5 for a milled powder).
    A sharp Griffith criterion per particle (G ~ E eps^2 d exceeds the toughness
    above d_c; Zhao, Pharr, Vlassak, Suo, J. Appl. Phys. 108 (2010) 073517) turns
    into a smooth fraction over the distribution: 1 um c-Si ~1.0, 500 nm c-Si ~0.998,
    1 um a-Si ~0.63, 500 nm a-Si ~0.09, 100 nm c-Si ~0.16. (Fracture energy of LixSi:
    Pharr, Suo & Vlassak, Nano Lett. 13 (2013) 5570.)
    """
    if size <= 0.0:
        return 0.0
    return 0.5 * math.erfc(math.log(critical / size) / (math.sqrt(2.0) * math.log(spread)))


def log_strain(volumetric_strain: float) -> float:
    """True linear strain of a particle with this volumetric strain: e = ln(1 + eps_v) / 3."""
    return math.log1p(volumetric_strain) / 3.0


def size_ratio_coverage(ratio: float) -> float:
    """Si/SE contact coverage relative to equal particle sizes, as the Si/SE size ratio r = d_Si / d_SE varies.

    g(r) = (1 + r_h) r / (r + r_h), r_h = 0.5: g(1) = 1, more SE contact per Si when
    the SE particles are smaller than the Si (they fill the voids between them, up to
    1.5x), less when they are larger (g(0.2) = 0.43): the review's particle-size
    matching (section 2.3; e.g. Shi et al., Adv. Energy Mater. 10 (2020) 1902881 on
    cathode/SE size ratios). The contact fraction it multiplies is capped at 1.
    """
    return (1.0 + COVERAGE_HALF_RATIO) * ratio / (ratio + COVERAGE_HALF_RATIO)


def hotspot_factor(contact: float) -> float:
    """Local current density relative to the applied one: j_local / j_app = 1 / theta (the review, 2.3).

    Degradation that follows the current (interphase growth, fragment isolation) runs
    this much faster where the current crowds into the remaining contacts.
    """
    return 1.0 / contact


def interface_area(size: float, coverage: float, film_thickness: float | None = None) -> float:
    """Si/SE interfacial area per Si volume, 1/m, that an interphase can form on.

    Particles: 6 / d times the coverage of the Si by the SE; a film (or columns on
    the current collector): 1 / L, its one face towards the separator. A finely
    divided Si cannot form more SSI than the SE it touches can supply: the area
    saturates, A_eff = A / (1 + A / A_sat), A_sat = 10 um^-1 (a 1 um powder has 6).
    """
    area = 1.0 / film_thickness if film_thickness is not None else 6.0 * coverage / size
    return area / (1.0 + area / INTERFACE_AREA_SATURATION)


def interphase_capacity(thickness: float, area_per_volume: float) -> float:
    """Li, per Si atom (x units), that an SSI of `thickness` m on `area_per_volume` 1/m of interface holds.

    lambda = h * c_Li * A * V_Si, c_Li the Li density of Li2S, V_Si Si's molar volume.
    With h = 120 nm on a 1 um powder, ~0.39 Li per Si (~10 % of the Si's capacity):
    the solid-state interphase (SSI) of Li6PS5Cl reduced on lithiated Si, which
    forms on the first lithiation and is most of a micro-Si SSB's first-cycle loss
    (Tan et al., Science 373 (2021) 1494; measured first-cycle CE 75-90 %).
    """
    return thickness * SSI_LITHIUM_DENSITY * area_per_volume * SI_MOLAR_VOLUME


def interphase_formed(fresh: float, lithiation: float, scale: float = SSI_FORMATION_LITHIATION) -> float:
    """Li consumed (x units) passivating a fresh interface while `lithiation` Li per Si is delivered to the anode.

    dL = f (1 - exp(-dq / (f + x_p))), f the fresh interface's passivation Li: the SE
    is reduced wherever it touches LixSi at low potential, so a fresh interface
    (pristine, or just exposed by cracking and stretching) consumes its passivation
    Li over the first x_p ~ 0.3 of lithiation and then stops growing (self-limiting,
    as SEI growth on fresh Si surfaces in Pinson & Bazant, J. Electrochem. Soc. 160
    (2013) A243). When f is large (a nano powder) the side reaction takes nearly all
    the current until enough interphase has formed, but never more than dq.
    """
    return -fresh * math.expm1(-lithiation / (fresh + scale))


def contact_loss_weight(pressure: float, critical_pressure: float) -> float:
    """How unprotected the Si/SE contact is at stack `pressure`: w = exp(-P / P_crit).

    Below a critical stack pressure of ~1-2 MPa the pressure cannot push the rigid,
    non-flowing SE back against Si that shrinks away from it on delithiation, and the
    interface opens voids cycle by cycle (the review, 2.5; critical stack pressure
    for interfacial voids: Kasemchainan et al., Nat. Mater. 18 (2019) 1105; stack
    pressure in sulfide SSBs: Doux et al., Adv. Energy Mater. 10 (2020) 1903253; Si
    SSB stress: Han et al., Joule 5 (2021) 2450; contact loss of shrinking active
    material in sulfide SSBs: Koerver et al., Chem. Mater. 29 (2017) 5574). P_crit
    scales with the Si/SE contact modulus (a soft, elastic SE follows the Si at far
    lower pressure), like the contact law's P_c (transport.contact_fraction).
    """
    return math.exp(-pressure / critical_pressure)


def constraint_stress(pressure: float, concentration: float, flow_stress: float) -> float:
    """Compressive stress, Pa, on Si lithiating against a stack held at `pressure`: min(k P, sigma_flow).

    The stack pressure is carried through the particle contacts, concentrated k ~ 4
    times on them; a swelling particle pushing against a constrained neighbourhood
    sees it, up to LixSi's plastic flow stress (~1 GPa: Sethuraman et al., J. Power
    Sources 195 (2010) 5062, in-situ stress of lithiating Si films).
    Through the stress-potential coupling (si.stress_potential_shift) it lowers the
    Si's potential on the lithiation branch: ~56 mV at 150 MPa, ~4 mV at 10 MPa, so
    very high pressure cuts the accessible capacity (the review, 2.5).
    """
    stress = concentration * pressure
    return stress if stress < flow_stress else flow_stress


def crack_driving_force(stress: float, flaw_size: float, modulus: float) -> float:
    """Energy release rate, J/m2, of an interface flaw under `stress`: G = K_I^2 / E', K_I = sigma sqrt(pi a).

    Griffith/Irwin; `modulus` E' is the Si/SE composite (contact) modulus and the
    flaw a ~ a tenth of the particle size. Bucci et al. (J. Mater. Chem. A 5 (2017)
    19422) model SE cracking in SSB composites from the electrode's expansion this way.
    """
    return math.pi * flaw_size * stress * stress / modulus


def se_crack_rate(driving_force: float, toughness: float) -> float:
    """Over-stress of the SE: max(0, G / G_c - 1); it cracks only where G exceeds its toughness.

    Li2S-P2S5 and argyrodite SEs are brittle: K_Ic ~ 0.23 MPa m^1/2 (McGrogan et al.,
    Adv. Energy Mater. 7 (2017) 1602011), G_c = K_Ic^2 / E ~ 2.6 J/m2 at E = 20 GPa.
    With the cell's defaults (100 MPa swelling mismatch + 4x the stack pressure, a
    50 nm flaw, E' = 17.6 GPa) the threshold is ~110 MPa of stack pressure.
    """
    ratio = driving_force / toughness
    return ratio - 1.0 if ratio > 1.0 else 0.0


def protection(toughness: float, demand: float) -> float:
    """How well a layer of adhesion/toughness G resists a demand G_d: p = G^2 / (G^2 + G_d^2).

    A smooth form of the review's criteria (2.1 and 2.4): a buffer coating stops
    interface cracking when G_buffer > K_I^2 / E', a binder holds contact when
    G_binder > sigma_interface * dA. p = 1/2 at equality, 0.96 with twice the need.
    The damage that the layer guards against is multiplied by (1 - p).
    """
    if toughness <= 0.0:
        return 0.0
    return toughness * toughness / (toughness * toughness + demand * demand)


def binder_demand(interface_stress: float, particle_size: float, strain_swing: float) -> float:
    """sigma_interface * dA, J/m2: the work per unit interface to open it as a particle shrinks away.

    The review's dA read per unit interface: the opening, (d / 2) * de, of a particle
    of diameter d whose linear strain falls by de on delithiation, against the
    interfacial tensile stress (default 5 MPa). ~1 J/m2 for a 1 um particle: binders
    with dual-conducting fillers reach a few J/m2.
    """
    return interface_stress * 0.5 * particle_size * strain_swing


def tortuosity(initial: float, sintering: float, gain: float) -> float:
    """Tortuosity of the composite's ionic and electronic paths after sintering s: tau = tau_0 (1 + k s).

    Electrochemical sintering merges neighbouring Si particles cycle by cycle into a
    dense monolith (the review, 1.2; Tan et al., Science 373 (2021) 1494 see a dense
    interconnected Li-Si network form in micro-Si SSBs), so the SE paths between
    them are pinched off and lengthened.
    """
    return initial * (1.0 + gain * sintering)


def sintering_rate(base: float, pressure: float, pressure_scale: float) -> float:
    """ds / de while lithiating, per unit of unsintered pore space: k_s (1 + P / P_s).

    Sintering is driven by the swelling Si pressing into its neighbours; stack
    pressure speeds it like pressure-assisted (creep) densification; ~1 % of the pore
    space per cycle at 10 MPa by default (calibrated, no single source).
    """
    return base * (1.0 + pressure / pressure_scale)
