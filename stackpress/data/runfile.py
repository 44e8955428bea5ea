"""Read a run file into pandas: `stackpress.data.read_run(path).samples` is the one call.

Reading never changes the file: it opens read-only, so a run can be read while
its recorder is still writing it (SQLite WAL lets one writer and many readers
work at once; the reader sees everything committed, i.e. all but the last
second) and after its writer was killed (the committed rows are in the WAL,
which the reader replays).

Reading the samples is the slow part of a big run (a Python object per value
through `sqlite3`), so when the ADBC SQLite driver (`adbc-driver-sqlite`) is
installed they come through it instead, straight into Arrow columns: about 4x
faster (`bench/recorder.py`). Without it, the numeric columns come in batches
of rows into one float64 array (step and cycle are exact in it), never as one
list of a million row tuples. The driver reads only while no `sqlite3`
connection of this process has the file open (a recorder's, this reader's own,
another thread's): two copies of SQLite in one process break each other's locks
(see open_files).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stackpress.data import open_files
from stackpress.data.schema import (
    FIRST_SCHEMA_WITH_CHECKPOINT,
    GAP_EVENT,
    SAMPLE_COLUMN_TYPES,
    SELECT_CHECKPOINT,
    SELECT_LAST_SAMPLE_TIME,
    NotARunError,
    check_run_file,
)
from stackpress.sample import SAMPLE_FIELDS

try:  # optional: the fast way to read samples (see the module docstring)
    from adbc_driver_sqlite import dbapi as adbc
except ImportError:
    adbc = None

_PANDAS_TYPE = {"REAL": "float64", "INTEGER": "int64", "TEXT": "str"}
SAMPLE_DTYPES: dict[str, str] = {name: _PANDAS_TYPE[t] for name, t in SAMPLE_COLUMN_TYPES.items()}
EVENT_COLUMNS = ("t", "kind", "message", "data")
_NUMERIC = tuple(name for name, t in SAMPLE_COLUMN_TYPES.items() if t != "TEXT")
_TEXT = tuple(name for name, t in SAMPLE_COLUMN_TYPES.items() if t == "TEXT")
_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Run:
    """One run as read from disk.

    `samples` has one column per `SAMPLE_FIELDS` entry, SI units, in recording
    order (NaN where the recorder had NaN); `events` has t, kind, message and
    data (a dict); `meta` maps key to text as the recorder stored it.
    """

    path: Path
    meta: dict[str, str]
    samples: pd.DataFrame
    events: pd.DataFrame

    @property
    def gaps(self) -> list[tuple[float | None, float]]:
        """Where a resumed run has no samples: (t of the last sample before, t it resumed at), in order.

        None for the first when the process died before any sample reached the disk.
        """
        resumed = self.events.loc[self.events["kind"] == GAP_EVENT, "data"]
        return [(d["last_sample_t"], d["resumed_at_t"]) for d in resumed]


@dataclass(frozen=True)
class Checkpoint:
    """The runner's last position on disk, and the time `t` (s) of the sample it was stored with."""

    t: float
    position: dict[str, Any]


def read_run(path: str | Path) -> Run:
    """Read a whole run file (finished, in progress, crashed or resumed) into a `Run`.

    Opening a run in pandas is this one call:

        from stackpress.data import read_run
        samples = read_run("runs/demo.sqlite").samples   # DataFrame: t, voltage, current, charge, ..., SI units

    `.events` and `.meta` hold the run's events and its description.
    """
    with _open(path) as (db, meta, path):
        db.execute("BEGIN")  # one snapshot: meta, samples and events agree even while the recorder writes
        last_rowid = db.execute("SELECT max(rowid) FROM samples").fetchone()[0] or 0
        # The fast path reads after this connection is closed: rows are only ever appended, so the rows up
        # to last_rowid are this snapshot's.
        arrow = adbc is not None and last_rowid > 0
        samples = None if arrow else _read_samples_sqlite3(db, last_rowid)
        events = pd.DataFrame.from_records(
            db.execute("SELECT t, kind, message, data FROM events ORDER BY rowid").fetchall(),
            columns=list(EVENT_COLUMNS),
        ).astype({"t": "float64"})
        db.execute("COMMIT")
    if samples is None:
        with open_files.adbc_read(path) as free:
            if free:
                samples = _read_samples_arrow(path, last_rowid)
    if samples is None:  # a recorder of this process, or a reader in another thread, has the file open
        with _open(path) as (db, _, _):
            samples = _read_samples_sqlite3(db, last_rowid)
    events["data"] = [json.loads(d) for d in events["data"]]
    return Run(path=path, meta=meta, samples=samples.astype(SAMPLE_DTYPES), events=events)


