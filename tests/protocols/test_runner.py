import dataclasses
import json
import math

import pytest

from stackpress.protocols.commands import ApplyCurrent, ApplyVoltage, HoldPressure, ReleasePressure, Rest
from stackpress.protocols.runner import DVDT_WINDOW, Runner
from stackpress.sample import Sample
from tests.control.protocols import ToyCell, charge, discharge, drive, from_text, hold, pressure, protocol, rest

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


# --- the newer steps, driven against a toy cell in virtual time ----------------------------------------------------


def steps_of(events, kind="step"):
    return [e.message for e in events if e.kind == kind]


def test_cccv_holds_the_cut_off_in_the_same_step_until_the_current_tapers():
    runner, events = make(from_text('steps = ["Charge at C/3 until 4.2 V and hold until C/20", "Rest for 1 min"]'))
    cell = ToyCell(CAPACITY)
    samples = drive(runner, cell)
    cv_start = next(e.t for e in events if e.kind == "phase")
    cc = [s for s in samples if s.t <= cv_start]
    cv = [s for s in samples if cv_start < s.t and s.step == 1]
    c3, c20 = CAPACITY / 3 / 3600, CAPACITY / 20 / 3600
    assert all(s.current == pytest.approx(c3) for s in cc[:-1])  # constant current up to the cut-off
    assert cc[-1].voltage == pytest.approx(4.2, abs=1e-3)
    assert all(s.voltage == pytest.approx(4.2, abs=1e-6) and s.current <= c3 for s in cv)  # then the hold
    assert c20 * 0.9 < cv[-1].current <= c20 * 1.0001
    assert steps_of(events) == ["Charge at C/3 until 4.2 V and hold until C/20", "Rest for 1 min"]
    assert runner.step_count == 2


def test_a_capacity_end_ends_a_cccv_step_even_during_its_constant_current():
    runner, _ = make(from_text('steps = ["Charge at C/3 until 1 mAh or until 4.2 V and hold until C/20"]'))
    samples = drive(runner, ToyCell(CAPACITY))
    assert samples[-1].charge == pytest.approx(3.6, abs=CAPACITY / 3 / 3600 * 10)  # 1 mAh, within one tick


def test_constant_power_sets_the_current_to_power_over_voltage_as_the_voltage_moves():
    runner, _ = make(from_text('steps = ["Discharge at 1 mW/cm2 until 3.0 V"]'))
    cell = ToyCell(CAPACITY)
    cell.q = CAPACITY  # full
    samples = drive(runner, cell)
    watts = 10.0 * AREA  # 1 mW/cm2
    powers = [-s.current * s.voltage for s in samples[1:-1]]
    assert all(p == pytest.approx(watts, rel=0.02) for p in powers)
    assert samples[-1].voltage <= 3.0 + 1e-3
    assert -samples[-2].current > -samples[1].current  # the current grew as the voltage fell


def test_a_rest_ends_when_the_voltage_has_relaxed_below_a_dv_dt():
    text = 'steps = ["Charge at C/3 for 1 hour", "Rest until dV/dt < 1 mV/h or for 10 hours"]'
    runner, events = make(from_text(text))
    cell = ToyCell(CAPACITY)
    samples = drive(runner, cell)
    rest_start = [e.t for e in events if e.kind == "step"][1]
    rested = samples[-1].t - rest_start
    assert DVDT_WINDOW <= rested < 10 * 3600  # not before one window, well before the time limit
    window = [s for s in samples if s.t >= samples[-1].t - DVDT_WINDOW]
    slope = (window[-1].voltage - window[0].voltage) / (window[-1].t - window[0].t)
    assert abs(slope) < 1e-3 / 3600
    early = [s for s in samples if rest_start < s.t <= rest_start + DVDT_WINDOW]
    assert abs(early[-1].voltage - early[0].voltage) / DVDT_WINDOW > 1e-3 / 3600  # it was relaxing faster before


def test_gitt_pulses_and_relaxes_until_a_pulse_reaches_the_voltage_limit():
    text = 'steps = ["Discharge pulses at C/5 for 30 minutes with 1 hour rests until 3.2 V"]'
    runner, events = make(from_text(text))
    cell = ToyCell(CAPACITY)
    cell.q = CAPACITY
    samples = drive(runner, cell)
    phases = steps_of(events, "phase")
    pulses = 1 + sum(message.endswith(": pulse") for message in phases)
    assert phases[-1].endswith(": relax")  # the last pulse is followed by its relaxation
    # ~1/6 of the capacity per 0.1 C... each pulse passes C/10: from 4.2 V to 3.2 V is 5/6 of it, so 8 or 9 pulses
    assert 8 <= pulses <= 9
    assert min(s.voltage for s in samples) >= 3.2 - 1e-3
    assert samples[-1].current == 0.0 and runner.step_count == 1


