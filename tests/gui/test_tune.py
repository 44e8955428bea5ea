"""Auto-tune from the window: a run of its own on a thread, its progress and proposal, Cancel, refusals."""

from __future__ import annotations

from pathlib import Path

from stackpress.data.runfile import read_run

TIMEOUT = 30_000  # ms; a simulated tune takes about a second


def test_an_auto_tune_proposes_gains_the_next_run_starts_with(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol)
    panel = window.tune_panel
    panel.start.click()
    assert window.state == "tuning"
    assert not window.protocol_panel.buttons["start"].isEnabled() and panel.cancel.isEnabled()
    window.start()  # refused while the tune has the bench
    assert window.worker is None

    qtbot.waitUntil(lambda: not window.tuning and panel.proposal is not None, timeout=TIMEOUT)
    window.refresh()
    assert panel.status.text().startswith("done: limit cycle")
    assert panel.progress.value() == panel.progress.maximum()
    assert panel.result.text().startswith("proposed: kp = ") and "Pa/Pa" in panel.result.text()
    tuned = list(Path(window.runs_dir).glob("autotune-*.sqlite"))
    assert len(tuned) == 1 and read_run(tuned[0]).meta["closed"] == "true"  # the tune's own run file

    panel.use.click()
    assert window.gains_override == panel.proposal
    assert window.regulator_panel.gains_now.text().startswith(f"next run: kp = {panel.proposal.kp:.3e}")
    window.start()
    qtbot.waitUntil(lambda: window.worker.session is not None, timeout=TIMEOUT)
    assert window.worker.session.gains == panel.proposal
    window.abort()


def test_cancel_ends_the_tune_without_a_proposal(make_window, qtbot) -> None:
    window = make_window()
    window.tune(10e6)
    window.cancel_tune()
    qtbot.waitUntil(lambda: not window.tuning, timeout=TIMEOUT)
    window.refresh()
    panel = window.tune_panel
    assert panel.status.text() == "failed: cancelled by the operator"
    assert panel.proposal is None and not panel.use.isEnabled() and panel.start.isEnabled()


def test_a_setpoint_whose_swing_leaves_the_safe_window_is_refused_before_anything_moves(make_window) -> None:
    window = make_window()
    window.tune_panel.setpoint.setValue(49.5)
    window.tune_panel.start.click()
    assert window.tune_job is None and window.state == "idle"
    assert window.tune_panel.status.text().startswith("refused: 49.5 MPa +- twice")
    assert not list(Path(window.runs_dir).glob("autotune-*"))


def test_a_fixture_with_nothing_to_tune_says_so(make_window, qtbot) -> None:
    window = make_window("sim-rigid")
    window.tune(10e6)
    qtbot.waitUntil(lambda: not window.tuning, timeout=TIMEOUT)
    window.refresh()
    assert window.tune_panel.status.text().startswith("refused: sim-rigid: the fixture")
    assert "not regulated" in window.tune_panel.status.text()


def test_closing_the_window_cancels_the_tune_and_waits_for_its_cleanup(make_window) -> None:
    window = make_window()
    window.tune(10e6)
    job = window.tune_job
    assert window.close()
    assert job.done and job.result.message == "cancelled by the operator"
