"""The bench window: live plots, the bench, protocol, pressure, regulator and auto-tune panels, alarms, run files.

The window talks to a `Session` only, through a `RunWorker` that builds and runs
it on its own thread; the engine's samples and events reach the window through
a `LiveBuffer` that a timer drains on the GUI thread. So the window paints at
its own pace and stays responsive when an instrument hangs, and nothing here
touches an instrument. An auto-tune (a run of its own) and a real bench's
instrument check are jobs on threads of their own too, polled by the same timer;
one of a run, an auto-tune and a check has the bench at a time (`busy`).

"Connect" makes a monitoring session the live run (`monitor.py`: a protocol that
only rests), so a connected bench shows live readings without a test. It is the
one holder of the bench that gives way by itself: Start, Continue, Auto-tune or
opening another bench first disconnects it (its cleanup: cycler off, actuator
holding) and then does what was asked, as a researcher who connected to watch the
cell and then starts the test expects; only a running test needs an explicit Abort.

Settings (the last bench and protocol, the window's geometry and layout) live
in QSettings, i.e. the platform's config folder (~/.config/stackpress on Linux).
"""

from __future__ import annotations

import dataclasses
import functools
import signal
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from stackpress.bench import DEFAULT_BENCH, Bench, BenchError, load_bench
from stackpress.clock import PacedClock
from stackpress.control.autotune import TuneRefused, check_tunable
from stackpress.control.pid import Gains
from stackpress.data.analysis import CYCLE_COLUMNS, cycle_table
from stackpress.data.recorder import new_run_path
from stackpress.data.runfile import read_run
from stackpress.gui.live import COLUMNS, LiveBuffer, recorded_columns
from stackpress.gui.monitor import monitor_protocol
from stackpress.gui.panels.alarms import AlarmBanner, EventLog
from stackpress.gui.panels.bench import BenchPanel
from stackpress.gui.panels.cycles import CycleTable
from stackpress.gui.panels.pressure import PressurePanel
from stackpress.gui.panels.protocol import ProtocolPanel
from stackpress.gui.panels.regulator import RegulatorPanel
from stackpress.gui.panels.tune import TunePanel
from stackpress.gui.plots import RunPlots
from stackpress.gui.runview import RunView
from stackpress.gui.worker import Job, RunWorker, TuneJob
from stackpress.protocols.steps import Protocol
from stackpress.sample import Event
from stackpress.session import ResumeError, Session, recorded_setup
from stackpress.tuning import autotune

DEFAULT_PROTOCOL = "demo"
DEFAULT_SPEED = 1000.0  # simulated seconds per wall second: the demo's 50 h in about 3 minutes
REFRESH_MS = 200  # how often the window takes in what the engine published
CLOSE_WAIT = 30.0  # s: how long closing waits for the run's cleanup before it leaves it to finish alone
SCREENSHOT_AFTER = 10.0  # wall seconds
REFUSAL_SHOWN_MS = 15_000  # how long a refused operator request stays in the status bar
MONITOR_STATES = {"running": "connected", "paused": "connected, waiting for the instruments",  # only a fault
                  "aborted": "disconnected"}  # the monitor's engine states as the operator reads them


