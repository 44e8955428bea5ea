"""Fixtures that hold the stack: what force the stack feels and where the plates are.

Both see the stack as a spring: a free (unloaded) thickness L that grows as the
Si swells, and a compliance C (m/N) from its layers, so a stack under force F is
L - F C thick. The cell supplies L and C every sub-step (`update`).

- HydraulicFixture: a ram whose oil pressure follows the commanded force with a
  first-order lag; the piston moves with the stack (isostatic: constant force
  whatever the thickness), except that its seal friction holds it until the
  force difference exceeds the Coulomb friction.
- RigidFixture: a bolted frame of stiffness k in series with the stack. The
  operator tightens it once to a preload; after that the plates only move by
  the frame's stretch, so the stack force climbs as the Si swells and falls as
  it shrinks.
"""

from __future__ import annotations

import math

from stackpress.sims.settings import Section
from stackpress.units import UnitError


class HydraulicFixture:
    """A hydraulic ram: commanded force -> oil pressure (lag) -> stack force (less seal friction)."""

    kind = "hydraulic"
    regulated = True

    def __init__(self, area: float, lag: float = 0.5, friction: float = 5.0, rating: float = 150e6) -> None:
        """`lag` s: time constant of the oil pressure; `friction` N: seal friction; `rating` Pa on the cell area."""
        self.command_range = (0.0, rating * area)
        self.lag = lag
        self.friction = friction
        self.demand = 0.0  # N, the commanded ram force
        self.ram_force = 0.0  # N, what the oil pressure pushes with now
        self.force = 0.0  # N, on the stack
        self.gap = 0.0  # m, plate separation
        self._decay = (0.0, 1.0)  # (dt, exp(-dt / lag)) cache

    def attach(self, free_thickness: float, compliance: float) -> None:
        """Put the plates on a stack of this free thickness (m) and compliance (m/N), unloaded."""
        self.gap = free_thickness - self.force * compliance

    def command(self, force: float) -> None:
        """Demand a ram force, N; the oil pressure follows with the fixture's lag."""
        self.demand = force

    def hold(self) -> None:
        """Stop: keep the ram force where it is now."""
        self.demand = self.ram_force

    def readback(self) -> float:
        """The ram force now, N (what a pressure transducer on the oil line reports)."""
        return self.ram_force

    def update(self, dt: float, free_thickness: float, compliance: float) -> float:
        """Advance `dt` s; return the stack force, N.

        Oil: F_ram' = F_cmd + (F_ram - F_cmd) exp(-dt / lag), exact for a held command.
        Piston (massless, Coulomb friction f): it stays put while the stack force it
        would take to keep it there, (L - gap) / C, lies within F_ram +- f; otherwise
        it slides until the stack force is F_ram - f (stack shrinking / ram
        advancing) or F_ram + f (stack pushing the ram back).
        """
        if self._decay[0] != dt:
            self._decay = (dt, math.exp(-dt / self.lag))
        ram = self.demand + (self.ram_force - self.demand) * self._decay[1]
        self.ram_force = ram
        force = (free_thickness - self.gap) / compliance
        if force < ram - self.friction:
            force = ram - self.friction
        elif force > ram + self.friction:
            force = ram + self.friction
        if force < 0.0:
            force = 0.0
        self.force = force
        self.gap = free_thickness - force * compliance
        return force


class RigidFixture:
    """A bolted frame of stiffness `frame_stiffness` N/m in series with the stack."""

    kind = "rigid"
    regulated = False

    def __init__(
        self, area: float, frame_stiffness: float = 5e7, preload: float | None = None, rating: float = 150e6
    ) -> None:
        """`preload` N: the stack force the operator tightens to (default 10 MPa); `rating` Pa on the area."""
        self.command_range = (0.0, rating * area)
        self.frame_stiffness = frame_stiffness
        self.preload = 10e6 * area if preload is None else preload
        self.force = 0.0
        self.gap = 0.0
        self._frame_length = 0.0  # m: the plate separation of the unloaded frame, set by tightening
        self._free_thickness = 0.0
        self._compliance = 0.0

    def attach(self, free_thickness: float, compliance: float) -> None:
        """Put the stack in and tighten the frame to the preload."""
        self._free_thickness = free_thickness
        self._compliance = compliance
        self.command(self.preload)

    def command(self, force: float) -> None:
        """Tighten (or loosen) the bolts so that the stack force is `force` N now."""
        self.preload = force
        self._frame_length = self._free_thickness - force * (self._compliance + 1.0 / self.frame_stiffness)
        self.update(0.0, self._free_thickness, self._compliance)

    def hold(self) -> None:
        """A frame holds by itself: nothing to do."""

    def readback(self) -> float:
        """The force in the frame now, N (equal to the stack force)."""
        return self.force

    def update(self, dt: float, free_thickness: float, compliance: float) -> float:
        """Return the stack force, N, for a stack of this free thickness and compliance.

        Frame and stack in series: F = (L - L_frame) / (C + 1/k) while the stack is
        squeezed (else 0, and the plates sit at the frame's own separation). No
        time dependence: `dt` is unused (creep of the frame is not modelled).
        """
        self._free_thickness = free_thickness
        self._compliance = compliance
        squeeze = free_thickness - self._frame_length
        if squeeze > 0.0:
            force = squeeze / (compliance + 1.0 / self.frame_stiffness)
            self.gap = free_thickness - force * compliance
        else:
            force = 0.0
            self.gap = self._frame_length
        self.force = force
        return force


Fixture = HydraulicFixture | RigidFixture


def _force(section: Section, key: str, default: str, area: float, positive: bool) -> float:
    """A force written as a force ("785 N") or as a pressure on the cell area ("10 MPa")."""
    try:
        return section.quantity(key, "Pa", default, positive=positive) * area
    except UnitError:
        return section.quantity(key, "N", default, positive=positive)


def fixture_from_section(section: Section, area: float) -> Fixture:
    """The fixture the bench's [fixture] table describes (every key optional).

    kind = "hydraulic" (default): lag = "0.5 s", friction = "5 N", rating = "150 MPa".
    kind = "rigid": frame_stiffness = "50 N/um", preload = "10 MPa", rating = "150 MPa".
    Forces may be written as forces or as pressures on the cell area.
    """
    kind = section.choice("kind", "hydraulic", ("hydraulic", "rigid"))
    rating = _force(section, "rating", "150 MPa", area, positive=True) / area
    if kind == "hydraulic":
        return HydraulicFixture(
            area,
            lag=section.quantity("lag", "s", "0.5 s"),
            friction=section.quantity("friction", "N", "5 N", positive=False),
            rating=rating,
        )
    preload = _force(section, "preload", "10 MPa", area, positive=False)
    if preload > rating * area:
        raise ValueError(f"[fixture] preload: {preload:g} N is above the rating, {rating * area:g} N")
    return RigidFixture(
        area,
        frame_stiffness=section.quantity("frame_stiffness", "N/m", "50 N/um"),
        preload=preload,
        rating=rating,
    )
