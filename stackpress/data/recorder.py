"""Write a run to disk as it happens, so a crash or a power cut costs at most the last second.

A run file is SQLite in WAL mode (layout in `schema.py`). The recorder keeps
the rows it decided to record in memory and commits them in one `executemany`
transaction once `commit_interval` seconds of *wall* time have passed since the
last commit. Wall time comes from an injected function, never from the sample's
`t`: in simulation the engine runs on a virtual clock where a week passes in a
second, and durability is about real seconds. Commits use `synchronous=FULL`:
with WAL that is one fsync per commit, i.e. about one per second, which costs
nothing measurable here and is what makes "a power cut loses at most the last
second" true (`NORMAL` only syncs at checkpoints, so a power cut could lose
several seconds of commits).

Not every engine tick is recorded. As commercial cyclers do, a sample is kept
when the recording interval has passed, when voltage or pressure moved by more
than a delta, or when the step, cycle or engine state changed; on such a change
the sample just before it is kept too, so every step's end point (a 4.2 V
cut-off, the last point of a rest) is in the file.

The caller's thread (the engine's) only decides: what to record, and when a
batch is due. The batches go to a writer thread that owns the disk: a durable
commit costs ~4 ms of fsync here, which on the engine's thread would make a
50 Hz tick late by that much every second. Order is kept (one queue), events
and meta are handed over at once, and `sync()` waits until everything handed
over is on disk. A recorder is fed from one thread at a time (the engine's);
if the caller stops offering samples for a while it should call `flush()`.
A write that fails (a full disk) is raised on the caller's next call.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from stackpress import __version__
from stackpress.data.schema import (
    APPLICATION_ID,
    CREATE_TABLES,
    INSERT_EVENT,
    INSERT_SAMPLE,
    SCHEMA_VERSION,
    UPSERT_META,
)
from stackpress.sample import SAMPLE_FIELDS, Event, Sample

_row_of = attrgetter(*SAMPLE_FIELDS)  # Sample -> tuple in column order, in C


class RunInProgressError(FileExistsError):
    """The run file is open in another connection: being written, or viewed, right now."""


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    """When a sample is worth a row: every `interval` seconds of run time, or sooner on change.

    A sample is recorded when `interval` seconds (of the sample's own `t`) have
    passed since the last recorded sample, or voltage moved by more than
    `voltage_delta` V, or pressure by more than `pressure_delta` Pa, since the
    last recorded sample. Step, cycle and state changes are always recorded.
    `interval=0` records every sample.
    """

    interval: float = 10.0  # s
    voltage_delta: float = 0.005  # V
    pressure_delta: float = 0.1e6  # Pa

    def __post_init__(self) -> None:
        for name in ("interval", "voltage_delta", "pressure_delta"):
            value = getattr(self, name)
            if not value >= 0:  # also rejects NaN
                raise ValueError(f"RecordingPolicy.{name} must be >= 0, got {value!r}")


DEFAULT_POLICY = RecordingPolicy()


def as_text(value: object) -> str:
    """How a meta value is stored: strings verbatim, dates in ISO 8601, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, default=str)