def test_a_pressure_ramp_holds_the_new_setpoint_at_its_rate_and_lasts_as_long_as_the_ramp():
    runner, _ = make(from_text('steps = ["Hold pressure at 10 MPa", "Ramp pressure to 20 MPa at 2 MPa/min"]'))
    assert runner.start(0.0) == [HoldPressure(10e6), HoldPressure(20e6, 2e6 / 60), Rest()]
    assert runner.update(tick(299.0)) == []
    assert runner.update(tick(300.0)) == [Rest()] and runner.finished  # 10 MPa at 2 MPa/min: 5 minutes
    assert runner.pressure_setpoint == 20e6


def test_waiting_for_a_stable_pressure_restarts_its_clock_whenever_the_pressure_leaves_the_band():
    text = 'steps = ["Hold pressure at 10 MPa", "Wait until pressure is stable within 0.1 MPa for 60 s or for 1 hour"]'
    runner, events = make(from_text(text))
    assert runner.start(0.0) == [HoldPressure(10e6), Rest()]
    for t, p in [(10, 9.95e6), (40, 10.05e6), (50, 10.2e6), (60, 10.0e6), (110, 10.0e6)]:
        assert runner.update(tick(t, pressure=p)) == []
    assert runner.update(tick(120, pressure=10.09e6)) == [Rest()]  # 60 s in the band since t = 60
    assert not [e for e in events if e.kind == "warning"]


def test_a_wait_that_never_settles_gives_up_at_its_time_limit_with_a_warning():
    text = 'steps = ["Hold pressure at 10 MPa", "Wait until pressure is stable within 0.1 MPa for 60 s or for 1 hour"]'
    runner, events = make(from_text(text))
    runner.start(0.0)
    assert runner.update(tick(3599.0, pressure=12e6)) == []
    assert runner.update(tick(3600.0, pressure=12e6)) == [Rest()] and runner.finished
    [warning] = [e for e in events if e.kind == "warning"]
    assert "did not stay within 0.1 MPa of 10 MPa" in warning.message


def test_release_brings_the_pressure_to_the_safe_preload_at_once():
    runner, _ = make(from_text('steps = ["Hold pressure at 20 MPa", "Release pressure", "Rest for 1 min"]'))
    assert runner.start(0.0) == [HoldPressure(20e6), ReleasePressure(), Rest()]
    assert runner.step_count == 3 and runner.pressure_setpoint is None


def tick(t, voltage=3.7, current=0.0, charge=0.0, pressure=10e6, thickness=10e-6):
    return Sample(t, voltage, current, charge, 25.0, pressure * AREA, pressure, 10e6, 1e-3, thickness, 0.0, 0, 0,
                  "running")


@pytest.mark.parametrize(
    ("end", "before", "after"),
    [
        ("for 100 s", {"t": 99.0}, {"t": 100.0}),
        ("until 4.2 V", {"voltage": 4.19}, {"voltage": 4.1995}),
        ("until 1 mAh", {"charge": 3.5}, {"charge": 3.6}),
        ("until 0.1 mAh/cm2", {"charge": 0.28}, {"charge": 0.2826}),  # 0.1 mAh/cm2 x 0.785 cm2 = 0.2826 C
        ("until 50 %", {"charge": CAPACITY / 2 - 0.01}, {"charge": CAPACITY / 2}),
        ("until pressure > 12 MPa", {"pressure": 11.9e6}, {"pressure": 12e6}),
        ("until pressure < 8 MPa", {"pressure": 8.1e6}, {"pressure": 8e6}),
        ("until thickness > 15 um", {"thickness": 14.9e-6}, {"thickness": 15.1e-6}),
        ("until thickness < 12 um", {"thickness": 12.1e-6}, {"thickness": 11.9e-6}),
        ("until voltage > 4 V", {"voltage": 3.9}, {"voltage": 4.0}),
    ],
)
def test_each_end_condition_ends_a_step_when_met_and_not_before(end, before, after):
    text = f'steps = ["Charge at 1 mA {end}{" or for 1 day" if "pressure" in end or "thickness" in end else ""}"]'
    fields = {"t": 50.0, "current": 1e-3}
    runner, _ = make(from_text(text))
    runner.start(0.0)
    assert runner.update(tick(**{**fields, **before})) == []
    assert runner.update(tick(**{**fields, **after})) == [Rest()]


