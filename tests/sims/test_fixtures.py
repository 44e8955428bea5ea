"""Fixture models on a stack whose free thickness and compliance the test sets directly."""

from __future__ import annotations

import math

import pytest

from stackpress.sims.fixtures import HydraulicFixture, RigidFixture

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
