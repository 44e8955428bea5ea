import math
import threading

import pytest

from stackpress.clock import VirtualClock
from stackpress.control.engine import Engine, Instruments
from stackpress.control.interlocks import Interlocks
from stackpress.control.pid import Gains
from stackpress.control.regulator import PressureRegulator
from stackpress.protocols.runner import Runner
from tests.control.fakes import FakeActuator, FakeCycler, FakeLoadCell, FakeScrew
from tests.control.protocols import charge, discharge, pressure, protocol, rest

AREA = 1e-4
CAPACITY = 36.0  # C: 10 mAh
HYDRAULIC = Gains(0.5, 0.5)


class Bench:
    """One engine over fake instruments, recording everything it publishes."""

    def __init__(self, proto, *, regulated=True, max_pressure=100e6, watch=None, actuator=None, gains=HYDRAULIC):
        self.clock = VirtualClock()
        self.cycler = FakeCycler(self.clock, CAPACITY)
        self.actuator = actuator or FakeActuator(regulated)
        self.load_cell = FakeLoadCell(self.actuator)
        self.samples, self.events = [], []
        locks = Interlocks(max_pressure, proto.limits.voltage_min, proto.limits.voltage_max)
        runner = Runner(proto, capacity=CAPACITY, area=AREA, current_limit=0.01, on_event=self.events.append)
        self.engine = Engine(
            clock=self.clock,
            instruments=Instruments(self.cycler, self.load_cell, self.actuator),
            runner=runner,
            regulator=PressureRegulator(gains, AREA, self.actuator.command_range, self.actuator.command_unit),
            interlocks=locks,
            area=AREA,
            other_layers_thickness=0.9e-3,
            period=1.0,
            safe_preload=5e6,
            on_sample=[self.samples.append] + ([watch] if watch else []),
            on_event=[self.events.append],
        )

    def kinds(self):
        return [e.kind for e in self.events]


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


def test_an_instrument_that_stops_answering_ends_in_the_safe_state():
    def fail(sample):
        if sample.t >= 20:
            bench.load_cell.fail = True

    bench = Bench(protocol((1, [pressure(10), rest(1000)])), watch=fail)
    assert bench.engine.run() == "fault"
    fault = next(e for e in bench.events if e.kind == "fault")
    assert "fake load cell" in fault.message and fault.data["instrument"] == "fake load cell"
    assert bench.samples[-1].t == 20  # nothing after the fault is invented
    assert bench.cycler.commands[-1] == ("rest",) and bench.actuator.stopped == 1


def test_cleanup_still_tries_the_actuator_when_the_cycler_is_gone():
    def fail(sample):
        if sample.t >= 5:
            bench.cycler.fail = True

    bench = Bench(protocol((1, [pressure(10), rest(1000)])), watch=fail)
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
