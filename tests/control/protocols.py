"""Protocols for the runner's and the engine's tests: built from the step model (so engine tests do not
depend on the parser) or from file text (for the newer steps), and a toy cell to drive them in virtual time."""

import dataclasses
import math

from stackpress.protocols.commands import ApplyCurrent, ApplyVoltage, HoldPressure, ReleasePressure, Rest
from stackpress.protocols.load import parse_protocol_text
from stackpress.protocols.steps import (
    Block,
    Current,
    CurrentStep,
    End,
    Limits,
    PressureStep,
    Protocol,
    RestStep,
    VoltageStep,
)
from stackpress.sample import Sample


def charge(rate: float, until: float) -> CurrentStep:
    return CurrentStep(
        text=f"Charge at {rate}C until {until} V", where="test", current=Current(rate, "C"), direction=1,
        ends=(End("voltage_above", until),),
    )


def discharge(rate: float, until: float) -> CurrentStep:
    return CurrentStep(
        text=f"Discharge at {rate}C until {until} V", where="test", current=Current(rate, "C"), direction=-1,
        ends=(End("voltage_below", until),),
    )


def hold(voltage: float, rate: float) -> VoltageStep:
    return VoltageStep(
        text=f"Hold at {voltage} V until {rate}C", where="test", voltage=voltage,
        ends=(End("current_below", Current(rate, "C")),),
    )


def rest(seconds: float) -> RestStep:
    return RestStep(text=f"Rest for {seconds} s", where="test", ends=(End("time", seconds),))


def pressure(mpa: float) -> PressureStep:
    return PressureStep(text=f"Hold pressure at {mpa} MPa", where="test", setpoint=mpa * 1e6)


def protocol(*blocks: tuple[int, list], v_min: float = 2.5, v_max: float = 4.3) -> Protocol:
    return Protocol(
        name="test", source="test", text="", limits=Limits(v_min, v_max),
        blocks=tuple(Block(tuple(steps), repeat) for repeat, steps in blocks),
    )


def from_text(*blocks: str, limits: str = 'voltage = ["2.5 V", "4.3 V"]', top: str = "") -> Protocol:
    """A protocol from [[block]] bodies written as in a file ("repeat = 2\\nsteps = [...]")."""
    body = "".join(f"[[block]]\n{block}\n" for block in blocks)
    return parse_protocol_text(f"{top}\n[limits]\n{limits}\n{body}", "t.toml")


class ToyCell:
    """A linear cell on a virtual clock, driven by the runner's commands: enough physics for end conditions.

    Open-circuit voltage rises linearly with the charge held (3.0 V empty, 4.2 V at `capacity`); the
    terminal voltage adds I x R; a current command respects its voltage limit (compliance) and a voltage
    hold its current limit. After a rest the voltage relaxes towards the OCV with `tau`. The pressure
    follows the regulator's setpoint at a finite rate; the thickness grows with the charge held.
    """

    def __init__(self, capacity: float, r: float = 20.0, tau: float = 600.0) -> None:
        self.capacity, self.r, self.tau = capacity, r, tau
        self.q = 0.0  # C held
        self.counter = 0.0  # the cycler's charge counter (restarts at 0 when the "cycler" restarts)
        self.command: object = Rest()
        self.overpotential = 0.0  # V, relaxing after a current stops
        self.setpoint = math.nan
        self.rate = math.inf
        self.pressure = 1e6
        self.safe_preload = 5e6

    def apply(self, commands) -> None:
        for command in commands:
            if isinstance(command, HoldPressure):
                self.setpoint, self.rate = command.setpoint, command.rate or math.inf
            elif isinstance(command, ReleasePressure):
                self.setpoint, self.rate = self.safe_preload, math.inf
            else:
                self.command = command

    def ocv(self) -> float:
        return 3.0 + 1.2 * self.q / self.capacity

    def current(self) -> float:
        ocv, command = self.ocv() + self.overpotential, self.command
        if isinstance(command, ApplyCurrent):
            limited = (command.voltage_limit - ocv) / self.r
            return min(command.current, limited) if command.current > 0 else max(command.current, limited)
        if isinstance(command, ApplyVoltage):
            return max(-command.current_limit, min(command.current_limit, (command.voltage - ocv) / self.r))
        return 0.0

    def step(self, t: float, dt: float) -> Sample:
        current = self.current()
        voltage = self.ocv() + self.overpotential + current * self.r  # what the current was set against
        thickness = 10e-6 + 7e-6 * self.q / self.capacity
        self.q += current * dt
        self.counter += current * dt
        target = 0.5 * current * self.r  # a diffusion overpotential, relaxing with tau once the current stops
        self.overpotential += (target - self.overpotential) * (1.0 - math.exp(-dt / self.tau))
        if not math.isnan(self.setpoint):
            change = self.setpoint - self.pressure
            self.pressure += max(-self.rate * dt, min(self.rate * dt, change))
        return Sample(t, voltage, current, self.counter, 25.0, self.pressure * 0.785e-4, self.pressure,
                      self.setpoint, 1e-3, thickness, 0.0, 0, 0, "running")


def drive(runner, cell: ToyCell, *, dt: float = 10.0, t0: float = 0.0, until: float = 1e7, start: bool = True):
    """Run `runner` against `cell` from t0 until it finishes (or `until`); every sample, in order."""
    if start:
        cell.apply(runner.start(t0))
    samples, t = [], t0
    while not runner.finished and t < until:
        t += dt
        sample = cell.step(t, dt)
        sample = dataclasses.replace(sample, step=runner.step_count, cycle=runner.cycle_count)
        samples.append(sample)
        cell.apply(runner.update(sample))
    return samples
