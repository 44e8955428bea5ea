"""Fixture models on a stack whose free thickness and compliance the test sets directly."""

from __future__ import annotations

import math

import pytest

from stackpress.sims.cell import Cell, CellParams
from stackpress.sims.fixtures import HydraulicFixture, RigidFixture, ServoFixture, SpringFixture
from stackpress.sims.zones import ZonedCell, strips

from .helpers import HOUR, c_rate, make_world, run_until

AREA = 0.785e-4
STACK = 660e-6  # m, free thickness
COMPLIANCE = 5e-10  # m/N


def test_hydraulic_force_follows_the_command_with_its_lag():
    ram = HydraulicFixture(AREA, lag=0.5, friction=0.0)
    ram.attach(STACK, COMPLIANCE)
    ram.command(785.0)
    forces = []
    for _ in range(20):  # 0.05 s steps
        forces.append(ram.update(0.05, STACK, COMPLIANCE))
    at_lag = forces[9]  # t = 0.5 s = one time constant
    assert at_lag == pytest.approx(785.0 * (1 - math.exp(-1)), rel=1e-9)
    assert forces == sorted(forces)
    assert ram.readback() == pytest.approx(785.0 * (1 - math.exp(-2)))


def test_hydraulic_lag_is_independent_of_the_step_size():
    fine, coarse = (HydraulicFixture(AREA, lag=0.5, friction=0.0) for _ in range(2))
    for ram in (fine, coarse):
        ram.attach(STACK, COMPLIANCE)
        ram.command(500.0)
    for _ in range(50):
        fine.update(0.02, STACK, COMPLIANCE)
    coarse.update(1.0, STACK, COMPLIANCE)
    assert fine.force == pytest.approx(coarse.force, rel=1e-12)


def test_hydraulic_gap_follows_the_stack_and_friction_opposes_the_motion():
    ram = HydraulicFixture(AREA, lag=0.5, friction=5.0)
    ram.attach(STACK, COMPLIANCE)
    ram.command(785.0)
    for _ in range(30):
        ram.update(1.0, STACK, COMPLIANCE)
    assert ram.force == pytest.approx(780.0, abs=1e-6)  # the ram advanced: friction took 5 N off
    swelling = [STACK + k * 1e-7 for k in range(1, 50)]
    for thickness in swelling:
        ram.update(1.0, thickness, COMPLIANCE)
    assert ram.force == pytest.approx(790.0)  # pushed back: friction adds 5 N
    assert ram.gap == pytest.approx(swelling[-1] - 790.0 * COMPLIANCE)
    ram.update(1.0, swelling[-1] - 1e-12, COMPLIANCE)  # a tiny reversal: the seal sticks
    assert 780.0 < ram.force < 790.0


def test_hydraulic_stop_holds_the_present_force():
    ram = HydraulicFixture(AREA, lag=0.5, friction=0.0)
    ram.attach(STACK, COMPLIANCE)
    ram.command(1000.0)
    ram.update(0.5, STACK, COMPLIANCE)
    ram.hold()
    held = ram.readback()
    for _ in range(10):
        ram.update(1.0, STACK, COMPLIANCE)
    assert ram.readback() == pytest.approx(held)


def test_rigid_frame_is_preloaded_and_the_force_climbs_as_the_stack_swells():
    frame = RigidFixture(AREA, frame_stiffness=5e7, preload=785.0)
    frame.attach(STACK, COMPLIANCE)
    assert frame.force == pytest.approx(785.0)
    frame.update(1.0, STACK + 8e-6, COMPLIANCE)
    stiffness = 1.0 / (COMPLIANCE + 1.0 / 5e7)
    assert frame.force == pytest.approx(785.0 + stiffness * 8e-6)
    assert frame.gap == pytest.approx(STACK + 8e-6 - frame.force * COMPLIANCE)
    frame.update(1.0, STACK, COMPLIANCE)
    assert frame.force == pytest.approx(785.0)


def test_rigid_frame_lets_go_of_a_shrinking_stack():
    frame = RigidFixture(AREA, frame_stiffness=5e7, preload=100.0)
    frame.attach(STACK, COMPLIANCE)
    frame.update(1.0, STACK - 10e-6, COMPLIANCE)
    assert frame.force == 0.0
    assert frame.gap > STACK - 10e-6  # the plates stay where the frame holds them


