"""The step language: every form it reads, and every way a step is refused."""

from __future__ import annotations

import pytest

from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.parse import parse_step
from stackpress.protocols.steps import (
    Charge,
    Current,
    CurrentStep,
    End,
    Power,
    PowerStep,
    PressureStep,
    PulseStep,
    RampStep,
    Recording,
    ReleaseStep,
    RestStep,
    VoltageStep,
    WaitStep,
)

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
        ("Discharge at 0 mW/cm2 until 2.5 V", "power: '0 mW/cm2' must be more than zero"),
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


@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        ("Charge at C/3 until 4.2 V and hold until C/20", CurrentStep,
         {"current": Current(1 / 3, "C"), "direction": 1, "ends": (End("voltage_above", 4.2),),
          "hold": (End("current_below", Current(0.05, "C")),)}),
        ("Discharge at 1 mA for 3 h or until 2.5 V and hold until 50 uA or for 1 h", CurrentStep,
         {"current": Current(1e-3, "A"), "direction": -1, "ends": (End("time", 10800.0), End("voltage_below", 2.5)),
          "hold": (End("current_below", Current(pytest.approx(5e-5), "A")), End("time", 3600.0))}),
        ("Discharge at 2 mW until 2.5 V", PowerStep,
         {"power": Power(2e-3, "W"), "direction": -1, "ends": (End("voltage_below", 2.5),)}),
        ("Charge at 1 mW/cm2 for 1 h", PowerStep,
         {"power": Power(10.0, "W/m2"), "direction": 1, "ends": (End("time", 3600.0),)}),
        ("Rest until dV/dt < 1 mV/h or for 4 hours", RestStep,
         {"ends": (End("dvdt_below", pytest.approx(1e-3 / 3600)), End("time", 14400.0))}),
        ("Discharge pulses at C/20 for 10 minutes with 1 hour rests until 2.5 V", PulseStep,
         {"current": Current(0.05, "C"), "direction": -1, "pulse": 600.0, "relax": 3600.0, "limit": 2.5}),
        ("Ramp pressure to 30 MPa at 5 MPa/min", RampStep, {"setpoint": 30e6, "rate": pytest.approx(5e6 / 60)}),
        ("Wait until pressure is stable within 0.1 MPa for 5 minutes or for 1 hour", WaitStep,
         {"band": 0.1e6, "duration": 300.0, "timeout": 3600.0}),
        ("Release pressure", ReleaseStep, {}),
        ("Charge at C/10 until 2 mAh", CurrentStep,
         {"current": Current(0.1, "C"), "direction": 1, "ends": (End("capacity", Charge(7.2, "C")),)}),
        ("Charge at C/10 until 80 %", CurrentStep,
         {"current": Current(0.1, "C"), "direction": 1, "ends": (End("capacity", Charge(0.8, "nominal")),)}),
        ("Hold at 4.2 V until 1 mAh/cm2", VoltageStep,
         {"voltage": 4.2, "ends": (End("capacity", Charge(36000.0, "C/m2")),)}),
        ("Charge at 1 mA until pressure > 12 MPa or for 2 h", CurrentStep,
         {"current": Current(1e-3, "A"), "direction": 1, "ends": (End("pressure_above", 12e6), End("time", 7200.0))}),
        ("Discharge at 1 mA until thickness < 12 um or until voltage < 3 V", CurrentStep,
         {"current": Current(1e-3, "A"), "direction": -1,
          "ends": (End("thickness_below", pytest.approx(12e-6)), End("voltage_below", 3.0))}),
        ("Rest for 1 h; record every 1 s or 1 mV", RestStep,
         {"ends": (End("time", 3600.0),), "record": Recording(1.0, 1e-3, 0.0)}),
    ],
)
def test_reads_the_newer_steps_and_end_conditions_in_si(text: str, kind: type, fields: dict) -> None:
    assert parse_step(text, WHERE) == kind(text=text, where=WHERE, **fields)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Charge at C/3 for 2 h and hold until C/20", "'and hold' holds the cut-off voltage: give one"),
        ("Discharge at 2 mW until 2.5 V and hold until 1 uA", "'and hold' follows a constant current"),
        ("Rest until dV/dt < 1 mV/h", "it ends only on what the bench does"),
        ("Charge at 1 mA until pressure > 12 MPa", "add a time limit, e.g. 'or for 4 hours'"),
        ("Charge at 1 mA until 12 MPa or for 1 h", "say which way the pressure goes, e.g. 'until pressure > 12 MPa'"),
        ("Rest until dV/dt > 1 mV/h or for 1 h", "a relaxation ends when dV/dt falls below a threshold"),
        ("Rest until dV/dt < 1 mV or for 1 h", "dV/dt threshold: '1 mV' is not a"),
        ("Charge at 1 mA until capacity < 1 mAh", "the capacity of a step only grows"),
        ("Charge at C/10 until 2 mAh/g", "is not a"),
        ("Wait until pressure is stable within 0.1 MPa for 5 minutes", "a wait needs a time limit"),
        ("Wait until pressure is stable within 0.1 MPa for 1 hour or for 5 minutes", "the time limit (300 s) is "
         "shorter than the stable time (3600 s)"),
        ("Ramp pressure to 30 MPa at 5 MPa", "ramp rate: '5 MPa' is not a"),
        ("Ramp pressure to 30 MPa", 'cannot read this step; expected e.g. "Ramp pressure to 30 MPa at 5 MPa/min"'),
        ("Discharge pulses at C/20 for 10 minutes with 1 hour rests until 2 h", "voltage limit: '2 h' is not a"),
        ("Rest for 1 h; record every 5 MPa/s", "recording: '5 MPa/s' is not a time, a voltage or a pressure"),
        ("Rest for 1 h; sample every 5 s", "cannot read the recording 'sample every 5 s'"),
    ],
)
def test_refuses_a_malformed_newer_step_naming_where_what_and_why(text: str, problem: str) -> None:
    messages = refusal(text)
    assert all(message.startswith(f'{WHERE} ("{text}"): ') for message in messages)
    assert any(problem in message for message in messages), messages
