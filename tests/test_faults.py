"""Every interlock and every injected fault, end to end: bundled bench, [faults], session, engine, run file.

Each test runs a short protocol (10 steps, 2 cycles, 66 minutes of virtual time) on a simulated
bench with one fault and shows: the safe state on the first tick the fault is visible (cycler
resting, actuator holding or backed off), the event with its values in the run file, the resume
where the protocol allows it and the run going on to the protocol's end with its step and cycle
counters intact, and nothing recorded lost (every sample the fault-free run recorded before the
fault is in the run file, t is strictly increasing, nothing is invented while an instrument is gone).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackpress.bench import Bench, load_bench, parse_bench
from stackpress.control.engine import RESUME_TICKS
from stackpress.control.interlocks import FOLLOW
from stackpress.data import read_run
from stackpress.protocols.load import parse_protocol_text
from stackpress.sample import Event, Sample
from stackpress.session import Session
from stackpress.sims.fixtures import HydraulicFixture

PROTOCOL = """
name = "faults"
[limits]
voltage = ["2.5 V", "4.3 V"]
{policy}
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 2 minutes"]
[[block]]
repeat = 2
steps = ["Charge at 1C for 15 minutes", "Rest for 1 minute", "Discharge at 1C for 15 minutes", "Rest for 1 minute"]
"""
STEPS, CYCLES, END = 10, 2, 3960.0  # the protocol's last step and cycle, and its length in s
FAULT = 1500.0  # s: in the first discharge (step 5, from 1080 to 1980 s)
DISCHARGE, DISCHARGE_START, DISCHARGE_LENGTH = 5, 1080.0, 900.0
AUTO = 'resume = "auto"'
SETPOINT = 10e6


class Run:
    """One session on a simulated bench, with what it published, what it wrote, and the world's state per tick."""

    def __init__(
        self,
        tmp_path: Path,
        bench: str | Bench = "sim-hydraulic",
        faults: dict[str, Any] | None = None,
        policy: str = "",
        script: dict[float, Callable[[Run], None]] | None = None,
        window: tuple[str, str] | None = None,
        name: str = "run",
    ) -> None:
        bench = load_bench(bench) if isinstance(bench, str) else bench
        if faults is not None:  # as a bench file's [faults] table
            bench = dataclasses.replace(bench, tables={**bench.tables, "faults": faults})
        if window is not None:
            policy += f'\npressure_window = ["{window[0]}", "{window[1]}"]'
        self.protocol = parse_protocol_text(PROTOCOL.format(policy=policy), "faults.toml")
        self.samples: list[Sample] = []
        self.events: list[Event] = []
        self.world_state: dict[float, tuple[float, bool, float]] = {}  # t -> (true current, held, ram demand)
        self.script = script or {}
        self.path = tmp_path / f"{name}.sqlite"
        self.session = Session(
            self.protocol, bench, self.path, on_sample=[self._sample], on_event=[self.events.append]
        )
        self.world = self.session.engine.force_sensor.world
        self.state = self.session.run()
        self.ended = self._world_state()  # after the cleanup, at the time of the last tick
        self.file = read_run(self.path)

    def _world_state(self) -> tuple[float, bool, float]:
        """The true current, whether the actuator holds, and a ram's demand: looked at without advancing."""
        world = self.world
        fixture = world.fixture
        if isinstance(fixture, HydraulicFixture):
            return world.current, fixture.demand == fixture.ram_force, fixture.demand
        motor = getattr(fixture, "motor", getattr(fixture, "seat", math.nan))
        return world.current, fixture.seized or fixture.target == motor, math.nan

    def _sample(self, sample: Sample) -> None:
        self.samples.append(sample)
        self.world_state[sample.t] = self._world_state()  # after the engine acted in this tick
        action = self.script.get(sample.t)
        if action is not None:
            action(self)

    def at(self, t: float) -> Sample:
        return next(s for s in self.samples if s.t == t)

    def event(self, kind: str) -> Event:
        return next(e for e in self.events if e.kind == kind)

    def filed(self, kind: str) -> dict[str, Any]:
        """The first event of this kind as the run file holds it."""
        rows = self.file.events[self.file.events["kind"] == kind]
        assert len(rows), f"no {kind!r} event in the run file: {list(self.file.events['kind'])}"
        return rows.iloc[0].to_dict()

    def steps(self) -> list[tuple[str, int, int]]:
        return [(e.message, e.data["step"], e.data["cycle"]) for e in self.events if e.kind == "step"]

    def step_started(self, step: int) -> float:
        return next(e.t for e in self.events if e.kind == "step" and e.data["step"] == step)


