import math

import pytest

from stackpress.control.interlocks import (
    ESTABLISHED,
    FOLLOW,
    PRESSURE_LOSS,
    SATURATED,
    VOLTAGE_MARGIN,
    Interlocks,
    PressureWatch,
    SetpointRefused,
)
from stackpress.sample import Sample

LOCKS = Interlocks(max_pressure=100e6, voltage_min=2.5, voltage_max=4.3)


def sample(voltage=3.7, pressure=10e6):
    force = pressure * 1e-4
    return Sample(0.0, voltage, 0.0, 0.0, 25.0, force, pressure, 10e6, 1e-3, 1e-5, force, 1, 1, "running")


def test_nothing_trips_inside_the_window_and_at_a_cut_off():
    assert LOCKS.check(sample()) is None
    assert LOCKS.check(sample(voltage=2.5 - VOLTAGE_MARGIN / 2)) is None  # a cycler in compliance at 2.5 V


@pytest.mark.parametrize(
    ("kwargs", "kind", "value_key"),
    [
        ({"pressure": 100.5e6}, "over_pressure", "pressure"),
        ({"voltage": 4.35}, "voltage_high", "voltage"),
        ({"voltage": 2.45}, "voltage_low", "voltage"),
    ],
)
def test_each_limit_trips_with_the_values_that_tripped_it(kwargs, kind, value_key):
    trip = LOCKS.check(sample(**kwargs))
    assert trip is not None and trip.kind == kind
    assert trip.values[value_key] == kwargs[value_key]
    assert "limit" in trip.values


@pytest.mark.parametrize("setpoint", [150e6, 0.0, -1e6, math.nan])
def test_setpoints_beyond_the_hard_limit_are_refused(setpoint):
    with pytest.raises(SetpointRefused, match="hard limit"):
        LOCKS.check_setpoint(setpoint)


LOCKS_WITH_CURRENT = Interlocks(100e6, 2.5, 4.3, max_current=0.01)


def with_current(current, voltage=3.7):
    return Sample(0.0, voltage, current, 0.0, 25.0, 1e3, 10e6, 10e6, 1e-3, 1e-5, 1e3, 1, 1, "running")


@pytest.mark.parametrize("current", [0.01, -0.01, 0.0101, -0.0101])
def test_a_current_at_the_channels_maximum_and_its_noise_does_not_trip(current):
    assert LOCKS_WITH_CURRENT.check(with_current(current)) is None


@pytest.mark.parametrize("current", [0.0103, -0.0103, 0.05])
def test_a_current_clearly_beyond_the_maximum_trips(current):
    trip = LOCKS_WITH_CURRENT.check(with_current(current))
    assert trip is not None and trip.kind == "current_high"
    assert trip.values == {"current": current, "limit": 0.01}


def test_an_over_current_is_named_before_the_voltage_it_causes():
    assert LOCKS_WITH_CURRENT.check(with_current(-0.05, voltage=0.2)).kind == "current_high"


def test_values_that_could_not_be_read_trip_nothing():
    nan = math.nan
    unread = Sample(0.0, nan, nan, nan, nan, nan, nan, 10e6, nan, nan, nan, 1, 1, "paused")
    assert LOCKS_WITH_CURRENT.check(unread) is None


@pytest.mark.parametrize("setpoint", [4e6, 51e6])
def test_setpoints_outside_the_protocols_window_are_refused(setpoint):
    with pytest.raises(SetpointRefused, match="pressure window 5 to 50 MPa"):
        LOCKS.check_setpoint(setpoint)


def test_a_widened_window_allows_more_but_never_beyond_the_hard_limit():
    wide = Interlocks(100e6, 2.5, 4.3, pressure_min=1e6, pressure_max=150e6)
    wide.check_setpoint(1e6)
    wide.check_setpoint(100e6)
    with pytest.raises(SetpointRefused, match="hard limit"):
        wide.check_setpoint(120e6)


# --- the pressure watch ---------------------------------------------------------------------------


def regulated(pressure, actuator=1000.0, setpoint=10e6, t=0.0):
    return Sample(t, 3.7, 0.0, 0.0, 25.0, pressure * 1e-4, pressure, setpoint, 1e-3, 1e-5, actuator, 1, 1, "running")


RAM = (0.0, 10_000.0)  # N
SCREW = (0.0, 1e-3)  # m


def settle(watch, ticks=ESTABLISHED[0]):
    for t in range(ticks):
        assert watch.check_pressure(regulated(10e6, t=float(t))) is None


