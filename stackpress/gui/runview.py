"""A run from its file, finished or crashed: how it ended, its plots, its per-cycle table and its events.

`read_run` opens the file read-only, so a run still being recorded (or whose
process died) opens too, with everything committed to disk. A run whose file
was never closed offers "Continue this run" (`Session.continue_run`: the run goes
on from its last checkpoint, appending to the file).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from stackpress.data.analysis import cycle_table
from stackpress.data.report import run_status
from stackpress.data.runfile import read_run
from stackpress.gui.live import recorded_columns
from stackpress.gui.panels.alarms import EventLog
from stackpress.gui.panels.cycles import CycleTable
from stackpress.gui.plots import RunPlots
from stackpress.sample import Event


class RunView(QWidget):
    """One run file, browsed: `path` is the file it shows."""

    continue_requested = Signal(object)  # the run file's Path

    def __init__(self, path: Path) -> None:
        super().__init__()
        run = read_run(path)
        self.path = Path(path)
        status = run_status(run)
        self.status = status.state
        self.header = QLabel(f"<b>{self.path.name}</b>: {status.state} — {status.text}")
        self.header.setWordWrap(True)
        self.continue_button = QPushButton("Continue this run")
        self.continue_button.setVisible(status.state == "interrupted")
        self.continue_button.clicked.connect(lambda: self.continue_requested.emit(self.path))
        self.plots = RunPlots()
        self.plots.set_view("whole")
        self.plots.show_samples(recorded_columns(run.samples))
        self.cycles = CycleTable()
        table = cycle_table(run.samples)
        self.cycles.show_table(table)
        self.plots.show_cycles(table)
        self.events = EventLog()
        self.events.add([Event(e["t"], e["kind"], e["message"], e["data"]) for e in run.events.to_dict("records")])
        below = QTabWidget()
        below.addTab(self.cycles, "Cycles")
        below.addTab(self.events, "Events")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.plots)
        split.addWidget(below)
        split.setSizes([500, 200])
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.continue_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
