"""Write a run to disk as it happens, so a crash or a power cut costs at most the last second.

A run file is SQLite in WAL mode (layout in `schema.py`). The recorder keeps
the rows it decided to record in memory and commits them in one transaction
(an INSERT of many rows per thousand) at the first tick offered
`commit_interval` seconds of *wall* time after the last commit (so what a kill
loses is that interval and the tick in flight). Wall time comes from an
injected function, never from the sample's `t`: in simulation the engine runs
on a virtual clock where a week passes in a second, and durability is about
real seconds. Commits use `synchronous=FULL`:
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

Resuming after a crash takes two things from the run file. `checkpoint()`
stores the runner's position (step, cycle, counters, charge: whatever it needs
to go on) in the same transaction as the samples, so the position on disk
always belongs to a sample on disk: a kill can lose the last second, never
make the two disagree. `Recorder(path, resume_at=t)` reopens the unfinished
run to append to it, and starts with a "gap" event that says which stretch of
time has no samples.
"""

from __future__ import annotations

import datetime as dt
import json
import math
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
from stackpress.data import open_files
from stackpress.data.schema import (
    APPLICATION_ID,
    CREATE_TABLES,
    GAP_EVENT,
    INSERT_EVENT,
    SAMPLE_ROW,
    SCHEMA_VERSION,
    SELECT_CHECKPOINT,
    SELECT_LAST_SAMPLE_TIME,
    UPSERT_CHECKPOINT,
    UPSERT_META,
    NotARunError,
    check_run_file,
)
from stackpress.sample import SAMPLE_FIELDS, Event, Sample

_row_of = attrgetter(*SAMPLE_FIELDS)  # Sample -> tuple in column order, in C


class RunInProgressError(FileExistsError):
    """The run file is open in another connection: being written, or viewed, right now."""


class RunClosedError(ValueError):
    """The run file was closed by its recorder: its run ended, so there is nothing to resume."""


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


