"""This process's connections to run files, so that its two copies of SQLite never have one file open at once.

The ADBC SQLite driver (runfile's fast path) carries its own copy of SQLite. Two
copies of SQLite in one process do not see each other's POSIX locks on a file
(such locks belong to the process, not to a connection), so the driver's
connection takes itself for the file's only user and resets its WAL index (the
-shm file) under a `sqlite3` connection of the same process: the recorder dies
of SIGBUS on its next commit, and so does a reader in another thread reading a
run left in WAL mode: "Multiple copies of SQLite linked into the same
application", https://www.sqlite.org/howtocorrupt.html. A connection in another
process is safe: between processes the locks do conflict.

So every `sqlite3` connection of stackpress to a run file (a recorder's, for as
long as it records; a reader's) is counted here while it is open, and waits to
open while the driver reads that file (a read takes seconds at most); the driver
reads a file only while no `sqlite3` connection of this process has it open.
Files are told apart by their resolved path.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_changed = threading.Condition()
_sqlite3: Counter[Path] = Counter()  # open sqlite3 connections, by file
_adbc: Counter[Path] = Counter()  # open ADBC connections, by file


def opening(path: str | Path) -> Path:
    """A `sqlite3` connection of this process is about to open `path`: once no ADBC read has it, it is counted
    until `closed` is called with the key returned (the resolved path, so that a later chdir does not matter)."""
    key = Path(path).resolve()
    with _changed:
        _changed.wait_for(lambda: not _adbc[key])
        _sqlite3[key] += 1
    return key


def closed(key: Path) -> None:
    """The `sqlite3` connection `opening` returned `key` for is closed."""
    _drop(_sqlite3, key)


@contextmanager
def sqlite3_connection(path: str | Path) -> Iterator[None]:
    """`opening` and `closed` around a `sqlite3` connection to `path` that the block opens and closes."""
    key = opening(path)
    try:
        yield
    finally:
        closed(key)


@contextmanager
def adbc_read(path: str | Path) -> Iterator[bool]:
    """Whether the ADBC driver may open `path` now (no `sqlite3` connection of this process has it open);
    if so, `sqlite3` connections to it wait until the block ends."""
    key = Path(path).resolve()
    with _changed:
        free = not _sqlite3[key]
        if free:
            _adbc[key] += 1
    try:
        yield free
    finally:
        if free:
            _drop(_adbc, key)


def _drop(counts: Counter[Path], key: Path) -> None:
    with _changed:
        counts[key] -= 1
        if counts[key] <= 0:
            del counts[key]
        _changed.notify_all()
