"""The regulator panel driving a simulated run: manual, jog, automatic and gains, each as the engine did it."""

from __future__ import annotations

from pathlib import Path

from stackpress.control.pid import Gains
from stackpress.data.runfile import read_run

TIMEOUT = 30_000  # ms


def _running(window, qtbot) -> None:
    window.start()
    qtbot.waitUntil(lambda: window.state == "running" and window.regulator_panel.command_unit is not None,
                    timeout=TIMEOUT)
    window.refresh()


def _logged(window, qtbot, text: str) -> None:
    qtbot.waitUntil(lambda: any(text in m for m in window.events.messages()), timeout=TIMEOUT)


def test_manual_jog_and_back_to_automatic_on_a_ram(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=100)
    panel = window.regulator_panel
    assert not panel.manual.isEnabled() and not panel.jog_up.isEnabled()  # no run, nothing to move
    _running(window, qtbot)
    assert panel.jog_step.suffix() == " N" and panel.mode.text() == "auto"
    assert panel.manual.isEnabled() and not panel.automatic.isEnabled()

    panel.manual.click()
    qtbot.waitUntil(lambda: panel.mode.text() == "manual" and panel.automatic.isEnabled(), timeout=TIMEOUT)
    panel.jog_step.setValue(50)
    panel.jog_up.click()
    _logged(window, qtbot, "jogged by 50 to")

    panel.jog_step.setValue(100_000)  # far beyond the ram's range and the hard limit
    panel.jog_up.click()
    qtbot.waitUntil(lambda: "refused" in panel.refusal.text(), timeout=TIMEOUT)
    assert "range" in panel.refusal.text() and panel.mode.text() == "manual"
    assert "'jog' refused" in window.statusBar().currentMessage()  # seen whichever tab is in front

    panel.automatic.click()
    qtbot.waitUntil(lambda: panel.mode.text() == "auto", timeout=TIMEOUT)
    assert panel.refusal.text() == ""  # the next request that went through clears it

    panel.manual.click()
    qtbot.waitUntil(lambda: panel.mode.text() == "manual", timeout=TIMEOUT)
    window.request("pause")
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=TIMEOUT)  # as the window last showed it
    assert not panel.jog_up.isEnabled()  # the engine takes requests only while running
    window.request("resume")
    qtbot.waitUntil(lambda: panel.mode.text() == "auto", timeout=TIMEOUT)  # a resume re-engages the regulator
    window.abort()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)

    events = read_run(window.run_path).events
    requests = [e["data"]["request"] for e in events.to_dict("records") if e["kind"] == "operator"
                and e["data"].get("request")]
    assert requests == ["manual", "jog", "automatic", "manual"]
    assert len(events[(events["kind"] == "warning") & events["message"].str.contains("'jog' refused")]) == 1


def test_a_motor_jogs_in_micrometres(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window("sim-spring", protocol=short_protocol, speed=100)
    _running(window, qtbot)
    panel = window.regulator_panel
    assert panel.jog_step.suffix() == " µm" and "m/Pa" in panel.gains_now.text()
    panel.jog_step.setValue(2.0)
    panel.jog_down.click()
    _logged(window, qtbot, "jogged by -2e-06 to")  # 2 µm, sent to the session in metres
    window.abort()


def test_new_gains_apply_to_the_running_regulator_and_bad_ones_are_named(make_window, short_protocol: Path,
                                                                         qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=100)
    _running(window, qtbot)
    panel = window.regulator_panel
    assert panel.gain_edits["kp"].text() == "5.000e-01"  # the bench's, in scientific notation

    panel.gain_edits["kp"].setText("0")
    panel.apply_gains.click()
    assert "kp must be above zero" in panel.refusal.text()

    panel.gain_edits["kp"].setText("3e-1")
    panel.gain_edits["ki"].setText("2.5e-2")
    panel.apply_gains.click()
    qtbot.waitUntil(lambda: window.worker.session.gains == Gains(0.3, 0.025, 0.0), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "kp = 3.000e-01 Pa/Pa, ki = 2.500e-02 1/s" in panel.gains_now.text(), timeout=TIMEOUT)
    window.abort()


def test_gains_entered_between_runs_are_the_next_runs(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=100)
    panel = window.regulator_panel
    panel.gain_edits["kp"].setText("0.25")
    panel.apply_gains.click()
    assert panel.gains_now.text().startswith("next run: kp = 2.500e-01")
    _running(window, qtbot)
    assert window.worker.session.gains.kp == 0.25
    window.abort()