def test_end_conditions_combine_with_or_whichever_comes_first():
    for sample, ended in [(tick(10.0, voltage=4.2), True), (tick(3600.0), True), (tick(10.0, charge=7.2), True),
                          (tick(10.0), False)]:
        runner, _ = make(from_text('steps = ["Charge at 1 mA for 1 hour or until 4.2 V or until 2 mAh"]'))
        runner.start(0.0)
        assert runner.finished is False
        runner.update(sample)
        assert runner.finished is ended


# --- loops ----------------------------------------------------------------------------------------------------------


NESTED = """repeat = 2
[[block.block]]
steps = ["Charge at C/2 until 4.1 V", "Discharge at C/2 until 3.1 V"]
[[block.block]]
repeat = 3
steps = ["Charge at 1C for 10 minutes", "Discharge at 1C for 10 minutes"]"""


def test_nested_blocks_repeat_inside_each_other_and_cycles_count_as_bdf_does():
    runner, events = make(from_text('steps = ["Hold pressure at 10 MPa"]', NESTED, 'steps = ["Rest for 1 min"]'))
    samples = drive(runner, ToyCell(CAPACITY))
    texts = steps_of(events)
    assert len(texts) == 1 + 2 * (2 + 3 * 2) + 1
    assert texts[1:9] == ["Charge at C/2 until 4.1 V", "Discharge at C/2 until 3.1 V"] + [
        "Charge at 1C for 10 minutes", "Discharge at 1C for 10 minutes"] * 3
    # BDF: a new cycle each time a charge follows a discharge: 2 x (1 + 3) cycles
    assert runner.cycle_count == 8
    assert [e.data["cycle"] for e in events if e.kind == "step"][1:4] == [1, 1, 2]
    assert samples[-1].current == 0.0


def cycling(until: str, repeat: int = 50) -> str:
    return (f'repeat = {repeat}\nuntil = "{until}"\nsteps = ["Charge at C/2 until 4.1 V", '
            '"Discharge at C/2 until 3.1 V"]')


class FadingCell(ToyCell):
    """Loses 5 % of its capacity on every discharge."""

    def step(self, t, dt):
        before = self.q
        sample = super().step(t, dt)
        if self.q < before:
            self.capacity *= 1.0 - 0.05 * (before - self.q) / self.capacity * 1.2  # fade per discharged charge
            self.q = min(self.q, self.capacity)
        return sample


def test_a_block_stops_repeating_once_the_discharge_capacity_falls_below_80_percent_of_cycle_1():
    runner, events = make(from_text(cycling("discharge capacity < 80 % of cycle 1"), 'steps = ["Rest for 1 min"]'))
    drive(runner, FadingCell(CAPACITY))
    capacities = {cycle: totals[1] for cycle, totals in runner.cycle_capacities.items()}
    last = max(c for c in capacities if capacities[c] > 0)
    assert capacities[last] < 0.8 * capacities[1] <= capacities[last - 1]  # stopped on the first cycle below
    assert last < 50
    [stop] = [e for e in events if "stopped after" in e.message]
    assert f"stopped after {last} of 50 repetitions: discharge capacity < 80 % of cycle 1" in stop.message
    assert steps_of(events)[-1] == "Rest for 1 min"  # the protocol goes on after the block


def test_a_block_without_fade_runs_its_full_repeat_count():
    runner, _ = make(from_text(cycling("discharge capacity < 80 % of cycle 1", repeat=4)))
    drive(runner, ToyCell(CAPACITY))
    assert runner.cycle_count == 4 and len(runner.cycle_capacities) == 4


def test_the_runner_counts_charge_and_discharge_capacity_per_cycle_from_the_charge_counter():
    runner, _ = make(from_text(cycling("discharge capacity < 1 uAh", repeat=3)))
    samples = drive(runner, ToyCell(CAPACITY))
    for cycle, (charged, discharged) in runner.cycle_capacities.items():
        currents = [s.current for s in samples if s.cycle == cycle]
        assert charged == pytest.approx(sum(i * 10.0 for i in currents if i > 0), rel=1e-9)
        assert discharged == pytest.approx(-sum(i * 10.0 for i in currents if i < 0), rel=1e-9)
    assert len(runner.cycle_capacities) == 3


