"""Connect & check a real bench's instruments from the window: on a thread, one answer per instrument."""

from __future__ import annotations

from pathlib import Path

from stackpress.bench import load_bench
from stackpress.sims.servers import serve

TIMEOUT = 30_000  # ms


def _checked(window, qtbot) -> None:
    window.bench_panel.check.click()  # a check that cannot start may be over before the click returns
    qtbot.waitUntil(lambda: not window.checking, timeout=TIMEOUT)
    window.refresh()


def test_a_simulated_bench_has_nothing_to_check(make_window) -> None:
    assert not make_window().bench_panel.check.isEnabled()


def test_instruments_that_do_not_answer_are_each_shown_with_the_reason(make_window, unreachable, qtbot) -> None:
    window = make_window(unreachable())
    panel = window.bench_panel
    assert panel.check.isEnabled()
    panel.check.click()
    assert not panel.check.isEnabled() and not window.protocol_panel.buttons["start"].isEnabled()
    assert not window.tune_panel.start.isEnabled()  # the check holds the instruments
    qtbot.waitUntil(lambda: not window.checking, timeout=TIMEOUT)
    window.refresh()
    rows = [panel.table.item(row, 3).text() for row in range(3)]
    assert all(text.startswith("FAIL: ") and "cannot connect" in text for text in rows)
    assert "TCPIP0::127.0.0.1::1::SOCKET" in rows[0]
    assert panel.check_status.text().endswith("3 of 3 did not answer")
    assert panel.check.isEnabled() and window.protocol_panel.buttons["start"].isEnabled()


def test_a_wrong_instruments_table_is_named(make_window, unreachable, qtbot) -> None:
    window = make_window(unreachable(actuator="generic-hydraulik"))
    _checked(window, qtbot)
    text = window.bench_panel.check_status.text()
    assert text.startswith("check failed: [instruments.actuator] dialect: no dialect file 'generic-hydraulik'")


def test_the_served_simulator_answers_on_every_instrument(make_window, tmp_path: Path, qtbot) -> None:
    with serve(load_bench("sim-hydraulic"), speed=10, ports={"scpi": 0, "modbus": 0}, serial=False) as served:
        window = make_window(served.write_bench(tmp_path / "wire.toml"))
        _checked(window, qtbot)
    panel = window.bench_panel
    rows = [panel.table.item(row, 3).text() for row in range(3)]
    assert all(text.startswith("ok: ") for text in rows), rows
    assert " V, " in rows[0] and " N" in rows[1]  # one reading each, with units
    assert panel.check_status.text().endswith("all answered")