def test_command_ranges_come_from_the_rating():
    assert HydraulicFixture(AREA, rating=150e6).command_range == (0.0, pytest.approx(150e6 * AREA))
    assert RigidFixture(AREA, rating=100e6).command_range == (0.0, pytest.approx(100e6 * AREA))


# --- spring -------------------------------------------------------------------------------------

K_SPRING = 1e6  # N/m


def test_spring_force_drifts_by_the_spring_rate_times_the_swelling():
    spring = SpringFixture(AREA, spring_rate=K_SPRING, relaxation=0.0, velocity=1e-3)
    spring.attach(STACK, COMPLIANCE)
    assert spring.force == 0.0  # the motor starts with the springs just touching
    spring.command(0.8e-3)
    for _ in range(10):
        spring.update(1.0, STACK, COMPLIANCE)
    series = K_SPRING / (1.0 + K_SPRING * COMPLIANCE)
    assert spring.readback() == 0.8e-3
    assert spring.force == pytest.approx(series * 0.8e-3)
    before = spring.force
    spring.update(1.0, STACK + 7e-6, COMPLIANCE)  # the Si swells 7 um
    assert spring.force - before == pytest.approx(series * 7e-6)  # ~7 N: under 1 % of ~800 N
    assert spring.gap == pytest.approx(STACK + 7e-6 - spring.force * COMPLIANCE)


def test_spring_relaxes_logarithmically_and_independently_of_the_step():
    fine, coarse = (
        SpringFixture(AREA, spring_rate=K_SPRING, drive="manual", preload=785.0, relaxation=0.02, relaxation_time=60.0)
        for _ in range(2)
    )
    for spring in (fine, coarse):
        spring.attach(STACK, COMPLIANCE)
        assert spring.force == pytest.approx(785.0)
    rate = 0.02 / math.log(1 + 48 * HOUR / 60.0)
    forces = {}
    for k in range(1, 48 * 60 + 1):  # 48 h in 1 min steps
        fine.update(60.0, STACK, COMPLIANCE)
        forces[k * 60.0] = fine.force
    for t in (HOUR, 10 * HOUR, 48 * HOUR):
        assert forces[t] == pytest.approx(785.0 * (1 - rate * math.log(1 + t / 60.0)), rel=1e-3)
    assert forces[48 * HOUR] == pytest.approx(785.0 * 0.98, rel=1e-3)
    coarse.update(48 * HOUR, STACK, COMPLIANCE)
    assert coarse.force == pytest.approx(fine.force, rel=1e-3)


def test_spring_motor_moves_the_seat_at_its_velocity_and_stops_where_told():
    spring = SpringFixture(AREA, spring_rate=K_SPRING, velocity=20e-6, relaxation=0.0)
    spring.attach(STACK, COMPLIANCE)
    assert spring.regulated and spring.command_unit == "m"
    spring.command(1e-3)
    spring.update(10.0, STACK, COMPLIANCE)
    assert spring.readback() == pytest.approx(200e-6)
    spring.hold()
    spring.update(10.0, STACK, COMPLIANCE)
    assert spring.readback() == pytest.approx(200e-6)


def test_manual_spring_is_set_once_to_a_preload_and_not_regulated():
    spring = SpringFixture(AREA, spring_rate=K_SPRING, drive="manual", preload=500.0, relaxation=0.0)
    spring.attach(STACK, COMPLIANCE)
    assert not spring.regulated and spring.command_unit == "N"
    assert spring.force == pytest.approx(500.0)
    spring.command(785.0)
    assert spring.readback() == pytest.approx(785.0)


def test_spring_rating_is_limited_by_its_travel():
    assert SpringFixture(AREA, spring_rate=K_SPRING, travel=20e-3).max_force == pytest.approx(150e6 * AREA)
    assert SpringFixture(AREA, spring_rate=K_SPRING, travel=2e-3).max_force == pytest.approx(2000.0)


# --- servo ----------------------------------------------------------------------------------------

K_FRAME = 2e8  # N/m


def servo(**kwargs) -> ServoFixture:
    screw = ServoFixture(AREA, frame_stiffness=K_FRAME, **kwargs)
    screw.attach(STACK, COMPLIANCE)
    return screw


