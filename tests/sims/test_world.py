"""The simulated world through the instrument roles, as the engine sees it."""

from __future__ import annotations

import math

import pytest

from stackpress.clock import VirtualClock
from stackpress.drivers.errors import OutOfRange
from stackpress.sims.world import SimWorld
from stackpress.units import UnitError

from .helpers import HOUR, c_rate, make_world, run_until

MPA = 1e6


# --- building from the bench file --------------------------------------------------------


def test_defaults_are_a_full_cell_in_a_hydraulic_fixture_at_no_force():
    world = SimWorld.from_bench({}, VirtualClock())
    truth = world.truth()
    assert world.cell.full
    assert world.actuator.regulated
    assert world.actuator.command_unit == "N"
    assert world.actuator.command_range == (0.0, pytest.approx(150 * MPA * 0.785e-4))
    assert truth.force == 0.0
    assert truth.x == pytest.approx(0.1)
    assert world.cycler.read().current == 0.0
    assert world.cycler.read().temperature == 25.0


def test_a_rigid_fixture_starts_at_its_preload():
    world = SimWorld.from_bench({"fixture": {"kind": "rigid", "preload": "12 MPa"}}, VirtualClock())
    assert not world.actuator.regulated
    assert world.truth().pressure == pytest.approx(12 * MPA)
    assert SimWorld.from_bench({"fixture": {"kind": "rigid"}}, VirtualClock()).truth().pressure == pytest.approx(
        10 * MPA
    )


def test_settings_are_read_with_their_units():
    tables = {
        "cell": {"chemistry": "half", "area": "1 cm2", "loading": "2 mAh/cm2", "si_porosity": 0.3},
        "fixture": {"kind": "rigid", "frame_stiffness": "5e7 N/m", "preload": "500 N"},
        "load_cell": {"range": "2 kN", "noise": "0.5 N", "resolution": "0.01 N", "drift": "1 N/h"},
        "engine": {"period": "1 s"},  # someone else's table: ignored
        "limits": {"voltage_max": "4.3 V"},
    }
    world = SimWorld.from_bench(tables, VirtualClock())
    assert not world.cell.full
    assert world.cell.area == pytest.approx(1e-4)
    assert world.nominal_capacity == pytest.approx(2 * 3.6)
    assert world.truth().force == pytest.approx(500.0)
    assert world.load_cell.full_scale == 2000.0
    assert world.load_cell.drift == pytest.approx(1 / 3600)


@pytest.mark.parametrize(
    ("tables", "error", "names"),
    [
        ({"cell": {"aera": "1 cm2"}}, ValueError, "[cell] aera"),
        ({"cell": {"area": "1 cm"}}, UnitError, "[cell] area"),
        ({"cell": {"area": 0.785}}, UnitError, "[cell] area"),
        ({"cell": {"chemistry": "lfp"}}, ValueError, "[cell] chemistry"),
        ({"cell": {"si_porosity": 1.5}}, ValueError, "[cell] si_porosity"),
        ({"cell": {"si_structure": "glass"}}, ValueError, "[cell] si_structure"),
        ({"cell": {"loading": "-3 mAh/cm2"}}, ValueError, "[cell] loading"),
        ({"fixture": {"lag": "0.5 m"}}, UnitError, "[fixture] lag"),
        ({"fixture": {"kind": "rigid", "lag": "0.5 s"}}, ValueError, "[fixture] lag"),
        ({"fixture": {"kind": "rigid", "preload": "200 MPa"}}, ValueError, "[fixture] preload"),
        ({"fixture": {"kind": "screw"}}, ValueError, "[fixture] kind"),
        ({"load_cell": {"noise": "1 V"}}, UnitError, "[load_cell] noise"),
        ({"load_cell": {"rnage": "5 kN"}}, ValueError, "[load_cell] rnage"),
        ({"fixture": {"kind": "spring", "spring_rate": "1 N"}}, UnitError, "[fixture] spring_rate"),
        ({"fixture": {"kind": "spring", "drive": "hand"}}, ValueError, "[fixture] drive"),
        ({"fixture": {"kind": "spring", "preload": "10 MPa"}}, ValueError, "[fixture] preload"),  # motor: no preload
        ({"fixture": {"kind": "spring", "drive": "manual", "velocity": "1 um/s"}}, ValueError, "[fixture] velocity"),
        ({"fixture": {"kind": "spring", "drive": "manual", "preload": "150 MPa"}}, ValueError, "[fixture] preload"),
        ({"fixture": {"kind": "spring", "relaxation": 0.9}}, ValueError, "[fixture] relaxation"),
        ({"fixture": {"kind": "spring", "relaxation_time": "1 m"}}, UnitError, "[fixture] relaxation_time"),
        ({"fixture": {"kind": "servo", "velocity": "10 um"}}, UnitError, "[fixture] velocity"),
        ({"fixture": {"kind": "servo", "backlash": "-1 um"}}, ValueError, "[fixture] backlash"),
        ({"fixture": {"kind": "servo", "preload": "10 MPa"}}, ValueError, "[fixture] preload"),
        ({"fixture": {"kind": "servo", "lag": "1 s"}}, ValueError, "[fixture] lag"),
        ({"fixture": {"kind": "tilted", "zones": 2.5}}, ValueError, "[fixture] zones"),
        ({"fixture": {"kind": "tilted", "zones": 12}}, ValueError, "[fixture] zones"),
        ({"fixture": {"kind": "tilted", "tilt": "1 deg"}}, UnitError, "[fixture] tilt"),
        ({"fixture": {"kind": "rigid", "tilt": "1 um"}}, ValueError, "[fixture] tilt"),
    ],
)
def test_a_bad_setting_is_refused_by_name(tables, error, names):
    with pytest.raises(error) as raised:
        SimWorld.from_bench(tables, VirtualClock())
    assert names in str(raised.value)


