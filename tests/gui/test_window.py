"""The bench window driving a simulated run: controls, alarms, protocol errors, closing, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackpress.data.runfile import read_run

TIMEOUT = 30_000  # ms; the runs below take a few seconds at their speeds


def test_start_pause_resume_abort(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=100)
    buttons = window.protocol_panel.buttons
    assert buttons["start"].isEnabled() and not buttons["pause"].isEnabled()
    buttons["start"].click()
    qtbot.waitUntil(lambda: window.state == "running" and window.buffer.received > 5, timeout=TIMEOUT)
    assert buttons["pause"].isEnabled() and not buttons["start"].isEnabled()

    buttons["pause"].click()
    qtbot.waitUntil(lambda: window.state == "paused" and buttons["resume"].isEnabled(), timeout=TIMEOUT)
    paused_at = window.buffer.received
    qtbot.waitUntil(lambda: window.buffer.received > paused_at + 3, timeout=TIMEOUT)  # samples go on
    assert window.buffer.latest.state == "paused"
    assert window.buffer.latest.setpoint == 10e6  # the pressure is still held

    buttons["resume"].click()
    qtbot.waitUntil(lambda: window.state == "running", timeout=TIMEOUT)
    buttons["abort"].click()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    window.refresh()

    assert window.state == "aborted"
    assert buttons["start"].isEnabled() and not buttons["abort"].isEnabled()
    log = " | ".join(window.events.messages())
    assert "run paused" in log and "run resumed" in log and "run aborted" in log
    assert not window.banner.isVisible()  # operator actions are not alarms
    events = read_run(window.run_path).events
    assert events["message"].iloc[-1] == "run ended: aborted"  # the cleanup ran and was recorded


def test_an_interlock_trip_raises_the_alarm_banner(make_window, faulty_bench, short_protocol: Path, qtbot) -> None:
    bench = faulty_bench('cycler_overcurrent = { at = "3 min" }')  # in the first charge
    window = make_window(bench, protocol=short_protocol, speed=1000)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    window.refresh()
    assert window.state == "tripped"
    assert window.banner.isVisible()
    assert window.banner.text.text().startswith("TRIP at 0.0")
    assert "current" in window.banner.text.text()
    window.banner.acknowledge_button.click()
    assert not window.banner.isVisible()


def test_an_instrument_fault_raises_the_banner_and_its_acknowledgement_is_recorded(
    make_window, faulty_bench, short_protocol: Path, qtbot
) -> None:
    bench = faulty_bench('load_cell_dropout = { at = "3 min", for = "10 min" }')
    window = make_window(bench, protocol=short_protocol, speed=100)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=TIMEOUT)
    assert window.banner.text.text().startswith("FAULT at 0.05 h")
    assert "sim-load-cell" in window.banner.text.text()
    qtbot.waitUntil(lambda: window.state == "paused", timeout=TIMEOUT)  # the run waits in the safe state
    window.banner.acknowledge_button.click()
    assert not window.banner.isVisible()
    qtbot.waitUntil(lambda: any("alarm acknowledged" in m for m in window.events.messages()), timeout=TIMEOUT)
    window.abort()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)

    notes = read_run(window.run_path).events.query("kind == 'note'")["message"]
    assert any(note.startswith("alarm acknowledged: FAULT at 0.05 h") for note in notes)


def test_an_invalid_protocol_shows_its_errors_and_cannot_start(make_window, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[limits]\nvoltage = ["2.5 V", "4.3 V"]\n[[block]]\n'
                   'steps = ["Charge at C/3 untill 4.2 V", "Rest for 10 Mpa"]\n')
    window = make_window()
    window.show()
    window.open_protocol(bad)
    errors = window.protocol_panel.errors
    assert errors.isVisible()
    assert 'block 1, step 1 ("Charge at C/3 untill 4.2 V")' in errors.text()
    assert 'block 1, step 2 ("Rest for 10 Mpa")' in errors.text()  # every problem at once
    assert not window.protocol_panel.buttons["start"].isEnabled()
    assert window.protocol_panel.plan.topLevelItemCount() == 0


def test_a_nested_protocol_shows_its_plan_as_a_tree_with_the_estimated_duration(make_window) -> None:
    window = make_window()
    window.open_protocol("long-cycling")
    plan = window.protocol_panel.plan
    ageing = plan.topLevelItem(2)
    assert ageing.text(0).startswith("block 3 (ageing)") and "until discharge capacity < 80 %" in ageing.text(0)
    reference, cycling = ageing.child(0), ageing.child(1)
    assert reference.text(0).startswith("block 3.1 (reference)") and cycling.child(0).text(1) == "× 500"
    assert cycling.child(0).text(0) == "Charge at C/3 until 4.2 V and hold until C/20"
    assert "at most" in window.protocol_panel.name.text() and "(estimated)" in window.protocol_panel.name.text()
    assert window.protocol_panel.buttons["start"].isEnabled()


def test_a_protocol_the_bench_cannot_run_shows_why(make_window, tmp_path: Path) -> None:
    too_much = tmp_path / "too-much.toml"
    too_much.write_text('[limits]\nvoltage = ["2.5 V", "4.3 V"]\n[[block]]\nsteps = ["Charge at 50 mA until 4.2 V"]\n')
    window = make_window()
    window.open_protocol(too_much)
    assert "max_current" in window.protocol_panel.errors.text() or "maximum" in window.protocol_panel.errors.text()
    assert not window.protocol_panel.buttons["start"].isEnabled()


@pytest.mark.parametrize("choice", ["stop", "abort"])
def test_closing_during_a_run_asks_and_ends_it_safely(make_window, short_protocol: Path, qtbot, choice: str) -> None:
    window = make_window(protocol=short_protocol, speed=100)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.state == "running", timeout=TIMEOUT)
    answers = iter(["cancel", choice])
    window.ask_close_choice = lambda: next(answers)

    assert not window.close()  # cancel: the run goes on
    assert window.running
    assert window.close()
    assert not window.running
    events = read_run(window.run_path).events
    assert events["message"].iloc[-1] == "run ended: aborted"


def test_the_last_bench_and_protocol_are_remembered(make_window, short_protocol: Path, settings) -> None:
    first = make_window("sim-spring", protocol=short_protocol)
    first.close()
    again = make_window(None)
    assert again.bench.name == "sim-spring"
    assert again.protocol_panel.protocol.name == "short"


def test_the_time_acceleration_applies_to_the_running_simulation(make_window, short_protocol: Path,
                                                                 qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=10)
    window.start()
    qtbot.waitUntil(lambda: window.state == "running", timeout=TIMEOUT)
    assert window.bench_panel.speed.currentText() == "10 ×"
    window.bench_panel.speed.setCurrentIndex(window.bench_panel.speed.findData(1000.0))
    assert window.clock.speed == 1000
    window.abort()


def test_operator_requests_reach_the_run(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=10)  # the 2-minute rest lasts 12 s of wall time
    window.start()
    qtbot.waitUntil(lambda: "Rest for 2 minutes" in window.protocol_panel.status.text(), timeout=TIMEOUT)
    window.protocol_panel.buttons["skip step"].click()
    qtbot.waitUntil(lambda: "Charge at 1C" in window.protocol_panel.status.text(), timeout=TIMEOUT)

    window.protocol_panel.note.setText("cell 7, second fixture")
    window.protocol_panel.note.returnPressed.emit()
    window.pressure_panel.new_setpoint.setValue(12.0)
    window.pressure_panel.hold.click()
    qtbot.waitUntil(lambda: window.buffer.latest.setpoint == 12e6, timeout=TIMEOUT)
    window.abort()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)

    events = read_run(window.run_path).events
    charge = events[(events["kind"] == "step") & (events["message"] == "Charge at 1C until 4.2 V")]
    assert charge["t"].iloc[0] < 100  # the rest was cut short of its 120 s
    assert "cell 7, second fixture" in set(events.loc[events["kind"] == "note", "message"])


def test_two_runs_started_within_a_second_get_their_own_files(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=1000)
    paths = []
    for _ in range(2):
        window.start()
        paths.append(window.run_path)
        window.abort()
        qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    assert paths[0] != paths[1] and all(path.exists() for path in paths)


def test_a_speed_from_the_command_line_is_offered_as_it_is(make_window) -> None:
    window = make_window(speed=2500)
    assert window.bench_panel.speed.currentText() == "2,500 ×"


def test_the_live_cycle_table_shows_only_cycles_that_are_over(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=1000)
    shown: list[tuple[int, list[int]]] = []  # (the run's cycle then, the cycles in the table)
    show_table = window.cycles.show_table
    window.cycles.show_table = lambda table: (
        shown.append((window.buffer.latest.cycle if window.buffer.latest else 0, list(table["cycle"]))),
        show_table(table))
    window.start()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.cycles.rowCount() == 2, timeout=TIMEOUT)  # the run is over: all of it
    during = [cycles for _, cycles in shown[:-1]]
    assert [1] in during  # cycle 1 was shown once it was over, during cycle 2
    assert all(max(cycles, default=0) < now for now, cycles in shown[:-1] if now)
    assert float(window.cycles.item(1, 2).text()) > 0
