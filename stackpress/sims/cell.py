"""The cell: a lumped (0-D per electrode) chemo-mechanical model of a Si solid-state pellet cell.

Default: micro-Si + Li6PS5Cl composite anode | Li6PS5Cl separator pellet |
NCM811 + Li6PS5Cl composite cathode, 3 mAh/cm2 on a 10 mm pellet, N/P = 1.15.
Or a half cell: the same Si anode | Li6PS5Cl | Li-In (0.62 V vs Li).

Sign convention (Battery Data Format): current positive = charging. In the full
cell charging lithiates the Si; in the half cell charging DE-lithiates it.

    full: V = U_NCM(y_s) - U_Si(x_s, h) + I R + eta_Si(I) + eta_NCM(I)
    half: V = U_Si(x_s, h) - U_LiIn    + I R + eta_Si(I) + eta_LiIn(I)

- x, y: Li content of the Si (LixSi) and of the NCM (LiyMO2), particle means;
  x_s, y_s: their particle surfaces, ahead of the mean by solid diffusion
  (transport.SURFACE_*), which crowds into the contact fraction theta;
- h: the Si hysteresis state (si.hysteresis_step), U_Si = U_eq + h M + Omega sigma_h / F;
- R: separator + composite ionic paths + the Si's own electronic path (sigma_e(x),
  no carbon: "self-wiring") + interfacial resistances / theta; theta = theta(P) for
  the fresh cell, less the contact that degradation has lost (the SE's cracks, the
  sintered composite's tortuosity and the interphase raise the other terms);
- eta: Butler-Volmer on the local current I / theta;
- mechanics: the anode's free thickness follows the Si swelling less what the
  electrode's pores absorb; the stack's compliance is the sum of its layers'.

The per-state coefficients are computed once per sub-step (`update_mechanics`,
`prepare`), so `voltage(current)` is cheap enough to be solved for the current
that gives a voltage (constant-voltage holds and compliance); with its exact
slope (`slope`) that solve takes Newton steps (two evaluations per sub-step,
usually). Everything that is constant, or changes only when the degradation laws
settle, is hoisted out of the per-sub-step methods (`__init__`, `_refresh_paths`):
the simulation in virtual time is the inner loop of tests, sweeps and the demo.

Degradation (degradation.py) lives in CellState and is driven by what the cell goes
through, inside `advance`: the Li moved into or out of the Si and its direction,
the Si's strain and modulus, the stack pressure and the contact fraction (the rates
that depend on pressure and contact are set in `prepare`). The Si's potential,
modulus and swelling follow x_active, the Li per still-active Si atom; x stays the
charge counter's view (Li delivered to the anode per Si atom), so charge is
conserved exactly whatever the sub-step. With `degradation = False` the cell is the
ideal one (no fade, no first-cycle loss, no constrained-lithiation shift).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stackpress.sims import degradation as deg
from stackpress.sims import si
from stackpress.sims.materials import (
    LI_IN_POTENTIAL,
    LPSCL_MODULUS,
    LPSCL_POISSON,
    NCM_DENSITY,
    NCM_DIFFUSIVITY,
    NCM_PARTICLE_RADIUS,
    NCM_SPECIFIC_CAPACITY,
    NCM_Y_CHARGED,
    NCM_Y_DISCHARGED,
    lpscl_conductivity,
    ncm811_ocp,
    ncm811_ocp_slope,
)
from stackpress.sims.settings import Section
from stackpress.sims.transport import (
    SURFACE_INSTANT,
    SURFACE_LAGGED,
    SURFACE_RELAXATION,
    butler_volmer_overpotential,
    butler_volmer_slope,
    contact_fraction,
    contact_modulus,
    effective_conductivity,
    electrode_resistance,
    porous_modulus,
    uniaxial_hydrostatic_stress,
)

SI_POISSON = 0.22
MAH = 3.6  # C

VOLTAGE_TOLERANCE = 1e-9  # V, of the current-for-voltage solve
NEWTON_ENOUGH = 1e-5  # V: a miss this small is closed by one Newton step, unchecked (it leaves < 1 nV here)
CURRENT_TOLERANCE = 1e-15  # A

MORPHOLOGIES = ("particles", "film")
STRAIN_BATCH = 0.01  # true linear strain (a full cycle sweeps ~0.39) settled at once by the degradation laws


@dataclass(frozen=True, slots=True)
class CellParams:
    """Everything that defines a cell, in SI units. The bench's [cell] table sets the first block
    and the degradation keys marked "key" below (see `cell_params`)."""

    chemistry: str = "full"  # "full" (Si | LPSCl | NCM811) or "half" (Si | LPSCl | Li-In)
    area: float = 0.785e-4  # m2: a 10 mm pellet
    loading: float = 3.0 * MAH / 1e-4  # C/m2: the cathode's (full) or the Si's (half) areal capacity
    si_particle_size: float = 1e-6  # m, diameter (for a film: the lateral size of its columns)
    si_crystalline: bool = False  # pristine c-Si rather than a-Si
    si_porosity: float = 0.0  # void fraction inside the Si particles
    temperature: float = 25.0  # degC, constant
    np_ratio: float = 1.15  # Si capacity / cathode capacity (full cell)

    initial_x: float = 0.1  # Li left in the Si of a "fully discharged" cell (what a C/3 discharge leaves)
    # Si + Li6PS5Cl composite anode (volume fractions of the pristine electrode; the rest is pore)
    anode_si_fraction: float = 0.40
    anode_se_fraction: float = 0.40
    anode_tortuosity: float = 3.0  # of both the SE (ions) and the Si network (electrons)
    anode_interface_asr: float = 30e-4  # Ohm m2 (30 Ohm cm2) at full contact
    anode_exchange_current: float = 5.0  # A/m2 of cell area at full contact (0.5 mA/cm2)
    hysteresis_rate: float = 8.0  # per unit x, si.hysteresis_step
    # Li6PS5Cl separator pellet
    separator_thickness: float = 0.6e-3  # m
    se_conductivity: float = 0.25  # S/m at 25 degC (2.5 mS/cm)
    se_activation_energy: float = 0.35  # eV
    se_modulus: float = LPSCL_MODULUS  # key: Pa, of the SE in the separator and the composites
    # NCM811 + Li6PS5Cl composite cathode (full cell)
    cathode_active_fraction: float = 0.60
    cathode_se_fraction: float = 0.30
    cathode_tortuosity: float = 2.5
    cathode_interface_asr: float = 20e-4  # Ohm m2 at full contact
    cathode_exchange_current: float = 5.0  # A/m2 at full contact
    cathode_modulus: float = 40e9  # Pa, the compressed composite
    # Li-In foil (half cell): soft, conforms to the SE, so no contact-fraction law
    counter_thickness: float = 100e-6  # m
    counter_modulus: float = 11e9  # Pa (indium)
    counter_interface_asr: float = 5e-4  # Ohm m2
    counter_exchange_current: float = 50.0  # A/m2
    # Contact under stack pressure (transport.contact_fraction)
    contact_minimum: float = 0.05  # theta with no pressure
    contact_saturation: float = 3e6  # Pa, P_c for delithiated a-Si against Li6PS5Cl

    # --- Degradation (degradation.py). Rates are per unit of the Si's true linear strain e. ---
    degradation: bool = True  # key "degradation" = "on" | "off"
    # design strategies
    si_morphology: str = "particles"  # key: "particles" (composite powder) or "film" (thin film / columnar Si)
    film_interface_strain: float = 0.2  # film: share of the Si's strain felt at the Si/SE interface
    si_se_size_ratio: float = 1.0  # key: d_Si / d_SE (degradation.size_ratio_coverage)
    buffer_toughness: float = 0.0  # key: J/m2, G of a buffer coating on the Si (0: none)
    binder_adhesion: float = 0.0  # key: J/m2, G of a (dual-conducting) binder (0: none)
    interface_stress: float = 5e6  # Pa, interfacial tension a binder must hold (degradation.binder_demand)
    # contact loss (low pressure)
    critical_pressure: float = 1.0e6  # key: Pa, P_crit against Li6PS5Cl (degradation.contact_loss_weight)
    contact_loss_rate: float = 0.08  # key: dc/c per unit -de at w = 1, full contact, a-Si stiffness
    contact_recovery_rate: float = 0.1  # dc / ((1 - c) de) while lithiating under pressure
    contact_isolation: float = 0.3  # share of the contact lost whose Si is isolated with it
    # constrained lithiation and SE cracking (high pressure)
    stress_concentration: float = 4.0  # key: contact stress / stack pressure (degradation.constraint_stress)
    si_flow_stress: float = 1e9  # Pa, LixSi plastic flow stress
    swelling_stress: float = 100e6  # Pa, Si/SE mismatch stress of the swelling Si against a-Si/LPSCl stiffness
    flaw_fraction: float = 0.05  # interface flaw size / particle size
    se_toughness: float = 2.6  # key: J/m2, G_c of the SE (K_Ic^2 / E)
    se_damage_rate: float = 0.02  # dD / ((1 - D) de) per unit over-stress
    se_damage_isolation: float = 0.5  # share of the SE damage that isolates Si behind the cracks
    # particle fracture
    fracture_isolation: float = 0.05  # Si isolated per unit new fragment surface on cracking
    fragment_isolation_rate: float = 0.0025  # key: -da/a per unit -de per fragment (fractured particles)
    crack_exposure: float = 0.3  # share of crack faces the SE reaches (SSI on them)
    # solid-state interphase
    interphase_thickness: float = 120e-9  # key: m, SSI that passivates a fresh interface
    interphase_growth: float = 0.01  # key: fresh interface per unit de of stretch, of the whole interface
    interphase_resistance: float = 0.3  # anode ASR gain per first-lithiation's worth of SSI
    artificial_sei: float = 0.0  # key: share of the interface passivated before assembly (pre-formed SEI)
    # sintering and irreversible swelling
    sintering_rate: float = 0.01  # key: ds / ((1 - s) de) at no pressure
    sintering_pressure: float = 50e6  # Pa, P_s (degradation.sintering_rate)
    sintering_tortuosity: float = 1.0  # tau = tau_0 (1 + k s)
    swelling_rate: float = 0.005  # key: irreversible volumetric swelling per unit de while lithiating


def cell_params(section: Section) -> CellParams:
    """CellParams from the bench's [cell] table. Every key is optional; the defaults:

    chemistry = "full" (or "half"), area = "0.785 cm2",
    loading = "3 mAh/cm2" (the cathode's areal capacity in a full cell, the Si's in a half cell),
    si_particle_size = "1 um", si_structure = "amorphous" (or "crystalline"),
    si_porosity = 0.0 (void fraction inside the Si, 0..0.9), temperature = "25 degC",
    np_ratio = 1.15 (full cell: Si capacity / cathode capacity, 1..3).

    Degradation (degradation.py) and the review's design strategies:
    degradation = "on" (or "off": the ideal cell),
    si_morphology = "particles" (or "film": thin-film / columnar Si, expansion directed away from the SE),
    si_se_size_ratio = 1.0 (d_Si / d_SE, 0.05..20), se_modulus = "20 GPa" (an elastic SE: ~1 GPa),
    se_toughness = "2.6 J/m2", buffer_toughness = "0 J/m2" (coating on the Si; none),
    binder_adhesion = "0 J/m2" (none), critical_pressure = "1 MPa", stress_concentration = 4.0,
    interphase_thickness = "120 nm", interphase_growth = 0.01, artificial_sei = 0.0 (0..1),
    contact_loss_rate = 0.08, fragment_isolation_rate = 0.0025, sintering_rate = 0.01, swelling_rate = 0.005.
    """
    d = CellParams()
    return CellParams(
        chemistry=section.choice("chemistry", "full", ("full", "half")),
        area=section.quantity("area", "m**2", "0.785 cm2"),
        loading=section.quantity("loading", "A*s/m**2", "3 mAh/cm2"),
        si_particle_size=section.quantity("si_particle_size", "m", "1 um"),
        si_crystalline=section.choice("si_structure", "amorphous", ("amorphous", "crystalline")) == "crystalline",
        si_porosity=section.number("si_porosity", 0.0, 0.0, 0.9),
        temperature=section.quantity("temperature", "degC", "25 degC", minimum=-273.15),
        np_ratio=section.number("np_ratio", 1.15, 1.0, 3.0),
        degradation=section.choice("degradation", "on", ("on", "off")) == "on",
        si_morphology=section.choice("si_morphology", "particles", MORPHOLOGIES),
        si_se_size_ratio=section.number("si_se_size_ratio", 1.0, 0.05, 20.0),
        se_modulus=section.quantity("se_modulus", "Pa", "20 GPa"),
        se_toughness=section.quantity("se_toughness", "J/m**2", "2.6 J/m2"),
        buffer_toughness=section.quantity("buffer_toughness", "J/m**2", "0 J/m2", positive=False),
        binder_adhesion=section.quantity("binder_adhesion", "J/m**2", "0 J/m2", positive=False),
        critical_pressure=section.quantity("critical_pressure", "Pa", "1 MPa"),
        stress_concentration=section.number("stress_concentration", d.stress_concentration, 0.0, 100.0),
        interphase_thickness=section.quantity("interphase_thickness", "m", "120 nm", positive=False),
        interphase_growth=section.number("interphase_growth", d.interphase_growth, 0.0, 1.0),
        artificial_sei=section.number("artificial_sei", 0.0, 0.0, 1.0),
        contact_loss_rate=section.number("contact_loss_rate", d.contact_loss_rate, 0.0, 10.0),
        fragment_isolation_rate=section.number("fragment_isolation_rate", d.fragment_isolation_rate, 0.0, 1.0),
        sintering_rate=section.number("sintering_rate", d.sintering_rate, 0.0, 1.0),
        swelling_rate=section.number("swelling_rate", d.swelling_rate, 0.0, 1.0),
    )


@dataclass(slots=True)
class CellState:
    """What the cell remembers between sub-steps; the degradation state is described in degradation.py."""

    x: float  # Li delivered to the anode per Si atom: the charge counter's view (LixSi + SSI + isolated Si)
    y: float  # Li per NCM formula unit, particle mean (full cell; NaN in a half cell)
    hysteresis: float  # h in [-1, 1]: -1 after lithiating, +1 after delithiating
    si_lag: float  # lagged part of the Si surface's lead over its mean (transport.SURFACE_*)
    cathode_lag: float  # the same for the NCM
    crystalline: float  # fraction of the Si still crystalline
    x_active: float = math.nan  # Li per active Si atom, particle mean: what the Si's potential sees
    active: float = 1.0  # fraction of the Si still wired
    interface: float = 1.0  # integrity of the Si/SE contact
    interphase: float = 0.0  # Li in the SSI, per Si atom
    trapped: float = 0.0  # Li in isolated Si, per Si atom
    fresh: float = 0.0  # Li a full passivation of the exposed interface would take, per Si atom
    fractured: float = 0.0  # fraction of the particles cracked
    se_damage: float = 0.0  # cracking of the SE, 0..1
    sintering: float = 0.0  # fraction of the anode's pore space sealed
    swelling: float = 0.0  # irreversible Si volume gain, of the pristine Si volume
    strain: float = 0.0  # the Si's true linear strain at x_active (degradation.log_strain)
    stretch: float = 0.0  # lithiation strain not yet settled by the degradation laws (Cell._degrade)
    shrink: float = 0.0  # delithiation strain not yet settled


class Cell:
    """One cell: its parameters, its state, and the laws that connect them."""

    def __init__(self, params: CellParams | None = None) -> None:
        p = params or CellParams()
        self.params = p
        self.full = p.chemistry == "full"
        area = self.area = p.area
        self.nominal_capacity = p.loading * area  # C
        self.si_capacity = self.nominal_capacity * (p.np_ratio if self.full else 1.0)  # C, x = 0..3.75
        self._charge_per_x = self.si_capacity / si.X_MAX
        self._lithiation_sign = 1.0 if self.full else -1.0  # Si lithiation per unit charging current
        self._thermal_voltage = si.GAS_CONSTANT * (p.temperature + 273.15) / si.FARADAY
        sigma_se = lpscl_conductivity(p.temperature + 273.15, p.se_conductivity, p.se_activation_energy)
        self._se_conductivity = sigma_se
        se_modulus = self._se_modulus = p.se_modulus

        # Anode geometry, as thicknesses: each phase's volume per unit cell area
        self._si_thickness = self.si_capacity / (si.SPECIFIC_CAPACITY * si.SI_DENSITY * area) / (1 - p.si_porosity)
        self._anode_thickness_0 = self._si_thickness / p.anode_si_fraction
        self._se_thickness = self._anode_thickness_0 * p.anode_se_fraction
        self._pore_thickness = self._anode_thickness_0 - self._si_thickness - self._se_thickness
        self._si_radius_sq = (0.5 * p.si_particle_size) ** 2

        # The other layers: separator and cathode (full) or Li-In foil (half)
        if self.full:
            self._charge_per_y = self.nominal_capacity / (NCM_Y_DISCHARGED - NCM_Y_CHARGED)
            ncm_thickness = self._charge_per_y / (NCM_SPECIFIC_CAPACITY * NCM_DENSITY * area)
            counter_thickness = ncm_thickness / p.cathode_active_fraction
            counter_modulus = p.cathode_modulus
            cathode_ion = effective_conductivity(sigma_se, p.cathode_se_fraction, p.cathode_tortuosity)
            self._fixed_resistance = electrode_resistance(counter_thickness, cathode_ion, area)
            self._contact_resistance = (p.anode_interface_asr + p.cathode_interface_asr) / area
            self._cathode_diffusion_time = NCM_PARTICLE_RADIUS**2 / NCM_DIFFUSIVITY
            y0 = NCM_Y_DISCHARGED
        else:
            counter_thickness = p.counter_thickness
            counter_modulus = p.counter_modulus
            self._fixed_resistance = p.counter_interface_asr / area
            self._contact_resistance = p.anode_interface_asr / area
            self._counter_exchange = p.counter_exchange_current * area
            y0 = math.nan
        self._anode_contact_resistance = p.anode_interface_asr / area
        self._separator_resistance = p.separator_thickness / (sigma_se * area)  # cracks in the SE raise it
        self.other_layers_free_thickness = p.separator_thickness + counter_thickness
        self.other_layers_compliance = (  # m/N
            p.separator_thickness / (se_modulus * area) + counter_thickness / (counter_modulus * area)
        )
        self._contact_modulus_ref = contact_modulus(si.E_AMORPHOUS, SI_POISSON, LPSCL_MODULUS, LPSCL_POISSON)
        # prepare's constants. contact_modulus(E_Si, ...) = 1 / (si_term / E_Si + se_term)
        self._si_contact_term = 1.0 - SI_POISSON * SI_POISSON
        self._se_contact_term = (1.0 - LPSCL_POISSON * LPSCL_POISSON) / se_modulus
        self._contact_minimum = p.contact_minimum
        self._contact_saturation = p.contact_saturation
        self._x_per_ampere_second = self._lithiation_sign / self._charge_per_x  # dx / dq; lithiation is x > 0
        self._hysteresis_rate = p.hysteresis_rate
        self._anode_exchange = p.anode_exchange_current * area  # A at full contact
        # both linear in the pressure: the Si's potential shift per Pa of stack pressure
        self._shift_per_pascal = si.stress_potential_shift(uniaxial_hydrostatic_stress(1.0, SI_POISSON))
        if self.full:  # the NCM's surface lead per ampere at full contact, and its I_0
            rate_per_amp = -1.0 / self._charge_per_y
            self._cathode_instant_full = SURFACE_INSTANT * self._cathode_diffusion_time * rate_per_amp
            self._cathode_lagged_full = SURFACE_LAGGED * self._cathode_diffusion_time * rate_per_amp
            self._cathode_exchange = p.cathode_exchange_current * area
        self._cathode_decay = (0.0, 1.0)  # (dt, exp(-dt / tau)) cache: the NCM's tau is constant
        self._held = (math.nan, math.nan, math.nan)  # current_for_voltage: (target, its last two answers)
        self._init_degradation(p)

        x0 = p.initial_x
        self.state = CellState(
            x=x0,
            y=y0,
            hysteresis=1.0,
            si_lag=0.0,
            cathode_lag=0.0,
            crystalline=si.crystalline_left(1.0, x0) if p.si_crystalline else 0.0,
            x_active=x0,
            fresh=self._interphase_capacity * (1.0 - p.artificial_sei) if self._degrades else 0.0,
            strain=deg.log_strain(si.volumetric_strain(x0, p.si_porosity)),
        )
        self._refresh_paths()
        self.update_mechanics()
        self.prepare(0.0)

    def _init_degradation(self, p: CellParams) -> None:
        """The constant parts of the degradation laws' rates (degradation.py)."""
        self._degrades = p.degradation
        film = p.si_morphology == "film"
        strain_share = p.film_interface_strain if film else 1.0  # of the Si's strain felt at the interface
        self._coverage = deg.size_ratio_coverage(p.si_se_size_ratio)
        size = p.si_particle_size
        area = deg.interface_area(size, self._coverage, self._si_thickness if film else None)
        self._interphase_capacity = lam = deg.interphase_capacity(p.interphase_thickness, area)
        # fracture: Griffith's d_c ~ 1 / strain^2, so porous Si (less outward strain) cracks less
        full_strain = deg.log_strain(si.volumetric_strain(si.X_MAX, p.si_porosity))
        dense_strain = deg.log_strain(si.volumetric_strain(si.X_MAX))
        critical = deg.critical_size(p.si_crystalline) * (dense_strain / full_strain) ** 2
        self._fracture_max = deg.fracture_fraction(size, critical)
        self._fragments = deg.FRAGMENTS_CRYSTALLINE if p.si_crystalline else deg.FRAGMENTS_AMORPHOUS
        held = deg.protection(
            p.binder_adhesion, deg.binder_demand(p.interface_stress, size, full_strain * strain_share)
        )
        self._flaw = p.flaw_fraction * size
        self._si_porosity = p.si_porosity
        self._crack_faces = self._fragments * p.crack_exposure  # new interface the SE reaches, per cracked particle
        self._crack_isolation = self._fragments * p.fracture_isolation
        self._se_isolation = p.se_damage_isolation
        self._contact_isolation = p.contact_isolation
        self._swelling_rate = p.swelling_rate
        # per unit strain, before the pressure-, contact- and stiffness-dependent factors set in `prepare`
        self._breathing_base = p.interphase_growth * lam * strain_share
        self._loss_base = p.contact_loss_rate * strain_share * (1.0 - held)
        self._recovery_base = p.contact_recovery_rate * strain_share
        self._fragment_base = p.fragment_isolation_rate * self._fragments * (1.0 - held)
        self._se_damage_base = p.se_damage_rate * strain_share
        self._ssi_resistance = p.interphase_resistance / lam if lam > 0.0 else 0.0
        # the stiffness of the Si/SE pair relative to a-Si on Li6PS5Cl: a softer (elastic) SE follows the Si
        self._interface_modulus = contact_modulus(si.E_AMORPHOUS, SI_POISSON, p.se_modulus, LPSCL_POISSON)
        self._se_stiffness_ratio = self._interface_modulus / self._contact_modulus_ref
        self._constraint_shift = 0.0
        self._breathing = self._loss = self._recovery = self._se_rate = self._sinter = 0.0
        self._rates_pressure = -math.inf  # the pressure the rates were computed at

    # --- mechanics -------------------------------------------------------------------------

    def update_mechanics(self) -> None:
        """Recompute the Si modulus, the anode's free thickness and the stack compliance from x_active.

        Anode thickness: the Si (apparent thickness L_Si) swells by L_Si * (a eps_v(x) + eps_irr),
        the active share a at its Li content and the irreversible swelling (which includes
        isolated Si, frozen at the content it was cut off at); the electrode's pores take
        up part of it first (si.void_filled; pores sealed by sintering take none) and the
        rest thickens the electrode, since the die holds the pellet's diameter.
        Anode modulus: rule of mixtures of Si and SE over the solid, times
        (1 - porosity)^2 (transport.porous_modulus).
        """
        s = self.state
        x = s.x_active
        e_si = si.youngs_modulus(x, s.hysteresis, s.crystalline)
        swell = self._si_thickness * (s.active * si.volumetric_strain(x, self._si_porosity) + s.swelling)
        thickness = self._anode_thickness_0 + swell - si.void_filled(swell, self._pore_thickness * (1.0 - s.sintering))
        si_volume = self._si_thickness + swell
        se = self._se_thickness
        solid = si_volume + se
        e_solid = (si_volume * e_si + se * self._se_modulus) / solid
        anode_compliance = thickness / (porous_modulus(e_solid, 1.0 - solid / thickness) * self.area)
        self.si_modulus = e_si
        self.anode_free_thickness = thickness
        self.anode_compliance = anode_compliance
        self.free_thickness = self.other_layers_free_thickness + thickness
        self.compliance = self.other_layers_compliance + anode_compliance
        self._si_volume = si_volume

    # --- electrochemistry ------------------------------------------------------------------

    def prepare(self, pressure: float) -> None:
        """Compute the coefficients of `voltage(current)` for the present state at stack `pressure` Pa,
        and the rates of the degradation laws for the next `advance`."""
        s = self.state
        x = s.x_active
        # the Si/SE contact modulus (transport.contact_modulus), relative to delithiated a-Si's, sets P_c
        stiffness = 1.0 / (self._si_contact_term / self.si_modulus + self._se_contact_term)
        stiffness_ratio = stiffness / self._contact_modulus_ref
        theta = contact_fraction(pressure, stiffness_ratio, self._contact_minimum, self._contact_saturation)
        theta *= self._coverage
        if theta > 1.0:
            theta = 1.0
        theta *= s.interface
        self.contact = theta
        self.pressure = pressure
        thickness = self.anode_free_thickness
        electronic = si.electronic_conductivity(x) * self._si_volume  # sigma_e times the Si's thickness
        self._resistance = (
            self._fixed_now
            + thickness * thickness * (self._ionic_path + self._electronic_path / electronic)
            + self._contact_now / theta
        )
        # Solid diffusion in Si: x per second per ampere, through the contacts only
        diffusion_time = self._si_radius_sq / si.diffusivity(x, s.crystalline)
        rate_per_amp = self._x_per_ampere_second / (theta * s.active)
        self._si_instant = SURFACE_INSTANT * diffusion_time * rate_per_amp
        self._si_lagged = SURFACE_LAGGED * diffusion_time * rate_per_amp
        self._si_relaxation = SURFACE_RELAXATION * diffusion_time
        self._x_lagged = x + s.si_lag
        self._si_exchange = self._anode_exchange * theta  # I_0, A
        if self._degrades and abs(pressure - self._rates_pressure) > 1e-3 * self._rates_pressure + 1e3:
            self._pressure_rates(pressure)
        h = s.hysteresis
        self._si_shift = (
            h * si.HYSTERESIS_HALF_WIDTH + pressure * self._shift_per_pascal + self._constraint_shift * (1.0 - h)
        )
        if self.full:
            self._cathode_instant = self._cathode_instant_full / theta
            self._cathode_lagged = self._cathode_lagged_full / theta
            self._y_lagged = s.y + s.cathode_lag
            self._counter_exchange = self._cathode_exchange * theta

    def _pressure_rates(self, pressure: float) -> None:
        """The degradation rates' pressure-dependent factors (per unit of the Si's linear strain).

        Recomputed only when the pressure has moved by more than 0.1 % (+ 1 kPa) since
        the last time: they vary smoothly with it, and a regulated fixture nudges the
        force on every tick. The contact-dependent (hotspot) and stiffness-dependent
        factors are applied per sub-step in `_degrade`.
        """
        p = self.params
        self._rates_pressure = pressure
        constraint = deg.constraint_stress(pressure, p.stress_concentration, p.si_flow_stress)
        # on the lithiation branch only ((1 - h) / 2 of it): the Si pushes against the stack as it swells
        self._constraint_shift = 0.5 * si.stress_potential_shift(-constraint)
        stress = p.swelling_stress * self._se_stiffness_ratio + constraint
        driving = deg.crack_driving_force(stress, self._flaw, self._interface_modulus)
        unguarded = 1.0 - deg.protection(p.buffer_toughness, driving)
        critical = p.critical_pressure * self._se_stiffness_ratio
        weight = deg.contact_loss_weight(pressure, critical) if pressure > 0.0 else 1.0
        self._breathing = self._breathing_base * unguarded
        self._loss = self._loss_base * weight * unguarded / si.E_AMORPHOUS
        self._recovery = self._recovery_base * (1.0 - weight)
        self._se_rate = self._se_damage_base * deg.se_crack_rate(driving, p.se_toughness) * unguarded
        self._sinter = deg.sintering_rate(p.sintering_rate, pressure, p.sintering_pressure)

    def voltage(self, current: float) -> float:
        """Terminal voltage, V, if `current` A (positive = charging) flows in the prepared state."""
        vt = self._thermal_voltage
        u_si = si.ocp_mean(self._x_lagged + self._si_instant * current) + self._si_shift
        drop = (
            current * self._resistance
            + butler_volmer_overpotential(current, self._si_exchange, vt)
            + butler_volmer_overpotential(current, self._counter_exchange, vt)
        )
        if self.full:
            return ncm811_ocp(self._y_lagged + self._cathode_instant * current) - u_si + drop
        return u_si - LI_IN_POTENTIAL + drop

    def slope(self, current: float) -> float:
        """dV/dI, Ohm, of `voltage` at `current` A in the prepared state: exact, for Newton steps."""
        vt = self._thermal_voltage
        si_term = si.ocp_mean_slope(self._x_lagged + self._si_instant * current) * self._si_instant
        ohmic = (
            self._resistance
            + butler_volmer_slope(current, self._si_exchange, vt)
            + butler_volmer_slope(current, self._counter_exchange, vt)
        )
        if self.full:
            cathode_instant = self._cathode_instant
            return ohmic + ncm811_ocp_slope(self._y_lagged + cathode_instant * current) * cathode_instant - si_term
        return ohmic + si_term

    def current_for_voltage(self, target: float, low: float, high: float, guess: float) -> tuple[float, float]:
        """(current, voltage): the current in [low, high] at which the voltage is `target`.

        V(I) rises monotonically with I, so the answer is unique; if `target` lies
        beyond V(low) or V(high) the nearer end is returned with its voltage.
        Newton steps with the exact slope inside a shrinking bracket, bisecting when
        a step would leave it; a miss under NEWTON_ENOUGH is closed by a last step,
        quadratic in it, without evaluating again. Given the last sub-step's answer
        as `guess` in a hold at the same `target`, where the current decays roughly
        exponentially, it starts from the geometric extrapolation of the last two
        answers: one or two evaluations per sub-step.
        """
        voltage, slope_at = self.voltage, self.slope
        held, last, before = self._held
        if target == held and guess == last and before != 0.0:
            extrapolated = last * last / before
            if low <= extrapolated <= high:
                guess = extrapolated
        a, fa = low, math.nan  # NaN: not evaluated yet
        b, fb = high, math.nan
        i = guess if low <= guess <= high else 0.5 * (low + high)
        f = voltage(i) - target
        slope = slope_at(i)
        for _ in range(100):
            if -VOLTAGE_TOLERANCE < f < VOLTAGE_TOLERANCE:
                self._held = (target, i, last if held == target else i)
                return i, target
            if f < 0.0:
                a, fa = i, f
            else:
                b, fb = i, f
            if b - a <= CURRENT_TOLERANCE:
                return i, f + target
            nxt = i - f / slope if slope > 0.0 else math.inf
            if not a < nxt < b:
                if nxt >= b and math.isnan(fb):  # the top of the range was never tried
                    fb = voltage(b) - target
                    if fb <= 0.0:
                        return b, fb + target
                elif nxt <= a and math.isnan(fa):
                    fa = voltage(a) - target
                    if fa >= 0.0:
                        return a, fa + target
                nxt = 0.5 * (a + b)
            elif -NEWTON_ENOUGH < f < NEWTON_ENOUGH:
                self._held = (target, nxt, last if held == target else nxt)
                return nxt, target
            i, f, slope = nxt, voltage(nxt) - target, slope_at(nxt)
        return i, f + target

    def advance(self, current: float, dt: float) -> None:
        """Pass `current` A for `dt` s with the prepared coefficients (explicit in them, exact in the lags)."""
        s = self.state
        dx = self._x_per_ampere_second * current * dt
        s.x += dx  # not clamped: the OCP walls stop the current first, and charge stays conserved
        dxa = dx / s.active
        if self._degrades and dx != 0.0:
            dxa = self._degrade(dxa)  # it moves x_active itself, less what the interphase takes
        else:
            s.x_active += dxa
        x = s.x_active
        s.hysteresis = si.hysteresis_step(s.hysteresis, dxa, self._hysteresis_rate)
        target = self._si_lagged * current
        s.si_lag = target + (s.si_lag - target) * math.exp(-dt / self._si_relaxation)
        if s.crystalline > 0.0:
            s.crystalline = si.crystalline_left(s.crystalline, x)
        if self.full:
            s.y -= current * dt / self._charge_per_y
            if self._cathode_decay[0] != dt:
                tau = SURFACE_RELAXATION * self._cathode_diffusion_time
                self._cathode_decay = (dt, math.exp(-dt / tau))
            target = self._cathode_lagged * current
            s.cathode_lag = target + (s.cathode_lag - target) * self._cathode_decay[1]

    def _degrade(self, dxa: float) -> float:
        """Advance the degradation state while the active Si takes up `dxa` Li per atom (< 0: gives it up).

        Moves x_active and returns its net change: the Li the interphase consumes comes off it.
        Every sub-step: the interphase on the fresh interface (exact for any step,
        degradation.interphase_formed), fracture on the first lithiations, and the Si's
        strain. The strain-driven laws are settled in batches of STRAIN_BATCH of strain
        and whenever the direction changes (`_settle_stretch`, `_settle_shrink`), with the
        rates `prepare` set: they change little over a batch, and the hot path stays short.
        """
        s = self.state
        active = s.active
        if dxa > 0.0:
            formed = deg.interphase_formed(s.fresh, dxa * active)
            s.fresh -= formed
            s.interphase += formed
            dxa -= formed / active
            x = s.x_active = s.x_active + dxa
            strain = math.log1p(si.volumetric_strain(x, self._si_porosity)) / 3.0  # deg.log_strain
            stretch = s.stretch + strain - s.strain
            s.strain = strain
            if s.shrink > 0.0:  # it was delithiating: settle that first
                self._settle_shrink()
            if s.fractured < self._fracture_max:  # particles above the critical size crack
                self._crack(dxa)
            if stretch > STRAIN_BATCH:
                s.stretch = 0.0
                self._settle_stretch(stretch)
            else:
                s.stretch = stretch
        else:
            x = s.x_active = s.x_active + dxa
            strain = math.log1p(si.volumetric_strain(x, self._si_porosity)) / 3.0
            shrink = s.shrink + s.strain - strain
            s.strain = strain
            if s.stretch > 0.0:
                self._settle_stretch(s.stretch)
                s.stretch = 0.0
            if shrink > STRAIN_BATCH:
                s.shrink = shrink
                self._settle_shrink()
            else:
                s.shrink = shrink
        return dxa

    def _refresh_paths(self) -> None:
        """What SE cracking, sintering and the interphase have done to the conduction paths, for `prepare`.

        Refreshed when the strain-driven laws settle (and at start): the resistances
        follow the damage batch by batch, not sub-step by sub-step.
        """
        p = self.params
        s = self.state
        intact = 1.0 - s.se_damage
        tortuosity = deg.tortuosity(p.anode_tortuosity, s.sintering, p.sintering_tortuosity)
        # electrode_resistance(L, effective_conductivity(sigma, V / L, tau), A) = L^2 x that at L = V = 1:
        # `prepare` multiplies these by the anode's thickness squared (and divides the electronic one by sigma_e V_Si)
        ionic = effective_conductivity(self._se_conductivity * intact, self._se_thickness, tortuosity)
        self._ionic_path = electrode_resistance(1.0, ionic, self.area)
        self._electronic_path = electrode_resistance(1.0, effective_conductivity(1.0, 1.0, tortuosity), self.area)
        self._fixed_now = self._fixed_resistance + self._separator_resistance / intact
        self._contact_now = self._contact_resistance + self._anode_contact_resistance * self._ssi_resistance * (
            s.interphase
        )

    def settle(self) -> None:
        """Apply the strain-driven degradation laws to the strain still pending (the batch in progress).

        The cell does this itself whenever the direction changes; call it to read a
        state that is up to date to the last sub-step (tests, reports). No effect on an
        ideal cell.
        """
        s = self.state
        if s.stretch > 0.0:
            self._settle_stretch(s.stretch)
            s.stretch = 0.0
        if s.shrink > 0.0:
            self._settle_shrink()

    def _settle_stretch(self, de: float) -> None:
        """The laws driven by lithiation strain `de` (> 0): the Si swells against its neighbours, SE and stack."""
        s = self.state
        active = s.active
        # the stretched interface re-exposed, faster where the current crowds (hotspot: 1 / theta)
        s.fresh += self._breathing * (active + self._crack_faces * s.fractured) / self.contact * de
        if self._se_rate > 0.0:
            damage = self._se_rate * (1.0 - s.se_damage) * de
            s.se_damage += damage
            self._isolate(damage * self._se_isolation)
        s.sintering += self._sinter * (1.0 - s.sintering) * de
        s.swelling += self._swelling_rate * active * de
        s.interface += self._recovery * (1.0 - s.interface) * de
        self._refresh_paths()

    def _settle_shrink(self) -> None:
        """The laws driven by the delithiation strain pending in `state.shrink`: the re-stiffening Si
        shrinks away from the SE, and fragments of cracked particles lose their wiring."""
        s = self.state
        de = s.shrink
        s.shrink = 0.0
        hotspot = 1.0 / self.contact
        lost = -math.expm1(-self._loss * self.si_modulus * hotspot * de)  # share of the contact, exact in c
        s.interface -= s.interface * lost
        # unless a sintered network holds them
        fragments = self._fragment_base * s.fractured * (1.0 - s.sintering) * hotspot
        self._isolate(lost * self._contact_isolation + fragments * de)

    def _crack(self, dxa: float) -> None:
        """Particles above their critical size crack as they lithiate (degradation.fracture_fraction)."""
        s = self.state
        left = self._fracture_max - s.fractured
        cracked = left if left < 1e-4 * self._fracture_max else left * -math.expm1(-dxa / deg.FRACTURE_LITHIATION)
        s.fractured += cracked
        s.fresh += cracked * self._crack_faces * self._interphase_capacity
        self._isolate(cracked * self._crack_isolation)

    def _isolate(self, share: float) -> None:
        """Cut off `share` of the active Si, at its present Li content and swelling (x_active does not change)."""
        if share <= 0.0:
            return
        s = self.state
        cut = s.active * -math.expm1(-share)  # never all of it
        s.active -= cut
        s.trapped += cut * s.x_active
        s.swelling += cut * si.volumetric_strain(s.x_active, self._si_porosity)

    def ocv(self) -> float:
        """Open-circuit voltage of the present state once the particles have relaxed (no lag), V."""
        s = self.state
        shift = self.pressure * self._shift_per_pascal + self._constraint_shift * (1.0 - s.hysteresis)
        u_si = si.ocp(s.x_active, s.hysteresis, shift)
        if self.full:
            return ncm811_ocp(s.y) - u_si
        return u_si - LI_IN_POTENTIAL

    # --- what degradation has done (for tests, benchmarks and reports; not used by the world) --------

    @property
    def accessible_si(self) -> float:
        """Fraction of the Si still wired (CellState.active)."""
        return self.state.active

    @property
    def lithium_lost(self) -> float:
        """Li lost to the interphase and to isolated Si, C (charge the cell can no longer cycle)."""
        s = self.state
        return (s.interphase + s.trapped) * self._charge_per_x

    @property
    def anode_porosity(self) -> float:
        """Open pore fraction of the anode composite: what swelling and sintering have left of its pores."""
        swell = self._si_thickness * (
            self.state.active * si.volumetric_strain(self.state.x_active, self.params.si_porosity) + self.state.swelling
        )
        pores = self._pore_thickness * (1.0 - self.state.sintering)
        return (pores - si.void_filled(swell, pores)) / self.anode_free_thickness

    @property
    def anode_tortuosity(self) -> float:
        """Tortuosity of the anode's ionic and electronic paths (degradation.tortuosity)."""
        p = self.params
        return deg.tortuosity(p.anode_tortuosity, self.state.sintering, p.sintering_tortuosity)
