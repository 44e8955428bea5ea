"""A cell split into zones at different local pressures: what non-parallel platens do to a pellet.

The reference review's "Non-Uniform (Rigid Fixture)" row: a fixture that presses
one side of the cell harder than the other gives a gradient in lithiation,
localised stress and faster local failure. `ZonedCell` models it with several
`Cell`s side by side, each a strip of the pellet with its own area, state and
local pressure:

- Mechanics: the platens are rigid and do not rotate; the plate separation at
  zone i is g + o_i, o_i = tilt * (its centroid's position across the cell) / diameter.
  Zone i is a spring of free thickness L_i and compliance C_i, so it carries
  F_i = max(0, (L_i - o_i - g) / C_i), and sum F_i = F, the fixture's force.
  While the same zones stay in contact this is one spring of
      1/C_eq = sum 1/C_i,  L_eq = C_eq sum (L_i - o_i) / C_i,
  which is what the fixture sees (`free_thickness`, `compliance`); `prepare`
  then solves the contact set exactly for the force it is given (a zone lifting
  off or touching down changes the equivalent one sub-step later).
- Electrochemistry: the zones share the current collectors, so they have one
  terminal voltage and the applied current divides so that V_1(I_1) = ... = V_n(I_n),
  sum I_i = I: zones with better contact (lower resistance) take more current,
  and at rest zones at different states exchange current until their voltages agree.

It has the interface of `Cell` that the world uses (world.CellModel), with
area- or capacity-weighted means where the world reads one number (x, contact
fraction, modulus, thickness); `zone_states()` gives each zone's own.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import NamedTuple

from stackpress.sims.cell import Cell, CellParams

VOLTAGE_TOLERANCE = 1e-9  # V: the zones' terminal voltages agree to this
LINEAR_ENOUGH = 1e-5  # V: a spread this small is closed by one linear step, unchecked (it leaves ~1 uV at most)
MAX_NEWTON = 30


class ZoneState(NamedTuple):
    """One zone, now: the truth the world reports per zone."""

    area: float  # m2
    offset: float  # m, its plate separation minus the centre's (negative: squeezed harder)
    pressure: float  # Pa, local stack pressure
    force: float  # N
    current: float  # A, positive = charging
    x: float  # Li per Si, particle mean
    contact_fraction: float  # Si/SE interface in contact, 0..1
    anode_thickness: float  # m, under its local force


class CellState(NamedTuple):
    """The weighted means the world reads as `cell.state`."""

    x: float
    y: float
    hysteresis: float


def strips(radius: float, count: int) -> list[tuple[float, float]]:
    """(area, centroid position) of `count` strips of equal width across a disc of `radius`, m2 and m.

    With S(u) = u sqrt(R^2 - u^2) + R^2 asin(u / R) (the disc's area between 0 and u)
    a strip [a, b] has area S(b) - S(a) and first moment (2/3) ((R^2 - a^2)^1.5 - (R^2 - b^2)^1.5).
    """
    r2 = radius * radius

    def area_to(u: float) -> float:
        return u * math.sqrt(max(r2 - u * u, 0.0)) + r2 * math.asin(max(-1.0, min(1.0, u / radius)))

    def moment_to(u: float) -> float:
        return -2.0 / 3.0 * max(r2 - u * u, 0.0) ** 1.5

    edges = [-radius + 2.0 * radius * k / count for k in range(count + 1)]
    out = []
    for a, b in itertools.pairwise(edges):
        area = area_to(b) - area_to(a)
        out.append((area, (moment_to(b) - moment_to(a)) / area))
    return out


class ZonedCell:
    """`count` strips of one cell under platens whose separation differs by `tilt` m across the cell."""

    def __init__(self, params: CellParams, count: int, tilt: float) -> None:
        if count < 1:
            raise ValueError(f"a zoned cell needs at least one zone, not {count!r}")
        self.params = params
        self.area = params.area
        self.tilt = tilt
        radius = math.sqrt(params.area / math.pi)
        geometry = strips(radius, count)
        self.zones = [Cell(dataclasses.replace(params, area=area)) for area, _ in geometry]
        self.offsets = [tilt * centroid / (2.0 * radius) for _, centroid in geometry]
        self.areas = [area for area, _ in geometry]
        self._weights = [area / params.area for area in self.areas]  # area (and capacity) fractions
        self.count = count
        first = self.zones[0]
        self.full = first.full
        self.nominal_capacity = sum(z.nominal_capacity for z in self.zones)
        self.other_layers_free_thickness = first.other_layers_free_thickness
        self.other_layers_compliance = 1.0 / sum(1.0 / z.other_layers_compliance for z in self.zones)
        self.zone_currents = [0.0] * count
        self.zone_forces = [0.0] * count
        self._conductances = [0.0] * count  # dI/dV of each zone, A/V: the Newton weights of the split
        self._active = [True] * count  # zones in contact, for the equivalent spring
        self._tops = [0.0] * count  # m, L_i - o_i: where each zone's top is (plates' frame of the centre)
        self._stiffnesses = [0.0] * count  # N/m, 1 / C_i
        self._split_current = math.nan  # the total current the cached split is for (NaN: none)
        self._split_voltage = math.nan
        self._starts: dict[float, tuple[list[float], list[float]]] = {}  # recent totals' last two splits
        self._solved_at_voltage = [0.0] * count  # the zones' currents of the last current_for_voltage
        self.pressure = 0.0
        self.contact = 0.0
        self.anode_compliance = 0.0
        self.update_mechanics()
        self.prepare(0.0)
        self._init_conductances()

    def _init_conductances(self) -> None:
        step = self.nominal_capacity / 3600.0 * 1e-3  # A: a thousandth of 1C
        for k, zone in enumerate(self.zones):
            share = step * self._weights[k]
            self._conductances[k] = share / (zone.voltage(share) - zone.voltage(0.0))

    # --- mechanics -------------------------------------------------------------------------

    def update_mechanics(self) -> None:
        """Every zone's mechanics from its x; the equivalent spring of the zones in contact."""
        inverse = 0.0
        weighted = 0.0
        anode = 0.0
        modulus = 0.0
        tops, stiffnesses, active = self._tops, self._stiffnesses, self._active
        offsets, weights = self.offsets, self._weights
        for i, zone in enumerate(self.zones):
            zone.update_mechanics()
            anode += weights[i] * zone.anode_free_thickness
            modulus += weights[i] * zone.si_modulus
            top = tops[i] = zone.free_thickness - offsets[i]
            k = stiffnesses[i] = 1.0 / zone.compliance
            if active[i]:
                inverse += k
                weighted += top * k
        self.compliance = 1.0 / inverse
        self.free_thickness = weighted / inverse
        self.anode_free_thickness = anode
        self.si_modulus = modulus

    def _contact_gap(self, force: float) -> float:
        """The centre's plate separation at which the zones carry `force` N in total (exact contact set)."""
        if force <= 0.0:
            return max(self._tops)  # the tallest zone just touches
        stiffnesses = self._stiffnesses
        gap = (sum(t * k for t, k in zip(self._tops, stiffnesses, strict=True)) - force) / sum(stiffnesses)
        if gap <= min(self._tops):
            return gap  # every zone in contact: the usual case
        tops = sorted(zip(self._tops, stiffnesses, strict=True))
        weighted = 0.0
        stiffness = 0.0
        for k in range(len(tops) - 1, -1, -1):  # add zones from the tallest down
            top, kk = tops[k]
            weighted += top * kk
            stiffness += kk
            gap = (weighted - force) / stiffness
            if k == 0 or gap >= tops[k - 1][0]:
                return gap
        raise AssertionError("unreachable")

    # --- electrochemistry ------------------------------------------------------------------

    def prepare(self, pressure: float) -> None:
        """Share the force `pressure` x area among the zones (contact solved exactly); prepare each zone."""
        force = pressure * self.area
        gap = self._contact_gap(force)
        tops, stiffnesses = self._tops, self._stiffnesses
        contact = 0.0
        anode_compliance = 0.0
        for k, zone in enumerate(self.zones):
            local = (tops[k] - gap) * stiffnesses[k]
            if local < 0.0:
                local = 0.0
            self._active[k] = local > 0.0 or force <= 0.0
            self.zone_forces[k] = local
            zone.prepare(local / self.areas[k])
            contact += self._weights[k] * zone.contact
            anode_compliance += local * zone.anode_compliance * self._weights[k]
        self.pressure = pressure
        self.contact = contact
        # anode_free_thickness - F anode_compliance is the zones' area-weighted loaded anode thickness
        self.anode_compliance = anode_compliance / force if force > 0.0 else 0.0
        self._split_current = math.nan

    def _split(self, total: float) -> float:
        """Divide `total` A among the zones so that their voltages agree; the terminal voltage, V.

        Newton on the shared voltage V with each zone linearised, I_i + g_i (V - V_i(I_i)),
        the sum kept equal to `total`; the slopes g_i are secants from the last
        iterate (the last sub-step's to start). Started from the last two splits
        of the same total, extrapolated, the voltages usually differ by a few
        microvolts, and one linear step, not checked, closes that to well under
        a microvolt: one voltage evaluation per zone per sub-step.
        """
        zones = self.zones
        g = self._conductances
        n = self.count
        last = self._starts.get(total)
        if last is not None:  # the zones drift smoothly: extrapolate this total's last two splits
            now, before = last
            currents = [2.0 * now[k] - before[k] for k in range(n)]
        else:
            currents = self.zone_currents
        shift = (total - sum(currents)) / sum(g)  # and make them add up to `total` (to the last bit)
        currents = [currents[k] + shift * g[k] for k in range(n)]
        volts = [zones[k].voltage(currents[k]) for k in range(n)]
        for _ in range(MAX_NEWTON):
            low, high = min(volts), max(volts)
            if high - low < VOLTAGE_TOLERANCE:
                break
            total_g = sum(g)
            target = sum(volts[k] * g[k] for k in range(n)) / total_g
            if high - low < LINEAR_ENOUGH:  # the linearisation's own error is ~(dI)^2: take its answer
                currents = [currents[k] + (target - volts[k]) * g[k] for k in range(n)]
                volts = [target] * n
                break
            for k in range(n):
                step = (target - volts[k]) * g[k]
                if step != 0.0:
                    current = currents[k] + step
                    voltage = zones[k].voltage(current)
                    slope = (voltage - volts[k]) / step
                    if slope > 0.0:
                        g[k] = 1.0 / slope
                    currents[k] = current
                    volts[k] = voltage
        else:
            return self._split_by_voltage(total)
        voltage = sum(volts) / n
        self._remember(total, currents, voltage)
        return voltage

    def _remember(self, total: float, currents: list[float], voltage: float) -> None:
        self.zone_currents = currents
        self._split_current = total
        self._split_voltage = voltage
        starts = self._starts
        last = starts.get(total)
        starts[total] = (currents, currents if last is None else last[0])
        if len(starts) > 4:  # a CC step, its compliance taper, rest: a few totals recur step after step
            del starts[next(iter(starts))]

    def _split_by_voltage(self, total: float) -> float:
        """The robust split: bisect the shared voltage, each zone solved for its current (Cell's own solve)."""
        bound = 4.0 * abs(total) + self.nominal_capacity / 3600.0
        low = min(z.voltage(-bound) for z in self.zones)
        high = max(z.voltage(bound) for z in self.zones)
        currents = list(self.zone_currents)
        for _ in range(200):
            voltage = 0.5 * (low + high)
            for k, zone in enumerate(self.zones):
                currents[k] = zone.current_for_voltage(voltage, -bound, bound, currents[k])[0]
            if sum(currents) > total:
                high = voltage
            else:
                low = voltage
            if high - low < VOLTAGE_TOLERANCE:
                break
        excess = total - sum(currents)  # give the last rounding to the zones in proportion
        currents = [c + excess * w for c, w in zip(currents, self._weights, strict=True)]
        self._remember(total, currents, voltage)
        return voltage

    def voltage(self, current: float) -> float:
        """Terminal voltage, V, with `current` A in total shared among the zones."""
        if current == self._split_current:
            return self._split_voltage
        return self._split(current)

    def current_for_voltage(self, target: float, low: float, high: float, guess: float) -> tuple[float, float]:
        """(current, voltage): the total current in [low, high] at which the terminal voltage is `target`.

        Each zone is solved at `target`; if their sum lies outside [low, high] the
        nearer end is split among the zones instead and its voltage returned.
        """
        bound = 4.0 * max(abs(low), abs(high)) + self.nominal_capacity / 3600.0
        guesses = self._solved_at_voltage
        solved = [zone.current_for_voltage(target, -bound, bound, guesses[k])[0] for k, zone in enumerate(self.zones)]
        self._solved_at_voltage = solved
        total = sum(solved)
        if low <= total <= high:
            self._remember(total, solved, target)
            return total, target
        end = low if total < low else high
        return end, self.voltage(end)

    def advance(self, current: float, dt: float) -> None:
        """Pass `current` A in total for `dt` s, each zone its share."""
        if current != self._split_current:
            self._split(current)
        for zone, share in zip(self.zones, self.zone_currents, strict=True):
            zone.advance(share, dt)

    def ocv(self) -> float:
        """Open-circuit voltage, V: the capacity-weighted mean of the zones' (they equalise at rest)."""
        return sum(w * z.ocv() for w, z in zip(self._weights, self.zones, strict=True))

    @property
    def state(self) -> CellState:
        """Capacity-weighted means of the zones' x, y and hysteresis."""
        x = y = h = 0.0
        for w, z in zip(self._weights, self.zones, strict=True):
            s = z.state
            x += w * s.x
            y += w * s.y
            h += w * s.hysteresis
        return CellState(x, y, h)

    # What degradation has done, summed over the zones (only where the zones' Cell models it).

    @property
    def accessible_si(self) -> float:
        """Fraction of the Si still wired, capacity-weighted over the zones."""
        return sum(w * z.accessible_si for w, z in zip(self._weights, self.zones, strict=True))

    @property
    def lithium_lost(self) -> float:
        """Li lost to the interphase and isolated Si in all the zones, C."""
        return sum(z.lithium_lost for z in self.zones)

    def zone_states(self) -> tuple[ZoneState, ...]:
        """Each zone's truth now."""
        return tuple(
            ZoneState(
                area=area,
                offset=offset,
                pressure=force / area,
                force=force,
                current=current,
                x=zone.state.x,
                contact_fraction=zone.contact,
                anode_thickness=zone.anode_free_thickness - force * zone.anode_compliance,
            )
            for zone, area, offset, force, current in zip(
                self.zones, self.areas, self.offsets, self.zone_forces, self.zone_currents, strict=True
            )
        )
