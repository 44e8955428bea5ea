"""The pressure regulator: holds a stack-pressure setpoint by commanding the actuator.

The engine drives it through five calls: `hold(setpoint, actuator_readback)`,
`update(sample, dt)` (the command for this tick), `release()`, `back_off(...)`
(after an over-pressure trip), and reads `active` and `setpoint`. Everything
else here is what makes it hold to the load cell's noise floor, each piece
small and switchable from the bench's [regulator] table:

- Filtered measurement (`filter`, s): a first-order low-pass on the measured
  pressure; the proportional, integral and derivative terms all act on it
  (derivative on the filtered measurement, never on the setpoint).
- Rate-limited setpoints (`slew_rate`, Pa/s): the regulator follows a
  reference that ramps to each new setpoint at the slew rate, so 10 -> 30 MPa
  is a controlled ramp; the integral holds still while the reference ramps
  (it would otherwise wind up on the actuator's lag and overshoot). On
  engaging, the ramp starts from the measured pressure.
- Feed-forward from the cell (`feedforward`, on by default): see
  stackpress.control.feedforward. Position fixtures move against the swelling
  the current is causing (swelling per coulomb learned online from the gap
  and the charge counter); a hydraulic ram is moved across its seal friction
  the tick the current reverses the swelling.
- Gain scheduling on the stiffness (`stiffness`, Pa per metre of actuator
  travel, position fixtures): the gains are scaled by stiffness / estimate,
  the estimate learned online (stackpress.control.scheduling); a setpoint
  change is fed forward as travel = change / estimate, one tick ahead.
- Backlash compensation (`backlash`, m, position fixtures):
  feedforward.BacklashCompensator.
- Manual and automatic (`manual(command)`, `automatic()`): in manual the
  operator's command goes to the actuator (the filter and the estimators keep
  running); back in automatic the loop starts from that command and the
  measured pressure, and ramps to the setpoint: no bump.

Two kinds of actuator, by their `command_unit`:

- "N", force-controlled (a hydraulic ram). The regulator works in pressure
  units so that gains carry from one cell area to another: the PID's output is
  the pressure to ask of the fixture, and the command sent is that pressure
  times the cell area. The (ramped) setpoint is fed forward; the PID only
  corrects what the fixture does not deliver (seal friction, swelling).
  Gains: kp in Pa per Pa, ki per second. The stack stiffness does not enter
  this loop (the ram force is the stack force), so nothing is scheduled.

- "m", position-controlled (a motor on a spring seat or on a stiff screw).
  The regulator is an incremental PI (pid.IncrementalPID) that moves the
  position from where the actuator is when it engages (bumpless, from the
  readback), clamped to the command range. Gains: kp in m per Pa, ki in m per
  Pa per second. Tuning rule, with G the fixture's pressure per metre of travel
  (series stiffness of the fixture and stack over the cell area):
      kp ~ 0.5 / G   and   ki ~ kp / (0.5 .. 2 s) at a 0.1 s tick (stiff: follows the swelling closely)
                             .. kp / (20 s) (soft springs: passes less load-cell noise).
  or `stackpress tune` (stackpress.control.autotune).

Both integrals are scaled so that one tick's step never exceeds kp x error
however long the tick (pid.integral_step), so with G kp < 2/3 the loop is
stable at any engine period — 20 ms on hardware or 30 s of virtual time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from stackpress.control.feedforward import BacklashCompensator, FrictionFeedForward, SwellingEstimator
from stackpress.control.filters import LowPass, SlewRate
from stackpress.control.pid import PID, Gains, IncrementalPID
from stackpress.control.scheduling import StiffnessEstimator
from stackpress.sample import Sample

if TYPE_CHECKING:
    from stackpress.bench import Bench
    from stackpress.drivers.roles import Actuator

UNITS = ("N", "m")
STIFFNESS_VALID = 0.5  # fraction of the setpoint: below it the stack is still being approached (no stiffness learnt)


class Regulator(Protocol):
    """What the engine drives the actuator through: a PressureRegulator, or an auto-tuner in its place."""

    mode: str  # "auto" or "manual"
    gains: Gains

    @property
    def setpoint(self) -> float: ...  # Pa; NaN while no pressure is held

    @property
    def active(self) -> bool: ...

    def hold(self, setpoint: float, actuator_readback: float, rate: float | None = None) -> None: ...

    def update(self, sample: Sample, dt: float) -> float: ...

    def release(self) -> None: ...

    def back_off(self, safe_pressure: float, pressure: float, actuator_readback: float) -> float: ...

    def manual(self, command: float | None = None) -> None: ...

    def automatic(self) -> None: ...

    def retune(self, gains: Gains) -> None: ...


@dataclass(frozen=True, slots=True)
class RegulatorSettings:
    """What a bench's [regulator] table sets besides the gains (see the module docstring)."""

    filter: float = 0.0  # s, low-pass time constant on the measured pressure (0: none)
    slew_rate: float = math.inf  # Pa/s, how fast the setpoint ramps (inf: setpoints jump)
    feedforward: bool = True  # swelling (position) / friction (force) feed-forward from the cell current
    stiffness: float | None = None  # Pa per m of travel the gains were tuned at: scheduling (position only)
    backlash: float = 0.0  # m of lost motion to compensate (position only)