_baselines: dict[str, Run] = {}


@pytest.fixture
def baseline(tmp_path_factory) -> Callable[[str], Run]:
    """The same protocol on the same bench without a fault (one run per bench for the module)."""

    def get(bench: str) -> Run:
        if bench not in _baselines:
            _baselines[bench] = Run(tmp_path_factory.mktemp("baseline"), bench, name=bench)
            assert _baselines[bench].state == "finished"
        return _baselines[bench]

    return get


def operator(call: str) -> Callable[[Run], None]:
    """An operator's request through the session, from another thread (as the GUI would)."""

    def act(run: Run) -> None:
        worker = threading.Thread(target=getattr(run.session, call))
        worker.start()
        worker.join()

    return act


# --- the checks every test makes ---------------------------------------------------------------------


def assert_safe_on_the_first_tick(run: Run, visible: float, state: str, *, rested: bool = True,
                                  held: bool = True) -> None:
    """At the first tick the fault is visible the run is in `state` with the bench safe; running before.

    A pause is safe when the tick is published; a run that ends there is safe once its cleanup has run,
    before any more (virtual) time has passed.
    """
    before = max(s.t for s in run.samples if s.t < visible)
    assert run.at(before).state == "running"
    assert run.at(visible).state == state
    if state == "paused":
        current, is_held, _ = run.world_state[visible]
    else:
        assert run.samples[-1].t == visible == run.world.clock.now()
        current, is_held, _ = run.ended
    if rested:
        assert current == 0.0, f"the cycler still drives {current} A after the tick that saw the fault"
    if held:
        assert is_held, "the actuator was not told to hold on the tick that saw the fault"


def assert_nothing_lost(run: Run, baseline: Run, fault: float) -> None:
    """Every sample the fault-free run recorded before the fault is in the run file; t strictly increasing."""
    filed = run.file.samples
    assert filed["t"].is_monotonic_increasing and filed["t"].is_unique
    before = baseline.file.samples[baseline.file.samples["t"] < fault]
    mine = filed[filed["t"] < fault]
    assert len(before) > 10
    kept = {tuple(row) for row in mine.itertuples(index=False)}
    assert all(tuple(row) in kept for row in before.itertuples(index=False))
    published = [s.t for s in run.samples]
    assert published == sorted(set(published))


def assert_completes(run: Run, baseline: Run) -> None:
    """The protocol ran to its end, same steps and cycles as without the fault; each step was longer than
    without the fault by exactly the time it was paused, the others as long."""
    assert run.state == "finished"
    last = run.samples[-1]
    assert (last.step, last.cycle, last.state) == (STEPS, CYCLES, "finished")
    assert run.steps() == baseline.steps()
    assert run.file.samples["step"].max() == STEPS and run.file.samples["cycle"].max() == CYCLES
    paused = dict.fromkeys(range(1, STEPS + 1), 0.0)
    for event in run.events:
        if event.kind == "resume":
            paused[event.data["step"]] += event.data["paused_for"]
    for step in range(2, STEPS):
        length = run.step_started(step + 1) - run.step_started(step)
        nominal = baseline.step_started(step + 1) - baseline.step_started(step)
        assert length == pytest.approx(nominal + paused[step], abs=1.0), f"step {step}"
    assert last.t == pytest.approx(END + sum(paused.values()), abs=2.0)


def resume_of(run: Run) -> dict[str, Any]:
    resume = run.filed("resume")
    return {"t": resume["t"], **resume["data"]}


# --- instruments that stop answering: pause, and resume when they are back -----------------------------


