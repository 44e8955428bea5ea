"""The step language: every form it reads, and every way a step is refused."""

from __future__ import annotations

import pytest

from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.parse import parse_step
from stackpress.protocols.steps import Current, CurrentStep, End, PressureStep, RestStep, VoltageStep

WHERE = "t.toml, block 2, step 3"


@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        ("Charge at C/3 until 4.2 V", CurrentStep,
         {"current": Current(1 / 3, "C"), "direction": 1, "ends": (End("voltage_above", 4.2),)}),
        ("Discharge at 1 A for 2 hours or until 2.5 V", CurrentStep,
         {"current": Current(1.0, "A"), "direction": -1,
          "ends": (End("time", 7200.0), End("voltage_below", 2.5))}),
        ("Charge at 1C until 4.2V", CurrentStep,
         {"current": Current(1.0, "C"), "direction": 1, "ends": (End("voltage_above", 4.2),)}),
        ("Charge at 2 C for 30 minutes", CurrentStep,
         {"current": Current(2.0, "C"), "direction": 1, "ends": (End("time", 1800.0),)}),
        ("Discharge at 0.5C for 30 min", CurrentStep,
         {"current": Current(0.5, "C"), "direction": -1, "ends": (End("time", 1800.0),)}),
        ("Charge at 1 mA for 1 h", CurrentStep,
         {"current": Current(0.001, "A"), "direction": 1, "ends": (End("time", 3600.0),)}),
        ("Charge at 500 uA until 4.2 V", CurrentStep,
         {"current": Current(0.0005, "A"), "direction": 1, "ends": (End("voltage_above", 4.2),)}),
        ("Discharge at 1 µA for 10 s", CurrentStep,
         {"current": Current(1e-6, "A"), "direction": -1, "ends": (End("time", 10.0),)}),
        ("Charge at 1 mA/cm2 until 4.2 V", CurrentStep,
         {"current": Current(10.0, "A/m2"), "direction": 1, "ends": (End("voltage_above", 4.2),)}),
        ("Discharge at C/10 for 10 hours or until 3.3 V", CurrentStep,
         {"current": Current(0.1, "C"), "direction": -1,
          "ends": (End("time", 36000.0), End("voltage_below", 3.3))}),
        ("Hold at 4.2 V until C/50", VoltageStep,
         {"voltage": 4.2, "ends": (End("current_below", Current(0.02, "C")),)}),
        ("Hold at 4.2V until 50mA", VoltageStep,
         {"voltage": 4.2, "ends": (End("current_below", Current(0.05, "A")),)}),
        ("Hold at 4.2 volts for 1 hour", VoltageStep, {"voltage": 4.2, "ends": (End("time", 3600.0),)}),
        ("Hold at 4.2 V for 2 hours or until 0.1 mA/cm2", VoltageStep,
         {"voltage": 4.2, "ends": (End("time", 7200.0), End("current_below", Current(1.0, "A/m2")))}),
        ("Rest for 10 minutes", RestStep, {"ends": (End("time", 600.0),)}),
        ("Rest for 3 seconds", RestStep, {"ends": (End("time", 3.0),)}),
        ("Rest for 2 h", RestStep, {"ends": (End("time", 7200.0),)}),
        ("Hold pressure at 10 MPa", PressureStep, {"setpoint": 1e7}),
        ("Hold pressure at 100 bar", PressureStep, {"setpoint": 1e7}),
        ("Hold pressure at 10000 kPa", PressureStep, {"setpoint": 1e7}),
        # keywords and the C of a C-rate in any case, any spacing
        ("  charge AT c/3   UNTIL 4.2 V ", CurrentStep,
         {"current": Current(1 / 3, "C"), "direction": 1, "ends": (End("voltage_above", 4.2),)}),
        ("HOLD Pressure at 12 MPa", PressureStep, {"setpoint": 1.2e7}),
    ],
)
def test_reads_every_step_form_in_si(text: str, kind: type, fields: dict) -> None:
    assert parse_step(text, WHERE) == kind(text=text, where=WHERE, **fields)