class PressureRegulator:
    def __init__(
        self,
        gains: Gains,
        area: float,
        command_range: tuple[float, float],
        command_unit: str = "N",
        *,
        settings: RegulatorSettings | None = None,
    ) -> None:
        if command_unit not in UNITS:
            raise ValueError(f"an actuator commanded in {command_unit!r} cannot be regulated (known: N, m)")
        settings = RegulatorSettings() if settings is None else settings
        self._position = command_unit == "m"
        if not self._position and (settings.stiffness is not None or settings.backlash):
            raise ValueError(
                "[regulator] stiffness and backlash apply to position-controlled fixtures (spring, servo), "
                "not to a force-controlled one"
            )
        if settings.stiffness is not None and not (math.isfinite(settings.stiffness) and settings.stiffness > 0):
            raise ValueError(f"[regulator] stiffness must be positive, not {settings.stiffness!r}")
        self.gains = gains
        self.settings = settings
        self.area = area
        self.command_unit = command_unit
        self.command_range = command_range
        low, high = command_range
        self._filter = LowPass(settings.filter)
        self._reference = SlewRate(settings.slew_rate)
        self._rate: float | None = None  # a ramp rate asked for by hold(), instead of the slew rate
        self._swelling = SwellingEstimator()
        self.setpoint = math.nan  # Pa, the target; NaN while no pressure is held
        self.mode = "auto"  # or "manual"
        self._manual_command = math.nan
        self._last_command = math.nan
        self._fresh = True  # the next update (re-)engages the loop
        if self._position:
            self._pi = IncrementalPID(gains, (low, high))
            self._backlash = BacklashCompensator(settings.backlash)
            self._stiffness = None if settings.stiffness is None else StiffnessEstimator(settings.stiffness)
            self._lead = math.nan
            self._swelling_motion = 0.0  # m, the feed-forward's cumulative travel for the swelling
            self._platen = math.nan  # m, where the motor's readback puts the platen (through the backlash)
        else:
            self._pid = PID(gains, (low / area, high / area))
            self._friction = FrictionFeedForward()
            self._aimed = math.nan  # Pa, the reference last tick's command aimed at

    @classmethod
    def from_bench(cls, bench: Bench, actuator: Actuator) -> PressureRegulator:
        """The regulator a bench's [regulator] table describes, for this actuator."""
        return cls(
            bench.gains, bench.area, actuator.command_range, actuator.command_unit, settings=bench.regulation
        )

    # --- what the engine uses ---------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether the engine should ask for a command every tick: a setpoint is held, or the operator drives."""
        return self.mode == "manual" or not math.isnan(self.setpoint)

    def hold(self, setpoint: float, actuator_readback: float, rate: float | None = None) -> None:
        """Hold `setpoint` Pa from now on; engaging starts from what the actuator does now (bumpless).

        `actuator_readback` is in the actuator's command unit (N, or m for a position).
        Already holding: the reference ramps from where it is to the new setpoint, at
        `rate` Pa/s if given (a pressure ramp), else at the slew rate.
        """
        if self.mode == "auto" and math.isnan(self.setpoint):
            self._last_command = actuator_readback
            self._fresh = True
        self.setpoint = setpoint
        self._rate = rate

    def release(self) -> None:
        """Stop regulating (and leave manual); the actuator keeps its last command."""
        self.setpoint = math.nan
        self.mode = "auto"
        self._manual_command = math.nan
        self._fresh = True

    def back_off(self, safe_pressure: float, pressure: float, actuator_readback: float) -> float:
        """The command that relieves an over-pressure down to `safe_pressure` Pa, in the actuator's unit.

        Force: `safe_pressure` x area. Position: retract from the readback by the
        excess over the stiffness: the estimate when scheduling, else G = 1 / (2 kp)
        as the tuning rule puts it (the loop is only stable for G kp < 2/3, so this
        relieves between ~1/2 (a cautiously tuned kp) and 4/3 of the excess).
        Clamped to the command range. For the engine's over-pressure trip.
        """
        low, high = self.command_range
        if not self._position:
            return min(max(safe_pressure * self.area, low), high)
        excess = max(pressure - safe_pressure, 0.0)
        known = self._stiffness
        retract = excess / known.value if known is not None else 2.0 * self.gains.kp * excess
        return min(max(actuator_readback - retract, low), high)

    def update(self, sample: Sample, dt: float) -> float:
        """The command (N, or m for a position) given this tick's sample and the time since the last update.

        The whole sample, not only the pressure: what the cell is doing (its current,
        the charge passed, the gap) tells the regulator what the swelling is about to
        do to the pressure.
        """
        pressure = sample.pressure
        if not math.isfinite(pressure):  # nothing to regulate on this tick: stay where we are
            return self._fallback(sample)
        measured = self._filter.update(pressure, dt)
        in_contact = measured >= STIFFNESS_VALID * self.setpoint  # False with no setpoint (NaN)
        swelling = self._swelling.update(sample.gap, sample.charge, dt, in_contact)
        if self.mode == "manual":
            self._fresh = True
            command = self._manual_command
            if not math.isfinite(command):
                command = self._fallback(sample)
            self._last_command = command
            return command
        target = self.setpoint
        if math.isnan(target):  # automatic with nothing to hold (the engine does not ask then)
            return self._fallback(sample)
        if self._fresh:  # engaging: this tick starts from where the pressure and the actuator are
            self._engage(measured, sample)
            reference = self._reference.update(target, 0.0, self._rate)  # a ramp has not moved yet
        else:
            reference = self._reference.update(target, dt, self._rate)
        ramping = reference != target
        if self._position:
            command = self._update_position(sample, measured, reference, ramping, swelling, dt)
        else:
            command = self._update_force(sample, measured, reference, ramping, swelling, dt)
        self._last_command = command
        return command

    # --- manual and automatic ---------------------------------------------------------------

    def manual(self, command: float | None = None) -> None:
        """Manual: the actuator gets `command` (its unit) every tick; None keeps the last command."""
        if command is None:
            command = self._last_command
        low, high = self.command_range
        self._manual_command = min(max(command, low), high) if math.isfinite(command) else math.nan
        self.mode = "manual"

    def retune(self, gains: Gains) -> None:
        """New gains from the next update on (the operator's, or an auto-tune's); the integral carries over."""
        if not gains.usable:
            raise ValueError(f"gains must be finite, kp above zero and ki, kd not negative: {gains}")
        self.gains = gains
        (self._pi if self._position else self._pid).gains = gains

    def automatic(self) -> None:
        """Back to automatic, bumpless: from the manual command and the measured pressure, ramping to the setpoint."""
        if self.mode == "manual":
            self.mode = "auto"
            self._fresh = True

    # --- what it knows (for the live view, the report and the tests) --------------------------

    @property
    def reference(self) -> float:
        """Pa: the ramped setpoint the loop follows now."""
        return self._reference.value if self.active else math.nan

    @property
    def measurement(self) -> float:
        """Pa: the filtered pressure the loop acts on."""
        return self._filter.value

    @property
    def swelling_rate(self) -> float:
        """m/C: the stack's swelling per coulomb as learned so far."""
        return self._swelling.rate

    @property
    def friction(self) -> float:
        """Pa: the ram's seal friction as learned so far (force fixtures; NaN otherwise)."""
        return math.nan if self._position else self._friction.friction

    @property
    def stiffness(self) -> float:
        """Pa per m: the stiffness estimate (position fixtures with scheduling; NaN otherwise)."""
        return math.nan if not self._position or self._stiffness is None else self._stiffness.value

    @property
    def backlash(self) -> BacklashCompensator | None:
        """Position fixtures: the backlash compensation (its direction, the platen position a command stands for)."""
        return self._backlash if self._position else None

    @property
    def gain_scale(self) -> float:
        """What the gains are multiplied by now (scheduling)."""
        return 1.0 if not self._position or self._stiffness is None else self._stiffness.scale

    # --- the two loops --------------------------------------------------------------------

    def _fallback(self, sample: Sample) -> float:
        if math.isfinite(self._last_command):
            return self._last_command
        return sample.actuator

    def _engage(self, measured: float, sample: Sample) -> None:
        """Start the loop bumplessly from the last command and the measured pressure."""
        self._fresh = False
        self._reference.reset(measured)
        self._swelling.restart()
        last = self._last_command if math.isfinite(self._last_command) else sample.actuator
        if self._position:
            base = self._backlash.reset(last)
            self._pi.reset(base)
            self._platen = base
            self._lead = measured
            if self._stiffness is not None:
                self._stiffness.restart()
        else:
            self._pid.reset(last / self.area - measured)
            self._aimed = measured
            # Offsets learned before a pause may carry the fault that caused it (a drifting load cell).
            self._friction = FrictionFeedForward()

    def _update_force(
        self, sample: Sample, measured: float, reference: float, ramping: bool, swelling: float, dt: float
    ) -> float:
        if self.settings.feedforward and math.isfinite(sample.current):
            start = self._friction.update(sample.current, swelling, self._last_command / self.area, measured, dt)
            if start is not None:  # the swelling reverses: the ram goes where the new direction needs it
                self._pid.integral = start
        # The command sent now acts over the next tick: the error is taken against the reference last
        # tick's command aimed at, and the new reference goes in as feed-forward. Judged against the
        # new one, a step (or a ramp done in one tick) is kicked twice, and a 0 -> 10 MPa engagement
        # at 1 s ticks overshot to 15.6 MPa.
        aimed, self._aimed = self._aimed, reference
        out = self._pid.update(aimed, measured, dt, feedforward=reference, integrate=not ramping)
        return out * self.area

    def _update_position(
        self, sample: Sample, measured: float, reference: float, ramping: bool, swelling: float, dt: float
    ) -> float:
        estimator = self._stiffness
        move = 0.0
        if estimator is not None:
            # The setpoint's change as travel, one tick ahead: the command sent now acts over the next
            # tick, so it aims at where the reference will be then (`lead`), and the error is taken
            # against where last tick's command aimed (`expected`): a setpoint step is then neither
            # fed forward and acted on by the proportional term at once, nor late by a tick.
            expected, lead = self._lead, self._reference.ahead(self.setpoint, dt, self._rate)
            move += (lead - expected) / estimator.value
            self._lead = lead
            reference = expected
            ramping = ramping or lead != self.setpoint
        heading = 0  # the way the feed-forward is moving the actuator (for the backlash)
        if self.settings.feedforward and math.isfinite(sample.current):
            swell = -swelling * sample.current * dt
            self._swelling_motion += swell
            move += swell
            heading = (swell > 0) - (swell < 0)
        backlash = self._backlash
        # Where the platen is: the motor's readback through the lost motion (a play operator).
        half = 0.5 * backlash.backlash
        if math.isfinite(sample.actuator):
            self._platen = min(max(self._platen, sample.actuator - half), sample.actuator + half)
        platen = self._platen
        base = self._pi.update(
            reference,
            measured,
            dt,
            feedforward=move,
            integrate=not ramping,
            scale=1.0 if estimator is None else estimator.scale,
        )
        if estimator is not None and math.isfinite(sample.actuator):
            # Never lead the motor by more travel than the pressure error calls for at the stiffness:
            # a velocity-limited motor, or one crossing a gap to the stack after a lift-off, would
            # otherwise carry a command far past the setpoint into the stack when it gets there.
            # The stiffer of the tuned and estimated values, i.e. the shorter reach: an estimate
            # spoiled by a drifting load cell must not let the screw run at the stack.
            stiffness = max(estimator.value, estimator.reference)
            reach = abs(reference - measured) / stiffness + abs(move) + backlash.backlash
            base = self._pi.limit(sample.actuator - reach, sample.actuator + reach)
        low, high = self.command_range
        command = min(max(backlash.update(base, heading), low), high)
        if estimator is not None:
            valid = sample.pressure >= STIFFNESS_VALID * self.setpoint
            estimator.update(platen, sample.pressure, self._swelling_motion, dt, valid)
        return command
