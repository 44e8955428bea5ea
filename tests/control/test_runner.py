import pytest

from stackpress.protocols.commands import ApplyCurrent, ApplyVoltage, HoldPressure, Rest
from stackpress.protocols.runner import Runner
from stackpress.sample import Sample
from tests.control.protocols import charge, discharge, hold, pressure, protocol, rest

CAPACITY = 3600 * 2.4e-3  # 2.4 mAh in C
AREA = 0.785e-4


def at(t, voltage=3.7, current=0.0):
    return Sample(t, voltage, current, 0.0, 25.0, 785.0, 10e6, 10e6, 1e-3, 1e-5, 785.0, 0, 0, "running")


def make(proto):
    events = []
    return Runner(proto, capacity=CAPACITY, area=AREA, current_limit=5e-3, on_event=events.append), events


def test_pressure_steps_are_instant_and_the_first_timed_step_starts_with_them():
    runner, events = make(protocol((1, [pressure(10), rest(600)])))
    assert runner.start(0.0) == [HoldPressure(10e6), Rest()]
    assert runner.step_count == 2
    assert [e.message for e in events if e.kind == "step"] == ["Hold pressure at 10 MPa", "Rest for 600 s"]


def test_c_rates_become_amps_and_cut_offs_become_compliance_limits():
    runner, _ = make(protocol((1, [charge(1 / 3, 4.2), hold(4.2, 0.05), discharge(1 / 3, 2.5)])))
    (command,) = runner.start(0.0)
    assert command == ApplyCurrent(pytest.approx(CAPACITY / 3 / 3600), 4.2)
    assert runner.update(at(10.0, voltage=4.1)) == []
    assert runner.update(at(20.0, voltage=4.1995)) == [ApplyVoltage(4.2, 5e-3)]  # within 1 mV of the cut-off
    c20 = CAPACITY / 20 / 3600
    assert runner.update(at(30.0, voltage=4.2, current=c20 * 1.01)) == []
    (command,) = runner.update(at(40.0, voltage=4.2, current=c20 * 0.99))
    assert command == ApplyCurrent(pytest.approx(-CAPACITY / 3 / 3600), 2.5)


def test_a_step_ends_on_its_own_elapsed_time_not_the_run_time():
    runner, _ = make(protocol((1, [rest(100), rest(50)])))
    runner.start(1000.0)
    assert runner.update(at(1099.0)) == []
    assert runner.update(at(1100.0)) == [Rest()]
    assert runner.update(at(1149.0)) == []
    assert runner.update(at(1150.0)) == [Rest()]
    assert runner.finished


def run_through(runner, voltages):
    runner.start(0.0)
    cycles = []
    for i, v in enumerate(voltages, start=1):
        runner.update(at(float(i), voltage=v, current=0.0))
        cycles.append(runner.cycle_count)
    return cycles


def test_cycles_count_from_one_and_advance_when_the_first_direction_returns():
    runner, _ = make(protocol((1, [pressure(10), rest(1)]), (3, [charge(1, 4.2), discharge(1, 2.5)])))
    # rest ends at t=1, then each step ends on the next sample (voltage always at its cut-off)
    run_through(runner, [3.7, 4.2, 2.5, 4.2, 2.5, 4.2, 2.5])
    assert runner.finished
    assert runner.cycle_count == 3
    assert runner.step_count == 2 + 6


def test_a_half_cell_that_starts_with_a_discharge_counts_discharge_then_charge_as_one_cycle():
    runner, _ = make(protocol((2, [discharge(1, 0.01), charge(1, 1.0)]), v_min=0.0, v_max=1.5))
    cycles = run_through(runner, [0.01, 1.0, 0.01, 1.0])
    assert cycles == [1, 2, 2, 2]


def test_a_pause_stops_the_steps_clock_and_resume_puts_its_command_back():
    runner, events = make(protocol((1, [pressure(10), rest(100), charge(1, 4.2), rest(50)])))
    runner.start(0.0)
    assert runner.update(at(100.0)) == [ApplyCurrent(pytest.approx(CAPACITY / 3600), 4.2)]
    runner.pause(130.0)
    assert runner.paused
    assert runner.update(at(500.0, voltage=4.2)) == []  # paused: not even a cut-off ends the step
    assert runner.resume(530.0) == [ApplyCurrent(pytest.approx(CAPACITY / 3600), 4.2)]
    assert not runner.paused and runner.paused_time == 400.0
    assert runner.update(at(531.0, voltage=4.2)) == [Rest()]
    # the rest's 50 s are its own, whatever came before
    runner.pause(560.0)
    runner.pause(570.0)  # a second pause before the resume keeps the first time
    assert runner.resume(600.0) == [Rest()]
    assert runner.update(at(620.0)) == []
    assert runner.update(at(621.0)) == [Rest()] and runner.finished  # 531 + 50 + the 40 s pause
    assert (runner.step_count, runner.cycle_count) == (4, 1)
    assert [e.t for e in events if e.kind == "step"] == [0.0, 0.0, 100.0, 531.0]  # no step event from a pause


def test_a_timed_step_excludes_the_pause_from_its_elapsed_time():
    runner, _ = make(protocol((1, [rest(100), rest(10)])))
    runner.start(0.0)
    runner.pause(40.0)
    runner.resume(1040.0)
    assert runner.update(at(1099.0)) == []
    assert runner.update(at(1100.0)) == [Rest()]


def test_resume_without_a_pause_or_after_the_end_gives_nothing():
    runner, _ = make(protocol((1, [rest(10)])))
    runner.start(0.0)
    assert runner.resume(5.0) == []
    runner.update(at(10.0))
    assert runner.finished
    runner.pause(11.0)
    assert not runner.paused and runner.resume(12.0) == []


def test_the_runner_remembers_the_pressure_setpoint_in_force():
    runner, _ = make(protocol((1, [rest(10), pressure(10), rest(10), pressure(20), rest(10)])))
    runner.start(0.0)
    assert runner.pressure_setpoint is None
    runner.update(at(10.0))
    assert runner.pressure_setpoint == 10e6
    runner.update(at(20.0))
    assert runner.pressure_setpoint == 20e6
