"""Connect / Disconnect: the bench connected without a test, its live readings shown, its cleanup on the way out."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from stackpress.bench import load_bench
from stackpress.data.runfile import read_run
from stackpress.sims.servers import serve

TIMEOUT = 30_000  # ms


def _connected(window, qtbot, samples: int = 3) -> None:
    window.bench_panel.connect_button.click()
    qtbot.waitUntil(lambda: window.state == "connected" and window.buffer.received > samples, timeout=TIMEOUT)
    window.refresh()


def _ages(window) -> list[str]:
    return [window.bench_panel.table.item(row, 1).text() for row in range(3)]


def test_a_connected_bench_shows_live_readings_and_disconnects_into_the_safe_state(make_window, qtbot) -> None:
    window = make_window(speed=100)
    panel, start = window.bench_panel, window.protocol_panel.buttons["start"]
    assert panel.connection.text() == "not connected" and not panel.disconnect_button.isEnabled()
    _connected(window, qtbot)

    assert panel.connection.text() == "connected" and window.monitoring
    assert all(text.endswith(" s ago") for text in _ages(window)), _ages(window)
    assert panel.disconnect_button.isEnabled() and not panel.connect_button.isEnabled()
    assert start.isEnabled()  # Start disconnects first
    assert window.protocol_panel.status.text() == "connected"  # the monitor's rest is not the protocol's step
    assert len(window.plots.voltage.getData()[0]) > 0
    assert math.isnan(window.buffer.latest.setpoint)  # no pressure held: the actuator is left as it is
    assert window.run_path.parent == window.runs_dir and window.run_path.name.startswith("monitor-")

    panel.disconnect_button.click()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    window.refresh()
    assert window.state == "disconnected" and panel.connection.text() == "not connected"
    assert _ages(window) == ["not connected"] * 3
    assert panel.connect_button.isEnabled() and not panel.disconnect_button.isEnabled()
    run = read_run(window.run_path)
    assert run.meta["closed"] == "true" and run.events["message"].iloc[-1] == "run ended: aborted"
    assert run.samples["current"].iloc[-1] == 0  # the cleanup: cycler off


def test_the_operator_can_set_a_pressure_while_connected(make_window, qtbot) -> None:
    window = make_window(speed=100)
    _connected(window, qtbot)
    assert window.pressure_panel.hold.isEnabled()
    window.pressure_panel.setpoint_entered.emit(10e6)
    qtbot.waitUntil(lambda: window.buffer.latest.setpoint == 10e6, timeout=TIMEOUT)


def test_start_disconnects_the_monitor_then_starts_the_protocol(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=100)
    _connected(window, qtbot)
    monitor = window.run_path
    window.protocol_panel.buttons["start"].click()
    qtbot.waitUntil(lambda: window.state == "running" and not window.monitoring, timeout=TIMEOUT)
    window.refresh()
    assert window.run_path.name.startswith("short-")
    assert read_run(monitor).events["message"].iloc[-1] == "run ended: aborted"  # let go before the run began
    assert not window.bench_panel.disconnect_button.isEnabled()  # a test ends with Abort, not Disconnect
    assert window.bench_panel.connection.text() == "connected"


def test_closing_the_window_while_connected_disconnects_without_asking(make_window, qtbot) -> None:
    window = make_window(speed=100)
    window.ask_close_choice = lambda: pytest.fail("asked, though no test runs")
    _connected(window, qtbot)
    window.close()
    assert not window.running
    assert read_run(window.run_path).meta["closed"] == "true"


def test_instruments_that_do_not_answer_show_why_while_the_bench_waits_for_them(make_window, unreachable,
                                                                                 qtbot) -> None:
    window = make_window(unreachable())
    window.show()
    window.bench_panel.connect_button.click()
    qtbot.waitUntil(lambda: window.state == "connected, waiting for the instruments", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: all("cannot connect" in window.bench_panel.table.item(row, 2).text()
                                for row in range(3)), timeout=TIMEOUT)
    assert _ages(window) == ["no reading yet"] * 3
    assert window.banner.isVisible() and "cannot connect" in window.banner.text.text()
    window.bench_panel.disconnect_button.click()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    window.refresh()
    assert window.state == "disconnected" and window.bench_panel.connect_button.isEnabled()


def test_a_served_simulator_connects_through_the_real_drivers(make_window, tmp_path: Path, qtbot) -> None:
    with serve(load_bench("sim-hydraulic"), speed=10, ports={"scpi": 0, "modbus": 0}, serial=False) as served:
        window = make_window(served.write_bench(tmp_path / "wire.toml"))
        assert not window.bench_panel.speed.isEnabled()  # wall time: nothing to accelerate
        _connected(window, qtbot, samples=1)
        assert all(text.endswith(" s ago") for text in _ages(window)), _ages(window)
        window.disconnect_bench()
        qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    window.refresh()
    assert window.state == "disconnected"


def test_an_auto_tune_asked_for_while_connected_disconnects_first(make_window, qtbot) -> None:
    window = make_window(speed=100)
    _connected(window, qtbot)
    assert window.tune_panel.start.isEnabled()
    window.tune_panel.start.click()
    qtbot.waitUntil(lambda: window.tuning, timeout=TIMEOUT)
    assert not window.running and read_run(window.run_path).meta["closed"] == "true"
    window.cancel_tune()
    qtbot.waitUntil(lambda: not window.tuning, timeout=TIMEOUT)


def test_the_window_stays_responsive_while_an_instrument_hangs(make_window, unreachable, tmp_path: Path,
                                                              qtbot) -> None:
    # Every instrument at a server that accepts the connection and never answers: each driver waits
    # out its timeouts on the session's thread, while the window's own timer keeps firing.
    import socket
    import threading

    from PySide6.QtCore import QTimer

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(listener.accept()[0]) for _ in range(3)], daemon=True).start()
    bench = Path(unreachable()).read_text().replace("127.0.0.1::1::", f"127.0.0.1::{port}::")
    bench = bench.replace("127.0.0.1:1?", f"127.0.0.1:{port}?")
    path = tmp_path / "silent.toml"
    path.write_text(bench)
    window = make_window(path)
    window.show()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(window.buffer.received))
    timer.start(20)
    window.bench_panel.connect_button.click()
    qtbot.waitUntil(lambda: len(ticks) >= 25, timeout=TIMEOUT)  # half a second of the GUI thread's own timer
    assert window.running and ticks[-1] == 0  # the engine is still waiting for its first readings
    window.bench_panel.disconnect_button.click()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    timer.stop()
    listener.close()
    for conn in held:
        conn.close()
