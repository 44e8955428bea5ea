import dataclasses
import math
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from stackpress.data import NotARunError, Recorder, RecordingPolicy, read_run, runfile
from stackpress.data.runfile import SAMPLE_DTYPES
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


@pytest.fixture(params=["adbc", "sqlite3"])
def reader(request, monkeypatch):
    """read_run through the ADBC driver (when installed) and through the standard library's sqlite3."""
    if request.param == "adbc":
        if runfile.adbc is None:
            pytest.skip("adbc-driver-sqlite is not installed")
    else:
        monkeypatch.setattr(runfile, "adbc", None)
    return read_run


def test_both_ways_of_reading_samples_give_the_same_frame(tmp_path, reader):
    path = tmp_path / "run.sqlite"
    # NaN (stored as NULL) for the first hundred setpoints and every temperature, as a bench without a sensor
    # gives before it holds a pressure; then a pause, a huge step count and a finish.
    samples = [
        make_sample(t=i * 0.5, charge=i * 1e-3, setpoint=math.nan if i < 100 else 10e6, temperature=math.nan)
        for i in range(300)
    ]
    samples += [make_sample(t=200.0, state="paused", voltage=math.nan), make_sample(t=201.0, step=2**40)]
    samples += [make_sample(t=202.0, step=2**40, state="finished")]
    with Recorder(path, policy=RecordingPolicy(interval=0.0)) as recorder:
        for s in samples:
            recorder.sample(s)
    frame = reader(path).samples
    expected = pd.DataFrame([dataclasses.astuple(s) for s in samples], columns=list(SAMPLE_FIELDS))
    pd.testing.assert_frame_equal(frame, expected.astype(SAMPLE_DTYPES))
    assert dict(frame.dtypes.astype(str)) == SAMPLE_DTYPES


def test_an_empty_run_reads_as_an_empty_frame_with_the_columns(tmp_path, reader):
    path = tmp_path / "run.sqlite"
    Recorder(path).close()
    frame = reader(path).samples
    assert frame.empty and dict(frame.dtypes.astype(str)) == SAMPLE_DTYPES


READ_WHILE_RECORDING = """
import sys
from stackpress.data import Recorder, RecordingPolicy, read_run
from tests.data.fakes import make_sample

path = sys.argv[1]
with Recorder(path, policy=RecordingPolicy(interval=0.0), commit_interval=0.0) as recorder:
    for chunk in range(20):
        for i in range(100):
            recorder.sample(make_sample(t=chunk * 100.0 + i))
        print(len(read_run(path).samples), flush=True)  # while the recorder's writer thread commits
print(len(read_run(path).samples))
"""


def test_a_run_can_be_read_in_the_process_that_records_it(tmp_path):
    """The GUI reads its own live run (the cycle table) while its recorder writes. Through the ADBC driver's
    own copy of SQLite this reset the WAL index under the recorder: "no such table", or SIGBUS and the run
    lost (see open_files). In a subprocess, so that a crash fails this test instead of ending the suite."""
    if runfile.adbc is None:
        pytest.skip("adbc-driver-sqlite is not installed: there is only one SQLite in the process")
    path = tmp_path / "run.sqlite"
    done = subprocess.run([sys.executable, "-c", READ_WHILE_RECORDING, str(path)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = [int(line) for line in done.stdout.split()]
    assert counts == sorted(counts) and counts[-1] == 2000  # each read sees what was committed, none lost
