import datetime as dt
import json
import math
import re
import sqlite3
from contextlib import closing

import pytest

from stackpress import __version__
from stackpress.clock import VirtualClock
from stackpress.data import Recorder, RecordingPolicy, RunInProgressError, read_run
from stackpress.data.recorder import new_run_path
from stackpress.data.schema import SCHEMA_VERSION
from stackpress.sample import Event
from tests.data.fakes import make_sample


def recorded_times(path, samples, policy=None):
    """Offer `samples` to a recorder, close it, and return the t of every row in the file."""
    with Recorder(path, policy=policy or RecordingPolicy()) as recorder:
        for s in samples:
            recorder.sample(s)
    return read_run(path).samples["t"].tolist()


def test_interval_records_one_sample_per_interval_and_the_last_on_close(tmp_path):
    steady = [make_sample(t=float(t)) for t in range(26)]
    assert recorded_times(tmp_path / "run.sqlite", steady) == [0.0, 10.0, 20.0, 25.0]


def test_voltage_moving_beyond_the_delta_is_recorded(tmp_path):
    volts = [3.700, 3.703, 3.706, 3.708, 3.712, 3.713]
    samples = [make_sample(t=float(t), voltage=v) for t, v in enumerate(volts)]
    # 3.706 is 6 mV from 3.700; 3.712 is 6 mV from 3.706; 3.713 is only kept as the last sample.
    assert recorded_times(tmp_path / "run.sqlite", samples) == [0.0, 2.0, 4.0, 5.0]


def test_pressure_moving_beyond_the_delta_is_recorded(tmp_path):
    pressures = [10.00e6, 10.05e6, 10.11e6, 10.12e6, 9.99e6, 9.99e6]  # kept: +0.11 MPa, -0.12 MPa
    samples = [make_sample(t=float(t), pressure=p) for t, p in enumerate(pressures)]
    assert recorded_times(tmp_path / "run.sqlite", samples) == [0.0, 2.0, 4.0, 5.0]


@pytest.mark.parametrize(
    "change", [{"step": 2}, {"cycle": 2}, {"state": "paused"}], ids=["step", "cycle", "state"]
)
def test_a_change_records_the_last_sample_before_it_and_the_first_after(tmp_path, change):
    before = [make_sample(t=float(t)) for t in range(5)]
    after = [make_sample(t=float(t), **change) for t in range(5, 8)]
    assert recorded_times(tmp_path / "run.sqlite", before + after) == [0.0, 4.0, 5.0, 7.0]


def test_step_end_point_is_kept_even_when_it_was_not_due(tmp_path):
    # A charge step ends at the 4.2 V cut-off one tick after the last recorded sample.
    charge = [make_sample(t=0.0, voltage=4.196), make_sample(t=1.0, voltage=4.2)]
    rest = [make_sample(t=2.0, voltage=4.15, current=0.0, step=2)]
    path = tmp_path / "run.sqlite"
    with Recorder(path) as recorder:
        for s in charge + rest:
            recorder.sample(s)
    rows = read_run(path).samples
    assert rows["voltage"].tolist() == [4.196, 4.2, 4.15]
    assert rows["step"].tolist() == [1, 1, 2]


