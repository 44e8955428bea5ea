import math

import pytest

from stackpress.control.pid import PID, Gains, IncrementalPID, integral_step
from stackpress.control.regulator import PressureRegulator
from tests.control.fakes import measured


def test_proportional_and_integral_terms_add_up():
    pid = PID(Gains(kp=2.0, ki=0.5), (-100, 100))
    step = 2.0 * -math.expm1(-0.5 * 0.01 / 2.0) * 3  # the integral's step: ki e dt for a short tick
    assert step == pytest.approx(0.5 * 3 * 0.01, rel=1e-2)
    assert pid.update(10.0, 7.0, dt=0.01) == pytest.approx(2 * 3 + step)
    assert pid.update(10.0, 7.0, dt=0.01) == pytest.approx(2 * 3 + 2 * step)


def test_the_integral_step_never_exceeds_kp_times_the_error_however_long_the_tick():
    assert integral_step(2.0, 0.5, 3.0, dt=1e-3) == pytest.approx(0.5 * 3.0 * 1e-3, rel=1e-3)
    assert integral_step(2.0, 0.5, 3.0, dt=1e5) == pytest.approx(2.0 * 3.0)
    assert integral_step(0.0, 0.5, 3.0, dt=30.0) == pytest.approx(0.5 * 3.0 * 30.0)  # no kp: the plain ki e dt
    assert integral_step(2.0, 0.5, 3.0, dt=0.0) == 0.0


def test_a_force_loop_on_a_static_plant_is_stable_at_any_tick_while_kp_is_below_two_thirds():
    for dt in (0.02, 1.0, 30.0, 3600.0):
        pid = PID(Gains(kp=0.6, ki=5.0), (-1e9, 1e9))
        pressure, errors = 0.0, []
        for _ in range(400):  # the ram's force is the stack's: the plant settles within any tick
            pressure = pid.update(10.0, pressure, dt, feedforward=10.0) + 1.0  # and a constant disturbance
            errors.append(abs(10.0 - pressure))
        assert errors[-1] < 1e-6, dt


def test_the_integral_can_be_held_and_the_gains_scaled():
    pid = PID(Gains(kp=1.0, ki=1.0), (-100, 100))
    assert pid.update(5.0, 4.0, dt=1.0, integrate=False) == pytest.approx(1.0)
    assert pid.integral == 0.0
    expected = 5.0 + 2.0 + 2.0 * -math.expm1(-1.0)  # feed-forward, 2 kp e, and the doubled gains' integral step
    assert pid.update(5.0, 4.0, dt=1.0, scale=2.0, feedforward=5.0) == pytest.approx(expected)


def test_anti_windup_leaves_saturation_as_soon_as_the_error_reverses():
    pid = PID(Gains(kp=1.0, ki=1.0), (0.0, 10.0))
    for _ in range(1000):  # a long time pinned at the upper limit
        assert pid.update(100.0, 0.0, dt=1.0) == 10.0
    # The measurement overshoots: a wound-up integral would keep the output at 10 for ages.
    assert pid.update(0.0, 5.0, dt=1.0) < 10.0


def test_derivative_on_measurement_does_not_kick_on_a_setpoint_step():
    pid = PID(Gains(kp=0.0, ki=0.0, kd=5.0), (-100, 100))
    pid.update(1.0, 1.0, dt=1.0)
    assert pid.update(50.0, 1.0, dt=1.0) == 0.0  # setpoint jumped, measurement did not
    assert pid.update(50.0, 3.0, dt=1.0) == pytest.approx(-5.0 * 2.0)


def test_output_limits_hold():
    pid = PID(Gains(kp=10.0, ki=0.0), (-1.0, 1.0))
    assert pid.update(5.0, 0.0, 1.0) == 1.0
    assert pid.update(-5.0, 0.0, 1.0) == -1.0