def test_servo_force_is_screw_travel_times_the_series_stiffness():
    screw = servo(backlash=0.0)
    start = screw.readback()
    assert screw.force == 0.0 and screw.command_unit == "m" and screw.regulated
    screw.command(start + 4e-6)
    screw.update(1.0, STACK, COMPLIANCE)
    series = 1.0 / (COMPLIANCE + 1.0 / K_FRAME)
    assert screw.force == pytest.approx(series * 4e-6)  # ~740 N: micrometres are MPa
    assert screw.gap == pytest.approx(STACK - screw.force * COMPLIANCE)


def test_servo_motor_is_velocity_limited():
    screw = servo(velocity=10e-6, backlash=0.0)
    start = screw.readback()
    screw.command(start + 5e-6)
    positions = []
    for _ in range(8):
        screw.update(0.1, STACK, COMPLIANCE)
        positions.append(screw.readback() - start)
    assert positions[:4] == pytest.approx([1e-6, 2e-6, 3e-6, 4e-6])
    assert positions[4:] == pytest.approx([5e-6] * 4)  # arrived, and stays
    screw.command(start)
    screw.update(0.2, STACK, COMPLIANCE)
    assert screw.readback() - start == pytest.approx(3e-6)
    screw.hold()
    screw.update(1.0, STACK, COMPLIANCE)
    assert screw.readback() - start == pytest.approx(3e-6)


def test_servo_backlash_is_lost_motion_on_a_reversal():
    screw = servo(backlash=1e-6, velocity=1e-3)
    start = screw.readback()
    series = 1.0 / (COMPLIANCE + 1.0 / K_FRAME)
    screw.command(start + 4e-6)  # advancing: the drive flank is already engaged
    screw.update(1.0, STACK, COMPLIANCE)
    loaded = screw.force
    assert loaded == pytest.approx(series * 4e-6)
    screw.command(start + 3.2e-6)  # back by less than the backlash: the platen does not move
    screw.update(1.0, STACK, COMPLIANCE)
    assert screw.force == loaded
    assert screw.readback() == pytest.approx(start + 3.2e-6)  # the encoder sees the motor move
    screw.command(start + 2.5e-6)  # 1.5 um back in all: 0.5 um of it reaches the platen
    screw.update(1.0, STACK, COMPLIANCE)
    assert screw.force == pytest.approx(loaded - series * 0.5e-6)
    screw.command(start + 3.0e-6)  # forward again by less than the backlash: nothing
    screw.update(1.0, STACK, COMPLIANCE)
    assert screw.force == pytest.approx(loaded - series * 0.5e-6)


def test_servo_lets_go_of_the_stack_when_retracted():
    screw = servo()
    screw.command(screw.readback() - 10e-6)
    screw.update(10.0, STACK, COMPLIANCE)
    assert screw.force == 0.0
    assert screw.gap > STACK


# --- tilted platens: a zoned cell ---------------------------------------------------------------


def test_strips_cover_the_disc_symmetrically():
    radius = 5e-3
    geometry = strips(radius, 4)
    assert sum(area for area, _ in geometry) == pytest.approx(math.pi * radius**2)
    areas = [area for area, _ in geometry]
    centroids = [c for _, c in geometry]
    assert areas == pytest.approx(areas[::-1]) and areas[1] > areas[0]  # middle strips are wider
    assert centroids == pytest.approx([-c for c in centroids[::-1]])
    assert centroids == sorted(centroids)


def test_a_zoned_cell_with_parallel_platens_is_the_cell_itself():
    whole = Cell(CellParams())
    zoned = ZonedCell(CellParams(), 4, tilt=0.0)
    current = c_rate(whole, 1 / 3)
    for cell in (whole, zoned):
        cell.prepare(10e6)
    for _ in range(600):
        for cell in (whole, zoned):
            cell.advance(current, 5.0)
            cell.update_mechanics()
            cell.prepare(10e6)
    assert zoned.free_thickness == pytest.approx(whole.free_thickness, rel=1e-9)
    assert zoned.compliance == pytest.approx(whole.compliance, rel=1e-9)
    assert zoned.state.x == pytest.approx(whole.state.x, rel=1e-6)
    assert zoned.voltage(current) == pytest.approx(whole.voltage(current), abs=1e-6)
    shares = [current * area / zoned.area for area in zoned.areas]
    assert zoned.zone_currents == pytest.approx(shares, rel=1e-4)