def test_a_load_cell_dropout_from_the_bench_file_pauses_and_resumes_automatically(tmp_path, baseline):
    # the bench file's own syntax, through the bench reader
    bench_text = load_bench("sim-hydraulic").text + '\n[faults]\nload_cell_dropout = { at = "25 min", for = "30 s" }\n'
    bench = parse_bench(tomllib.loads(bench_text), text=bench_text, source="dropout.toml", default_name="dropout")
    run = Run(tmp_path, bench, policy=AUTO)
    assert_safe_on_the_first_tick(run, FAULT, "paused")
    fault, pause = run.filed("fault"), run.filed("pause")
    assert fault["t"] == FAULT and fault["data"]["instrument"] == "sim-load-cell"
    assert pause["data"]["instruments"] == ["sim-load-cell"] and pause["data"]["resume"] == "auto"
    # no force is invented while the load cell is gone; what else can be read still is
    gone = [s for s in run.samples if FAULT <= s.t < FAULT + 30]
    assert len(gone) == 30 and all(math.isnan(s.pressure) and not math.isnan(s.voltage) for s in gone)
    filed = run.file.samples
    assert filed[(filed["t"] >= FAULT) & (filed["t"] < FAULT + 30)]["pressure"].isna().all()
    assert (filed["state"] == "paused").any()
    resume = resume_of(run)
    assert resume["t"] == FAULT + 30 + RESUME_TICKS - 1 and resume["by"] == "auto"
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)
    assert_completes(run, baseline("sim-hydraulic"))
    after = [s for s in run.samples if resume["t"] + 60 <= s.t < run.step_started(DISCHARGE + 1)]
    assert all(s.current < 0 for s in after)  # the discharge was commanded again


def test_an_actuator_that_stops_answering_pauses_and_resumes_automatically(tmp_path, baseline):
    run = Run(tmp_path, "sim-servo", {"actuator_dropout": {"at": "25 min", "for": "20 s"}}, AUTO)
    assert_safe_on_the_first_tick(run, FAULT, "paused", held=False)  # it cannot be told anything ...
    assert run.world_state[FAULT + 20][1]  # ... until it answers again: held on that very tick
    assert run.filed("fault")["data"]["instrument"] == "sim-servo"
    assert all(math.isnan(s.actuator) for s in run.samples if FAULT <= s.t < FAULT + 20)
    resume = resume_of(run)
    assert resume["t"] == FAULT + 20 + RESUME_TICKS - 1
    assert_nothing_lost(run, baseline("sim-servo"), FAULT)
    assert_completes(run, baseline("sim-servo"))


def test_a_cycler_that_stops_answering_pauses_with_the_actuator_held_and_the_cycler_retried(tmp_path, baseline):
    run = Run(tmp_path, "sim-hydraulic", {"cycler_dropout": {"at": "25 min", "for": "30 s"}}, AUTO)
    # the channel cannot be told to rest while it is gone: it keeps discharging, the actuator holds
    assert_safe_on_the_first_tick(run, FAULT, "paused", rested=False)
    assert run.world_state[FAULT][0] < 0
    assert all(math.isnan(s.voltage) and s.pressure > 9e6 for s in run.samples if FAULT <= s.t < FAULT + 30)
    assert run.world_state[FAULT + 30][0] == 0.0  # rested on the first tick it answered
    resume = resume_of(run)
    assert resume["t"] == FAULT + 30 + RESUME_TICKS - 1
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)
    assert_completes(run, baseline("sim-hydraulic"))


def test_a_pause_longer_than_max_pause_aborts_the_run_with_its_cleanup(tmp_path, baseline):
    run = Run(tmp_path, "sim-hydraulic", {"load_cell_dropout": {"at": "25 min"}}, AUTO + '\nmax_pause = "5 min"')
    assert run.state == "aborted"
    assert_safe_on_the_first_tick(run, FAULT, "paused")
    alarm = run.filed("alarm")
    assert alarm["t"] == FAULT + 301 and alarm["data"]["kind"] == "max_pause"
    assert run.samples[-1].state == "aborted" and run.world_state[run.samples[-1].t][:2] == (0.0, True)
    assert list(run.file.events["message"])[-1] == "run ended: aborted"
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)


def test_with_on_fault_stop_a_lost_instrument_ends_the_run_in_the_safe_state(tmp_path, baseline):
    run = Run(tmp_path, "sim-hydraulic", {"load_cell_dropout": {"at": "25 min"}}, 'on_fault = "stop"')
    assert run.state == "fault" and "pause" not in set(run.file.events["kind"])
    assert_safe_on_the_first_tick(run, FAULT, "fault")
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)


# --- load-cell readings -------------------------------------------------------------------------


def test_a_single_spike_is_read_again_and_discarded(tmp_path, baseline):
    run = Run(tmp_path, "sim-hydraulic", {"load_cell_spike": {"at": "25 min", "size": "-9 MPa"}})
    assert {"trip", "alarm", "pause"}.isdisjoint(run.file.events["kind"])
    warning = run.filed("warning")
    assert warning["t"] == FAULT and warning["data"]["rejected"] < 100.0 < warning["data"]["accepted"]
    assert run.at(FAULT).pressure == pytest.approx(SETPOINT, rel=0.01)
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)
    assert_completes(run, baseline("sim-hydraulic"))


