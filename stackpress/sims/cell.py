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
  no carbon: "self-wiring") + interfacial resistances / theta(P);
- eta: Butler-Volmer on the local current I / theta;
- mechanics: the anode's free thickness follows the Si swelling less what the
  electrode's pores absorb; the stack's compliance is the sum of its layers'.

The per-state coefficients are computed once per sub-step (`update_mechanics`,
`prepare`), so `voltage(current)` is cheap enough to be solved for the current
that gives a voltage (constant-voltage holds and compliance).
Degradation (fade, irreversible swelling) is not modelled yet: it will add
fields to CellState and terms to `advance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
)
from stackpress.sims.settings import Section
from stackpress.sims.transport import (
    SURFACE_INSTANT,
    SURFACE_LAGGED,
    SURFACE_RELAXATION,
    butler_volmer_overpotential,
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
CURRENT_TOLERANCE = 1e-15  # A


@dataclass(frozen=True, slots=True)
class CellParams:
    """Everything that defines a cell, in SI units. The bench's [cell] table sets the first block."""

    chemistry: str = "full"  # "full" (Si | LPSCl | NCM811) or "half" (Si | LPSCl | Li-In)
    area: float = 0.785e-4  # m2: a 10 mm pellet
    loading: float = 3.0 * MAH / 1e-4  # C/m2: the cathode's (full) or the Si's (half) areal capacity
    si_particle_size: float = 1e-6  # m, diameter
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


def cell_params(section: Section) -> CellParams:
    """CellParams from the bench's [cell] table. Every key is optional; the defaults:

    chemistry = "full" (or "half"), area = "0.785 cm2",
    loading = "3 mAh/cm2" (the cathode's areal capacity in a full cell, the Si's in a half cell),
    si_particle_size = "1 um", si_structure = "amorphous" (or "crystalline"),
    si_porosity = 0.0 (void fraction inside the Si, 0..0.9), temperature = "25 degC",
    np_ratio = 1.15 (full cell: Si capacity / cathode capacity, 1..3).
    """
    return CellParams(
        chemistry=section.choice("chemistry", "full", ("full", "half")),
        area=section.quantity("area", "m**2", "0.785 cm2"),
        loading=section.quantity("loading", "A*s/m**2", "3 mAh/cm2"),
        si_particle_size=section.quantity("si_particle_size", "m", "1 um"),
        si_crystalline=section.choice("si_structure", "amorphous", ("amorphous", "crystalline")) == "crystalline",
        si_porosity=section.number("si_porosity", 0.0, 0.0, 0.9),
        temperature=section.quantity("temperature", "degC", "25 degC", minimum=-273.15),
        np_ratio=section.number("np_ratio", 1.15, 1.0, 3.0),
    )


@dataclass(slots=True)
class CellState:
    """What the cell remembers between sub-steps (fade laws will add their own fields here)."""

    x: float  # Li per Si, particle mean
    y: float  # Li per NCM formula unit, particle mean (full cell; NaN in a half cell)
    hysteresis: float  # h in [-1, 1]: -1 after lithiating, +1 after delithiating
    si_lag: float  # lagged part of the Si surface's lead over its mean (transport.SURFACE_*)
    cathode_lag: float  # the same for the NCM
    crystalline: float  # fraction of the Si still crystalline


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
        self._fixed_resistance += p.separator_thickness / (sigma_se * area)
        self.other_layers_free_thickness = p.separator_thickness + counter_thickness
        self.other_layers_compliance = (  # m/N
            p.separator_thickness / (LPSCL_MODULUS * area) + counter_thickness / (counter_modulus * area)
        )
        self._contact_modulus_ref = contact_modulus(si.E_AMORPHOUS, SI_POISSON, LPSCL_MODULUS, LPSCL_POISSON)
        self._cathode_decay = (0.0, 1.0)  # (dt, exp(-dt / tau)) cache: the NCM's tau is constant

        self.state = CellState(
            x=p.initial_x,
            y=y0,
            hysteresis=1.0,
            si_lag=0.0,
            cathode_lag=0.0,
            crystalline=si.crystalline_left(1.0, p.initial_x) if p.si_crystalline else 0.0,
        )
        self.update_mechanics()
        self.prepare(0.0)

    # --- mechanics -------------------------------------------------------------------------

    def update_mechanics(self) -> None:
        """Recompute the Si modulus, the anode's free thickness and the stack compliance from x.

        Anode thickness: the Si (apparent thickness L_Si) swells by L_Si * eps_v(x);
        the electrode's pores take up part of it first (si.void_filled) and the rest
        thickens the electrode, since the die holds the pellet's diameter.
        Anode modulus: rule of mixtures of Si and SE over the solid, times
        (1 - porosity)^2 (transport.porous_modulus).
        """
        s = self.state
        e_si = si.youngs_modulus(s.x, s.hysteresis, s.crystalline)
        swell = self._si_thickness * si.volumetric_strain(s.x, self.params.si_porosity)
        thickness = self._anode_thickness_0 + swell - si.void_filled(swell, self._pore_thickness)
        si_volume = self._si_thickness + swell
        solid = si_volume + self._se_thickness
        e_solid = (si_volume * e_si + self._se_thickness * LPSCL_MODULUS) / solid
        anode_compliance = thickness / (porous_modulus(e_solid, 1.0 - solid / thickness) * self.area)
        self.si_modulus = e_si
        self.anode_free_thickness = thickness
        self.anode_compliance = anode_compliance
        self.free_thickness = self.other_layers_free_thickness + thickness
        self.compliance = self.other_layers_compliance + anode_compliance
        self._si_volume = si_volume

    # --- electrochemistry ------------------------------------------------------------------

    def prepare(self, pressure: float) -> None:
        """Compute the coefficients of `voltage(current)` for the present state at stack `pressure` Pa."""
        p = self.params
        s = self.state
        x = s.x
        area = self.area
        stiffness = contact_modulus(self.si_modulus, SI_POISSON, LPSCL_MODULUS, LPSCL_POISSON)
        theta = contact_fraction(
            pressure, stiffness / self._contact_modulus_ref, p.contact_minimum, p.contact_saturation
        )
        self.contact = theta
        self.pressure = pressure
        thickness = self.anode_free_thickness
        sigma_ion = effective_conductivity(self._se_conductivity, self._se_thickness / thickness, p.anode_tortuosity)
        sigma_el = effective_conductivity(
            si.electronic_conductivity(x), self._si_volume / thickness, p.anode_tortuosity
        )
        self._resistance = (
            self._fixed_resistance
            + electrode_resistance(thickness, sigma_ion, area)
            + electrode_resistance(thickness, sigma_el, area)
            + self._contact_resistance / theta
        )
        # Solid diffusion in Si: x per second per ampere, through the contacts only
        diffusion_time = self._si_radius_sq / si.diffusivity(x, s.crystalline)
        rate_per_amp = self._lithiation_sign / (theta * self._charge_per_x)
        self._si_instant = SURFACE_INSTANT * diffusion_time * rate_per_amp
        self._si_lagged = SURFACE_LAGGED * diffusion_time * rate_per_amp
        self._si_relaxation = SURFACE_RELAXATION * diffusion_time
        self._x_lagged = x + s.si_lag
        self._si_exchange = p.anode_exchange_current * theta * area  # I_0, A
        self._si_shift = s.hysteresis * si.HYSTERESIS_HALF_WIDTH + si.stress_potential_shift(
            uniaxial_hydrostatic_stress(pressure, SI_POISSON)
        )
        if self.full:
            rate_per_amp = -1.0 / (theta * self._charge_per_y)
            self._cathode_instant = SURFACE_INSTANT * self._cathode_diffusion_time * rate_per_amp
            self._cathode_lagged = SURFACE_LAGGED * self._cathode_diffusion_time * rate_per_amp
            self._y_lagged = s.y + s.cathode_lag
            self._counter_exchange = p.cathode_exchange_current * theta * area

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

    def _slope(self, current: float) -> float:
        """dV/dI without the (usually small) diffusion term: a Newton slope to start the solve."""
        vt2 = 2.0 * self._thermal_voltage
        a = 2.0 * self._si_exchange
        b = 2.0 * self._counter_exchange
        return (
            self._resistance + vt2 / math.sqrt(a * a + current * current) + vt2 / math.sqrt(b * b + current * current)
        )

    def current_for_voltage(self, target: float, low: float, high: float, guess: float) -> tuple[float, float]:
        """(current, voltage): the current in [low, high] at which the voltage is `target`.

        V(I) rises monotonically with I, so the answer is unique; if `target` lies
        beyond V(low) or V(high) the nearer end is returned with its voltage.
        Newton steps with secant slopes inside a shrinking bracket, bisecting when
        a step would leave it: 2-4 evaluations from a good guess (the last current).
        """
        voltage = self.voltage
        a, fa = low, math.nan  # NaN: not evaluated yet
        b, fb = high, math.nan
        i = guess if low <= guess <= high else 0.5 * (low + high)
        f = voltage(i) - target
        slope = self._slope(i)
        for _ in range(100):
            if -VOLTAGE_TOLERANCE < f < VOLTAGE_TOLERANCE:
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
            fn = voltage(nxt) - target
            slope = (fn - f) / (nxt - i)
            i, f = nxt, fn
        return i, f + target

    def advance(self, current: float, dt: float) -> None:
        """Pass `current` A for `dt` s with the prepared coefficients (explicit in them, exact in the lags)."""
        s = self.state
        dx = self._lithiation_sign * current * dt / self._charge_per_x
        s.x += dx  # not clamped: the OCP walls stop the current first, and charge stays conserved
        s.hysteresis = si.hysteresis_step(s.hysteresis, dx, self.params.hysteresis_rate)
        target = self._si_lagged * current
        s.si_lag = target + (s.si_lag - target) * math.exp(-dt / self._si_relaxation)
        if s.crystalline > 0.0:
            s.crystalline = si.crystalline_left(s.crystalline, s.x)
        if self.full:
            s.y -= current * dt / self._charge_per_y
            if self._cathode_decay[0] != dt:
                tau = SURFACE_RELAXATION * self._cathode_diffusion_time
                self._cathode_decay = (dt, math.exp(-dt / tau))
            target = self._cathode_lagged * current
            s.cathode_lag = target + (s.cathode_lag - target) * self._cathode_decay[1]

    def ocv(self) -> float:
        """Open-circuit voltage of the present state once the particles have relaxed (no lag), V."""
        s = self.state
        u_si = si.ocp(
            s.x,
            s.hysteresis,
            si.stress_potential_shift(uniaxial_hydrostatic_stress(self.pressure, SI_POISSON)),
        )
        if self.full:
            return ncm811_ocp(s.y) - u_si
        return u_si - LI_IN_POTENTIAL