# --- time ---------------------------------------------------------------------------------


def test_the_world_advances_lazily_to_the_clock():
    world, clock = make_world()
    world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
    clock.advance(60.0)
    first = world.truth()
    assert first.t == clock.now()
    world.cycler.read()
    world.force_sensor.read_force()
    world.actuator.read_gap()
    assert world.truth() == first  # reading again at the same time does not advance
    clock.advance(60.0)
    assert world.cycler.read().charge == pytest.approx(first.charge + 60 * c_rate(world, 1 / 3))


def test_one_long_advance_equals_many_ticks():
    ticked, ticked_clock = make_world()
    jumped, jumped_clock = make_world()
    for world in (ticked, jumped):
        world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
    for _ in range(1800):
        ticked_clock.advance(1.0)
        ticked.cycler.read()
    jumped_clock.advance(1800.0)
    assert jumped.truth() == ticked.truth()


def test_fast_ticks_are_single_exact_sub_steps():
    fast, fast_clock = make_world()
    slow, slow_clock = make_world()
    for world in (fast, slow):
        world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
    for _ in range(3000):  # 60 s in 20 ms ticks
        fast_clock.advance(0.02)
        fast.cycler.read()
    slow_clock.advance(60.0)
    a, b = fast.truth(), slow.truth()
    assert a.t == pytest.approx(b.t)
    assert a.x == pytest.approx(b.x, rel=1e-12)
    assert a.voltage == pytest.approx(b.voltage, abs=1e-3)
    assert a.force == pytest.approx(b.force, abs=0.5)


def test_same_seed_same_run():
    def run(seed: int) -> list[tuple]:
        world, clock = make_world(seed=seed)
        world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
        readings = []
        for _ in range(300):
            clock.advance(1.0)
            readings.append((world.cycler.read(), world.force_sensor.read_force(), world.actuator.read_gap()))
        return readings

    assert run(7) == run(7)
    assert run(7) != run(8)


# --- the cycler -----------------------------------------------------------------------------


def test_current_compliance_clamps_the_voltage_exactly_and_tapers_the_current():
    world, clock = make_world()
    current = c_rate(world, 1 / 3)
    world.cycler.apply_current(current, 3.3)
    run_until(world, clock, lambda t: t.current < current, 5 * HOUR)
    tapered = [run_until(world, clock, lambda t: True, 60.0)[0] for _ in range(10)]
    assert all(t.voltage == 3.3 for t in tapered)
    assert all(0.0 < t.current < current for t in tapered)
    assert [t.current for t in tapered] == sorted((t.current for t in tapered), reverse=True)
    assert world.cycler.read().voltage == pytest.approx(3.3, abs=5e-4)  # 0.1 mV noise


def test_discharge_compliance_clamps_from_below():
    world, clock = make_world()
    world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
    clock.advance(HOUR)
    world.cycler.apply_current(-c_rate(world, 1.0), 3.4)
    run_until(world, clock, lambda t: t.current > -c_rate(world, 1.0), HOUR)
    clock.advance(10.0)
    truth = world.truth()
    assert truth.voltage == 3.4
    assert -c_rate(world, 1.0) < truth.current < 0.0


