"""The pressure regulator in position mode: a motor on a spring seat or a stiff screw (command_unit "m")."""

from __future__ import annotations

import math

import pytest

from stackpress.control.pid import Gains
from stackpress.control.regulator import PressureRegulator
from stackpress.sims.fixtures import ServoFixture
from tests.control.fakes import measured

AREA = 0.785e-4
RANGE = (0.0, 2e-3)  # m of screw travel
STIFF = 2.4e12  # Pa per m of travel: a servo screw press (~185 N/um on 0.785 cm2)


def position_regulator(stiffness: float = STIFF, integral_time: float = 2.0) -> PressureRegulator:
    """Gains by the documented rule: kp = 0.5 / G, ki = kp / Ti."""
    kp = 0.5 / stiffness
    return PressureRegulator(Gains(kp=kp, ki=kp / integral_time), AREA, RANGE, "m")


def test_position_mode_engages_bumplessly_from_the_readback():
    reg = position_regulator()
    assert reg.command_unit == "m" and not reg.active
    reg.hold(10e6, actuator_readback=1.0042e-3)
    assert reg.update(measured(10e6), dt=1.0) == 1.0042e-3  # at the setpoint: the screw stays exactly where it is
    assert reg.update(measured(10e6), dt=1.0) == 1.0042e-3


def test_position_mode_moves_the_screw_by_micrometres_per_mpa():
    reg = position_regulator()
    reg.hold(10e6, actuator_readback=1e-3)
    first = reg.update(measured(9e6), dt=1.0)  # 1 MPa short: advance
    step = first - 1e-3
    kp = 0.5 / STIFF
    assert step == pytest.approx(kp * 1e6 * -math.expm1(-1.0 / 2.0))  # the integral's share of kp x error
    assert 0 < step < 1e6 / STIFF  # less than the whole way on the first tick
    second = reg.update(measured(9.5e6), dt=1.0)  # half-way there: the proportional term takes back its share
    assert second - first == pytest.approx(kp * (0.5e6 - 1e6) + kp * 0.5e6 * -math.expm1(-0.5))
    assert reg.update(measured(11e6), dt=1.0) < second  # over the setpoint: retract


def test_position_mode_output_stays_within_the_command_range_and_does_not_wind_up():
    reg = position_regulator()
    reg.hold(50e6, actuator_readback=1.9e-3)
    for _ in range(100):  # a stack that never pushes back (the platen left it)
        out = reg.update(measured(0.0), dt=1.0)
    assert out == RANGE[1]
    assert reg.update(measured(60e6), dt=1.0) < RANGE[1]  # leaves the limit on the first tick the error reverses
    reg.release()
    reg.hold(0.0, actuator_readback=1e-4)
    for _ in range(100):
        out = reg.update(measured(20e6), dt=1.0)
    assert out == RANGE[0]


def test_a_setpoint_change_moves_the_screw_through_the_proportional_term():
    reg = position_regulator()
    reg.hold(10e6, actuator_readback=1e-3)
    reg.update(measured(10e6), dt=1.0)
    reg.hold(20e6, actuator_readback=1e-3)  # already active: no re-engagement
    kp = 0.5 / STIFF
    assert reg.update(measured(10e6), dt=1.0) - 1e-3 == pytest.approx(kp * 10e6 + kp * 10e6 * -math.expm1(-0.5))


def test_the_force_path_is_the_default_and_unknown_units_are_refused():
    assert PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4)).command_unit == "N"
    with pytest.raises(ValueError, match="'Pa'"):
        PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4), "Pa")


def test_back_off_retracts_a_position_by_the_excess_over_the_tuned_stiffness():
    reg = position_regulator()
    reg.hold(10e6, actuator_readback=1e-3)
    # at G = 1 / (2 kp) a 20 MPa excess over the 5 MPa safe preload is 20 / 2.4 um of travel
    assert reg.back_off(5e6, 25e6, actuator_readback=1.004e-3) == pytest.approx(1.004e-3 - 20e6 / STIFF)
    assert reg.back_off(5e6, 25e6, actuator_readback=1e-6) == RANGE[0]  # never beyond the range
    assert reg.back_off(5e6, 4e6, actuator_readback=1e-3) == 1e-3  # below the safe preload: stay
    force = PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4))
    assert force.back_off(5e6, 25e6, actuator_readback=1963.0) == pytest.approx(5e6 * AREA)


