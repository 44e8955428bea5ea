"""Fixtures that hold the stack: what force the stack feels and where the plates are.

All see the stack as a spring: a free (unloaded) thickness L that grows as the
Si swells, and a compliance C (m/N) from its layers, so a stack under force F is
L - F C thick. The cell supplies L and C every sub-step (`update`).

- HydraulicFixture: a ram whose oil pressure follows the commanded force with a
  first-order lag; the piston moves with the stack (isostatic: constant force
  whatever the thickness), except that its seal friction holds it until the
  force difference exceeds the Coulomb friction. Force command, regulated.
- RigidFixture: a bolted frame of stiffness k in series with the stack. The
  operator tightens it once to a preload; after that the plates only move by
  the frame's stretch, so the stack force climbs as the Si swells and falls as
  it shrinks. Not regulated.
- SpringFixture: disc springs between a seat and the stack: the force drifts
  a little with the swelling (spring rate x thickness change) and relaxes
  (logarithmic stress relaxation of the springs). The seat is moved by a slow
  motor with a position command (regulated) or set once by hand.
- ServoFixture: a stiff lead screw driven by a motor with a position command,
  a velocity limit and backlash. Regulated, and the hardest to regulate.
- TiltedFixture: a rigid frame whose platens are not parallel; the world
  splits the cell into zones at different local pressures (zones.ZonedCell).

Every fixture has `kind`, `regulated`, `command_unit` ("N" or "m"),
`command_range` (in that unit), `max_force` (N, its rating), `force` and
`gap`, and attach / command / hold / readback / update.

Injected faults (stackpress.sims.faults) reach a fixture through two attributes
the world sets for each sub-step: `seized` (the drive does not move: a ram keeps
its oil pressure, a motor stays where it is) and `slowdown` (the oil lag times
it, the motor's velocity divided by it); a hydraulic fixture also has `leak`
(None, or the fraction of its demand the ram can still reach). A frame without a
drive ignores them.
"""

from __future__ import annotations

import math

from stackpress.sims.settings import Section
from stackpress.units import UnitError

RELAXATION_REFERENCE = 48 * 3600.0  # s: the spring's `relaxation` is the force fraction lost in this time


def _move_towards(position: float, target: float, step: float) -> float:
    """A motor's position after moving from `position` towards `target` by at most `step` (m)."""
    if target > position + step:
        return position + step
    if target < position - step:
        return position - step
    return target


class HydraulicFixture:
    """A hydraulic ram: commanded force -> oil pressure (lag) -> stack force (less seal friction)."""

    kind = "hydraulic"
    regulated = True
    command_unit = "N"
    seized = False  # faults: the valve is stuck, the oil pressure stays where it is
    slowdown = 1.0  # faults: the oil lag is this many times longer
    leak: float | None = None  # faults: the fraction of the demand the ram can still reach

    def __init__(self, area: float, lag: float = 0.5, friction: float = 5.0, rating: float = 150e6) -> None:
        """`lag` s: time constant of the oil pressure; `friction` N: seal friction; `rating` Pa on the cell area."""
        self.command_range = (0.0, rating * area)
        self.max_force = rating * area
        self.lag = lag
        self.friction = friction
        self.demand = 0.0  # N, the commanded ram force
        self.ram_force = 0.0  # N, what the oil pressure pushes with now
        self.force = 0.0  # N, on the stack
        self.gap = 0.0  # m, plate separation
        self._decay = (0.0, 1.0, 1.0)  # (dt, exp(-dt / (lag slowdown)), slowdown) cache

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
        if self.seized:
            ram = self.ram_force
        else:
            if self._decay[0] != dt or self._decay[2] != self.slowdown:
                self._decay = (dt, math.exp(-dt / (self.lag * self.slowdown)), self.slowdown)
            target = self.demand if self.leak is None else self.demand * self.leak
            ram = target + (self.ram_force - target) * self._decay[1]
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
    command_unit = "N"
    seized = False  # faults: nothing to seize or slow down, a frame has no drive
    slowdown = 1.0

    def __init__(
        self, area: float, frame_stiffness: float = 5e7, preload: float | None = None, rating: float = 150e6
    ) -> None:
        """`preload` N: the stack force the operator tightens to (default 10 MPa); `rating` Pa on the area."""
        self.command_range = (0.0, rating * area)
        self.max_force = rating * area
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