def test_interval_zero_records_everything_and_values_round_trip(tmp_path):
    samples = [
        make_sample(t=i * 0.1, charge=i * 1e-4, step=1 + i // 3, setpoint=math.nan if i < 2 else 10e6)
        for i in range(5)
    ]
    path = tmp_path / "run.sqlite"
    with Recorder(path, policy=RecordingPolicy(interval=0.0)) as recorder:
        for s in samples:
            recorder.sample(s)
    rows = read_run(path).samples
    assert len(rows) == 5
    for field in ("t", "voltage", "charge", "pressure", "thickness", "step", "cycle", "state"):
        assert rows[field].tolist() == [getattr(s, field) for s in samples]
    assert rows["setpoint"].isna().tolist() == [True, True, False, False, False]


def test_a_batch_of_samples_is_written_in_a_few_statements_not_one_per_row(tmp_path):
    """sqlite3 lets go of the GIL at every statement, and the writer thread must win it back from a
    simulation that holds it for 5 ms at a time: one INSERT per row made a second's rows take 3 s to write.
    2,500 rows, in order and exact (NaN as NULL), in three INSERTs of at most 1,000 rows."""
    samples = [make_sample(t=i * 0.1, charge=i * 1e-4, setpoint=math.nan if i % 7 else 10e6) for i in range(2500)]
    path = tmp_path / "run.sqlite"
    statements = []
    with Recorder(path, policy=RecordingPolicy(interval=0.0), commit_interval=3600.0) as recorder:
        recorder._db.set_trace_callback(statements.append)  # the connection the writer thread writes with
        for s in samples:
            recorder.sample(s)
    inserts = [text for text in statements if text.startswith("INSERT INTO samples")]
    assert len(inserts) == 3
    rows = read_run(path).samples
    assert rows["t"].tolist() == [s.t for s in samples] and rows["charge"].tolist() == [s.charge for s in samples]
    assert rows["setpoint"].isna().tolist() == [math.isnan(s.setpoint) for s in samples]


def test_samples_reach_the_file_when_the_commit_interval_has_passed_on_the_wall_clock(tmp_path):
    wall = VirtualClock()  # stands in for the wall clock: it moves only when the test says so
    path = tmp_path / "run.sqlite"
    recorder = Recorder(path, policy=RecordingPolicy(interval=0.0), commit_interval=1.0, wall=wall.now)
    # Sample time races ahead (virtual clock); that must not trigger commits.
    for t in range(100):
        recorder.sample(make_sample(t=t * 3600.0))
    recorder.sync()
    assert read_run(path).samples.empty
    wall.sleep_until(0.99)
    recorder.sample(make_sample(t=100 * 3600.0))
    recorder.sync()
    assert read_run(path).samples.empty
    wall.sleep_until(1.0)
    recorder.sample(make_sample(t=101 * 3600.0))  # commits what came before it, and keeps it for the next
    recorder.sync()
    assert len(read_run(path).samples) == 101
    recorder.close()
    assert len(read_run(path).samples) == 102


def test_an_event_is_committed_at_once_with_the_samples_before_it(tmp_path):
    path = tmp_path / "run.sqlite"
    recorder = Recorder(path, commit_interval=1.0, wall=VirtualClock().now)
    recorder.sample(make_sample(t=5.0))
    recorder.event(Event(t=5.0, kind="trip", message="pressure above 30 MPa", data={"limit": 30e6}))
    recorder.sync()  # waits for what was handed to the writer; nothing else is due: the wall clock stood still
    run = read_run(path)
    assert run.samples["t"].tolist() == [5.0]
    assert run.events.to_dict("records") == [
        {"t": 5.0, "kind": "trip", "message": "pressure above 30 MPa", "data": {"limit": 30e6}}
    ]
    recorder.close()


def test_meta_round_trips_as_text(tmp_path):
    path = tmp_path / "run.sqlite"
    meta = {
        "protocol": "[[step]]\nkind = 'charge'\n",
        "protocol_name": "formation",
        "seed": 42,
        "area": 1.13e-4,
        "started_at": dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC),
        "bench": {"fixture": "hydraulic", "load_cell": "50 kN"},
    }
    with Recorder(path, meta) as recorder:
        recorder.set_meta("operator_note", "cell 7, glovebox 2")
        recorder.sync()
        stored_before_close = read_run(path).meta
    stored = read_run(path).meta
    assert stored_before_close["operator_note"] == "cell 7, glovebox 2"
    assert "closed" not in stored_before_close
    assert stored["protocol"] == meta["protocol"]
    assert stored["seed"] == "42"
    assert float(stored["area"]) == 1.13e-4
    assert stored["started_at"] == "2026-11-26T08:30:00+00:00"
    assert json.loads(stored["bench"]) == meta["bench"]
    assert stored["schema_version"] == str(SCHEMA_VERSION)
    assert stored["software_version"] == __version__
    assert stored["closed"] == "true"


def test_an_existing_run_is_refused_without_overwrite(tmp_path):
    path = tmp_path / "run.sqlite"
    with Recorder(path) as recorder:
        recorder.sample(make_sample())
    with pytest.raises(FileExistsError, match=re.escape(f"{path} already exists; pass overwrite=True")):
        Recorder(path)
    assert len(read_run(path).samples) == 1  # untouched


