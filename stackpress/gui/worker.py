"""One session on its own thread, so the window stays responsive when an instrument hangs.

Building a session connects the instruments (which may block on a real bench) and
running it drives the engine; both happen here, never on the GUI thread. The GUI
passes the operator's requests on (the session takes them at its next tick) and
polls `done`, `state` and `error` on its timer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from stackpress.session import Session


class RunWorker:
    """Build and run one session on a thread of its own; requests are safe from any thread."""

    def __init__(self, make_session: Callable[[], Session]) -> None:
        self._make_session = make_session
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._abort_reason: str | None = None
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="stackpress-session")

    def start(self) -> None:
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._thread.ident is not None and not self._thread.is_alive()

    @property
    def state(self) -> str:
        """"connecting" until the session exists, then the engine's state; "error" if it could not start."""
        if self.error is not None:
            return "error"
        session = self._session
        return "connecting" if session is None else session.state

    def request(self, name: str, *args: object) -> bool:
        """Pass one of the operator's requests to the session (`pause`, `resume`, `note`, `skip_step`,
        `set_pressure`, ...: see `Session`); False while there is no session yet to take it."""
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

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run (and its cleanup) to end; False if it is still going after `timeout` s."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            session = self._make_session()
        except Exception as exc:  # shown to the operator; nothing was started
            self.error = exc
            return
        with self._lock:
            self._session = session
            if self._abort_reason is not None:
                session.abort(self._abort_reason)
        try:
            session.run()
        except Exception as exc:  # the session's cleanup has run; the operator must see why it ended
            self.error = exc