def new_run_path(folder: Path, name: str) -> Path:
    """NAME-DATE-TIME.sqlite in `folder`, with -2, -3, ... if runs were started within the same second;
    `folder` need not exist yet (the run's recorder makes it)."""
    stem = f"{name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    path, n = folder / f"{stem}.sqlite", 2
    while path.exists():
        path, n = folder / f"{stem}-{n}.sqlite", n + 1
    return path


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

    `resume_at=t` reopens the existing run at `path` instead, to append to it
    after its process died: everything in it is kept, `meta` entries are added
    (or replace those of the same key), and an event of kind "gap" at time `t`
    is committed at once with `data` {"last_sample_t": the t of the last sample
    on disk (None if there is none), "resumed_at_t": t, "checkpoint_t": the
    time of the last checkpoint (None if there is none)}. Time goes on from the
    file: `t` may not precede its last sample, and the first sample offered
    must come after it. Refused: a run closed by its recorder
    (`RunClosedError`), a file open elsewhere (`RunInProgressError`), a file
    that is not a run or comes from a newer stackpress (`NotARunError`).
    """

    __slots__ = (
        "_checkpoint",
        "_commit_interval",
        "_committed_at",
        "_db",
        "_dp",
        "_dv",
        "_interval",
        "_last",
        "_not_before",
        "_open_as",
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
        resume_at: float | None = None,
    ) -> None:
        if not commit_interval >= 0:
            raise ValueError(f"commit_interval must be >= 0 s, got {commit_interval!r}")
        if overwrite and resume_at is not None:
            raise ValueError("a run file is either overwritten or resumed: pass overwrite=True or resume_at, not both")
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
        self._checkpoint: tuple[Sample, Mapping[str, Any]] | None = None  # not yet committed
        self._not_before = -math.inf  # the first sample must come after this t (a resumed run's last)

        # Counted before the file is opened, until it is closed: no ADBC read of it meanwhile (see open_files).
        self._open_as = open_files.opening(self.path)
        try:
            db = self._create(meta, overwrite) if resume_at is None else self._reopen(meta, resume_at)
            try:
                self._committed_at = wall()
                self._writer = _Writer(db, self.path)
            except BaseException:
                db.close()
                raise
        except BaseException:
            open_files.closed(self._open_as)
            raise
        self._db: sqlite3.Connection | None = db

    def _create(self, meta: Mapping[str, object] | None, overwrite: bool) -> sqlite3.Connection:
        if self.path.exists():
            if not overwrite:
                raise FileExistsError(
                    f"run file {self.path} already exists; pass overwrite=True to replace it"
                )
            _remove_unused_run(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            _make_durable(db)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            initial = {"schema_version": SCHEMA_VERSION, "software_version": __version__, **(meta or {})}
            db.execute("BEGIN")
            for statement in CREATE_TABLES:
                db.execute(statement)
            db.executemany(UPSERT_META, [(k, as_text(v)) for k, v in initial.items()])
            db.execute("COMMIT")
        except BaseException:
            db.close()  # not left open (and counted in open_files) until the garbage collector finds it
            raise
        return db

    def _reopen(self, meta: Mapping[str, object] | None, resume_at: float) -> sqlite3.Connection:
        if not self.path.is_file():
            raise FileNotFoundError(f"no run file at {self.path} to resume")
        if not math.isfinite(resume_at):
            raise ValueError(f"resume_at must be a finite time in s, got {resume_at!r}")
        _claim(self.path)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            try:
                stored = check_run_file(db, self.path)
            except sqlite3.DatabaseError as exc:
                raise NotARunError(f"{self.path} is not a readable stackpress run file: {exc}") from exc
            if stored.get("closed") == "true":
                raise RunClosedError(
                    f"run file {self.path} was closed when its run ended; only a run whose process died can be resumed"
                )
            _make_durable(db)  # only now: a refused file is left as it was
            db.execute("BEGIN IMMEDIATE")  # read and append in one transaction, with the write lock held
            last = db.execute(SELECT_LAST_SAMPLE_TIME).fetchone()
            last_t = None if last is None else last[0]
            if last_t is not None and resume_at < last_t:
                raise ValueError(
                    f"cannot resume {self.path} at t={resume_at} s: its last sample is at t={last_t} s, "
                    "and a resumed run's time goes on from there"
                )
            for statement in CREATE_TABLES:  # a file of an older schema gains what it lacks
                db.execute(statement)
            checkpoint = db.execute(SELECT_CHECKPOINT).fetchone()
            entries = {**(meta or {}), "schema_version": SCHEMA_VERSION}
            db.executemany(UPSERT_META, [(k, as_text(v)) for k, v in entries.items()])
            gap = {
                "last_sample_t": last_t,
                "resumed_at_t": resume_at,
                "checkpoint_t": None if checkpoint is None else checkpoint[0],
            }
            since = "its start" if last_t is None else f"t = {last_t:.3f} s"
            message = f"recording resumed at t = {resume_at:.3f} s after an interruption; no samples since {since}"
            db.execute(INSERT_EVENT, (resume_at, GAP_EVENT, message, json.dumps(gap)))
            db.execute("COMMIT")
        except BaseException:
            db.close()  # rolls back whatever the refused reopening began
            raise
        self._not_before = -math.inf if last_t is None else last_t
        return db

    def sample(self, s: Sample) -> None:
        """Offer one engine tick; it is recorded if the policy says so.

        Once `commit_interval` has passed, what came before this tick is
        committed first, with the checkpoint taken after the tick before: the
        runner checkpoints after offering a sample, so committing before it
        keeps each commit's last sample and checkpoint together.
        """
        if self._db is None:
            raise RuntimeError(f"recorder for {self.path} is closed")
        if self._wall() - self._committed_at >= self._commit_interval:
            self._commit()
        prev = self._prev
        if prev is None:
            if not s.t > self._not_before:
                raise ValueError(
                    f"run file {self.path} goes on from its last sample at t={self._not_before} s: "
                    f"a sample at t={s.t} s would take its time backwards"
                )
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

    def checkpoint(self, position: Mapping[str, Any]) -> None:
        """Keep the runner's `position` after the last sample offered, to be stored with that sample.

        It goes to disk with the next commit, in the same transaction as the
        samples, replacing the checkpoint before; that sample is recorded then
        even if the policy would have skipped it, so the last checkpoint on disk
        always has its sample on disk. Calling this after every sample costs
        little (the position is kept, serialised only at commits): pass a new
        mapping each time, JSON-serialisable, and do not change it afterwards.
        """
        if self._db is None:
            raise RuntimeError(f"recorder for {self.path} is closed")
        if self._prev is None:
            raise ValueError(f"run file {self.path}: a checkpoint belongs to a sample; offer a sample first")
        self._checkpoint = (self._prev, position)

    def event(self, e: Event) -> None:
        """Record an event, committed at once with the samples before it: events are rare and precious."""
        self._commit((INSERT_EVENT, (e.t, e.kind, e.message, json.dumps(e.data, default=str))))

    def set_meta(self, key: str, value: object) -> None:
        """Set (or replace) one meta entry, stored as text, committed at once."""
        self._commit((UPSERT_META, (key, as_text(value))))

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
            self._record_prev()
        self._commit((UPSERT_META, ("closed", "true")))
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
        open_files.closed(self._open_as)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _record_prev(self) -> None:
        """Record the last sample offered, which the policy skipped: it ends a step, the run, or a checkpoint."""
        self._rows.append(_row_of(self._prev))
        self._last = self._prev
        self._prev_recorded = True

    def _commit(self, *statements: _Statement) -> None:
        """Hand the pending rows, the pending checkpoint and `statements` to the writer: one transaction."""
        if self._db is None:
            raise RuntimeError(f"recorder for {self.path} is closed")
        if self._checkpoint is not None:
            statements = (self._take_checkpoint(), *statements)
        if self._rows or statements:
            self._writer.write((self._rows, statements))
            self._rows = []
        self._committed_at = self._wall()

    def _take_checkpoint(self) -> _Statement:
        sample, position = self._checkpoint
        self._checkpoint = None
        if sample is self._prev and not self._prev_recorded:
            self._record_prev()
        try:
            text = json.dumps(position)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"run file {self.path}: checkpoint {position!r} is not JSON-serialisable: {exc}") from exc
        return UPSERT_CHECKPOINT, (sample.t, text)


_Statement = tuple[str, tuple[Any, ...]]
_Batch = tuple[list[tuple[Any, ...]], tuple[_Statement, ...]]


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

    def _transaction(self, rows: list[tuple[Any, ...]], statements: tuple[_Statement, ...]) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            _insert_samples(db, rows)
            for statement, params in statements:
                db.execute(statement, params)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def _insert_samples(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """The rows, many to an INSERT ("VALUES (...), (...), ..."), not one at a time (`executemany`).

    sqlite3 lets go of the GIL for every statement step, and the writer thread must win
    it back each time. Behind a simulation in virtual time, which holds the GIL but for
    the interpreter's switch interval, winning it takes up to that interval (5 ms): row
    by row, a second's 900 rows took 3 s to write, and a crash could lose several seconds
    of samples instead of the last one. A statement per thousand rows waits once.
    """
    width = len(SAMPLE_FIELDS)
    chunk = min(1000, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        db.execute(f"INSERT INTO samples VALUES {', '.join([SAMPLE_ROW] * len(part))}",
                   [value for row in part for value in row])


def _make_durable(db: sqlite3.Connection) -> None:
    """WAL, and a durable commit (see the module docstring for why FULL).

    The recorder's connections are opened with isolation_level=None: transactions
    are explicit (see `_Writer`), nothing is left open by accident.
    """
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")


def _claim(path: Path) -> None:
    """Make sure no connection has the run file open before it is replaced or appended to.

    Switching the journal mode out of WAL needs every other connection to be
    closed, and fails at once (timeout=0) with SQLITE_BUSY otherwise; the lock
    that tells is held by the other process, and the OS drops it when that
    process dies, so a killed writer's run can be replaced or resumed but a
    live one cannot. On the way, the WAL a killed writer left is folded into
    the file. A file that is not a database at all has no writer: what to do
    with it is the caller's call.
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
                "it will not be replaced or resumed until that is closed"
            ) from exc


def _remove_unused_run(path: Path) -> None:
    """Delete a run file and its WAL, after making sure no connection has it open (see `_claim`)."""
    _claim(path)
    # The -wal and -shm files must go too: a stale WAL next to a new file could be replayed into it.
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
