"""The operator's requests to a running engine: notes, setpoints, manual/jog/automatic, skip.

Each takes effect at the tick after it was asked for, is an event in the run,
and is refused with a warning event (never a trip) when it cannot be done.
"""

import pytest

from stackpress.control.pid import Gains
from tests.control.protocols import charge, discharge, from_text, pressure, protocol, rest
from tests.control.test_engine import AREA, Bench

HOLD = protocol((1, [pressure(10), rest(600)]))


def bench_with(proto, at: dict[float, tuple], **kwargs) -> Bench:
    """A bench whose operator asks for `at[t]` = (kind, value) once the sample of time t is out
    ("pause" and "resume" go to the engine's own calls)."""
    holder = {}

    def operator(sample):
        if sample.t not in at:
            return
        kind, value = at[sample.t]
        engine = holder["engine"]
        if kind == "pause":
            engine.pause(value)
        elif kind == "resume":
            engine.resume()
        else:
            engine.operate(kind, value)

    bench = Bench(proto, watch=operator, **kwargs)
    holder["engine"] = bench.engine
    return bench


def operator_events(bench):
    return [e for e in bench.events if e.kind == "operator"]


def warnings(bench):
    return [e.message for e in bench.events if e.kind == "warning"]


def test_an_operator_note_is_an_event_at_the_next_tick():
    bench = bench_with(HOLD, {100.0: ("note", "cell 7: cracked corner seen through the window")})
    assert bench.engine.run() == "finished"
    note = bench.event("note")
    assert note.t == 101.0 and note.message == "cell 7: cracked corner seen through the window"


def test_a_new_setpoint_is_held_and_recorded():
    bench = bench_with(HOLD, {100.0: ("setpoint", 20e6)})
    assert bench.engine.run() == "finished"
    assert bench.at(99.0).pressure == pytest.approx(10e6, rel=1e-3)
    assert bench.samples[-1].pressure == pytest.approx(20e6, rel=1e-3)
    assert bench.samples[-1].setpoint == 20e6
    assert "20 MPa" in operator_events(bench)[0].message


@pytest.mark.parametrize(
    ("setpoint", "why"),
    [(60e6, "outside the protocol's pressure window"), (150e6, "(the hard limit)"), (-1.0, "(the hard limit)")],
)
def test_a_setpoint_outside_the_window_is_refused_and_the_run_goes_on(setpoint, why):
    bench = bench_with(HOLD, {100.0: ("setpoint", setpoint)})
    assert bench.engine.run() == "finished"
    assert bench.samples[-1].pressure == pytest.approx(10e6, rel=1e-3)
    [warning] = warnings(bench)
    assert "'setpoint' refused" in warning and why in warning
    assert not operator_events(bench) and "trip" not in bench.kinds()


def test_manual_holds_the_operators_command_and_automatic_comes_back_without_a_bump():
    bench = bench_with(HOLD, {100.0: ("manual", 1500.0), 300.0: ("automatic", None)})
    assert bench.engine.run() == "finished"
    manual = [s for s in bench.samples if 101.0 < s.t <= 300.0]
    assert all(s.force == pytest.approx(1500.0) for s in manual)  # 15 MPa: the operator's, not the setpoint
    after = [s.force for s in bench.samples if s.t > 301.0]
    assert max(after) <= 1500.0 + 1e-9  # from the manual command down to the setpoint: no kick above it
    assert bench.samples[-1].pressure == pytest.approx(10e6, rel=1e-3)
    assert [e.data["request"] for e in operator_events(bench)] == ["manual", "automatic"]


def test_a_jog_moves_the_actuator_by_that_much_from_its_readback():
    bench = bench_with(HOLD, {100.0: ("jog", 50.0)})
    assert bench.engine.run() == "finished"
    assert bench.at(102.0).force == pytest.approx(10e6 * AREA + 50.0, rel=1e-4)
    assert bench.samples[-1].force == pytest.approx(10e6 * AREA + 50.0, rel=1e-4)  # manual until told otherwise


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        (("manual", 20_000.0), "outside fake ram's range 0..10000 N"),
        (("manual", 9_000.0), "above the hard limit (80 MPa on 1 cm2)"),
        (("jog", -5_000.0), "outside fake ram's range"),
        (("automatic", None), "in automatic already"),
    ],
)
def test_a_manual_command_beyond_the_limits_is_refused(request_, why):
    bench = bench_with(HOLD, {100.0: request_}, max_pressure=80e6, pressure_max=50e6)
    assert bench.engine.run() == "finished"
    [warning] = warnings(bench)
    assert why in warning
    assert max(s.force for s in bench.samples) < 10e6 * AREA * 1.01


