import dataclasses
import itertools
import math
import threading

import pytest

from stackpress.clock import VirtualClock
from stackpress.control.engine import RESUME_TICKS, Engine, Instruments
from stackpress.control.interlocks import FOLLOW, SATURATED, Interlocks
from stackpress.control.pid import Gains
from stackpress.control.regulator import PressureRegulator
from stackpress.drivers.errors import OutOfRange
from stackpress.protocols.runner import Runner
from tests.control.fakes import FakeActuator, FakeCycler, FakeLoadCell, FakeScrew
from tests.control.protocols import charge, discharge, pressure, protocol, rest

AREA = 1e-4
CAPACITY = 36.0  # C: 10 mAh
HYDRAULIC = Gains(0.5, 0.5)
MAX_CURRENT = 0.02  # A: 2C for the fake cell


class Bench:
    """One engine over fake instruments, recording everything it publishes."""

    def __init__(
        self, proto, *, regulated=True, max_pressure=100e6, watch=None, actuator=None, gains=HYDRAULIC,
        period=1.0, min_period=None, **limits
    ):
        if limits:  # the fault policy and the window: on_fault, resume, max_pause, pressure_min/max
            proto = dataclasses.replace(proto, limits=dataclasses.replace(proto.limits, **limits))
        self.clock = VirtualClock()
        self.cycler = FakeCycler(self.clock, CAPACITY)
        self.actuator = actuator or FakeActuator(regulated)
        self.load_cell = FakeLoadCell(self.actuator)
        self.samples, self.events = [], []
        l = proto.limits  # noqa: E741
        locks = Interlocks(
            max_pressure, l.voltage_min, l.voltage_max, l.pressure_min, l.pressure_max, max_current=MAX_CURRENT
        )
        runner = Runner(proto, capacity=CAPACITY, area=AREA, current_limit=MAX_CURRENT, on_event=self.events.append)
        self.engine = Engine(
            clock=self.clock,
            instruments=Instruments(self.cycler, self.load_cell, self.actuator),
            runner=runner,
            regulator=PressureRegulator(gains, AREA, self.actuator.command_range, self.actuator.command_unit),
            interlocks=locks,
            area=AREA,
            other_layers_thickness=0.9e-3,
            period=period,
            min_period=min_period,
            safe_preload=5e6,
            on_sample=[self.samples.append] + ([watch] if watch else []),
            on_event=[self.events.append],
        )

    def kinds(self):
        return [e.kind for e in self.events]

    def event(self, kind):
        return next(e for e in self.events if e.kind == kind)

    def at(self, t):
        return next(s for s in self.samples if s.t == t)


def test_a_protocol_runs_to_its_end_in_virtual_time_holding_pressure():
    bench = Bench(protocol((1, [pressure(10), rest(60)]), (2, [charge(1, 4.2), discharge(1, 3.0)])))
    assert bench.engine.run() == "finished"
    last = bench.samples[-1]
    assert last.state == "finished" and last.cycle == 2 and last.step == 6
    assert bench.clock.now() == pytest.approx(last.t)
    # 1C for 10 mAh: charge 3.0 -> 4.2 V takes one hour per half cycle, in virtual time
    assert 4 * 3600 - 10 < last.t < 4 * 3600 + 70
    held = [s.pressure for s in bench.samples if s.t > 60]
    assert max(abs(p - 10e6) for p in held) < 0.01e6
    assert bench.cycler.commands[-1] == ("rest",)  # cleanup: output off
    assert bench.actuator.stopped == 1  # cleanup: actuator holds where it is
    assert bench.samples[0].thickness == pytest.approx(0.1e-3)


def test_over_pressure_backs_off_and_rests_the_cell_on_the_tick_it_is_seen():
    spike_at = 30

    def inject(sample):
        if len(bench.samples) == spike_at:
            bench.load_cell.offset = 100e6 * AREA  # the load cell now reads ~110 MPa

    bench = Bench(protocol((1, [pressure(10), charge(1, 4.2)])), watch=inject)
    assert bench.engine.run() == "tripped"
    tripped = bench.samples[-1]
    assert tripped.state == "tripped" and tripped.pressure > 100e6
    assert len(bench.samples) == spike_at + 1  # seen and acted on in the very next tick
    trip = next(e for e in bench.events if e.kind == "trip")
    assert trip.data["kind"] == "over_pressure" and trip.data["pressure"] == tripped.pressure
    assert bench.actuator.commands[-1] == pytest.approx(5e6 * AREA)  # backed off to the safe preload
    assert bench.cycler.commands[-1] == ("rest",)
    assert bench.actuator.stopped == 0  # the back-off is not cancelled by a "hold here"


