"""The session's thread: a session that cannot be built is reported, not raised into the GUI."""

from __future__ import annotations

from stackpress.bench import BenchError
from stackpress.gui.worker import RunWorker


def test_a_session_that_cannot_start_is_an_error_state() -> None:
    def refuse():
        raise BenchError("my-press.toml: cycler at TCPIP0::10.0.0.9 does not answer")

    worker = RunWorker(refuse)
    assert worker.state == "connecting"
    worker.start()
    assert worker.join(timeout=5)
    assert worker.done and worker.state == "error"
    assert "does not answer" in str(worker.error)
    assert worker.request("pause") is False  # nothing to ask
    worker.abort()  # harmless


def test_an_abort_before_the_session_exists_reaches_it() -> None:
    aborted = []

    class Session:
        state = "idle"

        def abort(self, reason: str) -> None:
            aborted.append(reason)

        def run(self) -> str:
            return "aborted" if aborted else "finished"

    worker = RunWorker(Session)
    worker.abort("changed my mind")
    worker.start()
    assert worker.join(timeout=5)
    assert aborted == ["changed my mind"]