def test_requests_other_than_notes_are_refused_while_paused():
    bench = bench_with(
        HOLD,
        {50.0: ("pause", "look at the cell"), 100.0: ("setpoint", 20e6), 101.0: ("note", "checking the wiring"),
         300.0: ("resume", None)},
    )
    assert bench.engine.run() == "finished"
    assert any("'setpoint' refused: the run is paused" in w for w in warnings(bench))
    assert [e.message for e in bench.events if e.kind == "note"] == ["checking the wiring"]
    assert bench.samples[-1].pressure == pytest.approx(10e6, rel=1e-3)


def test_skip_ends_the_current_step_and_the_next_one_begins():
    proto = protocol((1, [pressure(10), rest(10_000), charge(1, 4.2), discharge(1, 3.0)]))
    bench = bench_with(proto, {100.0: ("skip", None)})
    assert bench.engine.run() == "finished"
    assert bench.at(102.0).step == 3 and bench.at(102.0).current > 0  # charging from the tick after the skip
    assert bench.samples[-1].t < 2 * 3600 + 300  # the 10 000 s rest did not run
    assert "'Rest for 10000 s' skipped" in operator_events(bench)[0].message


def test_an_unknown_request_is_refused_at_once():
    bench = Bench(HOLD)
    with pytest.raises(ValueError, match="unknown operator request 'squeeze'"):
        bench.engine.operate("squeeze", 1.0)


def test_a_note_asked_for_with_an_abort_is_recorded_before_the_run_ends():
    holder = {}

    def operator(sample):
        if sample.t == 100.0:
            holder["engine"].operate("note", "smoke from the fixture")
            holder["engine"].abort("smoke")

    bench = Bench(HOLD, watch=operator)
    holder["engine"] = bench.engine
    assert bench.engine.run() == "aborted"
    assert bench.event("note").message == "smoke from the fixture" and bench.event("note").t == 101.0


@pytest.mark.parametrize(("on_abort", "force"), [("hold", 10e6 * AREA), ("release", 5e6 * AREA)])
def test_an_aborted_run_leaves_the_pressure_held_or_released_as_the_protocol_says(on_abort, force):
    holder = {}

    def operator(sample):
        if sample.t == 100.0:
            holder["engine"].abort("enough")

    bench = Bench(HOLD, watch=operator, on_abort=on_abort)
    holder["engine"] = bench.engine
    assert bench.engine.run() == "aborted"
    assert bench.actuator.force == pytest.approx(force, rel=1e-3)  # the bench's safe preload is 5 MPa
    assert bench.cycler.commands[-1] == ("rest",)


def test_new_gains_take_effect_at_the_next_tick_and_bad_ones_are_refused():
    bench = bench_with(HOLD, {100.0: ("gains", Gains(0.8, 0.3)), 200.0: ("gains", Gains(-1.0, 0.3))})
    assert bench.engine.run() == "finished"
    assert bench.engine.regulator.gains == Gains(0.8, 0.3)
    assert "kp = 0.8, ki = 0.3" in operator_events(bench)[0].message
    [warning] = warnings(bench)
    assert "'gains' refused: gains must be finite, kp above zero" in warning


def test_a_pressure_ramp_paused_halfway_goes_on_at_its_own_rate():
    proto = from_text('steps = ["Hold pressure at 10 MPa", "Ramp pressure to 30 MPa at 6 MPa/min", "Rest for 1 min"]')
    bench = bench_with(proto, {50.0: ("pause", "look"), 150.0: ("resume", None)})
    assert bench.engine.run() == "finished"
    after = [bench.at(t).pressure for t in (160.0, 200.0)]
    assert after[1] - after[0] == pytest.approx(40 * 0.1e6, rel=0.1)  # 6 MPa/min, not the regulator's slew rate
    assert bench.at(160.0).pressure < 20e6
    assert bench.samples[-1].pressure == pytest.approx(30e6, rel=1e-3)
