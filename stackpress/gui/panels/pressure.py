"""The pressure panel: the setpoint the regulator holds and what the load cell measures.

The operator may hold a new setpoint during a run; the engine checks it against
the hard limit and the protocol's pressure window at its next tick, and a
refusal shows in the status bar, the regulator panel and the event log. The actuator, its jog
and the regulator's mode and gains are in the regulator panel.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton

from stackpress.gui.units import or_dash
from stackpress.sample import Sample


class PressurePanel(QGroupBox):
    setpoint_entered = Signal(float)  # Pa

    def __init__(self) -> None:
        super().__init__("Pressure")
        self.setpoint = QLabel("–")
        self.measured = QLabel("–")
        self.error = QLabel("–")
        self.new_setpoint = QDoubleSpinBox()
        self.new_setpoint.setRange(0.0, 500.0)
        self.new_setpoint.setDecimals(2)
        self.new_setpoint.setSuffix(" MPa")
        self.new_setpoint.setValue(10.0)
        self.hold = QPushButton("Hold")
        self.hold.clicked.connect(lambda: self.setpoint_entered.emit(self.new_setpoint.value() * 1e6))
        entry = QHBoxLayout()
        entry.addWidget(self.new_setpoint, 1)
        entry.addWidget(self.hold)
        form = QFormLayout(self)
        form.addRow("setpoint", self.setpoint)
        form.addRow("measured", self.measured)
        form.addRow("deviation", self.error)
        form.addRow("new setpoint", entry)
        self.set_state("idle")

    def set_state(self, state: str) -> None:
        self.hold.setEnabled(state in ("running", "paused"))

    def show_sample(self, s: Sample) -> None:
        self.setpoint.setText("not held" if math.isnan(s.setpoint) else f"{s.setpoint / 1e6:.3f} MPa")
        self.measured.setText(or_dash(s.pressure / 1e6, "{:.3f} MPa"))
        deviation = (s.pressure - s.setpoint) / s.setpoint * 100 if s.setpoint else math.nan
        self.error.setText(or_dash(deviation, "{:+.2f} %"))
