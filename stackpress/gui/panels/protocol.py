"""The protocol panel: which protocol, whether it can run on this bench, its steps, and the run controls.

A protocol is checked on its own and against the bench as soon as it is opened
(the same checks `stackpress run` makes), and every problem is listed in the
panel, each naming the block and step; Start stays disabled until it is clean.
The controls follow the run's state: Start when idle, Pause and Skip step while
running, Resume while paused, Abort and operator notes (recorded in the run
file) while either.

While a run goes on, the ETA compares the run's elapsed time (simulated time in
a simulation) with the plan's estimated total: an estimate, as the plan is (a
charge ends on a voltage the cell reaches when it does; a block with `until`
may stop early, so its total is an upper bound).
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from stackpress.bench import Bench
from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.load import load_protocol
from stackpress.protocols.plan import duration, plan
from stackpress.protocols.steps import Protocol

ACTIVE = ("connecting", "running", "paused")  # a run is on
BUSY = (*ACTIVE, "tuning", "checking")  # the bench is taken: no new run, no other protocol


class ProtocolPanel(QGroupBox):
    """Open and check a protocol, show its plan, and start, pause, resume or abort its run."""

    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    abort_requested = Signal()
    skip_requested = Signal()
    note_entered = Signal(str)
    open_requested = Signal(str)  # a file the operator chose

    def __init__(self) -> None:
        super().__init__("Protocol")
        self.protocol: Protocol | None = None  # the open protocol, if it passed every check
        self.source: str | None = None  # the file or bundled name last opened, valid or not
        self.total_steps = 0
        self.planned = math.nan  # s, the plan's estimated total (NaN: a script, which plans as it runs)
        self.planned_bounded = False  # the total is an upper bound
        self.state = "idle"
        self._step = ""  # the current step, as the status line shows it
        self.name = QLabel("none")
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self.choose)
        self.errors = QLabel()
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet("color: #c62828;")
        self.errors.hide()
        self.plan = QTreeWidget()
        self.plan.setHeaderLabels(["block / step", "repeat", "estimate"])
        self.plan.setColumnWidth(0, 260)
        self.status = QLabel("idle")
        self.progress = QProgressBar()
        self.eta = QLabel()
        self.eta.setWordWrap(True)
        signals = {"start": self.start_requested, "pause": self.pause_requested, "resume": self.resume_requested,
                   "skip step": self.skip_requested, "abort": self.abort_requested}
        self.buttons = {name: QPushButton(name.capitalize()) for name in signals}
        for name, signal in signals.items():
            self.buttons[name].clicked.connect(signal.emit)
        self.note = QLineEdit()
        self.note.setPlaceholderText("operator note for the run file, Enter to add")
        self.note.returnPressed.connect(self._add_note)

        top = QHBoxLayout()
        top.addWidget(self.name, 1)
        top.addWidget(self.open_button)
        controls = QGridLayout()
        for i, button in enumerate(self.buttons.values()):
            controls.addWidget(button, 0, i)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.errors)
        layout.addWidget(self.plan, 1)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta)
        layout.addWidget(self.note)
        self.set_state("idle")

    def open(self, name_or_path: str | Path, bench: Bench) -> Protocol | None:
        """Load and check a protocol against `bench`; its problems, if any, are shown here."""
        self.source = str(name_or_path)
        self.name.setText(self.source)
        self.plan.clear()
        self.planned, self.planned_bounded = math.nan, False
        self.eta.clear()
        try:
            protocol = load_protocol(name_or_path)
            bench.check_protocol(protocol)
        except ProtocolError as exc:
            self.protocol = None
            self.errors.setText("\n".join(exc.problems))
            self.errors.show()
        else:
            self.show_protocol(protocol, bench)
        self.set_state(self.state)
        return self.protocol

    def show_protocol(self, protocol: Protocol, bench: Bench, source: str | None = None) -> None:
        """A protocol already checked (a continued run's, from its run file), with its plan; `source`: its name."""
        if source is not None:
            self.source = source
            self.name.setText(source)
            self.plan.clear()
        self.protocol = protocol
        self.errors.hide()
        self._show_plan(protocol, bench)

    def set_state(self, state: str) -> None:
        """Show the run's state and enable the controls that make sense in it."""
        self.state = state
        self.status.setText(f"{state}: {self._step}" if self._step else state)
        self.open_button.setEnabled(state not in BUSY)
        self.buttons["start"].setEnabled(state not in BUSY and self.protocol is not None)
        self.buttons["pause"].setEnabled(state == "running")
        self.buttons["resume"].setEnabled(state == "paused")
        self.buttons["skip step"].setEnabled(state == "running")
        self.buttons["abort"].setEnabled(state in ACTIVE)
        self.note.setEnabled(state in ("running", "paused"))

    def clear_step(self) -> None:
        """A new run: no step yet."""
        self._step = ""
        self.progress.setValue(0)
        self.eta.clear()

    def show_step(self, step: int, cycle: int, text: str) -> None:
        self._step = f"step {step} of {self.total_steps}, cycle {cycle}: {text}"
        self.progress.setValue(step)
        self.set_state(self.state)

    def show_elapsed(self, t: float, speed: float | None = None) -> None:
        """The run's elapsed time `t` s against the plan's estimate; `speed`: a simulation's acceleration,
        to say how long the rest takes on the wall clock."""
        elapsed = duration(t)
        if not math.isfinite(self.planned):
            self.eta.setText(f"elapsed {elapsed}; no estimate of the total (a script plans as it runs)")
            return
        total = ("at most " if self.planned_bounded else "") + duration(self.planned)
        left = self.planned - t
        if left <= 0:
            self.eta.setText(f"elapsed {elapsed}, past the estimated {total}: the estimate was short")
            return
        left_text = ("at most " if self.planned_bounded else "about ") + duration(left)
        wall = f", {duration(left / speed)} at {speed:,g}×" if speed else ""
        self.eta.setText(f"elapsed {elapsed} of an estimated {total}: {left_text} left{wall} (estimate)")

    def _add_note(self) -> None:
        text = self.note.text().strip()
        if text:
            self.note_entered.emit(text)
            self.note.clear()

    def _show_plan(self, protocol: Protocol, bench: Bench) -> None:
        """The plan `stackpress check-protocol` prints, as a tree of (nested) blocks and steps with estimates."""
        planned = plan(protocol, capacity=bench.capacity, area=bench.area, safe_preload=bench.safe_preload)
        self.total_steps = sum(line.repeat for line in planned.lines if line.seconds is not None)
        self.progress.setRange(0, self.total_steps)  # 0..0: a busy bar for a script, which plans as it runs
        self.progress.setValue(0)
        parents: list[QTreeWidgetItem] = []
        for line in planned.lines:
            del parents[line.depth:]
            if line.seconds is None:
                item = QTreeWidgetItem([line.text, f"× {line.repeat}", ""])
            else:
                each = "instant" if line.seconds == 0 else duration(line.seconds)
                item = QTreeWidgetItem([line.text, f"× {line.repeat}" if line.repeat > 1 else "", each])
            if parents:
                parents[-1].addChild(item)
            else:
                self.plan.addTopLevelItem(item)
            if line.seconds is None:
                parents.append(item)
        self.planned, self.planned_bounded = planned.total, planned.bounded
        if math.isfinite(planned.total):
            bound = "at most " if planned.bounded else ""
            self.name.setText(f"{self.source}: {bound}{duration(planned.total)} (estimated)")
        self.plan.expandAll()

    def choose(self) -> None:
        """Ask for a protocol file; `open_requested` carries the choice."""
        path, _ = QFileDialog.getOpenFileName(self, "Open a protocol", "", "Protocols (*.toml *.py)")
        if path:
            self.open_requested.emit(path)