def test_an_over_pressure_backs_off_to_the_safe_preload_on_the_tick_it_is_seen(tmp_path, baseline):
    bench = dataclasses.replace(load_bench("sim-hydraulic"), max_pressure=40e6)
    faults = {"load_cell_spike": {"at": "25 min", "for": "10 s", "size": "35 MPa"}}  # reads 45 MPa, twice
    run = Run(tmp_path, bench, faults, window=("5 MPa", "40 MPa"))
    assert run.state == "tripped"
    assert_safe_on_the_first_tick(run, FAULT, "tripped", held=False)
    assert run.world_state[FAULT][2] == pytest.approx(5e6 * run.world.cell.area)  # the ram's demand: backed off
    trip = run.filed("trip")["data"]
    assert trip["kind"] == "over_pressure" and trip["pressure"] == run.at(FAULT).pressure > 40e6
    assert trip["limit"] == 40e6
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)


def test_a_load_cell_over_its_range_trips_and_backs_off(tmp_path, baseline):
    run = Run(tmp_path, "sim-hydraulic", {"load_cell_spike": {"at": "25 min", "for": "10 s", "size": "80 MPa"}})
    assert run.state == "tripped"
    assert_safe_on_the_first_tick(run, FAULT, "tripped", held=False)
    assert run.world_state[FAULT][2] == pytest.approx(5e6 * run.world.cell.area)
    assert run.filed("trip")["data"]["kind"] == "load_cell_over_range" and math.isnan(run.at(FAULT).pressure)
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)


def test_extra_drift_drives_the_regulator_to_its_limit_and_pauses_for_the_operator(tmp_path, baseline):
    # The reading drifts up, so the regulator lets the springs off until the seat is at the end of its travel:
    # the drift itself cannot be told from a real change by the load cell alone; its consequence can.
    drift = {"load_cell_drift": {"at": "25 min", "for": "20 min", "rate": "60 MPa/h"}}
    run = Run(tmp_path, "sim-spring", drift, AUTO, script={3000.0: operator("resume")})
    alarm = run.filed("alarm")
    assert alarm["data"]["kind"] == "travel_limit" and alarm["data"]["command"] == 0.0
    assert alarm["data"]["pressure"] > SETPOINT and alarm["t"] < FAULT + 1200
    assert_safe_on_the_first_tick(run, alarm["t"], "paused")
    assert run.filed("pause")["data"]["resume"] == "operator"  # a pressure alarm: never automatic
    resume = resume_of(run)
    assert resume["t"] == 3001 and resume["by"] == "operator"
    assert_nothing_lost(run, baseline("sim-spring"), FAULT)
    assert_completes(run, baseline("sim-spring"))
    assert run.samples[-1].pressure == pytest.approx(SETPOINT, rel=0.02)


# --- the actuator and the pressure --------------------------------------------------------------------


def test_a_hydraulic_leak_is_a_pressure_loss_the_operator_resumes_from(tmp_path, baseline):
    leak = {"hydraulic_leak": {"at": "25 min", "for": "1 min"}}
    run = Run(tmp_path, "sim-hydraulic", leak, AUTO, script={FAULT + 100: operator("resume")})
    alarm = run.filed("alarm")
    assert alarm["t"] == FAULT + 1 and alarm["data"]["kind"] == "pressure_loss"  # the first reading after it
    assert alarm["data"]["pressure"] == run.at(FAULT + 1).pressure < 0.75 * SETPOINT
    assert alarm["data"]["setpoint"] == SETPOINT
    assert_safe_on_the_first_tick(run, FAULT + 1, "paused")
    resume = resume_of(run)
    assert resume["t"] == FAULT + 101 and resume["by"] == "operator"
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)
    assert_completes(run, baseline("sim-hydraulic"))
    back = [s.pressure for s in run.samples if resume["t"] + 30 <= s.t <= run.step_started(DISCHARGE + 1)]
    assert max(abs(p - SETPOINT) for p in back) < 0.02 * SETPOINT


