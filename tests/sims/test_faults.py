"""Injected faults in the simulator: each one's effect on the instruments and the physics, and its syntax."""

from __future__ import annotations

import math
import tomllib

import pytest

from stackpress.bench import BenchError, load_bench, parse_bench
from stackpress.clock import VirtualClock
from stackpress.drivers.errors import InstrumentTimeout, OutOfRange
from stackpress.sims.faults import KINDS, Faults
from stackpress.sims.world import SimWorld

from .helpers import c_rate, make_world

MPA = 1e6
AREA = 0.785e-4
QUIET = {"load_cell": {"noise": "0 N", "drift": "0 N/h"}}


def at(clock: VirtualClock, t: float) -> None:
    clock.sleep_until(t)


# --- the load cell ------------------------------------------------------------------------------


def test_a_load_cell_dropout_raises_a_timeout_for_its_duration_only():
    world, clock = make_world(QUIET)
    world.faults.inject("load_cell_dropout", at=100, duration=30)
    at(clock, 99.0)
    world.force_sensor.read_force()
    for t in (100.0, 115.0, 129.9):
        at(clock, t)
        with pytest.raises(InstrumentTimeout, match="sim-load-cell"):
            world.force_sensor.read_force()
    at(clock, 130.0)
    assert world.force_sensor.read_force() == pytest.approx(world.truth().force, abs=0.1)


def test_a_spike_is_one_wild_reading_unless_it_has_a_duration():
    world, clock = make_world(QUIET)
    world.faults.inject("load_cell_spike", at=50, size="20 MPa")
    world.faults.inject("load_cell_spike", at=200, duration=3, size=-100.0)  # N
    normal = world.truth().force
    at(clock, 60.0)  # the first reading at or after `at`
    readings = [world.force_sensor.read_force() for _ in range(3)]
    assert readings == [pytest.approx(normal + 20 * MPA * AREA, abs=0.1), pytest.approx(normal, abs=0.1),
                        pytest.approx(normal, abs=0.1)]
    for t in (200.0, 201.0, 202.5):
        at(clock, t)
        assert world.force_sensor.read_force() == pytest.approx(normal - 100.0, abs=0.1)
    at(clock, 203.0)
    assert world.force_sensor.read_force() == pytest.approx(normal, abs=0.1)


def test_extra_drift_grows_at_its_rate_and_the_zero_returns_when_it_ends():
    world, clock = make_world(QUIET)
    world.faults.inject("load_cell_drift", at=100, duration=3600, rate="36 MPa/h")
    normal = world.truth().force
    at(clock, 1900.0)  # 30 min in: 18 MPa of drift
    assert world.force_sensor.read_force() == pytest.approx(normal + 18 * MPA * AREA, abs=0.1)
    assert world.truth().force == pytest.approx(normal)  # only the reading drifts
    at(clock, 3700.0)
    assert world.force_sensor.read_force() == pytest.approx(normal, abs=0.1)


def test_a_load_cell_beyond_its_full_scale_raises_over_range_instead_of_reading_its_full_scale():
    world, clock = make_world({"load_cell": {"range": "1 kN", "noise": "0 N"}})
    world.faults.inject("load_cell_spike", at=20, duration=5, size="5 MPa")  # 785 N + 393 N > 1 kN
    at(clock, 20.0)
    with pytest.raises(OutOfRange, match="over range") as raised:
        world.force_sensor.read_force()
    assert raised.value.reading == 1000.0  # what it read: the full scale, positive


def test_a_spike_below_minus_full_scale_is_under_range_whatever_the_true_force():
    world, clock = make_world({"load_cell": {"range": "1 kN", "noise": "0 N"}})
    world.faults.inject("load_cell_spike", at=20, duration=5, size="-30 MPa")  # 785 N - 2355 N < -1 kN
    at(clock, 20.0)
    with pytest.raises(OutOfRange, match="under range") as raised:
        world.force_sensor.read_force()
    assert raised.value.reading == -1000.0 and world.truth().force > 0


# --- the actuator -------------------------------------------------------------------------------


def test_an_actuator_dropout_times_out_on_every_call_and_the_ram_keeps_its_force():
    world, clock = make_world(QUIET)
    world.faults.inject("actuator_dropout", at=20, duration=10)
    at(clock, 25.0)
    force = world.truth().force
    for call in (lambda: world.actuator.command(100.0), world.actuator.read_command, world.actuator.read_gap,
                 world.actuator.stop):
        with pytest.raises(InstrumentTimeout, match="sim-hydraulic"):
            call()
    assert world.truth().force == force
    at(clock, 30.0)
    world.actuator.command(5 * MPA * AREA)
    at(clock, 40.0)
    assert world.actuator.read_command() == pytest.approx(5 * MPA * AREA)


