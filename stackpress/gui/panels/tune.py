"""The auto-tune panel: a relay auto-tune of the pressure loop, its progress, and its proposed gains.

An auto-tune is a run of its own on the bench (settle at the setpoint, probe the
fixture, a relay oscillation), so it is offered only while no run is active, and
no run can start while it goes on. A setpoint whose swing would leave the safe
pressure window is refused before anything moves. The proposal is not applied
by itself: "Use for the next run" makes it the gains the next run starts with.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from stackpress.control.autotune import TuneProgress, TuneResult
from stackpress.control.pid import Gains
from stackpress.gui.units import format_gains

PHASES = ("settle", "probe", "relay", "done")  # the tuner's phases in order; the bar shows which one it is in


class TunePanel(QGroupBox):
    tune_requested = Signal(float)  # setpoint, Pa
    cancel_requested = Signal()
    use_requested = Signal(object)  # the proposed Gains

    def __init__(self) -> None:
        super().__init__("Auto-tune")
        self.proposal: Gains | None = None
        self.setpoint = QDoubleSpinBox()
        self.setpoint.setRange(5.0, 50.0)
        self.setpoint.setDecimals(1)
        self.setpoint.setSuffix(" MPa")
        self.setpoint.setValue(10.0)
        self.start = QPushButton("Auto-tune")
        self.start.clicked.connect(lambda: self.tune_requested.emit(self.setpoint.value() * 1e6))
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_requested.emit)
        self.progress = QProgressBar()
        self.progress.setRange(0, len(PHASES) - 1)
        self.progress.setFormat("")
        self.status = QLabel("relay auto-tune at a setpoint: a run of its own")
        self.status.setWordWrap(True)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.use = QPushButton("Use for the next run")
        self.use.clicked.connect(lambda: self.use_requested.emit(self.proposal))
        top = QHBoxLayout()
        top.addWidget(self.setpoint, 1)
        top.addWidget(self.start)
        top.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.result)
        layout.addWidget(self.use)
        layout.addStretch(1)
        self.set_busy(tuning=False, can_start=True)

    def set_busy(self, *, tuning: bool, can_start: bool) -> None:
        """`tuning`: a tune is going on (Cancel); `can_start`: no run is active and no tune either."""
        self.start.setEnabled(can_start and not tuning)
        self.setpoint.setEnabled(can_start and not tuning)
        self.cancel.setEnabled(tuning)
        self.use.setEnabled(self.proposal is not None and not tuning)

    def begin(self) -> None:
        self.proposal = None
        self.progress.setValue(0)
        self.progress.setFormat("starting")
        self.status.setText("starting")
        self.result.clear()

    def show_progress(self, progress: TuneProgress) -> None:
        if progress.phase in PHASES:
            self.progress.setValue(PHASES.index(progress.phase))
        self.progress.setFormat(progress.phase if progress.phase != "relay" else f"relay, cycle {progress.cycles}")
        self.status.setText(f"{progress.phase} at {progress.t:.0f} s: {progress.message}")

    def show_result(self, result: TuneResult) -> None:
        self.proposal = result.gains if result.ok else None
        if self.proposal is None:
            self.status.setText(f"failed: {result.message}")
            self.result.setText(f"run {result.state}; the gains are unchanged" if result.state else "")
            return
        self.progress.setValue(len(PHASES) - 1)
        self.progress.setFormat("done")
        self.status.setText(f"done: {result.message}")
        self.result.setText(f"proposed: {format_gains(self.proposal, result.command_unit)}")

    def show_refusal(self, text: str) -> None:
        """The tune could not start (or stopped with an error): why, nothing proposed."""
        self.proposal = None
        self.status.setText(f"refused: {text}")
        self.result.clear()
