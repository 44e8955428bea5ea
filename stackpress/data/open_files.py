"""The run files this process is recording, so that a reader in the same process keeps to `sqlite3` for them.

The ADBC SQLite driver (runfile's fast path) carries its own copy of SQLite. Two
copies of SQLite in one process do not see each other's POSIX locks on a file
(such locks belong to the process, not to a connection), so the driver's
connection takes itself for the run file's only user and resets its WAL index
(the -shm file) under the recorder, which then dies of SIGBUS on its next
commit: "Multiple copies of SQLite linked into the same application",
https://www.sqlite.org/howtocorrupt.html. A reader in another process is safe:
between processes the locks do conflict.
"""

from __future__ import annotations

from pathlib import Path

_recording: set[Path] = set()


def recording(path: str | Path) -> None:
    """A recorder of this process has `path` open (until `released`)."""
    _recording.add(Path(path).resolve())


def released(path: str | Path) -> None:
    """The recorder of `path` has closed it."""
    _recording.discard(Path(path).resolve())


def recorded_here(path: str | Path) -> bool:
    """Whether a recorder of this process has `path` open."""
    return Path(path).resolve() in _recording