class SpringFixture:
    """Disc springs between a seat (moved by a motor, or set by hand) and the plate on the stack.

    Positions: `seat` m is how far the seat has advanced towards the stack since
    the springs just touched the unloaded stack (`attach`). The spring pack
    (rate k N/m) and the stack (compliance C) are in series, so with the
    spring's permanent set s (relaxation, below):

        F = k (seat + L - L_attach - s) / (1 + k C)   (0 once the springs lift off)

    and a swelling dL adds k dL / (1 + k C) ~ k dL: soft springs keep the force
    nearly constant (1 N/um and 7 um of swelling: 7 N, 0.09 MPa on 0.785 cm2).

    Drive "motor": a stepper on a lead screw moves the seat towards a commanded
    POSITION at up to `velocity` m/s (`command_unit` "m", range 0..travel). This
    is what motorised spring fixtures do: the motor is position-controlled and the
    outer pressure loop closes on the load cell (PressureRegulator, position mode).
    Drive "manual": the operator turns the seat screw once to a preload (N), as
    with a rigid frame; not regulated.

    Relaxation: spring steel at constant deflection loses force with the
    logarithm of time, F(t) = F0 (1 - rho(t)), rho = r ln(1 + t / tau): the shape
    of the disc-spring makers' relaxation charts (a few % after 48 h at high
    stress and room temperature, e.g. the Schnorr and Mubea handbooks for
    51CrV4 / DIN EN 16983 springs) and of logarithmic stress relaxation in metals.
    `relaxation` is rho after 48 h. As a state law it advances only while loaded:
    the relaxation clock c = 1 + t_loaded / tau, rho = r ln c, and each step turns
    the elastic deflection F / k into set in proportion, ds = (F / k) drho / (1 - rho),
    which is exact (step-size independent) at constant deflection.
    """

    kind = "spring"
    seized = False  # faults: the motor does not move
    slowdown = 1.0  # faults: the motor is this many times slower

    def __init__(
        self,
        area: float,
        spring_rate: float = 1e6,
        drive: str = "motor",
        velocity: float = 20e-6,
        travel: float = 10e-3,
        preload: float | None = None,
        relaxation: float = 0.02,
        relaxation_time: float = 60.0,
        rating: float = 150e6,
    ) -> None:
        """`spring_rate` N/m; `velocity` m/s and `travel` m of the seat; `preload` N (manual drive only,
        default 10 MPa); `relaxation`: force fraction lost after 48 h at constant compression, from
        `relaxation_time` s on; `rating` Pa on the area (the force is also limited by k x travel)."""
        if drive not in ("motor", "manual"):
            raise ValueError(f"drive must be 'motor' or 'manual', not {drive!r}")
        self.spring_rate = spring_rate
        self.drive = drive
        self.regulated = drive == "motor"
        self.command_unit = "m" if self.regulated else "N"
        self.velocity = velocity
        self.travel = travel
        self.max_force = min(rating * area, spring_rate * travel)
        self.command_range = (0.0, travel) if self.regulated else (0.0, self.max_force)
        self.preload = 10e6 * area if preload is None else preload
        self.relaxation_time = relaxation_time
        self._relaxation_rate = relaxation / math.log(1.0 + RELAXATION_REFERENCE / relaxation_time)
        self._relaxation_clock = 1.0  # 1 + loaded time / relaxation_time
        self._relaxed = 0.0  # rho, the fraction of the force relaxed at constant deflection
        self.set = 0.0  # m, the spring pack's permanent set
        self.seat = 0.0  # m, where the seat is now
        self.target = 0.0  # m, where the motor is taking it
        self.force = 0.0
        self.gap = 0.0
        self._touch = 0.0  # m, the stack's free thickness when the springs just touched it
        self._free_thickness = 0.0
        self._compliance = 0.0

    def attach(self, free_thickness: float, compliance: float) -> None:
        """Put the stack in with the springs just touching it; a manual seat is then set to the preload."""
        self._touch = free_thickness
        self._free_thickness = free_thickness
        self._compliance = compliance
        self.gap = free_thickness
        if not self.regulated:
            self.command(self.preload)

    def command(self, value: float) -> None:
        """Motor: move the seat to `value` m. Manual: turn the seat so that the force is `value` N now."""
        if self.regulated:
            self.target = value
            return
        k = self.spring_rate
        self.preload = value
        self.seat = self.target = (
            value * (1.0 + k * self._compliance) / k - self._free_thickness + self._touch + self.set
        )
        self.update(0.0, self._free_thickness, self._compliance)

    def hold(self) -> None:
        """Stop the motor where the seat is now (a manual seat holds by itself)."""
        self.target = self.seat

    def readback(self) -> float:
        """Motor: the seat position, m (the motor's encoder). Manual: the force, N."""
        return self.seat if self.regulated else self.force

    def update(self, dt: float, free_thickness: float, compliance: float) -> float:
        """Advance `dt` s: relax the springs under the force of the step start, move the seat, return the force."""
        self._free_thickness = free_thickness
        self._compliance = compliance
        k = self.spring_rate
        force = self.force
        if force > 0.0 and dt > 0.0 and self._relaxation_rate > 0.0:
            clock = self._relaxation_clock + dt / self.relaxation_time
            relaxed = self._relaxation_rate * math.log(clock)
            self.set += force / k * (relaxed - self._relaxed) / (1.0 - self._relaxed)
            self._relaxation_clock = clock
            self._relaxed = relaxed
        seat = self.seat
        if seat != self.target and not self.seized:
            seat = self.seat = _move_towards(seat, self.target, self.velocity * dt / self.slowdown)
        force = k * (seat + free_thickness - self._touch - self.set) / (1.0 + k * compliance)
        if force > 0.0:
            self.gap = free_thickness - force * compliance
        else:
            force = 0.0
            self.gap = free_thickness
        self.force = force
        return force