# --- recording ------------------------------------------------------------------------------------------------------


def recorded(runner, samples):
    return [s for s in samples if runner.should_record(s)]


def test_recording_keeps_every_interval_and_every_change_beyond_a_threshold():
    runner, _ = make(from_text('record = "every 60 s or 10 mV"\nsteps = ["Rest for 1 hour"]'))
    runner.start(0.0)
    samples = [tick(float(t), voltage=3.7 + (0.02 if t >= 95 else 0.0)) for t in range(0, 200, 5)]
    kept = recorded(runner, samples)
    assert [s.t for s in kept] == [0.0, 60.0, 95.0, 155.0]


def test_step_changes_and_the_sample_a_step_ended_on_are_always_recorded():
    runner, _ = make(from_text('record = "every 1 hour"\nsteps = ["Rest for 100 s", "Rest for 100 s"]'))
    runner.start(0.0)
    kept = []
    for t in range(10, 300, 10):
        sample = tick(float(t))
        sample = dataclasses.replace(sample, step=runner.step_count)
        runner.update(sample)
        if runner.should_record(sample):
            kept.append(sample.t)
    assert kept == [10.0, 100.0, 110.0, 200.0]  # first; the end of step 1; the start of step 2; the end


def test_a_step_records_as_its_own_setting_else_its_blocks_else_the_protocols():
    proto = from_text('record = "every 1 s"\nsteps = ["Rest for 1 h", "Rest for 1 h; record every 30 s"]',
                      'steps = ["Rest for 1 h"]', top='record = "every 5 min"')
    runner, _ = make(proto)
    runner.start(0.0)
    assert runner._recording.interval == 1.0
    runner.update(tick(3600.0))
    assert runner._recording.interval == 30.0
    runner.update(tick(7200.0))
    assert runner._recording.interval == 300.0


# --- crash resume ----------------------------------------------------------------------------------------------------


RESUMABLE = (
    'steps = ["Hold pressure at 10 MPa", "Rest for 10 minutes"]',
    'repeat = 3\nsteps = ["Charge at C/2 until 4.1 V and hold until C/20", "Rest until dV/dt < 5 mV/h or for 1 h", '
    '"Discharge at C/2 until 3.1 V", "Rest for 10 minutes"]',
)


@pytest.mark.parametrize("restarted", [True, False], ids=["counter restarted", "counter went on"])
@pytest.mark.parametrize("crash_at", [3000.0, 9000.0, 20000.0, 30010.0])
def test_a_runner_restored_mid_step_finishes_like_one_never_interrupted(crash_at, restarted):
    whole, whole_events = make(from_text(*RESUMABLE))
    drive(whole, ToyCell(CAPACITY))

    first, _ = make(from_text(*RESUMABLE))
    cell = ToyCell(CAPACITY)
    drive(first, cell, until=crash_at)
    saved = json.loads(json.dumps(first.position()))  # what goes to the run file
    if restarted:
        cell.counter = 0.0  # the new process's cycler counts charge from zero again
    events = []
    second, commands = Runner.restore(from_text(*RESUMABLE), saved, crash_at, capacity=CAPACITY, area=AREA,
                                      current_limit=5e-3, on_event=events.append)
    assert commands[0] == HoldPressure(10e6)
    cell.apply(commands)
    # the engine's first tick reads at the restore time, before any charge has passed: it gives the counter
    second.update(dataclasses.replace(cell.step(crash_at, 0.0), step=second.step_count, cycle=second.cycle_count))
    drive(second, cell, t0=crash_at, start=False)

    assert (second.step_count, second.cycle_count) == (whole.step_count, whole.cycle_count)
    for cycle, totals in whole.cycle_capacities.items():
        assert second.cycle_capacities[cycle] == pytest.approx(totals, rel=1e-6)
    after = [(e.t, e.message) for e in whole_events if e.kind == "step" and e.t > crash_at]
    assert [(e.t, e.message) for e in events if e.kind == "step"] == after
    [restored] = [e for e in events if e.message.startswith("restored at step")]
    assert restored.data["step"] == saved["step_count"]


def test_a_position_that_does_not_fit_the_protocol_is_refused():
    runner, _ = make(from_text(*RESUMABLE))
    drive(runner, ToyCell(CAPACITY), until=3000.0)
    saved = runner.position()
    with pytest.raises(ValueError, match="does not fit protocol"):
        Runner.restore(from_text('steps = ["Rest for 1 h"]'), saved, 3000.0, capacity=CAPACITY, area=AREA,
                       current_limit=5e-3, on_event=lambda e: None)


