"""Shared drivers for the simulator tests: a world on a virtual clock, stepped until something happens."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackpress.clock import VirtualClock
from stackpress.sims.world import SimWorld, Truth

HOUR = 3600.0


def make_world(
    tables: Mapping[str, Any] | None = None, pressure: float | None = 10e6, seed: int = 0, **kwargs: Any
) -> tuple[SimWorld, VirtualClock]:
    """A world from bench tables; a hydraulic fixture is brought to `pressure` Pa (10 s of settling)."""
    clock = VirtualClock()
    world = SimWorld.from_bench(tables or {}, clock, seed=seed, **kwargs)
    if pressure is not None and world.actuator.regulated:
        world.actuator.command(pressure * world.cell.area)
        clock.advance(10.0)
        world.advance()
    return world, clock


def c_rate(world: SimWorld, rate: float) -> float:
    """The current, A, of `rate` C for this world's nominal capacity."""
    return world.nominal_capacity * rate / HOUR


def run_until(
    world: SimWorld, clock: VirtualClock, done: Callable[[Truth], bool], limit: float, tick: float = 1.0
) -> list[Truth]:
    """Tick the clock until `done(truth)` or `limit` s have passed; the truths seen, one per tick."""
    seen = []
    start = clock.now()
    while clock.now() - start < limit:
        clock.advance(tick)
        world.advance()
        truth = world.truth()
        seen.append(truth)
        if done(truth):
            return seen
    raise AssertionError(f"not done after {limit:g} s: {seen[-1]}")


def charge_then_discharge(
    world: SimWorld, clock: VirtualClock, rate: float = 1 / 3
) -> tuple[float, list[Truth], list[Truth]]:
    """Full cell: CC charge at `rate` C to 4.2 V, CV to C/20, CC discharge at `rate` C to 2.5 V.

    Returns (discharge capacity in C, truths of the charge, truths of the discharge).
    """
    current = c_rate(world, rate)
    world.cycler.apply_current(current, 4.2)
    charging = run_until(world, clock, lambda t: t.current < current * 0.999, 10 * HOUR)
    world.cycler.apply_voltage(4.2, current)
    run_until(world, clock, lambda t: t.current < c_rate(world, 1 / 20), 20 * HOUR)
    start = world.charge
    world.cycler.apply_current(-current, 2.5)
    discharging = run_until(world, clock, lambda t: t.current > -current * 0.999, 10 * HOUR)
    return start - world.charge, charging, discharging


def numeric_slope(f: Callable[[float], float], x: float, h: float) -> float:
    """Central difference of `f` at `x` with half-step `h`: what an analytic slope is checked against."""
    return (f(x + h) - f(x - h)) / (2.0 * h)