class ServoFixture:
    """A stiff screw press: a motor with a position command drives the platen through a lead screw.

    The motor moves towards its commanded POSITION at up to `velocity` m/s
    (`command_unit` "m", range 0..travel; the readback is the motor's encoder).
    Between motor and screw there is `backlash` m of lost motion (gearbox and
    coupling): the lead screw is self-locking, so the stack force cannot turn it
    back, and after a reversal the motor must cross the backlash before the
    platen moves. The platen (screw position p) pushes the stack through the
    frame and screw (stiffness `frame_stiffness`) in series with the stack:

        F = (L - (G0 - p)) / (C + 1/k)    (0 once the platen lifts off)

    where G0 - p is the plate separation of the unloaded frame. Stiff: ~0.4 um
    of stack plus ~4 um of frame at 10 MPa on 0.785 cm2, so a micrometre of screw
    travel is ~2 MPa — the hardest fixture to regulate. `attach` brings the platen
    to touch the unloaded stack at mid-travel, the drive flank engaged (advancing).
    """

    kind = "servo"
    regulated = True
    command_unit = "m"
    seized = False  # faults: the motor does not move
    slowdown = 1.0  # faults: the motor is this many times slower

    def __init__(
        self,
        area: float,
        frame_stiffness: float = 2e8,
        velocity: float = 10e-6,
        backlash: float = 1e-6,
        travel: float = 2e-3,
        rating: float = 150e6,
    ) -> None:
        """`frame_stiffness` N/m (frame + screw); `velocity` m/s, `backlash` m and `travel` m of the screw."""
        self.frame_stiffness = frame_stiffness
        self._frame_compliance = 1.0 / frame_stiffness
        self.velocity = velocity
        self.backlash = backlash
        self.command_range = (0.0, travel)
        self.max_force = rating * area
        self.motor = self.target = 0.5 * travel  # m, the motor's position (encoder) and where it is going
        self.screw = self.motor - 0.5 * backlash  # m, the platen: the motor pushes it through the drive flank
        self.force = 0.0
        self.gap = 0.0
        self._origin = 0.0  # m, plate separation of the unloaded frame with the screw at 0

    def attach(self, free_thickness: float, compliance: float) -> None:
        """Put the stack in; the platen touches it (no force) where the screw is."""
        self._origin = free_thickness + self.screw
        self.gap = free_thickness

    def command(self, position: float) -> None:
        """Move the motor to `position` m."""
        self.target = position

    def hold(self) -> None:
        """Stop the motor where it is."""
        self.target = self.motor

    def readback(self) -> float:
        """The motor's position, m (its encoder: the backlash is not seen)."""
        return self.motor

    def update(self, dt: float, free_thickness: float, compliance: float) -> float:
        """Move the motor (velocity limit) and the screw (backlash) for `dt` s; return the stack force, N."""
        motor = self.motor
        if motor != self.target and not self.seized:
            motor = self.motor = _move_towards(motor, self.target, self.velocity * dt / self.slowdown)
            half = 0.5 * self.backlash
            if self.screw < motor - half:
                self.screw = motor - half
            elif self.screw > motor + half:
                self.screw = motor + half
        unloaded = self._origin - self.screw
        squeeze = free_thickness - unloaded
        if squeeze > 0.0:
            force = squeeze / (compliance + self._frame_compliance)
            self.gap = free_thickness - force * compliance
        else:
            force = 0.0
            self.gap = unloaded
        self.force = force
        return force


class TiltedFixture(RigidFixture):
    """A rigid bolted frame whose platens are not parallel.

    The plate separation differs by `tilt` m from one edge of the cell to the
    other, so the stack is squeezed more on one side. The world splits the cell
    into `zones` strips across the tilt (stackpress.sims.zones.ZonedCell), each at
    its own local pressure; the frame itself behaves as RigidFixture on the
    zones' combined stiffness (the platens do not rotate).
    """

    kind = "tilted"

    def __init__(
        self,
        area: float,
        frame_stiffness: float = 5e7,
        preload: float | None = None,
        rating: float = 150e6,
        tilt: float = 0.5e-6,
        zones: int = 4,
    ) -> None:
        """`tilt` m: plate-separation difference across the cell; `zones`: strips the cell is split into."""
        super().__init__(area, frame_stiffness=frame_stiffness, preload=preload, rating=rating)
        self.tilt = tilt
        self.zones = zones


