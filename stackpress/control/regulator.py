"""The pressure regulator: holds a stack-pressure setpoint by commanding the actuator.

It works in pressure units so that gains carry from one cell area to another:
the PID's output is the pressure to ask of the fixture, and the command sent
is that pressure times the cell area (a force, for a force-controlled
fixture such as a hydraulic ram). The setpoint is the feed-forward; the PID
only corrects what the fixture does not deliver (seal friction, swelling).
"""

from __future__ import annotations

import math

from stackpress.control.pid import PID, Gains


class PressureRegulator:
    def __init__(self, gains: Gains, area: float, command_range: tuple[float, float]) -> None:
        self.area = area
        low, high = command_range
        self._pid = PID(gains, (low / area, high / area))
        self.setpoint = math.nan

    @property
    def active(self) -> bool:
        return not math.isnan(self.setpoint)

    def hold(self, setpoint: float, actuator_readback: float) -> None:
        """Hold `setpoint` Pa from now on; engaging starts from what the actuator does now (bumpless)."""
        if not self.active:
            self._pid.reset(actuator_readback / self.area)
        else:  # feed the setpoint change forward instead of waiting for the integral
            self._pid.reset(self._pid.integral + setpoint - self.setpoint)
        self.setpoint = setpoint

    def release(self) -> None:
        """Stop regulating; the actuator keeps its last command."""
        self.setpoint = math.nan

    def update(self, pressure: float, dt: float) -> float:
        """The force to command, N, given the measured pressure and the time since the last update."""
        return self._pid.update(self.setpoint, pressure, dt) * self.area
