"""GUI tests run on Qt's offscreen platform: no display, same painting code."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before pytest-qt creates the QApplication

import pytest
from PySide6.QtCore import QSettings

from stackpress.bench import load_bench

# Short enough to finish in seconds at 1000x, long enough to pause, resume and abort in the middle.
SHORT_PROTOCOL = """
name = "short"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 2 minutes"]
[[block]]
repeat = 2
steps = ["Charge at 1C until 4.2 V", "Rest for 1 minute", "Discharge at 1C until 2.5 V", "Rest for 1 minute"]
"""


@pytest.fixture
def short_protocol(tmp_path: Path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(SHORT_PROTOCOL)
    return path


@pytest.fixture
def faulty_bench(tmp_path: Path):
    """sim-hydraulic with a [faults] table, e.g. 'cycler_overcurrent = { at = "3 min" }'."""

    def make(faults: str) -> Path:
        path = tmp_path / "faulty.toml"
        path.write_text(f"{load_bench('sim-hydraulic').text}\n[faults]\n{faults}\n")
        return path

    return make


NOWHERE = """
name = "my-press"
[cell]
area = "0.785 cm2"
loading = "3 mAh/cm2"
other_layers = "0.75 mm"
[instruments.cycler]
driver = "scpi"
resource = "TCPIP0::127.0.0.1::1::SOCKET"
dialect = "keithley-2450"
[instruments.load_cell]
driver = "modbus"
resource = "modbus-tcp://127.0.0.1:1?unit=1"
dialect = "generic-modbus-load-cell"
[instruments.actuator]
driver = "modbus"
resource = "modbus-tcp://127.0.0.1:1?unit=2"
dialect = "{actuator}"
command_range = ["0 N", "11.8 kN"]
"""  # port 1: nothing listens there


@pytest.fixture
def unreachable(tmp_path: Path):
    """A real bench whose instruments are nowhere: connecting to them fails at once."""

    def make(actuator: str = "generic-hydraulic") -> Path:
        path = tmp_path / "my-press.toml"
        path.write_text(NOWHERE.format(actuator=actuator))
        return path

    return make


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, tmp_path: Path, settings: QSettings) -> Iterator:
    """A window on a bench (sim-hydraulic by default) with its own settings file and runs folder."""
    from stackpress.gui.app import MainWindow

    windows: list[MainWindow] = []

    def make(bench: str | Path | None = "sim-hydraulic", **kwargs) -> MainWindow:
        window = MainWindow(bench, settings=settings, runs_dir=tmp_path / "runs", **kwargs)
        window.ask_close_choice = lambda: "abort"  # no modal dialog in a test; a test may ask otherwise
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.running:
            window.shutdown("test over")