Fixture = HydraulicFixture | RigidFixture | SpringFixture | ServoFixture | TiltedFixture
KINDS = ("hydraulic", "rigid", "spring", "servo", "tilted")


def _force(section: Section, key: str, default: str, area: float, positive: bool) -> float:
    """A force written as a force ("785 N") or as a pressure on the cell area ("10 MPa")."""
    try:
        return section.quantity(key, "Pa", default, positive=positive) * area
    except UnitError:
        return section.quantity(key, "N", default, positive=positive)


def _preload(section: Section, area: float, rating: float) -> float:
    preload = _force(section, "preload", "10 MPa", area, positive=False)
    if preload > rating * area:
        raise ValueError(f"[fixture] preload: {preload:g} N is above the rating, {rating * area:g} N")
    return preload


def fixture_from_section(section: Section, area: float) -> Fixture:
    """The fixture the bench's [fixture] table describes (every key optional).

    kind = "hydraulic" (default): lag = "0.5 s", friction = "5 N", rating = "150 MPa".
    kind = "rigid": frame_stiffness = "50 N/um", preload = "10 MPa", rating = "150 MPa".
    kind = "spring": drive = "motor" (or "manual"), spring_rate = "1 N/um", travel = "10 mm",
        relaxation = 0.02 (force fraction lost in 48 h), relaxation_time = "1 min", rating = "150 MPa";
        motor: velocity = "20 um/s"; manual: preload = "10 MPa".
    kind = "servo": frame_stiffness = "200 N/um", velocity = "10 um/s", backlash = "1 um",
        travel = "2 mm", rating = "150 MPa".
    kind = "tilted": the rigid keys, and tilt = "0.5 um" (plate-separation difference across the
        cell), zones = 4 (2..8 strips).
    Forces may be written as forces or as pressures on the cell area.
    """
    kind = section.choice("kind", "hydraulic", KINDS)
    rating = _force(section, "rating", "150 MPa", area, positive=True) / area
    if kind == "hydraulic":
        return HydraulicFixture(
            area,
            lag=section.quantity("lag", "s", "0.5 s"),
            friction=section.quantity("friction", "N", "5 N", positive=False),
            rating=rating,
        )
    if kind == "spring":
        drive = section.choice("drive", "motor", ("motor", "manual"))
        spring_rate = section.quantity("spring_rate", "N/m", "1 N/um")
        travel = section.quantity("travel", "m", "10 mm")
        relaxation = section.number("relaxation", 0.02, 0.0, 0.5)
        relaxation_time = section.quantity("relaxation_time", "s", "1 min")
        if drive == "motor":
            velocity, preload = section.quantity("velocity", "m/s", "20 um/s"), None
        else:
            velocity, preload = 0.0, _preload(section, area, rating)
            if preload > spring_rate * travel:
                raise ValueError(
                    f"[fixture] preload: {preload:g} N is beyond the springs' travel "
                    f"({spring_rate * travel:g} N at {travel * 1e3:g} mm)"
                )
        return SpringFixture(
            area,
            spring_rate=spring_rate,
            drive=drive,
            velocity=velocity,
            travel=travel,
            preload=preload,
            relaxation=relaxation,
            relaxation_time=relaxation_time,
            rating=rating,
        )
    if kind == "servo":
        return ServoFixture(
            area,
            frame_stiffness=section.quantity("frame_stiffness", "N/m", "200 N/um"),
            velocity=section.quantity("velocity", "m/s", "10 um/s"),
            backlash=section.quantity("backlash", "m", "1 um", positive=False),
            travel=section.quantity("travel", "m", "2 mm"),
            rating=rating,
        )
    frame_stiffness = section.quantity("frame_stiffness", "N/m", "50 N/um")
    preload = _preload(section, area, rating)
    if kind == "rigid":
        return RigidFixture(area, frame_stiffness=frame_stiffness, preload=preload, rating=rating)
    zones = section.number("zones", 4, 2, 8)
    if not zones.is_integer():
        raise ValueError(f"[fixture] zones: {zones!r} must be a whole number of zones")
    return TiltedFixture(
        area,
        frame_stiffness=frame_stiffness,
        preload=preload,
        rating=rating,
        tilt=section.quantity("tilt", "m", "0.5 um", positive=False),
        zones=int(zones),
    )
