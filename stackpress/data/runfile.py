"""Read a run file into pandas: `stackpress.data.read_run(path).samples` is the one call.

Reading never changes the file: it opens read-only, so a run can be read while
its recorder is still writing it (SQLite WAL lets one writer and many readers
work at once; the reader sees everything committed, i.e. all but the last
second) and after its writer was killed (the committed rows are in the WAL,
which the reader replays).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stackpress.data.schema import APPLICATION_ID, SAMPLE_COLUMN_TYPES, SCHEMA_VERSION
from stackpress.sample import SAMPLE_FIELDS

_PANDAS_TYPE = {"REAL": "float64", "INTEGER": "int64", "TEXT": "str"}
SAMPLE_DTYPES: dict[str, str] = {name: _PANDAS_TYPE[t] for name, t in SAMPLE_COLUMN_TYPES.items()}
EVENT_COLUMNS = ("t", "kind", "message", "data")


class NotARunError(ValueError):
    """The file exists but is not a stackpress run file (or one from a newer stackpress)."""


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


def read_run(path: str | Path) -> Run:
    """Read a whole run file (finished, in progress or crashed) into a `Run`.

    Opening a run in pandas is this one call:

        from stackpress.data import read_run
        samples = read_run("runs/demo.sqlite").samples   # DataFrame: t, voltage, current, charge, ..., SI units

    `.events` and `.meta` hold the run's events and its description.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no run file at {path}")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        with closing(db):
            return _read(db, path)
    except sqlite3.DatabaseError as exc:
        raise NotARunError(f"{path} is not a readable stackpress run file: {exc}") from exc


def _read(db: sqlite3.Connection, path: Path) -> Run:
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        raise NotARunError(f"{path} is not a stackpress run file (no stackpress mark in its SQLite header)")
    db.execute("BEGIN")  # one snapshot: meta, samples and events agree even while the recorder writes
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise NotARunError(
            f"{path} has run file schema {version}; this stackpress reads up to {SCHEMA_VERSION}: upgrade it"
        )
    rows = db.execute(f"SELECT {', '.join(SAMPLE_FIELDS)} FROM samples ORDER BY rowid").fetchall()
    samples = pd.DataFrame.from_records(rows, columns=list(SAMPLE_FIELDS)).astype(SAMPLE_DTYPES)
    events = pd.DataFrame.from_records(
        db.execute("SELECT t, kind, message, data FROM events ORDER BY rowid").fetchall(),
        columns=list(EVENT_COLUMNS),
    ).astype({"t": "float64"})
    events["data"] = [json.loads(d) for d in events["data"]]
    db.execute("COMMIT")
    return Run(path=path, meta=meta, samples=samples, events=events)
