"""The bench panel: which bench, its instruments and how they are doing, and (simulated) how fast time runs.

The GUI never talks to an instrument: what it shows comes from the samples and
events the session publishes. An instrument's last reading is when the window
last received a sample in which its value was a number (a lost reading is NaN),
in wall seconds whatever the simulation's speed; its last error is the last
fault event that named it.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from stackpress.bench import Bench
from stackpress.sample import Event, Sample

ROLES = {"cycler": "voltage", "load_cell": "force", "actuator": "actuator"}  # role -> the field it reads into
SPEEDS = (1, 10, 100, 1000, 10_000)


class BenchPanel(QGroupBox):
    """Bench name, the instruments' state, and the simulation's time acceleration."""

    speed_changed = Signal(float)

    def __init__(self, speed: float) -> None:
        super().__init__("Bench")
        self.name = QLabel()
        self.speed = QComboBox()
        speeds = sorted({*SPEEDS, speed})  # the one asked for on the command line too
        for value in speeds:
            self.speed.addItem(f"{value:,g} ×", float(value))
        self.speed.setCurrentIndex(speeds.index(speed))
        self.speed.currentIndexChanged.connect(lambda i: self.speed_changed.emit(self.speed.itemData(i)))
        self.table = QTableWidget(len(ROLES), 3)
        self.table.setHorizontalHeaderLabels(["instrument", "last reading", "last error"])
        self.table.setVerticalHeaderLabels(list(ROLES))
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        form = QFormLayout()
        form.addRow("bench", self.name)
        form.addRow("time acceleration", self.speed)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table)
        self._last_seen: dict[str, float] = {}
        self._names: dict[str, str] = {}

    def show_bench(self, bench: Bench) -> None:
        self.name.setText(f"{bench.name} ({'simulated' if bench.simulated else 'instruments'})")
        self.speed.setEnabled(bench.simulated)
        instruments = bench.tables.get("instruments", {})
        for row, role in enumerate(ROLES):
            table = instruments.get(role, {})
            where = f"{table.get('driver', '?')} {table.get('resource', '')}" if table else "simulated"
            self.table.setItem(row, 0, QTableWidgetItem(where))
            self.table.setItem(row, 1, QTableWidgetItem("not connected"))
            self.table.setItem(row, 2, QTableWidgetItem(""))
        self._last_seen.clear()

    def update_from(self, samples: list[Sample], events: list[Event]) -> None:
        """Note which instruments gave a reading and which failed."""
        now = time.monotonic()  # the window's own time, for display: not the run's clock
        for role, field in ROLES.items():
            if any(not math.isnan(getattr(sample, field)) for sample in samples):
                self._last_seen[role] = now
        for event in events:
            if event.kind == "fault" and "instrument" in event.data:
                self._show_error(str(event.data["instrument"]), f"{event.t / 3600:.2f} h: {event.message}")
        for row, role in enumerate(ROLES):
            seen = self._last_seen.get(role)
            if seen is not None:
                self.table.item(row, 1).setText(f"{now - seen:.1f} s ago")

    def _show_error(self, instrument: str, text: str) -> None:
        row = _role_row(instrument)
        headers = [self.table.verticalHeaderItem(r).text() for r in range(self.table.rowCount())]
        if row is None and instrument in headers:
            row = headers.index(instrument)
        if row is None:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setVerticalHeaderItem(row, QTableWidgetItem(instrument))
            for col in range(3):
                self.table.setItem(row, col, QTableWidgetItem(""))
        self.table.item(row, 2).setText(text)


def _role_row(instrument: str) -> int | None:
    """The row of the role an instrument's name refers to ("sim-load-cell" -> load_cell), if any."""
    name = instrument.lower().replace("-", "_").replace(" ", "_")
    for row, role in enumerate(ROLES):
        if role in name:
            return row
    return None