def test_the_position_holds_the_steps_elapsed_time_and_charge():
    runner, _ = make(from_text('steps = ["Rest for 100 s", "Charge at 1 mA for 1 hour"]'))
    runner.start(0.0)
    runner.update(tick(100.0, charge=5.0))
    runner.update(tick(400.0, charge=5.3))
    position = runner.position()
    assert (position["step_count"], position["elapsed"], position["step_charge"]) == (2, 300.0, pytest.approx(0.3))
    assert position["path"] == [[0, 0], [0, 1]]
    assert not math.isnan(position["t"])


def test_a_pause_in_the_hold_of_a_cccv_puts_the_hold_back_and_keeps_its_clock():
    runner, _ = make(from_text('steps = ["Charge at 1 mA until 4.2 V and hold until 0.1 mA or for 100 s"]'))
    runner.start(0.0)
    assert runner.update(tick(10.0, voltage=4.2, current=1e-3)) == [ApplyVoltage(4.2, pytest.approx(1e-3))]
    runner.pause(50.0)
    assert runner.resume(1050.0) == [ApplyVoltage(4.2, pytest.approx(1e-3))]  # the hold, not the constant current
    assert runner.update(tick(1109.0, voltage=4.2, current=0.5e-3)) == []
    assert runner.update(tick(1110.0, voltage=4.2, current=0.5e-3)) == [Rest()]  # 100 s of hold, pause excluded


def test_a_pause_in_a_gitt_relaxation_resumes_resting_and_excludes_the_pause():
    runner, _ = make(from_text('steps = ["Discharge pulses at 1 mA for 60 s with 120 s rests until 3.0 V"]'))
    runner.start(0.0)
    assert runner.update(tick(60.0, voltage=3.5, current=-1e-3)) == [Rest()]
    runner.pause(100.0)
    assert runner.resume(500.0) == [Rest()]
    assert runner.update(tick(579.0)) == []
    assert runner.update(tick(580.0)) == [ApplyCurrent(pytest.approx(-1e-3), 3.0)]  # the next pulse


def test_due_is_a_timed_steps_end_and_a_sample_then_ends_it_whatever_the_rounding():
    start, seconds = 3811.4, 3.104
    assert (start + seconds) - start < seconds  # this step's end time rounds to just short of its duration
    runner, _ = make(from_text(f'steps = ["Rest for {seconds} s", "Rest for 10 s"]'))
    runner.start(start)
    runner.update(at(start + 1.0))
    assert runner.due() == start + seconds
    assert runner.update(at(runner.due())) == [Rest()]
    assert runner.step_count == 2 and runner.due() == start + seconds + 10.0


def test_due_is_halfway_to_where_the_last_two_samples_of_the_step_extrapolate_a_measured_end():
    runner, _ = make(protocol((1, [rest(100), charge(1, 4.2), hold(4.2, 0.05)])))
    runner.start(0.0)
    runner.update(at(100.0, voltage=3.5))  # the rest ends: this sample was read before the charge began
    runner.update(at(110.0, voltage=4.0, current=2.4e-3))
    assert runner.due() == math.inf  # one sample of the charge: nothing to extrapolate from
    runner.update(at(120.0, voltage=4.1, current=2.4e-3))
    crossing = 120.0 + (4.199 - 4.1) / 0.01  # the cut-off less the 1 mV that counts as reaching it
    assert runner.due() == pytest.approx(120.0 + 0.5 * (crossing - 120.0))
    runner.update(at(130.0, voltage=4.2, current=2.4e-3))  # reached: the hold begins
    runner.update(at(140.0, voltage=4.2, current=1.2e-3))
    runner.update(at(150.0, voltage=4.2, current=0.8e-3))
    c20 = CAPACITY / 20 / 3600  # the hold ends below C/20: the current falls 0.4 mA per 10 s
    assert runner.due() == pytest.approx(150.0 + 0.5 * (0.8e-3 - c20) / 0.4e-4)


@pytest.mark.parametrize(
    "second",
    [at(120.0, voltage=3.9, current=2.4e-3), at(120.0, voltage=math.nan, current=2.4e-3)],
    ids=["moving away from the end", "a missing reading"],
)
def test_due_is_whenever_when_nothing_can_be_extrapolated(second):
    runner, _ = make(protocol((1, [charge(1, 4.2)])))
    runner.start(0.0)
    runner.update(at(110.0, voltage=4.0, current=2.4e-3))
    runner.update(second)
    assert runner.due() == math.inf


