"""Work that may block — a session, an auto-tune, an instrument check — on a thread of its own.

Building a session connects the instruments (which may block on a real bench) and
running it drives the engine; an auto-tune is a run of its own; a check opens every
instrument and waits for its answer. All of it happens here, never on the GUI
thread: the GUI starts a job, passes requests on, and polls `done`, `result` and
`error` on its timer, so the window stays responsive when an instrument hangs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from stackpress.control.autotune import TuneProgress, TuneResult
from stackpress.session import Session


class Job:
    """`work()` on a thread of its own; its return value lands in `result`, what it raised in `error`."""

    def __init__(self, work: Callable[[], Any], name: str) -> None:
        self._work = work
        self.result: Any = None
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name=name)

    def start(self) -> None:
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._thread.ident is not None and not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the work to end; False if it is still going after `timeout` s."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.result = self._work()
        except Exception as exc:  # shown to the operator by the GUI, which polls for it
            self.error = exc


class RunWorker(Job):
    """Build and run one session; requests are safe from any thread."""

    def __init__(self, make_session: Callable[[], Session]) -> None:
        super().__init__(self._build_and_run, "stackpress-session")
        self._make_session = make_session
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._abort_reason: str | None = None

    @property
    def session(self) -> Session | None:
        """The session, once built (its instruments connected); None before, or if it could not be."""
        return self._session

    @property
    def state(self) -> str:
        """"connecting" until the session exists, then the engine's state; "error" if it could not start or run."""
        if self.error is not None:
            return "error"
        session = self._session
        return "connecting" if session is None else session.state

    def request(self, name: str, *args: object) -> bool:
        """Pass one of the operator's requests to the session (`pause`, `resume`, `note`, `skip_step`,
        `set_pressure`, `manual`, `jog`, `automatic`, `set_gains`: see `Session`); False while there is
        no session yet to take it."""
        session = self._session
        if session is None:
            return False
        getattr(session, name)(*args)
        return True

    def abort(self, reason: str = "operator abort") -> None:
        """Abort now, or as soon as the session exists if it is still connecting."""
        with self._lock:
            self._abort_reason = self._abort_reason or reason
            session = self._session
        if session is not None:
            session.abort(reason)

    def _build_and_run(self) -> str:
        """If building fails nothing was started; if the run fails its cleanup has run: either way, `error`."""
        session = self._make_session()
        with self._lock:
            self._session = session
            if self._abort_reason is not None:
                session.abort(self._abort_reason)
        return session.run()


class TuneJob(Job):
    """A relay auto-tune (`stackpress.tuning.autotune`, a session run of its own), cancellable.

    `progress` is the latest `TuneProgress` the tuner reported; `result` a `TuneResult`.
    """

    def __init__(self, tune: Callable[..., TuneResult]) -> None:
        """`tune(progress=..., cancel=...)`: `autotune` with the bench and setpoint bound."""
        super().__init__(lambda: tune(progress=self._progressed, cancel=self._cancelled.is_set), "stackpress-autotune")
        self._cancelled = threading.Event()
        self.progress: TuneProgress | None = None

    def cancel(self) -> None:
        """End the tuning at the next tick; the run's cleanup holds the actuator."""
        self._cancelled.set()

    def _progressed(self, progress: TuneProgress) -> None:
        self.progress = progress  # one reference, replaced whole: safe to read from the GUI thread