def test_voltage_out_of_the_window_rests_the_cell_and_records_the_trip():
    bench = Bench(protocol((1, [pressure(10), charge(1, 4.2)])))
    bench.cycler.voltage_offset = 2.0  # a wiring fault: 5 V and more
    assert bench.engine.run() == "tripped"
    trip = next(e for e in bench.events if e.kind == "trip")
    assert trip.data["kind"] == "voltage_high" and trip.data["voltage"] > 4.3
    assert bench.cycler.commands[-1] == ("rest",)
    assert bench.actuator.stopped == 1  # pressure is held


def test_with_on_fault_stop_an_instrument_that_stops_answering_ends_the_run_in_the_safe_state():
    def fail(sample):
        if sample.t >= 20:
            bench.load_cell.fail = True

    bench = Bench(protocol((1, [pressure(10), rest(1000)])), watch=fail, on_fault="stop")
    assert bench.engine.run() == "fault"
    fault = next(e for e in bench.events if e.kind == "fault")
    assert "fake load cell" in fault.message and fault.data["instrument"] == "fake load cell"
    last = bench.samples[-1]  # the tick that saw the fault: what could be read, and no force invented
    assert (last.t, last.state, last.voltage) == (21, "fault", 3.0) and math.isnan(last.force)
    assert bench.cycler.commands[-1] == ("rest",) and bench.actuator.stopped == 1


def test_cleanup_still_tries_the_actuator_when_the_cycler_is_gone():
    def fail(sample):
        if sample.t >= 5:
            bench.cycler.fail = True

    bench = Bench(protocol((1, [pressure(10), rest(1000)])), watch=fail, on_fault="stop")
    assert bench.engine.run() == "fault"
    assert bench.actuator.stopped == 1
    assert sum(e.kind == "fault" for e in bench.events) == 2  # the fault, then the failed cleanup


def test_abort_from_another_thread_stops_at_the_next_tick_and_cleans_up():
    def abort_later(sample):
        if sample.t == 100:
            worker = threading.Thread(target=bench.engine.abort, args=("operator pressed abort",))
            worker.start()
            worker.join()

    bench = Bench(protocol((1, [pressure(10), rest(10_000)])), watch=abort_later)
    assert bench.engine.run() == "aborted"
    assert bench.samples[-1].t == 100
    assert any(e.kind == "operator" and "operator pressed abort" in e.message for e in bench.events)
    assert bench.cycler.commands[-1] == ("rest",)


def test_a_rigid_fixture_gets_its_preload_once_and_the_run_says_pressure_is_not_regulated():
    bench = Bench(protocol((1, [pressure(10), rest(100)])), regulated=False)
    assert bench.engine.run() == "finished"
    assert bench.actuator.commands == [pytest.approx(10e6 * AREA)]
    warning = next(e for e in bench.events if e.kind == "warning")
    assert "NOT regulated" in warning.message
    assert all(math.isnan(s.setpoint) for s in bench.samples)


def test_a_setpoint_above_the_hard_limit_is_refused_before_anything_moves():
    bench = Bench(protocol((1, [pressure(120), charge(1, 4.2)])))
    assert bench.engine.run() == "tripped"
    assert bench.actuator.commands == []
    assert all(c[0] == "rest" for c in bench.cycler.commands)  # the charge after the refusal never started
    trip = next(e for e in bench.events if e.kind == "trip")
    assert trip.data["kind"] == "setpoint_refused"


def test_over_pressure_on_a_screw_fixture_retracts_the_screw_instead_of_faulting():
    def inject(sample):
        if sample.t == 200:
            bench.load_cell.offset = 100e6 * AREA

    screw = FakeScrew()
    pressure_per_metre = screw.stiffness / AREA
    gains = Gains(0.5 / pressure_per_metre, 0.1 / pressure_per_metre)  # the fixture helper's tuning rule
    bench = Bench(protocol((1, [pressure(10), rest(1000)])), watch=inject, actuator=screw, gains=gains)
    assert bench.engine.run() == "tripped"
    held = bench.samples[-2]
    assert held.pressure == pytest.approx(10e6, rel=0.01)  # the loop had settled before the spike
    retracted = screw.commands[-1]
    assert retracted < held.actuator  # backed off, not held where it was
    assert screw.stopped == 0
    assert not [e for e in bench.events if e.kind == "fault"]


