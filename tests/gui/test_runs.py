"""Opening run files: finished and crashed runs, their plots and per-cycle table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from stackpress.bench import load_bench
from stackpress.clock import VirtualClock
from stackpress.data.runfile import read_run
from stackpress.protocols.load import load_protocol
from stackpress.session import Session


@pytest.fixture
def finished_run(tmp_path: Path, short_protocol: Path) -> Path:
    out = tmp_path / "done.sqlite"
    Session(load_protocol(short_protocol), load_bench("sim-hydraulic"), out, clock=VirtualClock()).run()
    return out


def test_a_finished_run_opens_with_its_plots_and_cycle_table(make_window, finished_run: Path) -> None:
    window = make_window()
    view = window.open_run(finished_run)
    samples = read_run(finished_run).samples
    assert view.status == "finished"
    assert window.tabs.currentWidget() is view
    assert view.cycles.rowCount() == 2
    assert float(view.cycles.item(0, 2).text()) > 0  # discharge capacity, mAh
    assert len(view.plots.voltage.getData()[0]) == len(samples)
    assert view.events.rowCount() > 0
    assert window.current_run_path() == finished_run


def test_a_crashed_run_opens_as_interrupted(make_window, finished_run: Path) -> None:
    with sqlite3.connect(finished_run) as db:  # as if the process had died before closing it
        db.execute("DELETE FROM meta WHERE key = 'closed'")
    view = make_window().open_run(finished_run)
    assert view.status == "interrupted"
    assert "not closed" in view.header.text()


def test_a_file_that_is_not_a_run_is_refused_by_name(make_window, tmp_path: Path) -> None:
    other = tmp_path / "notes.sqlite"
    other.write_text("not a database")
    with pytest.raises(ValueError, match=r"notes\.sqlite"):
        make_window().open_run(other)


@pytest.fixture
def crashed_run(tmp_path: Path, short_protocol: Path) -> Path:
    """A run that stopped in its first charge and whose file was never closed (as if its process had died)."""
    out = tmp_path / "crashed.sqlite"
    session: Session

    def stop_in_the_first_charge(sample) -> None:
        if sample.t > 1800:
            session.abort("simulated crash")

    session = Session(load_protocol(short_protocol), load_bench("sim-hydraulic"), out, clock=VirtualClock(),
                      on_sample=(stop_in_the_first_charge,))
    session.run()
    with sqlite3.connect(out) as db:
        db.execute("DELETE FROM meta WHERE key = 'closed'")
    return out


def test_a_crashed_run_continues_as_the_live_run_and_appends_to_its_file(make_window, crashed_run: Path,
                                                                         qtbot) -> None:
    before = read_run(crashed_run).samples
    window = make_window()
    view = window.open_run(crashed_run)
    assert view.continue_button.isVisibleTo(view)
    view.continue_button.click()
    assert window.tabs.indexOf(view) == -1 and window.tabs.currentWidget() is window.live_split
    assert window.run_path == crashed_run and window.buffer.received == len(before)  # the live view has it all
    assert window.protocol_panel.name.text().startswith("crashed.sqlite (continued)")
    qtbot.waitUntil(lambda: not window.running, timeout=30_000)
    window.refresh()

    assert window.state == "finished"
    after = read_run(crashed_run)
    assert after.meta["closed"] == "true" and "resumed_at" in after.meta
    assert after.samples["t"].iloc[-1] > before["t"].iloc[-1] and after.samples["cycle"].max() == 2
    qtbot.waitUntil(lambda: window.cycles.rowCount() == 2, timeout=30_000)  # from the whole file


def test_a_continued_simulated_run_is_paced_at_the_chosen_speed(make_window, crashed_run: Path, qtbot) -> None:
    left_off = read_run(crashed_run).samples["t"].iloc[-1]
    window = make_window(speed=1)
    window.open_run(crashed_run).continue_button.click()
    received = window.buffer.received
    qtbot.waitUntil(lambda: window.clock is not None and window.buffer.received > received + 1, timeout=30_000)
    assert window.clock.now() > left_off
    assert window.running  # at 1x, hours of the run are left (unpaced, it is over in a second or two)
    speed = window.bench_panel.speed
    assert speed.isEnabled()
    speed.setCurrentIndex(speed.findData(10_000.0))
    assert window.clock.speed == 10_000
    qtbot.waitUntil(lambda: not window.running, timeout=30_000)
    window.refresh()
    assert window.state == "finished"


def test_a_finished_run_offers_no_continue(make_window, finished_run: Path) -> None:
    view = make_window().open_run(finished_run)
    assert not view.continue_button.isVisibleTo(view)


def test_the_file_menu_exports_and_reports_the_run_in_front(make_window, finished_run: Path, tmp_path: Path,
                                                           monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    export, report = tmp_path / "done.parquet", tmp_path / "report"
    report.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(export), ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(report))
    window = make_window()
    window.open_run(finished_run)
    actions = {action.text(): action for action in window.menuBar().actions()[0].menu().actions()}
    actions["&Export run…"].trigger()
    actions["Write &report…"].trigger()
    assert len(pd.read_parquet(export)) == len(read_run(finished_run).samples)
    assert (report / "report.html").is_file()
    assert str(report) in window.statusBar().currentMessage()


def test_a_crashed_script_run_is_refused_with_the_reason(make_window, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    script = tmp_path / "short.py"
    script.write_text('LIMITS = {"voltage": ["2.5 V", "4.3 V"]}\n\n\ndef protocol(run):\n'
                      '    yield "Hold pressure at 10 MPa"\n    yield "Rest for 10 minutes"\n')
    out = tmp_path / "script.sqlite"
    Session(load_protocol(script), load_bench("sim-hydraulic"), out, clock=VirtualClock()).run()
    with sqlite3.connect(out) as db:
        db.execute("DELETE FROM meta WHERE key = 'closed'")
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: warnings.append(text))
    window = make_window()
    window.open_run(out).continue_button.click()
    [warning] = warnings
    assert "script.sqlite cannot be continued: its protocol is a Python script" in warning
    assert window.run_path != out and not window.running