class Recorder:
    """Writes one run file while the run goes; see the module docstring for the guarantees.

    `meta` is stored as text (see `as_text`): the caller passes what describes
    the run, e.g. name, protocol, protocol_name, bench, bench_name, started_at
    (ISO), seed, area, nominal_capacity. `schema_version` is always set, and
    `software_version` defaults to this stackpress. An existing `path` is
    refused unless `overwrite=True`, and even then a file that another
    connection has open (a recorder writing it, a viewer reading it) is
    refused with `RunInProgressError`, so a live run is never replaced.
    On `close()` the meta key `closed` becomes "true": a run without it is
    still being written, or its writer died.
    """

    __slots__ = (
        "_commit_interval",
        "_committed_at",
        "_db",
        "_dp",
        "_dv",
        "_interval",
        "_last",
        "_prev",
        "_prev_recorded",
        "_rows",
        "_wall",
        "_writer",
        "path",
    )

    def __init__(
        self,
        path: str | Path,
        meta: Mapping[str, object] | None = None,
        *,
        policy: RecordingPolicy = DEFAULT_POLICY,
        commit_interval: float = 1.0,
        wall: Callable[[], float] = time.monotonic,
        overwrite: bool = False,
    ) -> None:
        if not commit_interval >= 0:
            raise ValueError(f"commit_interval must be >= 0 s, got {commit_interval!r}")
        self.path = Path(path)
        # Copied out of the policy: read for every sample offered.
        self._interval = policy.interval
        self._dv = policy.voltage_delta
        self._dp = policy.pressure_delta
        self._commit_interval = commit_interval
        self._wall = wall
        self._rows: list[tuple[Any, ...]] = []
        self._last: Sample | None = None  # last recorded sample
        self._prev: Sample | None = None  # last sample offered
        self._prev_recorded = False

        if self.path.exists():
            if not overwrite:
                raise FileExistsError(
                    f"run file {self.path} already exists; pass overwrite=True to replace it"
                )
            _remove_unused_run(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (see _commit), nothing is left open by accident.
        self._db: sqlite3.Connection | None = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        initial = {"schema_version": SCHEMA_VERSION, "software_version": __version__, **(meta or {})}
        self._db.execute("BEGIN")
        for statement in CREATE_TABLES:
            self._db.execute(statement)
        self._db.executemany(UPSERT_META, [(k, as_text(v)) for k, v in initial.items()])
        self._db.execute("COMMIT")
        self._committed_at = wall()
        self._writer = _Writer(self._db, self.path)

    def sample(self, s: Sample) -> None:
        """Offer one engine tick; it is recorded if the policy says so. Commits when a second has passed."""
        if self._db is None:
            raise RuntimeError(f"recorder for {self.path} is closed")
        prev = self._prev
        if prev is None:
            record = True
        elif s.step != prev.step or s.cycle != prev.cycle or s.state != prev.state:
            if not self._prev_recorded:
                self._rows.append(_row_of(prev))  # the end point of the step that just ended
            record = True
        else:
            last = self._last
            record = (
                s.t - last.t >= self._interval
                or abs(s.voltage - last.voltage) > self._dv
                or abs(s.pressure - last.pressure) > self._dp
            )
        if record:
            self._rows.append(_row_of(s))
            self._last = s
        self._prev = s
        self._prev_recorded = record
        if self._wall() - self._committed_at >= self._commit_interval:
            self._commit()

    def event(self, e: Event) -> None:
        """Record an event, committed at once with the samples before it: events are rare and precious."""
        self._commit(INSERT_EVENT, (e.t, e.kind, e.message, json.dumps(e.data, default=str)))

    def set_meta(self, key: str, value: object) -> None:
        """Set (or replace) one meta entry, stored as text, committed at once."""
        self._commit(UPSERT_META, (key, as_text(value)))

    def flush(self) -> None:
        """Commit the samples recorded so far, and wait until they are on disk."""
        self._commit()
        self.sync()

    def sync(self) -> None:
        """Wait until everything handed to the writer is on disk (what is not yet due stays pending)."""
        if self._db is None:
            raise RuntimeError(f"recorder for {self.path} is closed")
        self._writer.sync()

    def close(self) -> None:
        """Record the last sample seen if it was not, commit, mark the run closed. Safe to call twice.

        The file then leaves WAL mode unless a viewer still has it open, so a
        finished run is one file to copy or archive.
        """
        if self._db is None:
            return
        if self._prev is not None and not self._prev_recorded:
            self._rows.append(_row_of(self._prev))
            self._prev_recorded = True
        self._commit(UPSERT_META, ("closed", "true"))
        self._writer.stop()  # everything is on disk, and the connection is ours again
        try:
            # A finished run becomes one self-contained file that readers open without -wal/-shm.
            self._db.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            # A viewer has it open: it stays in WAL mode, which is just as complete.
        self._db.close()
        self._db = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _commit(self, statement: str | None = None, params: tuple[Any, ...] = ()) -> None:
        """Hand the pending rows, and one extra statement, to the writer: one transaction."""
        if self._db is None:
            raise RuntimeError(f"recorder for {self.path} is closed")
        if self._rows or statement:
            self._writer.write((self._rows, statement, params))
            self._rows = []
        self._committed_at = self._wall()


_Batch = tuple[list[tuple[Any, ...]], str | None, tuple[Any, ...]]


class _Writer:
    """The thread that owns the run file's disk writes: one transaction per batch, in order.

    A batch that fails stays first in line and is retried with the next one; the
    failure is raised on the recorder's next call, so the run learns of it while
    nothing that was handed over is dropped.
    """

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path
        self._queue: queue.SimpleQueue[_Batch | threading.Event | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"recorder {path.name}", daemon=True)
        self._thread.start()

    def write(self, batch: _Batch) -> None:
        self._raise_failure()
        self._queue.put(batch)

    def sync(self) -> None:
        done = threading.Event()
        self._queue.put(done)
        done.wait()
        self._raise_failure()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise OSError(f"run file {self._path}: writing failed: {self._error}") from self._error

    def _run(self) -> None:
        unwritten: list[_Batch] = []
        while (item := self._queue.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
                continue
            unwritten.append(item)
            try:
                while unwritten:
                    self._transaction(*unwritten[0])
                    del unwritten[0]  # only once it is on disk: a failed batch is retried, never doubled
            except Exception as exc:  # reported to the caller; the batches are kept
                self._error = exc
                continue
            self._error = None

    def _transaction(self, rows: list[tuple[Any, ...]], statement: str | None, params: tuple[Any, ...]) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            if rows:
                db.executemany(INSERT_SAMPLE, rows)
            if statement:
                db.execute(statement, params)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def _remove_unused_run(path: Path) -> None:
    """Delete a run file and its WAL, after making sure no connection has it open.

    Switching the journal mode out of WAL needs every other connection to be
    closed, and fails at once (timeout=0) with SQLITE_BUSY otherwise; the lock
    that tells is held by the other process, and the OS drops it when that
    process dies, so a killed writer's run can be replaced but a live one
    cannot. A file that is not a database at all has no writer and may go.
    """
    try:
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("PRAGMA journal_mode=DELETE")
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
            raise RunInProgressError(
                f"run file {path} is open elsewhere (being recorded or viewed); "
                "it will not be replaced until that is closed"
            ) from exc
    # The -wal and -shm files must go too: a stale WAL next to a new file could be replayed into it.
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)