def test_a_stuck_actuator_that_does_not_follow_pauses_for_the_operator(tmp_path, baseline):
    stuck = {"actuator_stuck": {"at": "25 min", "for": "5 min"}}
    run = Run(tmp_path, "sim-servo", stuck, AUTO, script={FAULT + 400: operator("resume")})
    alarm = run.filed("alarm")
    assert alarm["data"]["kind"] == "actuator_not_following" and FAULT + FOLLOW[0] <= alarm["t"] < FAULT + 120
    assert alarm["data"]["readback"] != alarm["data"]["command"]
    assert_safe_on_the_first_tick(run, alarm["t"], "paused")
    stuck_for = [s.pressure for s in run.samples if FAULT <= s.t <= alarm["t"]]
    assert max(abs(p - SETPOINT) for p in stuck_for) < 0.05 * SETPOINT  # caught before it mattered
    assert resume_of(run)["t"] == FAULT + 401
    assert_nothing_lost(run, baseline("sim-servo"), FAULT)
    assert_completes(run, baseline("sim-servo"))


SLOW_AT = 300.0  # s: in the first charge, while the screw must back off from the swelling


def test_a_slow_actuator_is_tolerated_while_it_keeps_up(tmp_path, baseline):
    run = Run(tmp_path, "sim-servo", {"actuator_slow": {"at": "5 min", "for": "5 min", "factor": 1000}})
    assert {"trip", "alarm", "pause"}.isdisjoint(run.file.events["kind"])
    assert_completes(run, baseline("sim-servo"))
    slow = [s.pressure for s in run.samples if SLOW_AT <= s.t < SLOW_AT + 300]
    assert max(abs(p - SETPOINT) for p in slow) < 0.05 * SETPOINT


def test_an_actuator_too_slow_to_keep_up_does_not_follow_and_pauses(tmp_path, baseline):
    slow = {"actuator_slow": {"at": "5 min", "for": "5 min", "factor": 1_000_000}}  # 0.01 nm/s
    run = Run(tmp_path, "sim-servo", slow, script={SLOW_AT + 400: operator("resume")})
    alarm = run.filed("alarm")
    # With feed-forward the motor is asked for little motion at a time, so the mismatch between
    # command and readback takes about a minute to grow past the not-following tolerance.
    assert alarm["data"]["kind"] == "actuator_not_following" and alarm["t"] < SLOW_AT + 120
    assert_safe_on_the_first_tick(run, alarm["t"], "paused")
    assert_nothing_lost(run, baseline("sim-servo"), SLOW_AT)
    assert_completes(run, baseline("sim-servo"))


def test_a_screw_without_the_travel_to_reach_the_setpoint_pauses_at_its_travel_limit(tmp_path):
    servo = load_bench("sim-servo")
    short = {**servo.tables, "fixture": {**servo.tables["fixture"], "travel": "8 um"}}  # 4 um from where it starts
    run = Run(tmp_path, dataclasses.replace(servo, tables=short), policy='max_pause = "2 min"')
    assert run.state == "aborted"
    alarm = run.filed("alarm")
    assert alarm["data"]["kind"] == "travel_limit" and alarm["data"]["readback"] == pytest.approx(8e-6, abs=1e-9)
    assert alarm["data"]["pressure"] < SETPOINT
    assert_safe_on_the_first_tick(run, alarm["t"], "paused")


# --- the cycler's limits ------------------------------------------------------------------------


def test_a_current_beyond_the_channels_maximum_turns_the_output_off_on_the_tick_it_is_seen(tmp_path, baseline):
    run = Run(tmp_path, "sim-hydraulic", {"cycler_overcurrent": {"at": "25 min", "for": "1 min", "current": "15 mA"}})
    assert run.state == "tripped"
    assert_safe_on_the_first_tick(run, FAULT, "tripped")
    trip = run.filed("trip")["data"]
    assert trip["kind"] == "current_high" and trip["current"] == run.at(FAULT).current == pytest.approx(-15e-3)
    assert trip["limit"] == pytest.approx(10e-3)  # the bench's [cycler] max_current
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)


def test_a_voltage_beyond_the_protocols_limit_turns_the_output_off_and_holds_the_pressure(tmp_path, baseline):
    run = Run(tmp_path, "sim-hydraulic", {"cycler_voltage_offset": {"at": "25 min", "offset": "2 V"}})
    assert run.state == "tripped"
    assert_safe_on_the_first_tick(run, FAULT, "tripped")
    trip = run.filed("trip")["data"]
    assert trip["kind"] == "voltage_high" and trip["voltage"] == run.at(FAULT).voltage > 4.3 and trip["limit"] == 4.3
    assert run.world.truth().pressure == pytest.approx(SETPOINT, rel=0.01)
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)


