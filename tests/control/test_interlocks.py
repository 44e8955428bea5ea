import math

import pytest

from stackpress.control.interlocks import VOLTAGE_MARGIN, Interlocks, SetpointRefused
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
