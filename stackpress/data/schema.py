"""The layout of a run file, in one place so the writer and the reader cannot drift apart.

A run file is an SQLite database. Its header carries `APPLICATION_ID`, which is
how a reader tells a stackpress run from any other SQLite file, and the `meta`
table carries `schema_version`, which a reader checks (`check_run_file`) before
trusting the tables below.

Schema 2 added the `checkpoint` table: one row, the runner's latest position,
so a run whose process died can be resumed. A schema 1 file reads as a run
without a checkpoint, and gains the table when it is reopened to append.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import get_type_hints

from stackpress.sample import SAMPLE_FIELDS, Sample

APPLICATION_ID = 0x53505255  # "SPRU": stackpress run, in the SQLite header (PRAGMA application_id)
SCHEMA_VERSION = 2
FIRST_SCHEMA_WITH_CHECKPOINT = 2

_SQL_TYPE = {float: "REAL", int: "INTEGER", str: "TEXT"}
_hints = get_type_hints(Sample)

# One column per Sample field, same name, same order, typed from the dataclass annotations.
SAMPLE_COLUMN_TYPES: dict[str, str] = {name: _SQL_TYPE[_hints[name]] for name in SAMPLE_FIELDS}

# IF NOT EXISTS: reopening a file of an older schema adds what it lacks and leaves the rest alone.
CREATE_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS samples ({})".format(", ".join(f"{n} {t}" for n, t in SAMPLE_COLUMN_TYPES.items())),
    "CREATE TABLE IF NOT EXISTS events (t REAL, kind TEXT, message TEXT, data TEXT)",  # data: JSON object
    # At most one row (id 1): the position the runner reported with the sample at time t (position: JSON object).
    "CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), t REAL, position TEXT)",
)

SAMPLE_ROW = "({})".format(", ".join("?" * len(SAMPLE_FIELDS)))  # one row's placeholders: "(?, ?, ...)"
INSERT_EVENT = "INSERT INTO events VALUES (?, ?, ?, ?)"
UPSERT_META = "INSERT OR REPLACE INTO meta VALUES (?, ?)"
UPSERT_CHECKPOINT = "INSERT OR REPLACE INTO checkpoint VALUES (1, ?, ?)"
SELECT_CHECKPOINT = "SELECT t, position FROM checkpoint"
SELECT_LAST_SAMPLE_TIME = "SELECT t FROM samples ORDER BY rowid DESC LIMIT 1"

GAP_EVENT = "gap"  # the kind of the event a resumed recording starts with


class NotARunError(ValueError):
    """The file exists but is not a stackpress run file (or one from a newer stackpress)."""


def check_run_file(db: sqlite3.Connection, path: Path) -> dict[str, str]:
    """The run's meta, once `db` is known to hold a stackpress run of a schema this stackpress knows.

    Raises `NotARunError` naming `path` for any other SQLite file and for a run
    written by a newer stackpress, whose tables may mean something else.
    """
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        raise NotARunError(f"{path} is not a stackpress run file (no stackpress mark in its SQLite header)")
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise NotARunError(
            f"{path} has run file schema {version}; this stackpress reads up to {SCHEMA_VERSION}: upgrade it"
        )
    return meta