def test_a_setpoint_outside_the_window_never_reaches_the_actuator(tmp_path):
    protocol = parse_protocol_text(PROTOCOL.format(policy=""), "faults.toml")
    wide = dataclasses.replace(protocol.limits, pressure_max=60e6)
    blocks = (dataclasses.replace(protocol.blocks[0], steps=(
        dataclasses.replace(protocol.blocks[0].steps[0], setpoint=55e6), *protocol.blocks[0].steps[1:])),)
    bench = load_bench("sim-hydraulic")
    # the protocol's check refuses it before the run; a protocol that gets past it meets the engine's check
    narrow = dataclasses.replace(protocol, limits=dataclasses.replace(wide, pressure_max=50e6), blocks=blocks)
    with pytest.raises(ValueError, match="55 MPa is outside the pressure window"):
        Session(narrow, bench, tmp_path / "refused.sqlite")
    session = Session(dataclasses.replace(protocol, limits=wide, blocks=blocks), bench, tmp_path / "run.sqlite")
    session.engine.interlocks = dataclasses.replace(session.engine.interlocks, pressure_max=50e6)
    assert session.run() == "tripped"
    trip = read_run(tmp_path / "run.sqlite").events.query("kind == 'trip'").iloc[0]
    assert trip["data"]["kind"] == "setpoint_refused" and trip["data"]["setpoint"] == 55e6
    assert session.engine.force_sensor.world.truth().force == 0.0  # never squeezed


# --- the operator -----------------------------------------------------------------------------------


def test_operator_pause_and_resume_through_the_session_keep_the_runs_place(tmp_path, baseline):
    run = Run(tmp_path, "sim-hydraulic", script={FAULT - 1: operator("pause"), FAULT + 299: operator("resume")})
    assert_safe_on_the_first_tick(run, FAULT, "paused", held=False)  # the regulator holds the pressure instead
    assert run.filed("pause")["data"]["cause"] == "operator"
    paused = [s.pressure for s in run.samples if FAULT <= s.t < FAULT + 300]
    assert max(abs(p - SETPOINT) for p in paused) < 0.01 * SETPOINT
    resume = resume_of(run)
    assert resume["t"] == FAULT + 300 and resume["paused_for"] == 300.0
    assert_nothing_lost(run, baseline("sim-hydraulic"), FAULT)
    assert_completes(run, baseline("sim-hydraulic"))



# --- what the regulator learned during a fault is not trusted after it ---------------------------


def test_a_screw_that_lifted_off_during_a_drift_comes_back_to_the_stack_without_crushing_it(tmp_path):
    # The load cell drifts up: the loop backs the screw off the stack to its travel limit and pauses.
    # After the operator resumes, the screw crosses the gap and must meet the stack gently: a
    # stiffness or swelling estimate learned from the drifting readings once drove it in at full
    # speed (5 -> 29 -> 52 MPa in two ticks).
    drift = {"load_cell_drift": {"at": "25 min", "for": "20 min", "rate": "60 MPa/h"}}
    resume_at = 3000.0
    run = Run(tmp_path, "sim-servo", drift, script={resume_at: operator("resume")})
    assert run.filed("alarm")["data"]["kind"] == "travel_limit"
    assert run.state == "finished"
    after = [s.pressure for s in run.samples if s.t > resume_at and math.isfinite(s.pressure)]
    assert max(after) < 1.1 * SETPOINT
    assert run.samples[-1].pressure == pytest.approx(SETPOINT, rel=0.02)  # back on the stack and holding


def test_a_ram_resumed_after_a_drift_holds_again_without_a_pressure_loss(tmp_path):
    # Friction offsets learned from a drifting load cell once threw the ram down to a quarter of
    # the setpoint at the next reversal of the swelling, and the run paused again.
    drift = {"load_cell_drift": {"at": "50 min", "for": "12 min", "rate": "60 MPa/h"}}
    resume_at = 3750.0
    run = Run(tmp_path, "sim-hydraulic", drift, script={resume_at: operator("resume")})
    assert run.state == "finished"
    assert [e.kind for e in run.events].count("pause") == 1  # the drift's, and no pressure loss after
    settled = [s.pressure for s in run.samples if s.t > resume_at + 60 and math.isfinite(s.pressure)]
    assert min(settled) > 0.9 * SETPOINT and max(settled) < 1.1 * SETPOINT
