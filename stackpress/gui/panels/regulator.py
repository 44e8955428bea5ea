"""The regulator panel: automatic or manual, a jog of the actuator, and the regulator's gains.

Every request goes to the session, which applies it at the engine's next tick and
records it as an event: "operator" when done, "warning" with the reason when
refused (a jog beyond the actuator's range or the hard pressure limit, gains that
are not positive, a request while the run is not running). The panel shows the
regulator's mode and gains from those events, not from what was asked, and the
last refusal in red, so what it says is what the engine did. The interlocks stay
on in manual.

Jog steps are in the actuator's own terms: N for a ram, µm for a motor. Gains
entered while no run is active are for the next run (`gains_entered` says which).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from stackpress.control.pid import Gains
from stackpress.gui.units import format_command, format_gains, shown_unit
from stackpress.sample import Event, Sample

REQUESTS = ("manual", "jog", "automatic", "gains", "setpoint")  # the operator requests whose outcome shows here
JOG_STEP = {"N": (10.0, 1), "m": (1.0, 3)}  # default jog step in the shown unit (N, µm), and its decimals


class RegulatorPanel(QGroupBox):
    manual_requested = Signal()
    automatic_requested = Signal()
    jog_requested = Signal(float)  # in the actuator's command unit (N or m)
    gains_entered = Signal(object)  # Gains

    def __init__(self) -> None:
        super().__init__("Regulator")
        self.command_unit: str | None = None  # known once a session has connected the actuator
        self.state = "idle"
        self.regulator_mode = ""  # "auto" or "manual" as the engine last reported it; "" outside a run
        self.mode = QLabel("–")
        self.manual = QPushButton("Manual")
        self.manual.clicked.connect(self.manual_requested.emit)
        self.automatic = QPushButton("Automatic")
        self.automatic.clicked.connect(self.automatic_requested.emit)
        self.readback = QLabel("–")
        self.jog_step = QDoubleSpinBox()
        self.jog_down = QPushButton("−")
        self.jog_up = QPushButton("+")
        self.jog_down.clicked.connect(lambda: self._jog(-1))
        self.jog_up.clicked.connect(lambda: self._jog(+1))
        self.gain_edits = {name: QLineEdit() for name in ("kp", "ki", "kd")}
        validator = QDoubleValidator(0.0, math.inf, 6, self)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        for edit in self.gain_edits.values():
            edit.setValidator(validator)
        self.apply_gains = QPushButton("Apply gains")
        self.apply_gains.clicked.connect(self._enter_gains)
        self.gains_now = QLabel("–")
        self.gains_now.setWordWrap(True)
        self.refusal = QLabel()
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet("color: #c62828;")

        modes = QHBoxLayout()
        modes.addWidget(self.mode, 1)
        modes.addWidget(self.manual)
        modes.addWidget(self.automatic)
        jog = QHBoxLayout()
        jog.addWidget(self.jog_step, 1)
        jog.addWidget(self.jog_down)
        jog.addWidget(self.jog_up)
        gains = QHBoxLayout()
        for name, edit in self.gain_edits.items():
            gains.addWidget(QLabel(name))
            gains.addWidget(edit, 1)
        form = QFormLayout(self)
        form.addRow("mode", modes)
        form.addRow("actuator", self.readback)
        form.addRow("jog by", jog)
        form.addRow("gains", self.gains_now)
        form.addRow("new gains", gains)
        form.addRow("", self.apply_gains)
        form.addRow(self.refusal)
        self.set_actuator(None)
        self.set_state("idle")

    def set_actuator(self, command_unit: str | None) -> None:
        """The actuator's command unit ("N", "m"), None while no session has connected it."""
        self.command_unit = command_unit
        label, _ = shown_unit(command_unit or "")
        self.jog_step.setSuffix(f" {label}" if command_unit else "")
        step, decimals = JOG_STEP.get(command_unit or "", (0.0, 3))
        self.jog_step.setDecimals(decimals)
        self.jog_step.setRange(0.0, 1e6)
        self.jog_step.setValue(step)
        self._enable()

    def show_gains(self, gains: Gains, *, next_run: bool = False) -> None:
        """The gains in force (or, `next_run`, those the next run starts with), also in the edit fields."""
        text = format_gains(gains, self.command_unit)
        self.gains_now.setText(f"next run: {text}" if next_run else text)
        for name, edit in self.gain_edits.items():
            edit.setText(f"{getattr(gains, name):.3e}")

    def set_state(self, state: str) -> None:
        """A new run starts in automatic; outside a run there is no mode to show."""
        if state not in ("running", "paused"):
            self._show_mode("")
        elif not self.regulator_mode:
            self._show_mode("auto")
        self.state = state
        self._enable()

    def show_sample(self, s: Sample) -> None:
        self.readback.setText(format_command(s.actuator, self.command_unit or ""))

    def take_events(self, events: list[Event]) -> None:
        """The mode and gains from the engine's "operator" events; its refusals from its "warning" events.

        A resumed run re-engages the regulator in automatic (the engine releases and holds again)."""
        for event in events:
            if event.kind == "resume":
                self._show_mode("auto")
            request = event.data.get("request")
            if request not in REQUESTS:
                continue
            if event.kind == "warning":
                self.refusal.setText(f"{event.t / 3600:.2f} h: {event.message}")
            elif event.kind == "operator":
                self.refusal.clear()
                if request in ("manual", "jog"):
                    self._show_mode("manual")
                elif request == "automatic":
                    self._show_mode("auto")
                elif request == "gains":
                    self.show_gains(event.data["value"])
        self._enable()

    def _enable(self) -> None:
        running = self.state == "running" and self.command_unit is not None
        self.manual.setEnabled(running and self.regulator_mode != "manual")
        self.automatic.setEnabled(running and self.regulator_mode == "manual")
        for widget in (self.jog_step, self.jog_down, self.jog_up):
            widget.setEnabled(running)
        self.apply_gains.setEnabled(self.state not in ("connecting", "paused", "tuning"))  # now, or for the next run

    def _show_mode(self, mode: str) -> None:
        self.regulator_mode = mode
        self.mode.setText(mode or "–")

    def _jog(self, direction: int) -> None:
        _, scale = shown_unit(self.command_unit or "")
        self.jog_requested.emit(direction * self.jog_step.value() * scale)

    def _enter_gains(self) -> None:
        """Gains from the fields; a field that is not a number is named, and nothing is sent."""
        values = {}
        for name, edit in self.gain_edits.items():
            try:
                values[name] = float(edit.text().strip() or "0")
            except ValueError:
                self.refusal.setText(f"gains: {name} = {edit.text()!r} is not a number")
                return
        gains = Gains(**values)
        if not gains.usable:
            self.refusal.setText(f"gains: kp must be above zero and ki, kd not negative ({format_gains(gains, None)})")
            return
        self.refusal.clear()
        self.gains_entered.emit(gains)
