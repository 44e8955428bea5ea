import re
import sqlite3
from contextlib import closing

import pytest

from stackpress.data import NotARunError, Recorder, read_run
from stackpress.sample import SAMPLE_FIELDS, Event
from tests.data.fakes import make_sample


def test_a_run_reads_into_pandas_with_the_sample_fields_as_columns(tmp_path):
    path = tmp_path / "run.sqlite"
    with Recorder(path) as recorder:
        recorder.sample(make_sample(t=0.0))
        recorder.event(Event(t=0.0, kind="step", message="charge at C/10"))
        recorder.sample(make_sample(t=30.0, step=2))
    run = read_run(path)
    assert tuple(run.samples.columns) == SAMPLE_FIELDS
    assert run.samples["step"].dtype == "int64" and run.samples["voltage"].dtype == "float64"
    assert run.events.to_dict("records") == [{"t": 0.0, "kind": "step", "message": "charge at C/10", "data": {}}]
    assert run.path == path


def test_a_missing_file_is_named_in_the_error(tmp_path):
    missing = tmp_path / "nothing-here.sqlite"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        read_run(missing)


def test_a_file_that_is_not_a_database_is_not_a_run(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("cell 7 looked swollen\n" * 100)
    with pytest.raises(NotARunError, match=re.escape(str(path))):
        read_run(path)


def test_another_applications_database_is_not_a_run(tmp_path):
    path = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE samples (t REAL)")
        db.commit()
    with pytest.raises(NotARunError, match="not a stackpress run"):
        read_run(path)


def test_a_run_from_a_newer_schema_is_refused_clearly(tmp_path):
    path = tmp_path / "future.sqlite"
    Recorder(path, {"schema_version": 99}).close()
    with pytest.raises(NotARunError, match="schema 99"):
        read_run(path)


def test_reading_leaves_the_file_untouched(tmp_path):
    path = tmp_path / "run.sqlite"
    with Recorder(path) as recorder:
        recorder.sample(make_sample())
    before = path.read_bytes()
    read_run(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.sqlite"]