def test_a_pressure_loss_is_only_an_alarm_once_the_pressure_has_settled_at_the_setpoint():
    watch = PressureWatch(RAM, "N")
    assert watch.check_pressure(regulated(0.0)) is None  # approaching a new setpoint
    assert watch.check_pressure(regulated(10e6)) is None
    assert watch.check_pressure(regulated(5e6)) is None  # the regulator's own transient, not settled yet
    settle(watch)
    assert watch.check_pressure(regulated((1 - PRESSURE_LOSS) * 10e6 + 1.0)) is None
    alarm = watch.check_pressure(regulated(7e6))
    assert alarm is not None and alarm.kind == "pressure_loss"
    assert alarm.values == {"pressure": 7e6, "setpoint": 10e6, "limit": 7.5e6}
    watch.engage()  # a new setpoint, or a resume: not armed until settled again
    assert watch.check_pressure(regulated(7e6)) is None


def test_a_force_regulator_saturated_for_several_ticks_is_an_alarm_and_a_brief_saturation_is_not():
    watch = PressureWatch(RAM, "N")
    assert watch.check_command(regulated(0.0), 10_000.0) is None  # a big step: saturated for a tick
    assert watch.check_command(regulated(9e6), 9_000.0) is None
    for t in range(SATURATED[0] - 1):
        assert watch.check_command(regulated(2e6, t=float(t)), 10_000.0) is None
    alarm = watch.check_command(regulated(2e6, t=float(SATURATED[0])), 10_000.0)
    assert alarm is not None and alarm.kind == "regulator_saturated"
    assert alarm.values["command"] == 10_000.0 and alarm.values["limit"] == 10_000.0


def test_a_force_regulator_at_zero_above_the_setpoint_is_saturated_too():
    watch = PressureWatch(RAM, "N")
    alarms = [watch.check_command(regulated(12e6, t=float(t)), 0.0) for t in range(SATURATED[0])]
    assert alarms[-1] is not None and alarms[-1].kind == "regulator_saturated" and "minimum" in alarms[-1].message
    assert watch.check_command(regulated(8e6), 0.0) is None  # at zero but asking for more: fine


def test_a_position_at_the_end_of_its_travel_is_a_travel_limit_once_the_motor_is_there():
    watch = PressureWatch(SCREW, "m")
    assert watch.check_command(regulated(8e6, actuator=0.9e-3), 1e-3) is None  # on its way: sent
    alarm = watch.check_command(regulated(8e6, actuator=1e-3), 1e-3)
    assert alarm is not None and alarm.kind == "travel_limit" and alarm.values["readback"] == 1e-3
    assert watch.check_command(regulated(12e6, actuator=1e-3), 0.9e-3) is None  # backing away from it


def test_an_actuator_that_stays_away_from_its_command_without_moving_does_not_follow():
    watch = PressureWatch(RAM, "N")
    watch.commanded(1010.0)
    for t in range(FOLLOW[0] - 1):
        assert watch.check_pressure(regulated(10e6, actuator=1000.0, t=float(t))) is None
    alarm = watch.check_pressure(regulated(10e6, actuator=1000.0, t=float(FOLLOW[0])))
    assert alarm is not None and alarm.kind == "actuator_not_following"
    assert alarm.values["command"] == 1010.0 and alarm.values["readback"] == 1000.0


@pytest.mark.parametrize(("conditions", "ticks", "period"), [("follow", *FOLLOW), ("saturated", *SATURATED)])
def test_at_a_fast_tick_an_alarm_needs_its_time_as_well_as_its_ticks(conditions, ticks, period):
    # At 50 Hz five ticks are 0.1 s: a hydraulic ram is still on its way, a big step still saturating.
    watch = PressureWatch(RAM, "N")
    watch.commanded(1010.0)
    alarms = []
    for i in range(int(period / 0.02) + 1):
        t = i * 0.02
        if conditions == "follow":
            alarms.append(watch.check_pressure(regulated(10e6, actuator=1000.0, t=t)))
        else:
            alarms.append(watch.check_command(regulated(2e6, t=t), 10_000.0))
    assert alarms[ticks] is None and alarms[-2] is None  # past the ticks, not yet the time
    assert alarms[-1] is not None and f"{period:g} s" in alarms[-1].message


def test_a_slow_actuator_that_still_moves_towards_its_command_follows():
    watch = PressureWatch(RAM, "N")
    position = 1000.0
    for t in range(3 * FOLLOW[0]):
        watch.commanded(1100.0)
        position += 2.0  # 2 N a tick towards a command 100 N away
        assert watch.check_pressure(regulated(10e6, actuator=position, t=float(t))) is None
