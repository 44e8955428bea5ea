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


CRASHED_RUN = """
import os
import sys
from stackpress.data import Recorder, RecordingPolicy
from tests.data.fakes import make_sample

recorder = Recorder(sys.argv[1], policy=RecordingPolicy(interval=0.0), commit_interval=3600.0)
for i in range(2000):
    recorder.sample(make_sample(t=float(i)))
recorder.flush()
os._exit(0)  # killed: the run stays in WAL mode, its -wal and -shm beside it
"""

READ_IN_TWO_THREADS = """
import sys
import threading
from stackpress.data import last_sample_time, read_run

path, done = sys.argv[1], threading.Event()
def peek():
    while not done.is_set():
        assert last_sample_time(path) == 1999.0
peeking = threading.Thread(target=peek)
peeking.start()
try:
    for _ in range(40):
        assert len(read_run(path).samples) == 2000
finally:
    done.set()
    peeking.join()
"""


def test_a_run_can_be_read_in_two_threads_of_one_process(tmp_path):
    """A reader in another thread (the GUI's analysis) has its own `sqlite3` connection open: the ADBC driver's
    copy of SQLite reset the WAL index of a crashed run under it, SIGBUS (see open_files). In subprocesses."""
    if runfile.adbc is None:
        pytest.skip("adbc-driver-sqlite is not installed: there is only one SQLite in the process")
    path, root = tmp_path / "run.sqlite", Path(__file__).parents[2]
    subprocess.run([sys.executable, "-c", CRASHED_RUN, str(path)], check=True, cwd=root, timeout=120)
    assert (tmp_path / "run.sqlite-wal").exists()
    done = subprocess.run([sys.executable, "-c", READ_IN_TWO_THREADS, str(path)], capture_output=True, text=True,
                          cwd=root, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_run_recorded_under_a_relative_path_reads_fast_once_closed_whatever_the_directory(
    tmp_path, monkeypatch
):
    """The recorder counts its file in open_files by its resolved path, and uncounts that same path on close
    even after a chdir: else its file would read through `sqlite3` for good."""
    if runfile.adbc is None:
        pytest.skip("adbc-driver-sqlite is not installed")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    recorder = Recorder("run.sqlite")
    recorder.sample(make_sample(t=0.0))
    monkeypatch.chdir(tmp_path / "elsewhere")
    recorder.close()
    arrow = []
    read_arrow = runfile._read_samples_arrow
    monkeypatch.setattr(runfile, "_read_samples_arrow", lambda *args: arrow.append(args) or read_arrow(*args))
    assert len(read_run(tmp_path / "run.sqlite").samples) == 1
    assert arrow  # through ADBC: nothing of this process has the file open