def test_a_charge_step_never_discharges():
    world, _ = make_world()
    world.cycler.apply_current(c_rate(world, 1 / 3), 2.0)  # the limit is below the open-circuit voltage
    truth = world.truth()
    assert truth.current == 0.0
    assert truth.voltage == pytest.approx(truth.ocv, abs=1e-9)


def test_voltage_hold_passes_at_most_its_current_limit():
    world, clock = make_world()
    ocv = world.truth().ocv
    world.cycler.apply_voltage(ocv + 0.3, 1e-2)
    clock.advance(1.0)
    held = world.truth()
    assert held.voltage == ocv + 0.3
    assert held.current > 0.0
    world.cycler.apply_voltage(ocv + 0.3, 1e-5)
    limited = world.truth()
    assert limited.current == 1e-5
    assert limited.voltage < ocv + 0.3


def test_rest_passes_no_current():
    world, clock = make_world()
    world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
    clock.advance(600.0)
    world.cycler.rest()
    clock.advance(1.0)
    assert world.cycler.read().current == 0.0
    assert world.truth().charge == pytest.approx(600 * c_rate(world, 1 / 3))


@pytest.mark.parametrize(
    "command",
    [
        lambda w: w.cycler.apply_current(1.0, 4.2),
        lambda w: w.cycler.apply_current(math.nan, 4.2),
        lambda w: w.cycler.apply_current(1e-3, 42.0),
        lambda w: w.cycler.apply_voltage(4.2, -1e-3),
        lambda w: w.actuator.command(-1.0),
        lambda w: w.actuator.command(1e6),
        lambda w: w.actuator.command(math.nan),
    ],
)
def test_commands_out_of_range_are_refused(command):
    world, _ = make_world()
    with pytest.raises(OutOfRange):
        command(world)


# --- the fixtures in the world ----------------------------------------------------------------


def test_rigid_fixture_pressure_climbs_on_charge_and_returns_on_discharge():
    world, clock = make_world({"fixture": {"kind": "rigid", "preload": "10 MPa"}})
    current = c_rate(world, 1 / 3)
    world.cycler.apply_current(current, 4.2)
    charged = run_until(world, clock, lambda t: t.current < current, 5 * HOUR)
    peak = max(t.pressure for t in charged)
    assert 3 * MPA < peak - 10 * MPA < 10 * MPA
    assert world.force_sensor.read_force() == pytest.approx(charged[-1].force, abs=10.0)
    world.cycler.apply_current(-current, 2.5)
    discharged = run_until(world, clock, lambda t: t.current > -current, 5 * HOUR)
    assert discharged[-1].pressure == pytest.approx(10 * MPA, abs=0.5 * MPA)


def test_hydraulic_force_follows_the_command_with_the_lag():
    world, clock = make_world({"fixture": {"lag": "0.5 s", "friction": "0 N"}}, pressure=None, max_step=0.05)
    target = 10 * MPA * world.cell.area
    world.actuator.command(target)
    clock.advance(0.5)
    assert world.actuator.read_command() == pytest.approx(target * (1 - math.exp(-1)), rel=1e-6)
    clock.advance(5.0)
    assert world.actuator.read_command() == pytest.approx(target, rel=1e-4)
    assert world.force_sensor.read_force() == pytest.approx(target, abs=5.0)
    world.actuator.stop()
    clock.advance(60.0)
    assert world.actuator.read_command() == pytest.approx(target, rel=1e-4)


def test_hydraulic_gap_tracks_the_anode_thickness_at_constant_pressure():
    world, clock = make_world()
    before = world.truth()
    world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
    clock.advance(2 * HOUR)
    after = world.truth()
    assert after.anode_thickness - before.anode_thickness > 3e-6  # the Si swelled
    assert after.gap - before.gap == pytest.approx(after.anode_thickness - before.anode_thickness, rel=0.01)
    assert world.actuator.read_gap() - world.other_layers_thickness == pytest.approx(after.anode_thickness)
    assert after.pressure == pytest.approx(10 * MPA, rel=0.01)


def test_rigid_stop_changes_nothing():
    world, clock = make_world({"fixture": {"kind": "rigid"}})
    world.actuator.stop()
    clock.advance(10.0)
    assert world.actuator.read_command() == pytest.approx(10 * MPA * world.cell.area)


