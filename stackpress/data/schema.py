"""The layout of a run file, in one place so the writer and the reader cannot drift apart.

A run file is an SQLite database. Its header carries `APPLICATION_ID`, which is
how a reader tells a stackpress run from any other SQLite file, and the `meta`
table carries `schema_version`, which a reader checks before trusting the
tables below.
"""

from __future__ import annotations

from typing import get_type_hints

from stackpress.sample import SAMPLE_FIELDS, Sample

APPLICATION_ID = 0x53505255  # "SPRU": stackpress run, in the SQLite header (PRAGMA application_id)
SCHEMA_VERSION = 1

_SQL_TYPE = {float: "REAL", int: "INTEGER", str: "TEXT"}
_hints = get_type_hints(Sample)

# One column per Sample field, same name, same order, typed from the dataclass annotations.
SAMPLE_COLUMN_TYPES: dict[str, str] = {name: _SQL_TYPE[_hints[name]] for name in SAMPLE_FIELDS}

CREATE_TABLES = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE samples ({})".format(", ".join(f"{n} {t}" for n, t in SAMPLE_COLUMN_TYPES.items())),
    "CREATE TABLE events (t REAL, kind TEXT, message TEXT, data TEXT)",  # data: JSON object
)

INSERT_SAMPLE = "INSERT INTO samples VALUES ({})".format(", ".join("?" * len(SAMPLE_FIELDS)))
INSERT_EVENT = "INSERT INTO events VALUES (?, ?, ?, ?)"
UPSERT_META = "INSERT OR REPLACE INTO meta VALUES (?, ?)"