# --- interlocks that end the run --------------------------------------------------------------------


def test_a_setpoint_outside_the_protocols_window_is_refused_by_the_engine_too():
    bench = Bench(protocol((1, [pressure(60), charge(1, 4.2)])))  # default window 5-50 MPa; hard limit 100
    assert bench.engine.run() == "tripped"
    assert bench.actuator.commands == []
    trip = bench.event("trip")
    assert trip.data["kind"] == "setpoint_refused" and trip.data["setpoint"] == 60e6
    assert "pressure window" in trip.message
    widened = Bench(protocol((1, [pressure(60), rest(10)])), pressure_max=80e6)
    assert widened.engine.run() == "finished" and widened.samples[-1].setpoint == 60e6
    # a window wider than the hard limit does not let a setpoint past it
    beyond = Bench(protocol((1, [pressure(120), rest(10)])), pressure_max=150e6)
    assert beyond.engine.run() == "tripped" and "hard limit" in beyond.event("trip").message


def test_a_current_beyond_the_cycler_maximum_turns_the_output_off_on_the_tick_it_is_seen():
    def inject(sample):
        if sample.t == 50:
            bench.cycler.current_offset = 0.015  # 1C is 10 mA: it now reads 25 mA, the channel's max is 20

    bench = Bench(protocol((1, [pressure(10), charge(1, 4.2)])), watch=inject)
    assert bench.engine.run() == "tripped"
    tripped = bench.samples[-1]
    assert (tripped.t, tripped.state) == (51, "tripped")
    trip = bench.event("trip")
    assert trip.data["kind"] == "current_high"
    assert trip.data["current"] == tripped.current and trip.data["limit"] == MAX_CURRENT
    assert bench.cycler.commands[-1] == ("rest",)
    assert bench.actuator.stopped == 1  # the pressure is held


def test_a_load_cell_over_its_range_trips_and_backs_off_like_an_over_pressure():
    def inject(sample):
        if sample.t == 30:
            bench.load_cell.over_range = True

    bench = Bench(protocol((1, [pressure(10), rest(1000)])), watch=inject)
    assert bench.engine.run() == "tripped"
    assert bench.event("trip").data["kind"] == "load_cell_over_range"
    assert math.isnan(bench.samples[-1].pressure) and bench.samples[-1].t == 31
    assert bench.actuator.commands[-1] == pytest.approx(5e6 * AREA) and bench.actuator.stopped == 0


def test_a_single_wild_reading_is_read_again_and_discarded_without_tripping_or_moving_the_actuator():
    def inject(sample):
        if sample.t == 50:
            bench.load_cell.spikes.append(150e6 * AREA)  # one reading of 160 MPa, above the hard limit

    bench = Bench(protocol((1, [pressure(10), rest(100)])), watch=inject)
    assert bench.engine.run() == "finished"
    assert "trip" not in bench.kinds()
    warning = bench.event("warning")
    assert warning.t == 51 and warning.data["rejected"] == pytest.approx(160e6 * AREA, rel=1e-3)
    assert bench.at(51).pressure == pytest.approx(10e6, rel=1e-3)
    assert bench.at(52).actuator == pytest.approx(bench.at(51).actuator, abs=1.0)  # no kick from the spike


def test_a_real_jump_is_confirmed_by_the_second_read_and_used():
    def inject(sample):
        if sample.t == 50:
            bench.load_cell.offset = 3e6 * AREA  # the stack really carries 3 MPa more

    bench = Bench(protocol((1, [pressure(10), rest(100)])), watch=inject)
    assert bench.engine.run() == "finished"
    assert "warning" not in bench.kinds()
    assert bench.at(51).pressure == pytest.approx(13e6, rel=1e-3)