def test_porous_si_swells_the_electrode_less():
    def swelling(tables: dict) -> float:
        world, clock = make_world(tables)
        before = world.truth().anode_thickness
        world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
        clock.advance(2 * HOUR)
        return world.truth().anode_thickness - before

    dense = swelling({})
    porous = swelling({"cell": {"si_porosity": 0.6}})
    assert 0.0 < porous < 0.5 * dense


# --- the position-commanded and the zoned fixtures -------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "travel", "max_force"),
    [
        ({"kind": "servo", "travel": "2 mm"}, 2e-3, 150 * MPA * 0.785e-4),
        ({"kind": "spring", "travel": "10 mm"}, 10e-3, 1e4),  # 1 N/um x 10 mm: below the 150 MPa rating
    ],
)
def test_motor_fixtures_take_a_position_and_report_their_force_rating(fixture, travel, max_force):
    world = SimWorld.from_bench({"fixture": fixture}, VirtualClock())
    actuator = world.actuator
    assert actuator.regulated and actuator.command_unit == "m"
    assert actuator.command_range == (0.0, travel)
    assert actuator.max_force == pytest.approx(max_force)
    assert world.truth().force == 0.0  # the platen just touches the stack
    with pytest.raises(OutOfRange, match=" m is outside"):
        actuator.command(travel * 1.01)


def test_servo_in_the_world_squeezes_by_micrometres():
    world, clock = make_world({"fixture": {"kind": "servo", "velocity": "10 um/s", "backlash": "0 um"}}, pressure=None)
    start = world.actuator.read_command()
    world.actuator.command(start + 4e-6)
    clock.advance(0.2)
    assert world.actuator.read_command() == pytest.approx(start + 2e-6)  # on its way at 10 um/s
    clock.advance(1.0)
    assert world.actuator.read_command() == pytest.approx(start + 4e-6)
    assert 8 * MPA < world.truth().pressure < 10 * MPA  # 4 um is ~9.4 MPa on this stack
    world.actuator.stop()
    clock.advance(60.0)
    assert world.actuator.read_command() == pytest.approx(start + 4e-6)


def test_a_held_spring_seat_lets_the_pressure_follow_the_swelling_a_little_and_relax():
    world, clock = make_world({"fixture": {"kind": "spring", "velocity": "1 mm/s"}}, pressure=None)
    world.actuator.command(0.785e-3)  # 1 N/um x 0.785 mm = 785 N = 10 MPa
    clock.advance(10.0)
    start = world.truth()
    assert start.pressure == pytest.approx(10 * MPA, rel=0.01)
    world.cycler.apply_current(c_rate(world, 1 / 3), 4.2)
    clock.advance(2 * HOUR)
    swollen = world.truth()
    swelling = swollen.anode_thickness - start.anode_thickness
    assert swelling > 3e-6
    relaxed = 0.02 * math.log(1 + 2 * HOUR / 60) / math.log(1 + 48 * HOUR / 60)  # ~1.3 % in 2 h
    expected = start.force * (1 - relaxed) + 1e6 * swelling  # spring rate x thickness change
    assert swollen.force == pytest.approx(expected, rel=0.003)
    assert abs(swollen.pressure - start.pressure) < 0.02 * start.pressure  # a drift, not a rigid frame's swing


def test_a_uniform_cell_reports_itself_as_one_zone():
    world, _ = make_world()
    truth = world.truth()
    (zone,) = truth.zones
    assert zone.pressure == truth.pressure and zone.x == truth.x and zone.area == world.cell.area
    assert zone.contact_fraction == truth.contact_fraction and zone.anode_thickness == truth.anode_thickness


def test_a_tilted_world_is_built_from_the_bench_with_its_zones():
    world = SimWorld.from_bench({"fixture": {"kind": "tilted", "zones": 3, "tilt": "0.3 um"}}, VirtualClock())
    assert not world.actuator.regulated and world.actuator.name == "sim-tilted"
    truth = world.truth()
    assert len(truth.zones) == 3
    assert truth.pressure == pytest.approx(10 * MPA)
    assert sum(z.area for z in truth.zones) == pytest.approx(world.cell.area)
    assert truth.anode_thickness == pytest.approx(
        sum(z.area * z.anode_thickness for z in truth.zones) / world.cell.area
    )
    uniform = SimWorld.from_bench({"fixture": {"kind": "rigid"}}, VirtualClock())  # also at 10 MPa
    assert world.other_layers_thickness == pytest.approx(uniform.other_layers_thickness, abs=1e-9)