class MainWindow(QMainWindow):
    """One bench, one protocol, one live run at a time; any number of run files open beside it."""

    def __init__(
        self,
        bench: str | Path | None = None,
        *,
        protocol: str | Path | None = None,
        speed: float = DEFAULT_SPEED,
        runs_dir: Path = Path("runs"),
        settings: QSettings | None = None,
        autostart: bool = False,
    ) -> None:
        """`bench`/`protocol`: what to open (default: the last used, else sim-hydraulic and the demo);
        `autostart`: start the protocol at once if the bench is simulated."""
        super().__init__()
        self.settings = settings if settings is not None else QSettings("stackpress", "stackpress")
        self.runs_dir = runs_dir
        self.speed = speed
        self.bench: Bench | None = None
        self.buffer: LiveBuffer | None = None
        self.worker: RunWorker | None = None
        self.clock: PacedClock | None = None  # a simulated run's clock, whose speed the operator sets
        self.run_path: Path | None = None
        self.gains_override: Gains | None = None  # gains the next run starts with instead of the bench's
        self.tune_job: TuneJob | None = None
        self.check_job: Job | None = None  # a real bench's instruments being checked
        self.monitoring = False  # the live run is the monitor ("Connect"), not a test
        self._after_disconnect: Callable[[], None] | None = None  # what to do once the monitor has let go
        self._reported_error = False
        self._cycles_key = (0, False)  # (cycle, run ended) the per-cycle table was last asked for
        self._cycles_job: Future[pd.DataFrame] | None = None
        self._analysis = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stackpress-analysis")

        self.banner = AlarmBanner()
        self.plots = RunPlots()
        self.bench_panel = BenchPanel(speed)
        self.protocol_panel = ProtocolPanel()
        self.pressure_panel = PressurePanel()
        self.regulator_panel = RegulatorPanel()
        self.tune_panel = TunePanel()
        self.events = EventLog()
        self.cycles = CycleTable()
        self._layout()
        self._menus()
        self._connect()

        self.open_bench(bench or self.settings.value("bench", DEFAULT_BENCH))
        self.open_protocol(protocol or self.settings.value("protocol", DEFAULT_PROTOCOL))
        if self.protocol_panel.protocol is None and protocol is None:
            self.open_protocol(DEFAULT_PROTOCOL)  # the remembered file is gone or no longer valid
        self._restore_layout()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)
        if autostart and self.bench is not None and self.bench.simulated:
            self.start()

    # --- building ---------------------------------------------------------------------------

    def _layout(self) -> None:
        self.setWindowTitle("stackpress")
        side = QSplitter(Qt.Orientation.Vertical)
        self.pressure_tabs = QTabWidget()
        for panel, title in ((self.pressure_panel, "Pressure"), (self.regulator_panel, "Regulator"),
                             (self.tune_panel, "Auto-tune")):
            panel.setTitle("")  # the tab says it
            self.pressure_tabs.addTab(panel, title)
        for panel in (self.bench_panel, self.protocol_panel, self.pressure_tabs):
            side.addWidget(panel)
        side.setSizes([295, 330, 225])
        self.live_split = QSplitter(Qt.Orientation.Horizontal)
        self.live_split.addWidget(self.plots)
        self.live_split.addWidget(side)
        self.live_split.setSizes([900, 380])
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.addTab(self.live_split, "Live")
        self.tabs.addTab(self.cycles, "Cycles")
        self.tabs.addTab(self.events, "Events")
        for fixed in range(3):
            self.tabs.tabBar().setTabButton(fixed, self.tabs.tabBar().ButtonPosition.RightSide, None)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.resize(1400, 850)

    def _menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        self._action(file, "Open &bench…", self._choose_bench)
        self._action(file, "Open &protocol…", self.protocol_panel.choose)
        self._action(file, "Open &run…", self._choose_run)
        file.addSeparator()
        self._action(file, "&Export run…", self._export)
        self._action(file, "Write &report…", self._report)
        file.addSeparator()
        self._action(file, "&Quit", self.close)
        view = self.menuBar().addMenu("&View")
        tools = self.addToolBar("View")
        tools.setObjectName("view")
        self.view_actions = {}
        for name, text in (("follow", "&Follow"), ("whole", "&Whole run")):
            action = self._action(view, text, lambda _=False, name=name: self.plots.set_view(name))
            action.setCheckable(True)
            tools.addAction(action)
            self.view_actions[name] = action
        self._show_view(self.plots.view)

    def _action(self, menu: QMenu, text: str, slot: Callable[..., object]) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _connect(self) -> None:
        self.protocol_panel.open_requested.connect(self.open_protocol)
        self.protocol_panel.start_requested.connect(self.start)
        self.protocol_panel.pause_requested.connect(lambda: self.request("pause"))
        self.protocol_panel.resume_requested.connect(lambda: self.request("resume"))
        self.protocol_panel.skip_requested.connect(lambda: self.request("skip_step"))
        self.protocol_panel.note_entered.connect(lambda text: self.request("note", text))
        self.protocol_panel.abort_requested.connect(self.abort)
        self.pressure_panel.setpoint_entered.connect(lambda pa: self.request("set_pressure", pa))
        self.regulator_panel.manual_requested.connect(lambda: self.request("manual"))
        self.regulator_panel.automatic_requested.connect(lambda: self.request("automatic"))
        self.regulator_panel.jog_requested.connect(lambda delta: self.request("jog", delta))
        self.regulator_panel.gains_entered.connect(self.set_gains)
        self.tune_panel.tune_requested.connect(self.tune)
        self.tune_panel.cancel_requested.connect(self.cancel_tune)
        self.tune_panel.use_requested.connect(self.set_gains)
        self.bench_panel.speed_changed.connect(self.set_speed)
        self.bench_panel.check_requested.connect(self.check_instruments)
        self.bench_panel.connect_requested.connect(self.connect_bench)
        self.bench_panel.disconnect_requested.connect(self.disconnect_bench)
        self.tabs.tabCloseRequested.connect(self._close_tab)
        self.plots.view_changed.connect(self._show_view)
        self.banner.acknowledged.connect(lambda said: self.request("note", f"alarm acknowledged: {said}"))

    # --- bench, protocol, run ---------------------------------------------------------------

    def open_bench(self, name_or_path: str | Path) -> None:
        try:
            self.bench = load_bench(name_or_path)
        except BenchError as exc:
            self.banner.offer(Event(0.0, "fault", f"cannot open bench: {exc}"))
            if self.bench is None:
                self.bench = load_bench(DEFAULT_BENCH)
        else:
            self.settings.setValue("bench", str(name_or_path))
        self._use_bench(self.bench)
        if self.protocol_panel.source is not None:
            self.open_protocol(self.protocol_panel.source)  # check it against the new bench

    def _use_bench(self, bench: Bench) -> None:
        self.bench = bench
        self.bench_panel.show_bench(bench)
        self.gains_override = None  # another bench: another fixture
        self.regulator_panel.set_actuator(None)
        self.regulator_panel.show_gains(bench.gains, next_run=True)
        self._show_state()

    def open_protocol(self, name_or_path: str | Path) -> None:
        if self.bench is not None and self.protocol_panel.open(name_or_path, self.bench) is not None:
            self.settings.setValue("protocol", str(name_or_path))

    def start(self) -> None:
        """Start the open protocol on the bench: a new run file, a new live view."""
        protocol, bench = self.protocol_panel.protocol, self.next_run_bench()
        if protocol is None or bench is None or self._disconnect_first(self.start) or self.busy:
            return
        self._start_session(protocol, bench)

    def connect_bench(self) -> None:
        """Connect the bench without a test: the monitor (a session that only rests) becomes the live run."""
        bench = self.next_run_bench()
        if bench is None or self.busy:
            return
        path = self._start_session(monitor_protocol(bench), bench, monitoring=True)
        self.statusBar().showMessage(f"connecting the bench; its readings are recorded in {path}")

    def disconnect_bench(self) -> None:
        """End the monitor, with its cleanup (cycler off, actuator holding); a test run is not ended here."""
        if self.monitoring and self.worker is not None:
            self.worker.abort("disconnected")

    def _start_session(self, protocol: Protocol, bench: Bench, *, monitoring: bool = False) -> Path:
        """Run `protocol` on `bench` as the live run, into a new file in the runs folder (returned)."""
        path = new_run_path(self.runs_dir, protocol.name)
        buffer = LiveBuffer()
        clock = PacedClock(self.speed) if bench.simulated else None
        self.bench_panel.show_bench(bench)
        self._go_live(path, buffer, clock, lambda: Session(protocol, bench, path, clock=clock,
                                                           on_sample=(buffer.sample,), on_event=(buffer.event,)),
                      monitoring=monitoring)
        return path

    def _disconnect_first(self, action: Callable[[], None]) -> bool:
        """While the monitor has the bench: disconnect it, and do `action` once it has let go. True if so."""
        if not (self.monitoring and self.running):
            return False
        self._after_disconnect = action
        self.disconnect_bench()
        return True

    def continue_run(self, path: Path) -> None:
        """Go on with a crashed run (its file never closed) from its last checkpoint, appending to its file.

        It becomes the live run, on its own bench and protocol (the run file's copies), and
        its live view starts with what the file holds. A simulated run goes on paced, at the
        time acceleration, from the time `Session.continue_run` finds in the file."""
        if self._disconnect_first(lambda: self.continue_run(path)):
            return
        if self.busy:
            QMessageBox.information(self, "stackpress", "A run or an auto-tune has the bench: continue after it.")
            return
        run = read_run(path)
        try:
            protocol, bench = recorded_setup(run.meta)
        except ResumeError as exc:
            QMessageBox.warning(self, "stackpress", f"{path.name} cannot be continued: {exc}")
            return
        buffer = LiveBuffer()
        buffer.load(recorded_columns(run.samples))
        self._use_bench(bench)
        self.protocol_panel.show_protocol(protocol, bench, f"{path.name} (continued)")
        for index in reversed(range(self.tabs.count())):  # its file is the live run's now
            widget = self.tabs.widget(index)
            if isinstance(widget, RunView) and widget.path == path:
                self.tabs.removeTab(index)
        self.tabs.setCurrentWidget(self.live_split)
        self._go_live(path, buffer, None, lambda: Session.continue_run(
            path, on_sample=(buffer.sample,), on_event=(buffer.event,),
            make_clock=self._paced_from if bench.simulated else None))

    def _go_live(self, path: Path, buffer: LiveBuffer, clock: PacedClock | None,
                 make_session: Callable[[], Session], *, monitoring: bool = False) -> None:
        """Make the run of `make_session` (recording to `path`) the live one, and start it on its thread;
        `monitoring`: it is the monitor, not a test."""
        self.run_path, self.buffer, self.clock, self.monitoring = path, buffer, clock, monitoring
        self.worker = RunWorker(make_session)
        self._reported_error = False
        self._cycles_key = (0, False)
        self._show_cycles(pd.DataFrame(columns=list(CYCLE_COLUMNS)))
        self.plots.set_view("follow")
        self.protocol_panel.clear_step()
        self.regulator_panel.set_actuator(None)
        self.worker.start()
        self.protocol_panel.set_state("connecting")

    def _paced_from(self, start: float) -> PacedClock:
        """A continued simulated run's clock, made on the run's thread once the run knows where it goes on from.

        It is the live clock from then on; the speed is set again after it is, so an operator's
        change made meanwhile reaches it either way (here, or through `set_speed`)."""
        clock = PacedClock(self.speed, start)
        self.clock = clock
        clock.set_speed(self.speed)
        return clock

    def request(self, name: str, *args: object) -> None:
        """An operator's request to the running session: pause, resume, note, skip_step, set_pressure, manual,
        jog, automatic, set_gains (see `Session`)."""
        if self.worker is not None:
            self.worker.request(name, *args)

    def abort(self) -> None:
        if self.worker is not None:
            self.worker.abort()

    def set_gains(self, gains: Gains) -> None:
        """The operator's gains: for the running session at its next tick, else for the next run."""
        if self.running:
            self.request("set_gains", gains)
        elif self.bench is not None:
            self.gains_override = gains
            self.regulator_panel.show_gains(gains, next_run=True)

    def next_run_bench(self) -> Bench | None:
        """The open bench, with the operator's gains if any (an auto-tune's, or typed in)."""
        if self.bench is None or self.gains_override is None:
            return self.bench
        return dataclasses.replace(self.bench, gains=self.gains_override)

    def tune(self, setpoint: float) -> None:
        """A relay auto-tune at `setpoint` Pa on a thread, as a run of its own (its file in the runs folder)."""
        bench = self.next_run_bench()
        if bench is None or self._disconnect_first(lambda: self.tune(setpoint)) or self.busy:
            return
        try:
            check_tunable(bench, setpoint)  # refused before anything moves
        except TuneRefused as exc:
            self.tune_panel.show_refusal(str(exc))
            return
        out = new_run_path(self.runs_dir, "autotune")
        self.tune_job = TuneJob(functools.partial(autotune, bench, setpoint, out=out))
        self.tune_panel.begin()
        self.tune_job.start()
        self._show_state()

    def check_instruments(self) -> None:
        """`stackpress check` on the open (real) bench, on a thread: connect, identify and read each instrument once."""
        bench = self.bench
        if bench is None or bench.simulated or self.busy:
            return
        self.check_job = Job(bench.check_instruments, "stackpress-check")
        self.bench_panel.begin_check()
        self.check_job.start()
        self._show_state()

    def cancel_tune(self) -> None:
        if self.tune_job is not None:
            self.tune_job.cancel()

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.worker.done

    @property
    def tuning(self) -> bool:
        return self.tune_job is not None and not self.tune_job.done

    @property
    def checking(self) -> bool:
        return self.check_job is not None and not self.check_job.done

    @property
    def busy(self) -> bool:
        """A run, an auto-tune or a check has the bench."""
        return self.running or self.tuning or self.checking

    @property
    def state(self) -> str:
        """"tuning" or "checking" while an auto-tune or an instrument check has the bench, else "idle" before
        any run, then the run's state (connecting, running, paused, finished, tripped, …); the monitor's is
        "connecting", "connected" (paused by a fault: "connected, waiting for the instruments"), then
        "disconnected" (or how else it ended: tripped, fault, error)."""
        if self.tuning:
            return "tuning"
        if self.checking:
            return "checking"
        if self.worker is None:
            return "idle"
        state = self.worker.state
        if self.monitoring:
            return MONITOR_STATES.get(state, state)
        return state

    @property
    def connection(self) -> str:
        """"not connected", "connecting", "connected" or "connected (auto-tune)": whether a session (a run's,
        the monitor's or an auto-tune's) holds the instruments."""
        if self.tuning:
            return "connected (auto-tune)"
        if not self.running:
            return "not connected"
        return "connecting" if self.worker.session is None else "connected"

    def set_speed(self, speed: float) -> None:
        """Time acceleration of a simulated run: for the next run, and for the current one at once."""
        self.speed = speed
        if self.clock is not None:
            self.clock.set_speed(speed)

    # --- the live view ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Take in what the engine (and an auto-tune) published since the last refresh, and show it."""
        self._refresh_tune()
        self._refresh_check()
        if self.buffer is None or self.worker is None:
            self._show_state()
            return
        session = self.worker.session
        if session is not None and self.regulator_panel.command_unit is None:  # just connected
            self.regulator_panel.set_actuator(session.actuator_command[0])
            self.regulator_panel.show_gains(session.gains)
        samples, events = self.buffer.drain()
        if samples:
            self.plots.show_samples({name: self.buffer.column(name) for name in COLUMNS})
            self.pressure_panel.show_sample(self.buffer.latest)
            self.regulator_panel.show_sample(self.buffer.latest)
        self.events.add(events)
        self.regulator_panel.take_events(events)
        for event in events:
            self.banner.offer(event)
            if event.kind == "warning" and "request" in event.data:  # a refused request: whichever tab is in front
                self.statusBar().showMessage(event.message, REFUSAL_SHOWN_MS)
            if event.kind == "step" and not self.monitoring:
                self.protocol_panel.show_step(event.data["step"], event.data["cycle"], event.message)
        latest = self.buffer.latest
        if latest is not None and self.running and not self.monitoring:
            self.protocol_panel.show_elapsed(latest.t, self.clock.speed if self.clock is not None else None)
        self.bench_panel.update_from(samples, events)
        if self.worker.error is not None and not self._reported_error:
            self._reported_error = True
            t = latest.t if latest else 0.0
            self.banner.offer(Event(t, "fault", f"the run stopped with an error: {self.worker.error}"))
        self._show_state()
        self._update_cycles(latest.cycle if latest else 0)
        if self._after_disconnect is not None and not self.running:
            action, self._after_disconnect = self._after_disconnect, None
            action()

    def _show_state(self) -> None:
        """Enable what makes sense now. While connected, the actuator's controls work as in a run (a setpoint,
        a jog), and Start, Auto-tune and the protocol's Open stay available: they disconnect first."""
        state = self.state
        monitoring = self.monitoring and self.running
        actuator_state = self.worker.state if monitoring else state
        self.protocol_panel.set_state(state)
        self.pressure_panel.set_state(actuator_state)
        self.regulator_panel.set_state(actuator_state)
        self.bench_panel.set_state(busy=self.busy, connection=self.connection, monitoring=monitoring)
        self.tune_panel.set_busy(tuning=self.tuning,
                                 can_start=(monitoring or not self.busy) and self.bench is not None)

    def _refresh_check(self) -> None:
        job = self.check_job
        if job is None or not job.done:
            return
        self.check_job = None
        if job.error is not None:
            self.bench_panel.show_check_error(str(job.error))
        else:
            self.bench_panel.show_check(job.result)

    def _refresh_tune(self) -> None:
        """Show the auto-tune's progress, and its result or error once it is over."""
        job = self.tune_job
        if job is None:
            return
        if job.progress is not None:
            self.tune_panel.show_progress(job.progress)
        if job.done:
            self.tune_job = None
            if job.error is not None:
                self.tune_panel.show_refusal(str(job.error))
            else:
                self.tune_panel.show_result(job.result)

    def _update_cycles(self, cycle: int) -> None:
        """Recompute the per-cycle table from the run file, off the GUI thread, when a cycle or the run ends.

        From the file rather than the live buffer: capacities come from each step's first and last
        samples, which the recorder keeps and the buffer may thin out on a long run. While the run
        goes on, only the cycles before `cycle` are shown: the one in progress has not discharged yet,
        and a capacity of zero would read as a dead cell."""
        job = self._cycles_job
        if job is not None and job.done():
            self._cycles_job = None
            if not job.cancelled() and job.exception() is None:
                self._show_cycles(job.result())
        ended = self.worker is not None and self.worker.done
        key = (cycle, ended)
        if self._cycles_job is None and self.run_path is not None and key != self._cycles_key:
            self._cycles_key = key
            self._cycles_job = self._analysis.submit(_cycle_table_of, self.run_path, None if ended else cycle)

    def _show_cycles(self, table: pd.DataFrame) -> None:
        self.cycles.show_table(table)
        self.plots.show_cycles(table)

    # --- run files --------------------------------------------------------------------------

    def open_run(self, path: str | Path) -> RunView:
        view = RunView(Path(path))
        view.continue_requested.connect(self.continue_run)
        self.tabs.addTab(view, Path(path).name)
        self.tabs.setCurrentWidget(view)
        return view

    def current_run_path(self) -> Path | None:
        """The run of the tab in front, else the live run."""
        widget = self.tabs.currentWidget()
        return widget.path if isinstance(widget, RunView) else self.run_path

    def _show_view(self, view: str) -> None:
        """Check the view's action; a pan or zoom by hand ("manual") unchecks both."""
        for name, action in self.view_actions.items():
            action.setChecked(name == view)

    def _choose_bench(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a bench", "", "Benches (*.toml)")
        if path and not self._disconnect_first(lambda: self.open_bench(path)) and not self.busy:
            self.open_bench(path)

    def _choose_run(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a run", str(self.runs_dir), "Runs (*.sqlite)")
        if path:
            self._attempt(lambda: self.open_run(path))

    def _export(self) -> None:
        from stackpress.data.export import export_run

        run = self._run_for("export")
        if run is not None:
            out, _ = QFileDialog.getSaveFileName(self, "Export", str(run.with_suffix(".csv")),
                                                 "Battery Data Format (*.csv *.parquet)")
            if out:
                self._attempt(lambda: self.statusBar().showMessage(f"wrote {export_run(run, Path(out))}"))

    def _report(self) -> None:
        from stackpress.data.report import make_report

        run = self._run_for("report")
        if run is not None:
            out = QFileDialog.getExistingDirectory(self, "Write the report into")
            if out:
                self._attempt(lambda: self.statusBar().showMessage(f"wrote {make_report(run, Path(out))[0]}"))

    def _run_for(self, what: str) -> Path | None:
        run = self.current_run_path()
        if run is None:
            QMessageBox.information(self, "stackpress", f"No run to {what}: start one or open a run file.")
        return run

    def _attempt(self, action: Callable[[], object]) -> None:
        """Do a file action (open, export, report) under a wait cursor; its failure is said in a message box."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            action()
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "stackpress", str(exc))
        finally:
            QApplication.restoreOverrideCursor()

    def _close_tab(self, index: int) -> None:
        if isinstance(self.tabs.widget(index), RunView):
            self.tabs.removeTab(index)

    # --- closing ----------------------------------------------------------------------------

    def ask_close_choice(self) -> str:
        """Ask the operator what to do with a run in progress: "stop", "abort" or "cancel"."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("A run is in progress")
        box.setText("A run is in progress. Closing the window ends it; the bench is left in its safe state.")
        stop = box.addButton("Stop cycling, hold pressure", QMessageBox.ButtonRole.AcceptRole)
        abort = box.addButton("Abort the run", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return {stop: "stop", abort: "abort"}.get(box.clickedButton(), "cancel")

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running and self.monitoring:
            self.shutdown("window closed: disconnected")
        elif self.running:
            choice = self.ask_close_choice()
            if choice == "cancel":
                event.ignore()
                return
            self.shutdown("window closed: cycling stopped, pressure held" if choice == "stop"
                          else "window closed: run aborted")
        elif self.tuning:
            self.shutdown("window closed: auto-tune cancelled")
        self.timer.stop()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window", self.saveState())
        self.settings.setValue("layout", self.live_split.saveState())
        self._analysis.shutdown(wait=False, cancel_futures=True)
        event.accept()

    def shutdown(self, reason: str) -> None:
        """End the run or the auto-tune with its cleanup (cycler off, actuator holding) and wait for it;
        nothing waits to start after it."""
        self._after_disconnect = None
        if self.tune_job is not None:
            self.tune_job.cancel()
            self.tune_job.join(CLOSE_WAIT)
        if self.worker is not None:
            self.worker.abort(reason)
            if not self.worker.join(CLOSE_WAIT):
                print(f"stackpress: the run's cleanup is still going after {CLOSE_WAIT:g} s; "
                      "the process ends when it has", file=sys.stderr)
            self.refresh()

    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        window = self.settings.value("window")
        if window is not None:
            self.restoreState(window)
        layout = self.settings.value("layout")
        if layout is not None:
            self.live_split.restoreState(layout)


def _cycle_table_of(path: Path, before: int | None = None) -> pd.DataFrame:
    """The run's per-cycle table; `before`: only the cycles before this one (those that are over)."""
    table = cycle_table(read_run(path).samples)
    return table if before is None else table[table["cycle"] < before]


def main(bench: str | None = None, *, screenshot: str | None = None, after: float | None = None,
         speed: float | None = None) -> int:
    """Open the bench window (what `stackpress gui` does); with `screenshot`, run for `after` wall seconds
    (default SCREENSHOT_AFTER), save a PNG of the window there and exit."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("stackpress")
    window = MainWindow(bench, speed=speed or DEFAULT_SPEED, autostart=True)
    window.show()

    def interrupted(signum: int, _frame: object) -> None:  # Ctrl-C or a kill: end the run safely, then leave
        window.shutdown(f"interrupted ({signal.Signals(signum).name})")
        window.close()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupted)  # Python runs it on the next timer tick of the event loop
    saved: list[bool] = []
    if screenshot is not None:
        def shoot() -> None:
            window.refresh()
            saved.append(window.grab().save(screenshot))
            window.shutdown("screenshot taken")
            window.close()

        QTimer.singleShot(int((after if after is not None else SCREENSHOT_AFTER) * 1000), shoot)
    code = app.exec()
    if saved == [False]:
        print(f"stackpress: could not write the screenshot {screenshot}", file=sys.stderr)
        return 1
    return code
