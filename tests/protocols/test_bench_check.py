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
        'bundled:constant-pressure-cycling, block 2, step 1 ("Charge at C/3 until 4.2 V") at line 14: '
        "4.2 V is outside the voltage limits 3 V to 4.1 V",
        'bundled:constant-pressure-cycling, block 2, step 2 ("Hold at 4.2 V until C/20") at line 14: '
        "4.2 V is outside the voltage limits 3 V to 4.1 V",
        'bundled:constant-pressure-cycling, block 2, step 4 ("Discharge at C/3 until 2.5 V") at line 14: '
        "2.5 V is outside the voltage limits 3 V to 4.1 V",
    ]


def test_a_setpoint_outside_the_pressure_window_is_refused() -> None:
    protocol = dataclasses.replace(protocol_of("Hold pressure at 10 MPa"), limits=Limits(2.5, 4.3, 20e6, 50e6))
    [problem] = refusal(protocol)
    assert problem.startswith(
        'p.toml, block 1, step 1 ("Hold pressure at 10 MPa") at line 4: 10 MPa is outside the pressure window '
        '20 MPa to 50 MPa'
    )


def test_a_setpoint_above_the_bench_maximum_is_refused_even_inside_a_wide_window() -> None:
    protocol = protocol_of("Hold pressure at 40 MPa", window='pressure_window = ["5 MPa", "45 MPa"]\n')
    check_against_bench(protocol, **BENCH)
    assert refusal(protocol, max_pressure=30e6) == [
        "p.toml, limits: pressure_window reaches 45 MPa, above the bench's maximum of 30 MPa",
        'p.toml, block 1, step 1 ("Hold pressure at 40 MPa") at line 5: 40 MPa is above the bench\'s maximum of 30 MPa',
    ]


def test_a_pressure_window_above_the_bench_maximum_is_refused() -> None:
    protocol = protocol_of("Hold pressure at 10 MPa")  # default window up to 50 MPa
    assert refusal(protocol, max_pressure=40e6) == [
        "p.toml, limits: pressure_window reaches 50 MPa, above the bench's maximum of 40 MPa"
    ]


def test_c_rates_need_a_capacity_and_current_densities_an_area() -> None:
    protocol = protocol_of("Charge at C/3 until 4.2 V", "Hold at 4.2 V until 0.01 mA/cm2", "Rest for 1 h")
    assert refusal(protocol, capacity=0.0, area=-1.0) == [
        'p.toml, block 1, step 1 ("Charge at C/3 until 4.2 V") at line 4: uses a C-rate or a share of the capacity, '
        "but the bench's nominal capacity is not set (capacity = 0 C)",
        'p.toml, block 1, step 2 ("Hold at 4.2 V until 0.01 mA/cm2") at line 4: uses a current density or an areal '
        "capacity, but the bench's cell area is not set (area = -1 m2)",
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
    assert problem.startswith(f'p.toml, block 1, step 2 ("{hold}") at line 4: the current cut-off (')
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
        'p.toml, block 1, step 1 ("Hold pressure at 45 MPa") at line 4',
        'p.toml, block 1, step 2 ("Charge at C/3 until 4.2 V") at line 4',
    ]


@pytest.mark.parametrize("step", ["Charge at 1 MA until 4.2 V", "Discharge at 20C until 2.5 V"])
def test_a_current_beyond_the_cycler_channel_is_refused(step: str) -> None:
    [problem] = refusal(protocol_of(step), max_current=10e-3)
    assert problem.startswith(f'p.toml, block 1, step 1 ("{step}") at line 4: drives ')
    assert "above the cycler's maximum of 0.01 A" in problem


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ("Discharge at 40 mW until 2.5 V", "drives 0.016 A, above the cycler's maximum of 0.01 A"),  # 40 mW at 2.5 V
        ("Discharge pulses at 20 mA for 1 min with 1 h rests until 2.5 V", "drives 0.02 A, above the cycler's"),
        ("Charge at 1 mA until 250 %", "ends after 2.5 times the nominal capacity (5 mAh): the cell cannot hold"),
        ("Charge at 1 mA until 11 mAh", "ends after 2.2 times the nominal capacity"),
        ("Charge at 1 mA until pressure > 50 MPa or for 1 h", "the end at 50 MPa is not below the bench's maximum"),
    ],
)
def test_steps_the_bench_cannot_run_or_that_can_never_end_are_refused(step: str, problem: str) -> None:
    [found] = refusal(protocol_of(step), max_current=10e-3)
    assert found.startswith(f'p.toml, block 1, step 1 ("{step}") at line 4: ')
    assert problem in found


def test_a_ramp_above_the_bench_maximum_is_refused() -> None:
    step = "Ramp pressure to 45 MPa at 1 MPa/min"
    [found] = refusal(protocol_of(step, window='pressure_window = ["5 MPa", "45 MPa"]\n'), max_pressure=40e6)[1:]
    assert found == f'p.toml, block 1, step 1 ("{step}") at line 5: 45 MPa is above the bench\'s maximum of 40 MPa'


def test_shares_of_the_nominal_capacity_need_a_capacity() -> None:
    [found] = refusal(protocol_of("Charge at 1 mA until 50 %"), capacity=0.0)
    assert "uses a C-rate or a share of the capacity, but the bench's nominal capacity is not set" in found


def test_a_release_below_the_pressure_window_is_refused() -> None:
    window = 'pressure_window = ["10 MPa", "50 MPa"]\n'
    protocol = protocol_of("Hold pressure at 20 MPa", "Release pressure", window=window)
    check_against_bench(protocol, **BENCH, safe_preload=10e6)
    [found] = refusal(protocol, safe_preload=5e6)
    assert "releases to the bench's safe preload of 5 MPa, outside the pressure window 10 MPa to 50 MPa" in found


def test_a_wait_needs_a_pressure_held_before_it() -> None:
    text = '[limits]\nvoltage = ["2.5 V", "4.3 V"]\n[[block]]\nsteps = ["Wait until pressure is stable within ' \
           '0.1 MPa for 1 min or for 1 h"]\n'
    with pytest.raises(ProtocolError, match="no pressure is held yet"):
        parse_protocol_text(text, "p.toml")