def regulate(reg: PressureRegulator, plant, period: float, ticks: int, setpoint: float = 10e6) -> list[float]:
    """Close the loop on `plant(position, t) -> pressure`; the pressure errors seen, one per tick."""
    errors = []
    position = 1e-3
    reg.hold(setpoint, position)
    for k in range(ticks):
        pressure = plant(position, k * period)
        errors.append(pressure - setpoint)
        position = reg.update(measured(pressure), period)
    return errors


def varying_stiff_stack(position: float, t: float) -> float:
    """A stiff stack whose stiffness swings 3x (the LixSi modulus) while it swells 8 um over 3 h, and back."""
    phase = 0.5 * (1 - math.cos(2 * math.pi * t / 21600))  # 0 -> 1 -> 0 over 6 h
    stiffness = STIFF * (1.0 - 2.0 / 3.0 * phase)  # G_max at the ends, G_max / 3 at mid-cycle
    swelling = 8e-6 * phase
    return max(0.0, stiffness * (position - 1e-3 + swelling))


@pytest.mark.parametrize("period", [1.0, 5.0, 30.0])
def test_position_mode_is_stable_on_a_stiff_varying_stack_at_engine_periods_up_to_30_s(period):
    ticks = int(2 * 21600 / period)  # two swelling cycles
    errors = regulate(position_regulator(), varying_stiff_stack, period, ticks)
    settled = errors[int(600 / period) :]
    rms = math.sqrt(sum(e * e for e in settled) / len(settled))
    assert rms < 0.02 * 10e6  # holds 10 MPa within 2 % RMS
    # no growing oscillation: the second cycle is no worse than the first
    half = len(settled) // 2
    assert max(map(abs, settled[half:])) <= 1.05 * max(map(abs, settled[:half])) + 1e4


def test_the_scaled_integral_is_what_keeps_a_30_s_period_stable():
    """The same gains with the plain integral step ki e dt (ki dt G = 7.5 at 30 s) diverge."""
    kp = 0.5 / STIFF
    ki = kp / 2.0
    position, plain = 1e-3, []
    last_error = None
    for k in range(40):
        pressure = varying_stiff_stack(position, k * 30.0)
        error = 10e6 - pressure
        position += ki * error * 30.0 + (0.0 if last_error is None else kp * (error - last_error))
        position = min(max(position, RANGE[0]), RANGE[1])
        last_error = error
        plain.append(abs(error))
    assert max(plain[20:]) > 10e6  # it bangs between the ends of its travel
    ours = regulate(position_regulator(), varying_stiff_stack, 30.0, 40)
    assert max(map(abs, ours[20:])) < 0.5e6


def test_position_mode_regulates_a_servo_screw_with_backlash_at_a_30_s_period():
    """The simulated servo fixture (velocity limit, 1 um backlash) on a swelling stack, ticking every 30 s."""
    compliance = 4.1e-10
    screw = ServoFixture(AREA, frame_stiffness=2e8, velocity=10e-6, backlash=1e-6)
    screw.attach(660e-6, compliance)
    stiffness = 1.0 / (compliance + 1.0 / 2e8) / AREA
    reg = position_regulator(stiffness)
    reg.hold(10e6, screw.readback())
    errors = []
    for k in range(2 * 720):  # 12 h in 30 s ticks: swell 7 um over 3 h, shrink back, twice
        t = k * 30.0
        thickness = 660e-6 + 7e-6 * (1 - abs((t % 21600) / 10800 - 1))
        for _ in range(30):
            screw.update(1.0, thickness, compliance)
        pressure = screw.force / AREA
        errors.append(pressure - 10e6)
        screw.command(reg.update(measured(pressure), 30.0))
    settled = errors[20:]
    rms = math.sqrt(sum(e * e for e in settled) / len(settled))
    assert rms < 0.02 * 10e6
    assert max(map(abs, settled)) < 0.1 * 10e6