def test_an_instrument_that_refuses_a_command_ends_the_run_in_fault_without_pausing():
    class Refusing(FakeCycler):
        def apply_current(self, current, voltage_limit):
            raise OutOfRange(self.name, f"current {current} A out of range")

    bench = Bench(protocol((1, [pressure(10), rest(10), charge(1, 4.2)])))
    bench.engine.cycler = Refusing(bench.clock, CAPACITY)
    assert bench.engine.run() == "fault"
    assert "pause" not in bench.kinds() and "out of range" in bench.event("fault").message


# --- pauses: instrument faults ------------------------------------------------------------------


class Script:
    """Things to do after the tick at a given time, on the engine's thread or from another one."""

    def __init__(self, **actions):
        self.actions = {float(k.removeprefix("t")): v for k, v in actions.items()}

    def __call__(self, sample):
        action = self.actions.get(sample.t)
        if action is not None:
            action()


def from_another_thread(call):
    def run():
        worker = threading.Thread(target=call)
        worker.start()
        worker.join()

    return run


def test_a_load_cell_dropout_pauses_in_the_safe_state_and_resumes_where_it_was():
    def fail(on):
        return lambda: setattr(bench.load_cell, "fail", on)

    commands = {}
    script = Script(t100=fail(True), t130=fail(False))
    bench = Bench(
        protocol((1, [pressure(10), rest(300), charge(1, 4.2)])),
        watch=lambda s: (script(s), commands.setdefault(s.t, len(bench.actuator.commands))),
        resume="auto",
    )
    assert bench.engine.run() == "finished"
    # The tick that sees the dropout is the first paused one: cycler resting, actuator holding.
    assert bench.at(100).state == "running" and bench.at(101).state == "paused"
    assert bench.actuator.stopped == 2  # once on pausing, once by the cleanup at the end
    assert commands[133] == commands[100]  # not a single command to the actuator while paused
    pause = bench.event("pause")
    assert pause.t == 101 and pause.data["instruments"] == ["fake load cell"] and pause.data["resume"] == "auto"
    assert bench.event("fault").data["instrument"] == "fake load cell"
    # Samples go on being recorded as far as the instruments answer; no force is invented.
    paused = [s for s in bench.samples if s.state == "paused"]
    assert [s.t for s in paused] == list(range(101, 133))
    assert all(math.isnan(s.force) for s in paused if s.t <= 130)
    assert all(s.voltage == 3.0 for s in paused)
    # Back after RESUME_TICKS good ticks; the rest's clock excluded the 32 s pause.
    resume = bench.event("resume")
    assert resume.t == 130 + RESUME_TICKS and resume.data["paused_for"] == 32 and resume.data["by"] == "auto"
    charge_step = next(e for e in bench.events if e.kind == "step" and e.message.startswith("Charge"))
    assert charge_step.t == 300 + 32
    ts = [s.t for s in bench.samples]
    assert ts == sorted(set(ts))
    assert bench.samples[-1].step == 3 and bench.samples[-1].cycle == 1
    kinds = bench.kinds()
    assert kinds.index("fault") < kinds.index("pause") < kinds.index("recovered") < kinds.index("resume")


def test_with_resume_operator_the_run_waits_and_a_resume_while_the_instrument_is_down_is_refused():
    resume = from_another_thread(lambda: bench.engine.resume())
    script = Script(
        t100=lambda: setattr(bench.load_cell, "fail", True),
        t110=resume,
        t130=lambda: setattr(bench.load_cell, "fail", False),
        t200=resume,
    )
    bench = Bench(protocol((1, [pressure(10), rest(300)])), watch=script)  # resume = "operator" by default
    assert bench.engine.run() == "finished"
    refused = bench.event("warning")
    assert refused.t == 111 and "resume refused" in refused.message
    assert bench.at(199).state == "paused"  # back since 131, but nobody said resume
    resumed = bench.event("resume")
    assert resumed.t == 201 and resumed.data["by"] == "operator"
    assert bench.samples[-1].t == 300 + 100  # the rest lasted its 300 s, the 100 s pause aside


def test_a_pause_longer_than_max_pause_aborts_the_run_with_its_cleanup():
    script = Script(t100=lambda: setattr(bench.load_cell, "fail", True))
    bench = Bench(protocol((1, [pressure(10), rest(10_000)])), watch=script, resume="auto", max_pause=600.0)
    assert bench.engine.run() == "aborted"
    alarm = next(e for e in bench.events if e.kind == "alarm")
    assert alarm.data["kind"] == "max_pause" and alarm.t == 101 + 601
    assert bench.samples[-1].state == "aborted"
    assert bench.cycler.commands[-1] == ("rest",) and bench.actuator.stopped == 2
    assert bench.events[-1].message == "run ended: aborted"