@pytest.mark.parametrize("bench", ["sim-hydraulic", "sim-servo"])
def test_a_stuck_actuator_answers_but_ignores_commands_and_stays_where_it_is(bench):
    world, clock = make_world(load_bench(bench).tables, pressure=None)
    world.actuator.command(world.actuator.read_command())
    world.faults.inject("actuator_stuck", at=20, duration=60)
    at(clock, 20.0)
    before = world.actuator.read_command()
    low, high = world.actuator.command_range
    world.actuator.command(0.5 * (low + high) + 0.1 * (high - low))
    at(clock, 50.0)
    assert world.actuator.read_command() == before
    at(clock, 80.0)  # free again: it takes commands
    world.actuator.command(before + 0.01 * (high - low))
    at(clock, 200.0)
    assert world.actuator.read_command() != before


def test_a_slow_ram_follows_its_command_with_its_lag_times_the_factor():
    world, clock = make_world(QUIET, pressure=None)
    world.faults.inject("actuator_slow", at=0, factor=10)
    world.actuator.command(1000.0)
    at(clock, 5.0)  # lag 0.5 s x 10: one time constant
    assert world.actuator.read_command() == pytest.approx(1000.0 * (1 - math.exp(-1)), rel=1e-6)


def test_a_slow_motor_moves_at_its_velocity_divided_by_the_factor():
    world, clock = make_world(load_bench("sim-servo").tables, pressure=None)
    start = world.actuator.read_command()
    world.faults.inject("actuator_slow", at=0, factor=4)
    world.actuator.command(start + 100e-6)
    at(clock, 2.0)  # 10 um/s / 4
    assert world.actuator.read_command() == pytest.approx(start + 5e-6)


def test_a_hydraulic_leak_starts_exactly_at_its_time_and_the_ram_reaches_only_what_it_holds():
    world, clock = make_world(QUIET, max_step=10.0)
    world.faults.inject("hydraulic_leak", at=13.0, duration=100, holds=0.5)
    demand = 10 * MPA * AREA
    at(clock, 13.0)
    before = world.actuator.read_command()
    at(clock, 30.0)  # one 17 s advance of 10 s sub-steps
    decay = math.exp(-17.0 / 0.5)
    assert world.actuator.read_command() == pytest.approx(0.5 * demand + (before - 0.5 * demand) * decay)
    at(clock, 113.0)
    world.advance()
    assert world.fixture.leak is None
    at(clock, 150.0)
    assert world.actuator.read_command() == pytest.approx(demand, rel=1e-6)


# --- the cycler ---------------------------------------------------------------------------------


def test_a_cycler_dropout_times_out_on_reads_and_commands_and_the_channel_keeps_its_output():
    world, clock = make_world(QUIET)
    current = c_rate(world, 1)
    world.cycler.apply_current(current, 4.2)
    world.faults.inject("cycler_dropout", at=10, duration=20)
    at(clock, 15.0)
    for call in (world.cycler.read, world.cycler.rest, lambda: world.cycler.apply_current(current, 4.2),
                 lambda: world.cycler.apply_voltage(4.0, current)):
        with pytest.raises(InstrumentTimeout, match="sim-cycler"):
            call()
    assert world.truth().current == pytest.approx(current)  # still charging: only the link is gone
    at(clock, 30.0)
    world.cycler.rest()
    assert world.cycler.read().current == 0.0


def test_an_overcurrent_fault_drives_its_current_while_the_output_is_on_and_rest_still_turns_it_off():
    world, clock = make_world(QUIET)
    world.cycler.apply_current(-c_rate(world, 1 / 3), 2.5)
    world.faults.inject("cycler_overcurrent", at=10, duration=20, current="15 mA")
    at(clock, 10.0)
    assert world.cycler.read().current == pytest.approx(-15e-3, abs=1e-6)
    world.cycler.rest()
    assert world.cycler.read().current == 0.0
    world.cycler.apply_voltage(4.0, 1e-3)
    assert abs(world.cycler.read().current) == pytest.approx(15e-3, abs=1e-6)
    at(clock, 30.0)
    assert abs(world.cycler.read().current) <= 1e-3 + 1e-6  # the compliance again


def test_a_voltage_offset_shifts_only_the_reading():
    world, clock = make_world(QUIET)
    world.faults.inject("cycler_voltage_offset", at=10, offset="0.5 V")
    at(clock, 10.0)
    assert world.cycler.read().voltage == pytest.approx(world.truth().voltage + 0.5, abs=1e-3)


# --- the syntax ---------------------------------------------------------------------------------


