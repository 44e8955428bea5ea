"""check_against_bench: what a bench refuses just before a run starts."""

from __future__ import annotations

import dataclasses

import pytest

from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.load import check_against_bench, load_protocol, parse_protocol_text
from stackpress.protocols.steps import Block, Current, CurrentStep, End, Limits, Protocol

CAPACITY = 5 * 3.6  # 5 mAh in C: C/3 is 1.67 mA
AREA = 0.785e-4  # 0.785 cm2 in m2
BENCH = {"capacity": CAPACITY, "area": AREA, "max_pressure": 50e6, "max_current": 1.0}


def protocol_of(*steps: str, window: str = "") -> Protocol:
    quoted = ", ".join(f'"{step}"' for step in steps)
    text = f'[limits]\nvoltage = ["2.5 V", "4.3 V"]\n{window}[[block]]\nsteps = [{quoted}]\n'
    return parse_protocol_text(text, "/lab/p.toml")


def refusal(protocol: Protocol, **bench: float) -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        check_against_bench(protocol, **{**BENCH, **bench})
    return caught.value.problems


def test_a_protocol_the_bench_can_run_passes() -> None:
    check_against_bench(load_protocol("demo"), **BENCH)
    check_against_bench(protocol_of("Charge at 1 mA until 4.2 V", "Hold at 4.2 V until 0.1 mA"), **BENCH)


def test_voltages_outside_the_limits_are_refused() -> None:
    # A protocol built or edited in Python never went through the loader's own check.
    protocol = load_protocol("constant-pressure-cycling")
    narrowed = dataclasses.replace(protocol, limits=Limits(3.0, 4.1))
    assert refusal(narrowed) == [
        'bundled:constant-pressure-cycling, block 2, step 1 ("Charge at C/3 until 4.2 V"): '
        "4.2 V is outside the voltage limits 3 V to 4.1 V",
        'bundled:constant-pressure-cycling, block 2, step 2 ("Hold at 4.2 V until C/20"): '
        "4.2 V is outside the voltage limits 3 V to 4.1 V",
        'bundled:constant-pressure-cycling, block 2, step 4 ("Discharge at C/3 until 2.5 V"): '
        "2.5 V is outside the voltage limits 3 V to 4.1 V",
    ]


def test_a_setpoint_outside_the_pressure_window_is_refused() -> None:
    protocol = dataclasses.replace(protocol_of("Hold pressure at 10 MPa"), limits=Limits(2.5, 4.3, 20e6, 50e6))
    [problem] = refusal(protocol)
    assert problem.startswith(
        'p.toml, block 1, step 1 ("Hold pressure at 10 MPa"): 10 MPa is outside the pressure window 20 MPa to 50 MPa'
    )


def test_a_setpoint_above_the_bench_maximum_is_refused_even_inside_a_wide_window() -> None:
    protocol = protocol_of("Hold pressure at 40 MPa", window='pressure_window = ["5 MPa", "45 MPa"]\n')
    check_against_bench(protocol, **BENCH)
    assert refusal(protocol, max_pressure=30e6) == [
        "p.toml, limits: pressure_window reaches 45 MPa, above the bench's maximum of 30 MPa",
        'p.toml, block 1, step 1 ("Hold pressure at 40 MPa"): 40 MPa is above the bench\'s maximum of 30 MPa',
    ]


def test_a_pressure_window_above_the_bench_maximum_is_refused() -> None:
    protocol = protocol_of("Hold pressure at 10 MPa")  # default window up to 50 MPa
    assert refusal(protocol, max_pressure=40e6) == [
        "p.toml, limits: pressure_window reaches 50 MPa, above the bench's maximum of 40 MPa"
    ]


def test_c_rates_need_a_capacity_and_current_densities_an_area() -> None:
    protocol = protocol_of("Charge at C/3 until 4.2 V", "Hold at 4.2 V until 0.01 mA/cm2", "Rest for 1 h")
    assert refusal(protocol, capacity=0.0, area=-1.0) == [
        'p.toml, block 1, step 1 ("Charge at C/3 until 4.2 V"): uses a C-rate, but the bench\'s nominal '
        "capacity is not set (capacity = 0 C)",
        'p.toml, block 1, step 2 ("Hold at 4.2 V until 0.01 mA/cm2"): uses a current density, but the '
        "bench's cell area is not set (area = -1 m2)",
    ]
    check_against_bench(protocol_of("Charge at 1 mA until 4.2 V"), **{**BENCH, "capacity": 0.0, "area": 0.0})


@pytest.mark.parametrize(
    ("charge", "hold", "capacity"),
    [
        ("Charge at 10 mA until 4.2 V", "Hold at 4.2 V until 10 mA", CAPACITY),
        ("Charge at 10 mA until 4.2 V", "Hold at 4.2 V until 50 A", CAPACITY),
        ("Charge at C/3 until 4.2 V", "Hold at 4.2 V until 50 mA", CAPACITY),  # C/3 of 5 mAh is 1.7 mA
        ("Charge at 1 mA/cm2 until 4.2 V", "Hold at 4.2 V until C/2", 3600.0),  # 0.785 mA vs 500 mA
    ],
)
def test_a_hold_cut_off_not_below_the_charge_current_is_refused(charge: str, hold: str, capacity: float) -> None:
    [problem] = refusal(protocol_of(charge, hold), capacity=capacity)
    assert problem.startswith(f'p.toml, block 1, step 2 ("{hold}"): the current cut-off (')
    assert "is not below the current it starts from" in problem


def test_whether_a_cut_off_is_too_high_depends_on_the_bench() -> None:
    protocol = protocol_of("Charge at C/3 until 4.2 V", "Hold at 4.2 V until 50 mA")
    check_against_bench(protocol, **{**BENCH, "capacity": 3600.0})  # 1 Ah: C/3 is 333 mA
    assert len(refusal(protocol, capacity=CAPACITY)) == 1


def test_a_constant_current_step_built_in_python_cannot_end_above_its_own_current() -> None:
    step = CurrentStep(
        text="charge 1 mA until 2 mA", where="script, step 1", current=Current(1e-3, "A"), direction=1,
        ends=(End("current_below", Current(2e-3, "A")),),
    )
    protocol = Protocol(name="script", source="script", text="", limits=Limits(2.5, 4.3), blocks=(Block((step,)),))
    assert refusal(protocol) == [
        'script, step 1 ("charge 1 mA until 2 mA"): the current cut-off (0.002 A) is not below the current '
        "it starts from (0.001 A), so the step would end at once"
    ]


def test_every_bench_problem_is_reported_together() -> None:
    protocol = protocol_of("Hold pressure at 45 MPa", "Charge at C/3 until 4.2 V", "Hold at 4.2 V until 1 A")
    problems = refusal(protocol, capacity=0.0, max_pressure=40e6)
    assert len(problems) == 3
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        "p.toml, limits",
        'p.toml, block 1, step 1 ("Hold pressure at 45 MPa")',
        'p.toml, block 1, step 2 ("Charge at C/3 until 4.2 V")',
    ]


@pytest.mark.parametrize("step", ["Charge at 1 MA until 4.2 V", "Discharge at 20C until 2.5 V"])
def test_a_current_beyond_the_cycler_channel_is_refused(step: str) -> None:
    [problem] = refusal(protocol_of(step), max_current=10e-3)
    assert problem.startswith(f'p.toml, block 1, step 1 ("{step}"): drives ')
    assert "above the cycler's maximum of 0.01 A" in problem