def refusal(text: str) -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        parse_step(text, WHERE)
    return caught.value.problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # grammar
        ("Charge at C/3 untill 4.2 V", 'cannot read this step; expected e.g. "Charge at C/3 until 4.2 V"'),
        ("Charge at 1 A for 2 hours until 4.2 V", 'cannot read this step; expected e.g. "Charge at C/3'),
        ("Rest at 1 A for 1 hour", 'cannot read this step; expected e.g. "Rest for 10 minutes"'),
        ("Hold pressure 10 MPa", 'cannot read this step; expected e.g. "Hold pressure at 10 MPa"'),
        ("Chrage at C/3 until 4.2 V", "unknown step 'Chrage' (did you mean 'Charge'?)"),
        ("Jump for 10 minutes", "unknown step 'Jump'; a step starts with Charge, Discharge, Hold"),
        ("   ", "the step is empty"),
        # unit typos: units are case-sensitive, with a hint
        ("Hold pressure at 10 Mpa", "unknown unit 'Mpa' in '10 Mpa' (units are case-sensitive: did you mean 'MPa'?)"),
        ("Hold pressure at 10 MPx", "pressure: unknown unit 'MPx' in '10 MPx'"),
        ("Hold at 4.2 v until C/20", "unknown unit 'v' in '4.2 v' (units are case-sensitive: did you mean 'V'?)"),
        ("Charge at 1 ma until 4.2 V", "current: '1 ma' is not a current, a C-rate or a current density"),
        ("Charge at 1 for 1 h", "current: '1' is not a current"),
        # wrong dimension
        ("Hold pressure at 10 V", "pressure: '10 V' is not a pressure"),
        ("Charge at 4.2 V until 4.2 V", "current: '4.2 V' is not a current"),
        ("Rest for 10 MPa", "duration: '10 MPa' is not a time"),
        ("Hold at 4.2 V until 4.1 V", "cut-off current: '4.1 V' is not a current"),
        ("Discharge at C/3 until 2 hours", "cut-off voltage: '2 hours' is not a voltage"),
        # zero and negative magnitudes
        ("Charge at -1 A until 4.2 V", "current: '-1 A' must be more than zero"),
        ("Discharge at 0 mA until 2.5 V", "current: '0 mA' must be more than zero"),
        ("Charge at C/0 until 4.2 V", "current: 'C/0' must be more than zero"),
        ("Rest for 0 minutes", "duration: '0 minutes' must be more than zero"),
        ("Rest for -5 minutes", "duration: '-5 minutes' must be more than zero"),
        ("Hold at 4.2 V until 0 mA", "cut-off current: '0 mA' must be more than zero"),
        ("Hold pressure at 0 MPa", "pressure: '0 MPa' must be more than zero"),
        # steps that would run forever, or ends a step cannot have
        ("Charge at C/3", "a charge needs an end, e.g. 'until 4.2 V' or 'for 2 hours'; without one it would run"),
        ("Discharge at 1 A", "a discharge needs an end"),
        ("Hold at 4.2 V", "a voltage hold needs an end"),
        ("Rest", "a rest needs a duration"),
        ("Rest until 3 V", "'until 3 V': a rest can only end after a duration"),
        ("Charge at C/3 until C/20", "'until C/20': the current of a charge is constant, so it cannot end on"),
        ("Hold pressure at 10 MPa for 1 hour", "'for 1 hour': a pressure step takes no end condition"),
    ],
)
def test_refuses_a_malformed_step_naming_where_what_and_why(text: str, problem: str) -> None:
    [message] = refusal(text)
    assert message.startswith(f'{WHERE} ("{text}"): ')
    assert problem in message


def test_one_step_reports_all_its_problems_at_once() -> None:
    text = "Charge at -1 A for 0 s or until 4.2 Vx"
    problems = refusal(text)
    assert [problem.split(": ", 1)[1] for problem in problems] == [
        "current: '-1 A' must be more than zero",
        "duration: '0 s' must be more than zero",
        "cut-off voltage: unknown unit 'Vx' in '4.2 Vx'",
    ]
    assert all(problem.startswith(f'{WHERE} ("{text}")') for problem in problems)


def test_protocol_error_is_a_value_error_with_one_line_per_problem() -> None:
    with pytest.raises(ValueError, match="must be more than zero") as caught:
        parse_step("Discharge at 0 A for 0 s", WHERE)
    assert str(caught.value).splitlines() == caught.value.problems
    assert len(caught.value.problems) == 2