def test_regulator_engages_bumplessly_and_feeds_setpoint_changes_forward():
    area = 1e-4
    reg = PressureRegulator(Gains(kp=0.5, ki=0.2), area, (0.0, 1e4))
    assert not reg.active
    reg.hold(10e6, actuator_readback=10e6 * area)  # the ram already delivers 10 MPa
    assert reg.update(measured(10e6), dt=1.0) == pytest.approx(10e6 * area)  # no bump at engagement
    reg.hold(30e6, actuator_readback=10e6 * area)
    # The new setpoint reaches the command at once (feed-forward); the error is judged against what
    # the last command aimed at (10 MPa, reached), so the step is not kicked a second time ...
    assert reg.update(measured(10e6), dt=1.0) == pytest.approx(30e6 * area)
    # ... and if the ram does not deliver, the proportional and integral terms act from the next tick.
    integral = 0.5 * -math.expm1(-0.2 / 0.5) * 20e6
    assert reg.update(measured(10e6), dt=1.0) == pytest.approx((30e6 + 0.5 * 20e6 + integral) * area)
    reg.release()
    assert not reg.active


# --- the incremental (position) form ---------------------------------------------------------


def test_incremental_pid_moves_from_where_it_was_reset():
    pid = IncrementalPID(Gains(kp=2.0, ki=0.5), (-100.0, 100.0))
    pid.reset(7.0)
    assert pid.update(10.0, 10.0, dt=1.0) == 7.0  # no error: no move, whatever the gains
    first = pid.update(10.0, 9.0, dt=1.0)  # error 1: the integral's share, and the P step from 0 to 1
    assert first == pytest.approx(7.0 + 2.0 * 1.0 + 2.0 * -math.expm1(-0.25))
    assert pid.update(10.0, 9.0, dt=1.0) == pytest.approx(first + 2.0 * -math.expm1(-0.25))  # only the integral


def test_incremental_integral_is_ki_e_dt_for_short_ticks_and_at_most_kp_e_for_long_ones():
    short = IncrementalPID(Gains(kp=1.0, ki=0.1), (-1e9, 1e9))
    short.reset(0.0)
    assert short.update(1.0, 0.0, dt=0.01) == pytest.approx(0.1 * 0.01, rel=1e-3)
    long = IncrementalPID(Gains(kp=1.0, ki=0.1), (-1e9, 1e9))
    long.reset(0.0)
    assert long.update(1.0, 0.0, dt=1e4) == pytest.approx(1.0)
    pure = IncrementalPID(Gains(kp=0.0, ki=0.1), (-1e9, 1e9))  # without kp: the plain ki e dt
    pure.reset(0.0)
    assert pure.update(1.0, 0.0, dt=30.0) == pytest.approx(3.0)


def test_incremental_output_is_clamped_and_cannot_wind_up():
    pid = IncrementalPID(Gains(kp=1.0, ki=1.0), (0.0, 10.0))
    pid.reset(5.0)
    for _ in range(1000):
        assert pid.update(100.0, 0.0, dt=1.0) <= 10.0
    assert pid.update(0.0, 5.0, dt=1.0) < 10.0  # the first reversed error leaves the limit


def test_incremental_derivative_is_on_the_measurement():
    pid = IncrementalPID(Gains(kp=0.0, ki=0.0, kd=5.0), (-100.0, 100.0))
    pid.reset(0.0)
    pid.update(1.0, 1.0, dt=1.0)
    assert pid.update(50.0, 1.0, dt=1.0) == 0.0  # a setpoint step does not kick
    assert pid.update(50.0, 3.0, dt=1.0) == pytest.approx(-5.0 * 2.0)  # D = -kd dm/dt, as in PID
    assert pid.update(50.0, 3.0, dt=1.0) == pytest.approx(0.0)  # and it goes when the measurement stops


def test_incremental_feedforward_moves_the_output_and_a_gain_scale_changes_without_a_bump():
    pid = IncrementalPID(Gains(kp=2.0, ki=0.5), (-100.0, 100.0))
    pid.reset(1.0)
    assert pid.update(10.0, 10.0, dt=1.0, feedforward=0.25) == pytest.approx(1.25)  # moved by the feed-forward alone
    held = pid.update(10.0, 9.0, dt=1.0, integrate=False)
    assert held == pytest.approx(1.25 + 2.0)  # the proportional step only
    # The error stays; doubling the gains now changes the rate of the move, not the output at once.
    assert pid.update(10.0, 9.0, dt=1.0, scale=2.0, integrate=False) == pytest.approx(held)