def test_due_is_whenever_while_paused():
    runner, _ = make(protocol((1, [rest(100)])))
    runner.start(0.0)
    runner.update(at(5.0))
    assert runner.due() == 100.0
    runner.pause(10.0)
    assert runner.due() == math.inf
    runner.resume(30.0)
    assert runner.due() == 120.0  # the pause moved the rest's end on


def test_due_extrapolates_a_capacity_end_from_the_charge_counter():
    runner, _ = make(from_text('steps = ["Charge at 1C until 1 mAh"]'))
    runner.start(0.0)
    amps = CAPACITY / 3600
    for t in (10.0, 20.0):
        runner.update(dataclasses.replace(at(t, voltage=3.7, current=amps), charge=amps * t))
    crossing = 3.6 / amps  # 1 mAh at 1C (2.4 mA)
    assert runner.due() == pytest.approx(20.0 + 0.5 * (crossing - 20.0))


START = 3811.4  # s: a step begun then and lasting 3.104 s ends at a time 3.104 s on only by rounding short


@pytest.mark.parametrize(
    ("steps", "pressure"),
    [
        (["Hold pressure at 10 MPa", "Ramp pressure to 13.104 MPa at 1 MPa/s"], 10e6),
        (["Hold pressure at 10 MPa", "Wait until pressure is stable within 0.1 MPa for 3.104 s or for 1 hour"], 10e6),
        (["Hold pressure at 10 MPa", "Wait until pressure is stable within 0.1 MPa for 1 s or for 3.104 s"], 12e6),
    ],
    ids=["a ramp", "a wait for a stable pressure", "a wait's time limit"],
)
def test_due_is_the_end_of_a_pressure_step_and_a_sample_then_ends_it_whatever_the_rounding(steps, pressure):
    assert (START + 3.104) - START < 3.104
    runner, _ = make(from_text(f"steps = {json.dumps(['Rest for 3811.4 s', *steps])}"))
    runner.start(0.0)
    runner.update(tick(START, pressure=pressure))  # the rest ends, the pressure step begins
    runner.update(tick(START, pressure=pressure))
    assert runner.due() == START + 3.104
    assert runner.update(tick(runner.due(), pressure=pressure)) == [Rest()] and runner.finished


def test_due_is_a_ramps_end_from_the_tick_it_begins_on_when_the_setpoint_before_it_is_known():
    runner, _ = make(from_text('steps = ["Hold pressure at 10 MPa", "Rest for 100 s", "Ramp pressure to 11 MPa at '
                               '1 MPa/min"]'))
    runner.start(0.0)
    runner.update(tick(100.0))  # the rest ends, the ramp begins: its next tick is its end, not a period on
    assert runner.due() == 160.0


def test_due_is_a_gitt_relaxations_end_and_a_sample_then_ends_it_whatever_the_rounding():
    runner, _ = make(from_text('steps = ["Rest for 3751.4 s", "Discharge pulses at 1 mA for 60 s with 3.104 s rests '
                               'until 3.0 V"]'))
    runner.start(0.0)
    runner.update(tick(3751.4))
    assert runner.update(tick(START, voltage=3.5, current=-1e-3)) == [Rest()]  # the pulse ends, the relaxation begins
    runner.update(tick(START + 1.0))
    assert runner.due() == START + 3.104
    assert runner.update(tick(runner.due())) == [ApplyCurrent(pytest.approx(-1e-3), 3.0)]  # the next pulse


def test_due_does_not_extrapolate_from_a_sample_read_before_a_resume():
    runner, _ = make(protocol((1, [charge(1, 4.2)])))
    runner.start(0.0)
    runner.update(at(100.0, voltage=4.0, current=2.4e-3))
    runner.update(at(110.0, voltage=4.1, current=2.4e-3))
    runner.pause(115.0)
    runner.resume(120.0)  # the cycler rested meanwhile: the voltage relaxed, and jumps back with the current
    runner.update(at(121.0, voltage=4.12, current=2.4e-3))
    assert runner.due() == math.inf  # one sample since the resume: nothing to extrapolate from
    runner.update(at(122.0, voltage=4.13, current=2.4e-3))
    assert runner.due() == pytest.approx(122.0 + 0.5 * (4.199 - 4.13) / 0.01)