def test_a_cycler_that_stops_answering_pauses_with_the_actuator_held_and_the_rest_retried_every_tick():
    attempts = {}
    script = Script(
        t100=lambda: setattr(bench.cycler, "fail", True), t120=lambda: setattr(bench.cycler, "fail", False)
    )
    bench = Bench(
        protocol((1, [pressure(10), rest(60), charge(0.5, 4.2)])),
        watch=lambda s: (script(s), attempts.setdefault(s.t, bench.cycler.rest_attempts)),
        resume="auto",
    )
    assert bench.engine.run() == "finished"
    assert bench.at(101).state == "paused"
    assert bench.actuator.stopped == 2  # held on the tick the cycler was lost (and by the cleanup)
    # the rest is tried on every paused tick until it gets through (at 121), and not after
    assert [attempts[t] - attempts[t - 1] for t in range(101, 124)] == [1] * 21 + [0, 0]
    during = [s for s in bench.samples if 101 <= s.t <= 120]
    assert all(math.isnan(s.voltage) and s.pressure == pytest.approx(10e6, rel=1e-3) for s in during)
    assert bench.event("resume").t == 120 + RESUME_TICKS
    # the charge that was interrupted is commanded again after the rest
    after = bench.cycler.commands[bench.cycler.commands.index(("rest",), 2):]
    assert after[:2] == [("rest",), ("current", pytest.approx(0.005), 4.2)]
    assert bench.samples[-1].step == 3


def test_an_actuator_that_stops_answering_pauses_and_is_told_to_hold_as_soon_as_it_answers():
    attempts = {}
    script = Script(
        t100=lambda: setattr(bench.actuator, "fail", True), t110=lambda: setattr(bench.actuator, "fail", False)
    )
    bench = Bench(
        protocol((1, [pressure(10), rest(300)])),
        watch=lambda s: (script(s), attempts.setdefault(s.t, bench.actuator.stop_attempts)),
        resume="auto",
    )
    assert bench.engine.run() == "finished"
    assert bench.at(101).state == "paused" and bench.cycler.commands[1] == ("rest",)
    assert [attempts[t] - attempts[t - 1] for t in range(101, 113)] == [1] * 11 + [0]
    assert bench.actuator.stopped == 2  # the hold that got through at 111, and the cleanup's
    assert math.isnan(bench.at(105).actuator) and bench.at(105).pressure == pytest.approx(10e6, rel=1e-3)
    assert bench.event("resume").t == 110 + RESUME_TICKS


def test_a_fault_while_the_protocol_starts_pauses_and_the_first_step_is_applied_on_resume():
    script = Script(t10=lambda: setattr(bench.cycler, "fail", False))
    bench = Bench(protocol((1, [pressure(10), charge(1, 4.2)])), watch=script, resume="auto")
    bench.cycler.fail = True
    assert bench.engine.run() == "finished"
    assert bench.event("pause").t == 0
    assert bench.cycler.commands[:2] == [("rest",), ("current", pytest.approx(0.01), 4.2)]
    assert bench.samples[-1].cycle == 1 and bench.samples[-1].step == 2


def test_a_trip_during_a_pause_still_ends_the_run():
    script = Script(
        t100=lambda: setattr(bench.load_cell, "fail", True), t110=lambda: setattr(bench.cycler, "voltage_offset", 2.0)
    )
    bench = Bench(protocol((1, [pressure(10), rest(300)])), watch=script)
    assert bench.engine.run() == "tripped"
    assert bench.event("trip").t == 111 and bench.event("trip").data["kind"] == "voltage_high"


# --- pauses: pressure alarms (always for the operator) --------------------------------------------------------


