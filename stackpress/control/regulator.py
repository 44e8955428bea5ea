"""The pressure regulator: holds a stack-pressure setpoint by commanding the actuator.

Two kinds of actuator, by their `command_unit`:

- "N", force-controlled (a hydraulic ram). The regulator works in pressure
  units so that gains carry from one cell area to another: the PID's output is
  the pressure to ask of the fixture, and the command sent is that pressure
  times the cell area. The setpoint is the feed-forward; the PID only corrects
  what the fixture does not deliver (seal friction, swelling). Gains: kp in Pa
  per Pa, ki per second. Its integral moves by ki e dt per tick, so keep
  ki x period below ~1 (0.5 per second at the default 1 s period).

- "m", position-controlled (a motor on a spring seat or on a stiff screw).
  There is no feed-forward to give: the position that makes a pressure depends
  on the stack, its swelling and the spring's relaxation. The regulator is an
  incremental PI (pid.IncrementalPID) that moves the position from where the
  actuator is when it engages (bumpless, from the readback), clamped to the
  command range. Gains: kp in m per Pa, ki in m per Pa per second. Tuning rule,
  with G the fixture's pressure per metre of travel (series stiffness of the
  fixture and stack over the cell area; the stiffest the stack gets):
      kp ~ 0.5 / G   and   ki ~ kp / (2 s) (stiff: follows the swelling closely)
                             .. kp / (20 s) (soft springs: passes less load-cell noise).
  The integral step is scaled so that it never exceeds kp x error however long
  the tick (pid.IncrementalPID), so with G kp < 2/3 the loop is stable at any
  engine period — 1 s or 30 s of virtual time per tick.
"""

from __future__ import annotations

import math

from stackpress.control.pid import PID, Gains, IncrementalPID
from stackpress.sample import Sample

UNITS = ("N", "m")


class PressureRegulator:
    def __init__(self, gains: Gains, area: float, command_range: tuple[float, float], command_unit: str = "N") -> None:
        if command_unit not in UNITS:
            raise ValueError(f"an actuator commanded in {command_unit!r} cannot be regulated (known: N, m)")
        self.area = area
        self.command_unit = command_unit
        self.command_range = command_range
        low, high = command_range
        self._position = command_unit == "m"
        if self._position:
            self._pi = IncrementalPID(gains, (low, high))
        else:
            self._pid = PID(gains, (low / area, high / area))
        self.setpoint = math.nan

    @property
    def active(self) -> bool:
        return not math.isnan(self.setpoint)

    def hold(self, setpoint: float, actuator_readback: float) -> None:
        """Hold `setpoint` Pa from now on; engaging starts from what the actuator does now (bumpless).

        `actuator_readback` is in the actuator's command unit (N, or m for a position).
        """
        if self._position:
            if not self.active:
                self._pi.reset(actuator_readback)
            # else: the change reaches the position through the proportional term at the next update
        elif not self.active:
            self._pid.reset(actuator_readback / self.area)
        else:  # feed the setpoint change forward instead of waiting for the integral
            self._pid.reset(self._pid.integral + setpoint - self.setpoint)
        self.setpoint = setpoint

    def release(self) -> None:
        """Stop regulating; the actuator keeps its last command."""
        self.setpoint = math.nan

    def back_off(self, safe_pressure: float, pressure: float, actuator_readback: float) -> float:
        """The command that relieves an over-pressure down to `safe_pressure` Pa, in the actuator's unit.

        Force: `safe_pressure` x area. Position: retract from the readback by the
        excess over the fixture's pressure per metre as the tuning rule puts it,
        G = 1 / (2 kp); since the loop is only stable for G kp < 2/3, this relieves
        between ~1/2 (a cautiously tuned kp) and 4/3 of the excess. Clamped to the
        command range. For the engine's over-pressure trip.
        """
        if not self._position:
            return min(max(safe_pressure * self.area, self.command_range[0]), self.command_range[1])
        retract = 2.0 * self._pi.gains.kp * max(pressure - safe_pressure, 0.0)
        low, high = self.command_range
        return min(max(actuator_readback - retract, low), high)

    def update(self, sample: Sample, dt: float) -> float:
        """The command (N, or m for a position) given this tick's sample and the time since the last update.

        The whole sample, not only the pressure: what the cell is doing (its current, the
        gap) tells the regulator what the swelling is about to do to the pressure.
        """
        pressure = sample.pressure
        if self._position:
            return self._pi.update(self.setpoint, pressure, dt)
        return self._pid.update(self.setpoint, pressure, dt) * self.area
