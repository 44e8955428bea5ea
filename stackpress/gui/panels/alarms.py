"""Alarms the operator cannot miss, and the log of everything that happened.

The banner comes up red for interlock trips, pressure alarms and instrument
faults, says what happened and when, counts what came after, and stays until
the operator acknowledges it. The event log lists every event of the run; it
keeps the newest `MAX_ROWS`, so memory stays flat over a month.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
)

from stackpress.sample import Event

ALARM_KINDS = ("trip", "alarm", "fault")  # events that raise the banner
MAX_ROWS = 10_000


class AlarmBanner(QFrame):
    """A red band across the window with the first unacknowledged alarm; hidden when there is none."""

    acknowledged = Signal(str)  # what was acknowledged, as the banner said it

    def __init__(self) -> None:
        super().__init__()
        self.setStyleSheet("AlarmBanner { background: #c62828; } QLabel { color: white; font-weight: bold; }")
        layout = QHBoxLayout(self)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.acknowledge_button = QPushButton("Acknowledge")
        self.acknowledge_button.clicked.connect(self.acknowledge)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.acknowledge_button)
        self.first: Event | None = None
        self.more = 0
        self.hide()

    def offer(self, event: Event) -> None:
        """Raise the banner if the event is a trip, an alarm or a fault."""
        if event.kind not in ALARM_KINDS:
            return
        if self.first is None:
            self.first = event
        else:
            self.more += 1
        more = f"  (+{self.more} more, see the event log)" if self.more else ""
        self.text.setText(f"{self.first.kind.upper()} at {self.first.t / 3600:.2f} h: {self.first.message}{more}")
        self.show()

    def acknowledge(self) -> None:
        said = self.text.text()
        self.first, self.more = None, 0
        self.hide()
        self.acknowledged.emit(said)


class EventLog(QTableWidget):
    """Every event: time, kind, message; the newest at the bottom."""

    def __init__(self) -> None:
        super().__init__(0, 3)
        self.setHorizontalHeaderLabels(["time / h", "kind", "message"])
        self.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

    def add(self, events: list[Event]) -> None:
        for event in events:
            row = self.rowCount()
            self.insertRow(row)
            for col, text in enumerate((f"{event.t / 3600:.3f}", event.kind, event.message)):
                self.setItem(row, col, QTableWidgetItem(text))
        if self.rowCount() > MAX_ROWS:
            for _ in range(self.rowCount() - MAX_ROWS):
                self.removeRow(0)
        if events:
            self.scrollToBottom()

    def messages(self) -> list[str]:
        return [self.item(row, 2).text() for row in range(self.rowCount())]