def test_a_sudden_loss_of_pressure_pauses_with_the_actuator_held_until_the_operator_resumes():
    commands = {}
    script = Script(
        t100=lambda: setattr(bench.load_cell, "offset", -5e6 * AREA),  # a cracked pellet: 5 MPa gone
        t150=lambda: setattr(bench.load_cell, "offset", 0.0),
        t200=from_another_thread(lambda: bench.engine.resume()),
    )
    bench = Bench(
        protocol((1, [pressure(10), rest(300)])),
        watch=lambda s: (script(s), commands.setdefault(s.t, len(bench.actuator.commands))),
        resume="auto",  # not for a pressure alarm
    )
    assert bench.engine.run() == "finished"
    alarm = bench.event("alarm")
    assert alarm.t == 101 and alarm.data["kind"] == "pressure_loss"
    assert alarm.data["pressure"] == bench.at(101).pressure and alarm.data["setpoint"] == 10e6
    assert bench.at(101).state == "paused" and commands[101] == commands[100]  # no command: held
    assert bench.event("pause").data["resume"] == "operator"
    assert bench.at(199).state == "paused" and bench.event("resume").t == 201
    assert bench.samples[-1].t == 300 + 100


def test_a_ram_that_cannot_reach_the_setpoint_saturates_the_regulator_and_pauses():
    bench = Bench(protocol((1, [pressure(10), rest(600)])), max_pause=60.0)
    bench.actuator.delivers = 0.05  # a leaking line: 5 % of the demand
    assert bench.engine.run() == "aborted"
    alarm = bench.event("alarm")
    assert alarm.data["kind"] == "regulator_saturated" and alarm.data["command"] == pytest.approx(10_000.0)
    assert bench.at(alarm.t).state == "paused"
    saturated = [s.t for s in bench.samples if s.actuator >= 10_000.0 * 0.05 - 1e-9]
    assert saturated[0] == alarm.t - SATURATED[0] + 2  # the readback of the command sent a tick earlier
    assert bench.actuator.commands.count(10_000.0) == SATURATED[0] - 1  # the last one never went out


def test_a_screw_at_the_end_of_its_travel_pauses_with_a_travel_limit_alarm():
    screw = FakeScrew()
    screw.command_range = (0.0, 5e-6)  # 500 N at most: 5 MPa, half the setpoint
    per_metre = screw.stiffness / AREA
    bench = Bench(protocol((1, [pressure(10), rest(600)])), actuator=screw,
                  gains=Gains(0.5 / per_metre, 0.1 / per_metre), max_pause=60.0)
    assert bench.engine.run() == "aborted"
    alarm = bench.event("alarm")
    assert alarm.data["kind"] == "travel_limit" and alarm.data["readback"] == pytest.approx(5e-6)
    assert bench.at(alarm.t).state == "paused"


def test_an_actuator_that_does_not_follow_its_commands_pauses():
    def seize():
        bench.actuator.stuck = True
        bench.load_cell.offset = -1e6 * AREA  # and the regulator has to move it: reads 9 MPa

    bench = Bench(protocol((1, [pressure(10), rest(600)])), watch=Script(t100=seize), max_pause=60.0)
    assert bench.engine.run() == "aborted"
    alarm = bench.event("alarm")
    assert alarm.data["kind"] == "actuator_not_following" and alarm.t == 101 + FOLLOW[0]
    assert alarm.data["readback"] == pytest.approx(10e6 * AREA, rel=1e-3)


def test_an_operators_pause_keeps_holding_the_pressure_until_an_alarm_makes_the_actuator_hold():
    # From t = 110 the load cell reads 1 MPa low: the regulator, still holding 10 MPa in the pause, squeezes
    # 1 MPa harder. From t = 200 it reads 6 MPa low (a pressure loss): the alarm stops it, the actuator holds.
    script = Script(
        t100=lambda: bench.engine.pause("weekend"),
        t110=lambda: setattr(bench.load_cell, "offset", -1e6 * AREA),
        t200=lambda: setattr(bench.load_cell, "offset", -6e6 * AREA),
        t300=lambda: bench.engine.resume(),
    )
    bench = Bench(protocol((1, [pressure(10), rest(600)])), watch=script)
    bench.engine.run()
    assert "pressure held by the regulator" in bench.event("pause").message
    assert all(s.state == "paused" for s in bench.samples if 101 <= s.t < 300)
    assert bench.at(199).actuator == pytest.approx(11e6 * AREA, rel=1e-3)  # the regulator made up the offset
    alarm = bench.event("alarm")
    assert alarm.t == 201 and alarm.data["kind"] == "pressure_loss"
    assert {s.actuator for s in bench.samples if 201 <= s.t <= 300} == {bench.at(201).actuator}  # held from the alarm
    assert bench.actuator.stopped >= 1