def tilted_world(tilt: str = "0.5 um", zones: int = 4, max_step: float = 1.0):
    tables = {"fixture": {"kind": "tilted", "tilt": tilt, "zones": zones, "preload": "10 MPa"}}
    return make_world(tables, max_step=max_step)


def test_tilted_zones_carry_different_local_pressures_that_add_up_to_the_force():
    world, _ = tilted_world()
    truth = world.truth()
    assert truth.pressure == pytest.approx(10e6)
    pressures = [z.pressure for z in truth.zones]
    assert len(pressures) == 4
    assert pressures == sorted(pressures, reverse=True)  # the closer the platens, the harder the squeeze
    assert pressures[0] - pressures[-1] > 8e6  # ~15.5 vs ~4.5 MPa for 0.5 um across 10 mm
    assert sum(z.force for z in truth.zones) == pytest.approx(truth.force)
    assert [z.offset for z in truth.zones] == sorted(z.offset for z in truth.zones)


def test_tilted_zones_share_one_terminal_voltage_and_the_current():
    world, clock = tilted_world()
    current = c_rate(world, 1 / 3)
    world.cycler.apply_current(current, 4.2)
    clock.advance(1800.0)
    truth = world.truth()
    assert sum(z.current for z in truth.zones) == pytest.approx(current, rel=1e-9)
    cell = world.cell
    volts = [zone.voltage(share) for zone, share in zip(cell.zones, cell.zone_currents, strict=True)]
    assert max(volts) - min(volts) < 1e-5
    assert truth.voltage == pytest.approx(volts[0], abs=1e-5)
    # at rest the zones exchange current, but none flows out of the cell
    world.cycler.rest()
    clock.advance(10.0)
    rest = world.truth()
    assert rest.current == 0.0
    assert sum(z.current for z in rest.zones) == pytest.approx(0.0, abs=1e-12)
    assert max(abs(z.current) for z in rest.zones) > 0.0


def test_tilted_zones_lithiate_unevenly_and_the_light_edge_loses_contact():
    world, clock = tilted_world(max_step=5.0)
    current = c_rate(world, 1 / 3)
    world.cycler.apply_current(current, 4.2)
    run_until(world, clock, lambda t: t.current < current * 0.999, 10 * HOUR, tick=10.0)
    world.cycler.apply_voltage(4.2, current)
    top = run_until(world, clock, lambda t: t.current < c_rate(world, 1 / 20), 10 * HOUR, tick=10.0)[-1]
    xs = [z.x for z in top.zones]
    assert max(xs) - min(xs) > 0.5  # a lithiation gradient across the cell
    loaded, light = top.zones[0], top.zones[-1]
    assert light.x < loaded.x
    # the rest of the cell swelled and lifted the platen off the lightly loaded edge
    assert light.pressure < 1e6 < 10e6 < loaded.pressure
    assert light.contact_fraction < 0.5 < 0.95 < loaded.contact_fraction
    assert sum(z.area * z.x for z in top.zones) / world.cell.area == pytest.approx(top.x)


def test_the_robust_split_agrees_with_the_fast_one(monkeypatch):
    from stackpress.sims import zones

    cells = [ZonedCell(CellParams(), 4, tilt=0.5e-6) for _ in range(2)]
    current = c_rate(cells[0], 1 / 3)
    for cell in cells:
        cell.prepare(10e6)
        for _ in range(100):
            cell.advance(current, 10.0)
            cell.update_mechanics()
            cell.prepare(10e6)
    fast = cells[0].voltage(2 * current)
    monkeypatch.setattr(zones, "MAX_NEWTON", 0)  # no Newton rounds: straight to the bisection on the voltage
    robust = cells[1].voltage(2 * current)
    assert robust == pytest.approx(fast, abs=1e-8)
    assert cells[1].zone_currents == pytest.approx(cells[0].zone_currents, rel=1e-5)
    assert sum(cells[1].zone_currents) == pytest.approx(2 * current, rel=1e-12)