def read_meta(path: str | Path) -> dict[str, str]:
    """The run's meta (what describes it: protocol, bench, seed, ...), without reading its samples."""
    with _open(path) as (_, meta, _):
        return meta


def last_sample_time(path: str | Path) -> float | None:
    """The `t` of the run's last sample on disk, or None if it has none, without reading the others."""
    with _open(path) as (db, _, _):
        row = db.execute(SELECT_LAST_SAMPLE_TIME).fetchone()
    return None if row is None else row[0]


def last_checkpoint(path: str | Path) -> Checkpoint | None:
    """The last checkpoint the run's recorder stored (see `Recorder.checkpoint`), or None if it stored none.

    It was committed with the samples up to and including the one at its `t`,
    so after a crash it matches the samples on disk.
    """
    with _open(path) as (db, meta, _):
        if int(meta.get("schema_version", "0")) < FIRST_SCHEMA_WITH_CHECKPOINT:
            return None
        row = db.execute(SELECT_CHECKPOINT).fetchone()
    return None if row is None else Checkpoint(t=row[0], position=json.loads(row[1]))


@contextmanager
def _open(path: str | Path) -> Iterator[tuple[sqlite3.Connection, dict[str, str], Path]]:
    """A read-only connection to the run at `path`, its meta, and the path; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no run file at {path}")
    try:
        with open_files.sqlite3_connection(path):  # never while the ADBC driver reads it (see open_files)
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            with closing(db):
                yield db, check_run_file(db, path), path
    except sqlite3.DatabaseError as exc:
        raise NotARunError(f"{path} is not a readable stackpress run file: {exc}") from exc


def _select(columns: tuple[str, ...]) -> str:
    return f"SELECT {', '.join(columns)} FROM samples WHERE rowid <= ? ORDER BY rowid"


def _read_samples_arrow(path: Path, last_rowid: int) -> pd.DataFrame:
    with adbc.connect(f"{path.resolve().as_uri()}?mode=ro") as connection, connection.cursor() as cursor:
        # One batch: the driver guesses each column's type from its first batch, and a column NULL there
        # (the setpoint before any pressure is held) would be guessed as an integer, refusing the reals after.
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(last_rowid)})
        cursor.execute(_select(SAMPLE_FIELDS), (last_rowid,))
        return cursor.fetch_arrow_table().to_pandas()


def _read_samples_sqlite3(db: sqlite3.Connection, last_rowid: int) -> pd.DataFrame:
    cursor = db.execute(_select(_NUMERIC), (last_rowid,))
    batches = []
    while rows := cursor.fetchmany(_BATCH_ROWS):
        batches.append(np.array(rows, dtype=np.float64))  # SQL NULL (a NaN the recorder stored) becomes NaN
    numeric = np.concatenate(batches) if batches else np.empty((0, len(_NUMERIC)))
    columns: dict[str, Any] = dict(zip(_NUMERIC, numeric.T, strict=True))
    for name in _TEXT:
        columns[name] = [value for (value,) in db.execute(_select((name,)), (last_rowid,))]
    return pd.DataFrame(columns, columns=list(SAMPLE_FIELDS))