def test_a_bench_files_faults_table_reaches_the_world():
    text = """
[faults]
load_cell_dropout = [{ at = "2 h", for = "30 s" }, { at = "5 h", for = "2 min" }]
load_cell_spike = { at = "1 h", size = "40 MPa" }
hydraulic_leak = { at = "3 h", for = "10 min", holds = 0.2 }
"""
    bench = parse_bench(tomllib.loads(text), text=text, source="f.toml", default_name="f")
    instruments, _ = bench.connect(VirtualClock())
    faults = instruments.force_sensor.world.faults.faults
    assert [(f.kind, f.at, f.duration) for f in faults] == [
        ("load_cell_dropout", 7200.0, 30.0),
        ("load_cell_dropout", 18000.0, 120.0),
        ("load_cell_spike", 3600.0, None),
        ("hydraulic_leak", 10800.0, 600.0),
    ]
    assert faults[2].params == {"size": pytest.approx(40 * MPA * AREA)}
    assert faults[3].params == {"holds": 0.2}


def test_without_a_duration_a_fault_lasts_to_the_end_and_every_setting_has_a_default():
    faults = Faults(AREA)
    for kind in KINDS:
        fault = faults.inject(kind, at=0)
        assert fault.duration == (None if kind == "load_cell_spike" else math.inf)
    assert faults.active("hydraulic_leak", 1e9).params == {"holds": 0.0}


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"load_cell_dropuot": {"at": "1 h"}},
         "[faults] load_cell_dropuot: unknown fault (did you mean 'load_cell_dropout'?) (known: load_cell_dropout,"),
        ({"load_cell_dropout": {"at": "1 h", "fro": "1 s"}},
         "[faults] load_cell_dropout: unknown setting 'fro' (known: at, for)"),
        ({"load_cell_spike": {"at": "1 h", "sise": "1 MPa"}},
         "[faults] load_cell_spike: unknown setting 'sise' (did you mean 'size'?) (known: at, for, size)"),
        ({"load_cell_dropout": {"for": "1 s"}}, "[faults] load_cell_dropout: needs a start time"),
        ({"load_cell_dropout": {"at": "1 h", "duration": "1 s"}},
         '[faults] load_cell_dropout: write the duration as for = "30 s"'),
        ({"load_cell_dropout": "1 h"}, "[faults] load_cell_dropout: each fault is a table"),
        ({"load_cell_dropout": {"at": "1 V"}}, "[faults] load_cell_dropout: at: '1 V' is not a time"),
        ({"load_cell_dropout": {"at": "-1 s"}},
         "[faults] load_cell_dropout: at: '-1 s' must be a time of at least 0 s"),
        ({"load_cell_dropout": {"at": "1 h", "for": "0 s"}},
         "[faults] load_cell_dropout: for: '0 s' must be a time above 0 s"),
        ({"actuator_slow": {"at": "1 h", "factor": 0.5}},
         "[faults] actuator_slow: factor: 0.5 must be a number from 1"),
        ({"hydraulic_leak": {"at": "1 h", "holds": 2}},
         "[faults] hydraulic_leak: holds: 2 must be a number from 0 to 1"),
        ({"cycler_overcurrent": {"at": "1 h", "current": "2 V"}},
         "[faults] cycler_overcurrent: current: '2 V' is not a current"),
        ({"load_cell_drift": {"at": "1 h", "rate": "1 MPa"}}, "[faults] load_cell_drift: rate: '1 MPa'"),
    ],
)
def test_a_bad_faults_table_is_refused_naming_the_fault_and_the_setting(table, problem):
    with pytest.raises(ValueError) as caught:
        SimWorld.from_bench({"faults": table}, VirtualClock())
    assert str(caught.value).startswith(problem)


def test_a_fault_that_does_not_fit_the_fixture_is_refused_through_the_bench():
    servo = load_bench("sim-servo")
    tables = {**servo.tables, "faults": {"hydraulic_leak": {"at": "1 h"}}}
    bench = parse_bench(tables, text="", source="servo.toml", default_name="servo")
    with pytest.raises(BenchError, match=r"servo.toml: .*a hydraulic leak needs a hydraulic fixture, not 'servo'"):
        bench.connect(VirtualClock())
    with pytest.raises(ValueError, match="the rigid fixture has no driven actuator to slow down"):
        SimWorld.from_bench({"fixture": {"kind": "rigid"}, "faults": {"actuator_slow": {"at": "0 s"}}}, VirtualClock())


def test_the_python_api_refuses_unknown_kinds_and_settings_by_name():
    faults = Faults(AREA)
    with pytest.raises(ValueError, match="fault 'leak': unknown fault"):
        faults.inject("leak", at=0)
    with pytest.raises(ValueError, match="unknown setting 'size'"):
        faults.inject("load_cell_dropout", at=0, size=1.0)