def test_with_on_fault_stop_a_pressure_alarm_ends_the_run_in_the_safe_state():
    bench = Bench(protocol((1, [pressure(10), rest(300)])), on_fault="stop",
                  watch=Script(t100=lambda: setattr(bench.load_cell, "offset", -5e6 * AREA)))
    assert bench.engine.run() == "tripped"
    assert bench.event("alarm").data["kind"] == "pressure_loss" and "pause" not in bench.kinds()
    assert bench.cycler.commands[-1] == ("rest",) and bench.actuator.stopped == 1


# --- the operator --------------------------------------------------------------------------------


def test_operator_pause_and_resume_from_another_thread_keep_the_steps_place():
    script = Script(
        t100=from_another_thread(lambda: bench.engine.pause("checking the cell")),
        t150=from_another_thread(lambda: bench.engine.resume()),
    )
    bench = Bench(protocol((1, [pressure(10), rest(300), charge(1, 4.2)])), watch=script)
    assert bench.engine.run() == "finished"
    pause = bench.event("pause")
    assert pause.t == 101 and pause.data["cause"] == "operator" and "checking the cell" in pause.message
    assert bench.at(101).state == "paused" and bench.actuator.stopped == 1  # the cleanup's: never stopped in the pause
    assert bench.event("resume").data["paused_for"] == 50
    charge_step = next(e for e in bench.events if e.kind == "step" and e.message.startswith("Charge"))
    assert charge_step.t == 350


@pytest.mark.parametrize("lose", ["force", "voltage"])
def test_a_reading_without_a_number_is_a_lost_reading(lose):
    def inject():
        if lose == "force":
            bench.load_cell.offset = math.nan  # both reads: not a spike
        else:
            bench.cycler.voltage_offset = math.nan

    bench = Bench(protocol((1, [pressure(10), rest(300)])), watch=Script(t100=inject), max_pause=60.0)
    assert bench.engine.run() == "aborted"
    assert bench.at(101).state == "paused"
    fault = bench.event("fault")
    assert fault.t == 101 and "no valid reading" in fault.message


def test_a_pressure_that_could_not_be_engaged_at_the_start_is_engaged_on_resume():
    script = Script(t10=lambda: setattr(bench.actuator, "fail", False))
    bench = Bench(protocol((1, [pressure(10), rest(120)])), watch=script, resume="auto")
    bench.actuator.fail = True  # "Hold pressure at 10 MPa" cannot reach the ram
    assert bench.engine.run() == "finished"
    resumed, engaged = bench.event("resume"), bench.event("pressure")
    assert engaged.t == resumed.t == 10 + RESUME_TICKS
    assert bench.samples[-1].pressure == pytest.approx(10e6, rel=1e-3)


def test_with_a_min_period_the_ticks_close_in_on_a_steps_end_and_meet_a_timed_end_exactly():
    # The fake cell charges linearly at 1C: from empty, its cut-off (4.2 V less the 1 mV tolerance) comes
    # 3597 s into the charge; the rest before it ends at 37 s, between two of the 100 s ticks.
    bench = Bench(protocol((1, [pressure(10), rest(37), charge(1, 4.2)])), period=100.0, min_period=1.0)
    assert bench.engine.run() == "finished"
    times = [s.t for s in bench.samples]
    assert times[:3] == [0.0, 37.0, 137.0]  # the rest's end, to the second; then the period again
    charge_started, cut_off = 37.0, 37.0 + 3597.0
    ended = bench.samples[-1].t
    assert cut_off <= ended < cut_off + 1.0  # not up to a period late
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0 and max(gaps) == 100.0
    regular = math.ceil((ended - charge_started) / 100.0)
    assert len(times) <= 2 + regular + 8  # the closing in costs a few ticks, halving the distance each time


def test_without_a_min_period_the_engine_ticks_on_its_period():
    bench = Bench(protocol((1, [pressure(10), rest(37), charge(1, 4.2)])), period=100.0)
    assert bench.engine.run() == "finished"
    times = [s.t for s in bench.samples]
    assert times == [100.0 * i for i in range(len(times))]
    assert times[-1] == 3700.0  # the rest ended at the 100 s tick, the charge's cut-off (3697 s) at 3700 s