def test_a_run_being_written_is_never_replaced_even_with_overwrite(tmp_path):
    path = tmp_path / "run.sqlite"
    live = Recorder(path, commit_interval=0.0)
    live.sample(make_sample())
    with pytest.raises(RunInProgressError, match=re.escape(str(path))):
        Recorder(path, overwrite=True)
    live.sample(make_sample(t=20.0))
    live.close()
    assert read_run(path).samples["t"].tolist() == [0.0, 20.0]

    with Recorder(path, {"name": "second"}, overwrite=True) as replacement:
        replacement.sample(make_sample(t=7.0))
    run = read_run(path)
    assert run.samples["t"].tolist() == [7.0]
    assert run.meta["name"] == "second"


def test_close_is_idempotent_and_a_closed_recorder_refuses_samples(tmp_path):
    recorder = Recorder(tmp_path / "run.sqlite")
    recorder.sample(make_sample())
    recorder.close()
    recorder.close()
    with pytest.raises(RuntimeError, match="closed"):
        recorder.sample(make_sample(t=1.0))


def test_policy_rejects_negative_or_nan_values():
    with pytest.raises(ValueError, match="voltage_delta"):
        RecordingPolicy(voltage_delta=-0.001)
    with pytest.raises(ValueError, match="interval"):
        RecordingPolicy(interval=math.nan)


def test_closing_while_a_viewer_has_the_run_open_keeps_it_complete(tmp_path):
    path = tmp_path / "run.sqlite"
    recorder = Recorder(path, commit_interval=60.0)
    recorder.sample(make_sample(t=0.0))
    recorder.sample(make_sample(t=1.0))
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as viewer:
        viewer.execute("SELECT count(*) FROM samples").fetchone()
        recorder.close()
        assert viewer.execute("SELECT t FROM samples").fetchall() == [(0.0,), (1.0,)]
    run = read_run(path)
    assert run.samples["t"].tolist() == [0.0, 1.0]
    assert run.meta["closed"] == "true"


def test_a_stalled_disk_does_not_stall_the_caller_and_loses_nothing(tmp_path):
    path = tmp_path / "run.sqlite"
    recorder = Recorder(path, policy=RecordingPolicy(interval=0.0), commit_interval=0.0)
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # holds the write lock: the writer thread must wait for it
        for t in range(50):  # every sample is due at once; were writes on this thread, this would block
            recorder.sample(make_sample(t=float(t)))
        recorder.event(Event(t=49.0, kind="trip", message="while the disk was busy"))
        other.execute("ROLLBACK")
    recorder.sync()
    run = read_run(path)
    assert run.samples["t"].tolist() == [float(t) for t in range(50)]
    assert run.events["message"].tolist() == ["while the disk was busy"]
    recorder.close()


def test_a_recorder_that_fails_to_start_leaves_its_file_closed(tmp_path, monkeypatch):
    """Nothing of it stays open, nor counted in open_files (which would keep readers off the fast path)."""
    from stackpress.data import runfile

    path = tmp_path / "run.sqlite"

    def broken_wall() -> float:
        raise OSError("no clock")

    with pytest.raises(OSError, match="no clock"):
        Recorder(path, wall=broken_wall)
    Recorder(path, overwrite=True).close()  # no connection of the failed one is left to refuse it
    if runfile.adbc is not None:
        arrow = []
        read_arrow = runfile._read_samples_arrow
        monkeypatch.setattr(runfile, "_read_samples_arrow", lambda *args: arrow.append(args) or read_arrow(*args))
        with Recorder(path, overwrite=True) as recorder:
            recorder.sample(make_sample(t=0.0))
        assert len(read_run(path).samples) == 1 and arrow  # through ADBC: nothing of this process has it open


def test_a_new_run_path_never_names_an_existing_run(tmp_path):
    """`stackpress run` and the window name a run NAME-DATE-TIME.sqlite; two started within a second differ."""
    first = new_run_path(tmp_path / "runs", "demo")
    assert first.parent == tmp_path / "runs" and re.fullmatch(r"demo-\d{8}-\d{6}\.sqlite", first.name)
    Recorder(first).close()
    second = new_run_path(tmp_path / "runs", "demo")
    assert second != first and not second.exists()
