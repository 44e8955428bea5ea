"""The bench panel: which bench, its instruments and how they are doing, and (simulated) how fast time runs.

The GUI never talks to an instrument: what it shows comes from the samples and
events the session publishes. An instrument's last reading is when the window
last received a sample in which its value was a number (a lost reading is NaN),
in wall seconds whatever the simulation's speed; its last error is the last
fault event that named it.

"Connect" keeps the bench connected without a test running (a monitoring
session, see `stackpress.gui.monitor`), so the plots and this panel show live
readings; "Disconnect" ends it with the run's cleanup. The instruments count as
connected while any session holds them, a run's or the monitor's.

A real bench's instruments can be checked between runs ("Connect && check":
`stackpress check`, on a thread of the window's): each is connected, identified
and read once, then closed, and the answer — or why there was none — shows in
its row. Not during a run (the session holds the connections) nor on a
simulated bench (there is nothing to connect).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from stackpress.bench import Bench
from stackpress.sample import Event, Sample

if TYPE_CHECKING:
    from stackpress.drivers.connect import CheckResult

ROLES = {"cycler": "voltage", "load_cell": "force", "actuator": "actuator"}  # role -> the field it reads into
SPEEDS = (1, 10, 100, 1000, 10_000)
HEADINGS = ("instrument", "last reading", "last error", "check")
CHECK = HEADINGS.index("check")


class BenchPanel(QGroupBox):
    """Bench name, the instruments' state, and the simulation's time acceleration."""

    speed_changed = Signal(float)
    connect_requested = Signal()
    disconnect_requested = Signal()
    check_requested = Signal()

    def __init__(self, speed: float) -> None:
        super().__init__("Bench")
        self.name = QLabel()
        self.speed = QComboBox()
        speeds = sorted({*SPEEDS, speed})  # the one asked for on the command line too
        for value in speeds:
            self.speed.addItem(f"{value:,g} ×", float(value))
        self.speed.setCurrentIndex(speeds.index(speed))
        self.speed.currentIndexChanged.connect(lambda i: self.speed_changed.emit(self.speed.itemData(i)))
        self.table = QTableWidget(len(ROLES), len(HEADINGS))
        self.table.setHorizontalHeaderLabels(list(HEADINGS))
        self.table.setVerticalHeaderLabels(list(ROLES))
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setToolTip("connect the instruments and show live readings without a test (cycler "
                                       "resting, actuator left as it is), recorded in a monitor run file")
        self.connect_button.clicked.connect(self.connect_requested.emit)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setToolTip("end the monitoring: cycler off, actuator holding, instruments closed")
        self.disconnect_button.clicked.connect(self.disconnect_requested.emit)
        self.connection = QLabel("not connected")
        self.check = QPushButton("Connect && check")
        self.check.setToolTip("connect each instrument, identify it, read it once and close it (stackpress check)")
        self.check.clicked.connect(self.check_requested.emit)
        self.check_status = QLabel()
        self.check_status.setWordWrap(True)
        self.simulated = True
        self.connected = False  # a session holds the instruments
        header = QHBoxLayout()
        header.addWidget(self.name, 1)
        header.addWidget(self.check)
        connection = QHBoxLayout()
        connection.addWidget(self.connection, 1)
        connection.addWidget(self.connect_button)
        connection.addWidget(self.disconnect_button)
        form = QFormLayout()
        form.addRow("bench", header)
        form.addRow("instruments", connection)
        form.addRow("time acceleration", self.speed)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.check_status)
        self._last_seen: dict[str, float] = {}

    def show_bench(self, bench: Bench) -> None:
        self.name.setText(f"{bench.name} ({'simulated' if bench.simulated else 'instruments'})")
        self.speed.setEnabled(bench.simulated)
        self.simulated = bench.simulated
        self.check_status.setText("" if bench.simulated else "not checked yet")
        self.check_status.setVisible(not bench.simulated)
        instruments = bench.tables.get("instruments", {})
        for row, role in enumerate(ROLES):
            table = instruments.get(role, {})
            where = f"{table.get('driver', '?')} {table.get('resource', '')}" if table else "simulated"
            self.table.setItem(row, 0, QTableWidgetItem(where))
            self.table.setItem(row, 1, QTableWidgetItem("not connected"))
            self.table.setItem(row, 2, QTableWidgetItem(""))
            self.table.setItem(row, CHECK, QTableWidgetItem("–" if bench.simulated else ""))
        self._last_seen.clear()

    def set_state(self, *, busy: bool, connection: str, monitoring: bool) -> None:
        """`busy`: a run, an auto-tune, a check or the monitor has the bench; `connection`: "not connected",
        "connecting" or "connected" (a session holds the instruments); `monitoring`: the monitor is that session.

        Connect and check only a free bench (check only a real one); disconnect only the monitor
        (a run ends with Abort)."""
        self.connection.setText(connection)
        self.connect_button.setEnabled(not busy)
        self.disconnect_button.setEnabled(monitoring)
        self.check.setEnabled(not self.simulated and not busy)
        self.connected = connection == "connected"
        self._show_ages()

    def begin_check(self) -> None:
        self.check_status.setText("checking: connecting to each instrument…")
        for row in range(len(ROLES)):
            self.table.setItem(row, CHECK, QTableWidgetItem("…"))

    def show_check(self, results: list[CheckResult]) -> None:
        """One row per instrument: what it said it is and one reading, or why it did not answer."""
        for result in results:
            row = _role_row(result.role)
            text = (f"ok: {result.identity}; {result.reading} ({result.seconds * 1e3:.0f} ms)" if result.ok
                    else f"FAIL: {result.error}")
            item = QTableWidgetItem(text)
            item.setToolTip(result.line())
            self.table.setItem(row, CHECK, item)
        failed = sum(not result.ok for result in results)
        self.check_status.setText(f"checked at {time.strftime('%H:%M:%S')}: "
                                  + (f"{failed} of {len(results)} did not answer" if failed else "all answered"))

    def show_check_error(self, text: str) -> None:
        """The check could not start (an [instruments] table that is wrong): why."""
        self.check_status.setText(f"check failed: {text}")

    def update_from(self, samples: list[Sample], events: list[Event]) -> None:
        """Note which instruments gave a reading and which failed."""
        now = time.monotonic()  # the window's own time, for display: not the run's clock
        for role, field in ROLES.items():
            if any(not math.isnan(getattr(sample, field)) for sample in samples):
                self._last_seen[role] = now
        for event in events:
            if event.kind == "fault" and "instrument" in event.data:
                self._show_error(str(event.data["instrument"]), f"{event.t / 3600:.2f} h: {event.message}")
        self._show_ages()

    def _show_ages(self) -> None:
        """How long ago each instrument last gave a reading, while a session holds them."""
        now = time.monotonic()
        for row, role in enumerate(ROLES):
            seen = self._last_seen.get(role)
            text = ("not connected" if not self.connected else "no reading yet" if seen is None
                    else f"{now - seen:.1f} s ago")
            self.table.item(row, 1).setText(text)

    def _show_error(self, instrument: str, text: str) -> None:
        row = _role_row(instrument)
        headers = [self.table.verticalHeaderItem(r).text() for r in range(self.table.rowCount())]
        if row is None and instrument in headers:
            row = headers.index(instrument)
        if row is None:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setVerticalHeaderItem(row, QTableWidgetItem(instrument))
            for col in range(len(HEADINGS)):
                self.table.setItem(row, col, QTableWidgetItem(""))
        self.table.item(row, 2).setText(text)


def _role_row(instrument: str) -> int | None:
    """The row of the role an instrument's name refers to ("sim-load-cell" -> load_cell), if any."""
    name = instrument.lower().replace("-", "_").replace(" ", "_")
    for row, role in enumerate(ROLES):
        if role in name:
            return row
    return None
