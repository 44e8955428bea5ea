"""The run-file side of crash resume: checkpoints stored with their samples, and reopening a dead run to append."""

import json
import math
import re
import sqlite3
from contextlib import closing
from dataclasses import replace

import pandas as pd
import pyarrow.parquet as pq
import pytest

from stackpress.clock import VirtualClock
from stackpress.data import (
    NotARunError,
    Recorder,
    RecordingPolicy,
    RunClosedError,
    RunInProgressError,
    cycle_table,
    export_run,
    last_checkpoint,
    last_sample_time,
    read_meta,
    read_run,
)
from stackpress.data.schema import SCHEMA_VERSION
from stackpress.sample import Event
from tests.data.fakes import crashed_copy, cycling_samples, make_sample


def position(sample):
    """What a runner might report after `sample`: where it is and what it counted."""
    return {"step": sample.step, "cycle": sample.cycle, "charge": sample.charge, "step_started_at": 0.0}


def test_a_checkpoint_is_stored_with_its_sample_even_one_the_policy_would_skip(tmp_path):
    path = tmp_path / "run.sqlite"
    with Recorder(path, commit_interval=1.0, wall=VirtualClock().now) as recorder:
        for t in range(6):  # the default policy keeps t=0 and would skip t=1..5 (10 s interval)
            s = make_sample(t=float(t), charge=t * 0.01)
            recorder.sample(s)
            recorder.checkpoint(position(s))
        assert last_checkpoint(path) is None  # not committed yet: the wall clock stood still
        recorder.flush()
        on_disk = read_run(path).samples
        checkpoint = last_checkpoint(path)
        assert on_disk["t"].tolist() == [0.0, 5.0]
        assert checkpoint.t == 5.0
        assert checkpoint.position == position(s) and checkpoint.position["charge"] == on_disk["charge"].iloc[-1]


def test_only_the_last_checkpoint_is_kept_and_it_goes_with_events_too(tmp_path):
    path = tmp_path / "run.sqlite"
    with Recorder(path, commit_interval=1.0, wall=VirtualClock().now) as recorder:
        recorder.sample(make_sample(t=0.0))
        recorder.checkpoint({"step": 1})
        recorder.flush()
        recorder.sample(make_sample(t=1.0, step=2))
        recorder.checkpoint({"step": 2})
        recorder.event(Event(t=1.0, kind="step", message="rest"))  # commits at once, the checkpoint with it
        recorder.sync()
        assert last_checkpoint(path).position == {"step": 2}
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT count(*) FROM checkpoint").fetchone() == (1,)


def test_a_checkpoint_needs_a_sample_and_a_json_position(tmp_path):
    path = tmp_path / "run.sqlite"
    with Recorder(path) as recorder:
        with pytest.raises(ValueError, match="offer a sample first"):
            recorder.checkpoint({"step": 1})
        recorder.sample(make_sample())
        recorder.checkpoint({"step": 1, "started": object()})
        with pytest.raises(ValueError, match=re.escape(f"{path}: checkpoint") + ".*not JSON-serialisable"):
            recorder.flush()
        recorder.checkpoint({"step": 1})  # the bad one is dropped, not raised again at every commit
    assert last_checkpoint(path).position == {"step": 1}


def test_a_dead_run_reopens_to_append_with_a_gap_event_and_time_going_on(tmp_path):
    live = Recorder(tmp_path / "live.sqlite", {"name": "long"}, policy=RecordingPolicy(interval=0.0))
    for t in range(5):
        live.sample(make_sample(t=float(t), charge=t * 0.1))
    live.checkpoint({"step": 1, "charge": 0.4})
    crashed = crashed_copy(live, tmp_path / "crashed.sqlite")
    live.close()
    assert last_checkpoint(crashed).t == 4.0

    with Recorder(crashed, {"resumed_by": "test"}, policy=RecordingPolicy(interval=0.0), resume_at=60.0) as again:
        with pytest.raises(ValueError, match=re.escape("last sample at t=4.0 s: a sample at t=4.0 s")):
            again.sample(make_sample(t=4.0))
        for t in (60.0, 61.0):
            again.sample(make_sample(t=t, charge=0.4 + (t - 59.0) * 0.1))
    run = read_run(crashed)
    assert run.samples["t"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 60.0, 61.0]
    assert run.samples["charge"].is_monotonic_increasing
    assert run.meta["name"] == "long" and run.meta["resumed_by"] == "test" and run.meta["closed"] == "true"
    assert run.meta["schema_version"] == str(SCHEMA_VERSION)
    (gap,) = run.events.query("kind == 'gap'").to_dict("records")
    assert gap["t"] == 60.0
    assert gap["data"] == {"last_sample_t": 4.0, "resumed_at_t": 60.0, "checkpoint_t": 4.0}
    assert "t = 4.000 s" in gap["message"]
    assert run.gaps == [(4.0, 60.0)]


def test_what_a_resume_needs_reads_without_the_samples_and_matches_read_run(tmp_path):
    live = Recorder(tmp_path / "live.sqlite", {"name": "long", "seed": 7}, policy=RecordingPolicy(interval=0.0))
    for t in (0.0, 30.0, 60.0):
        live.sample(make_sample(t=t))
    crashed = crashed_copy(live, tmp_path / "crashed.sqlite")
    live.sample(make_sample(t=90.0))  # after the "crash": not in the copy
    live.close()
    run = read_run(crashed)
    assert read_meta(crashed) == run.meta and run.meta["seed"] == "7"
    assert last_sample_time(crashed) == run.samples["t"].iloc[-1] == 60.0
    assert last_sample_time(tmp_path / "live.sqlite") == 90.0
    with pytest.raises(FileNotFoundError, match="no run file at"):
        read_meta(tmp_path / "missing.sqlite")


def test_a_run_that_died_before_its_first_sample_resumes_from_its_start(tmp_path):
    live = Recorder(tmp_path / "live.sqlite")
    crashed = crashed_copy(live, tmp_path / "crashed.sqlite")
    live.close()
    assert last_checkpoint(crashed) is None and last_sample_time(crashed) is None
    with Recorder(crashed, resume_at=0.0) as again:
        again.sample(make_sample(t=0.0))
    run = read_run(crashed)
    assert run.gaps == [(None, 0.0)] and len(run.samples) == 1


def unchanged(path):
    """The bytes of a run file and its WAL, to show a refusal left them alone."""
    return [p.read_bytes() for p in sorted(path.parent.glob(path.name + "*"))]


def test_a_run_closed_by_its_recorder_is_not_resumed_and_left_as_it_was(tmp_path):
    path = tmp_path / "run.sqlite"
    with Recorder(path) as recorder:
        recorder.sample(make_sample())
    before = unchanged(path)
    with pytest.raises(RunClosedError, match=re.escape(f"run file {path} was closed when its run ended")):
        Recorder(path, resume_at=10.0)
    assert unchanged(path) == before


def test_a_run_being_recorded_is_not_resumed_by_a_second_recorder(tmp_path):
    path = tmp_path / "run.sqlite"
    with Recorder(path, commit_interval=0.0) as live:
        live.sample(make_sample())
        with pytest.raises(RunInProgressError, match=re.escape(str(path))):
            Recorder(path, resume_at=10.0)
        live.sample(make_sample(t=10.0))
    assert read_run(path).samples["t"].tolist() == [0.0, 10.0]


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ("newer", NotARunError, "{path} has run file schema 99"),
        ("text", NotARunError, "{path} is not a readable stackpress run file"),
        ("missing", FileNotFoundError, "no run file at {path} to resume"),
    ],
)
def test_what_cannot_be_resumed_is_refused_by_name(tmp_path, content, error, message):
    path = tmp_path / "run.sqlite"
    if content == "newer":
        live = Recorder(tmp_path / "live.sqlite", {"schema_version": 99})
        crashed_copy(live, path)
        live.close()
    elif content == "text":
        path.write_text("cell 7 looked swollen\n" * 100)
    with pytest.raises(error, match=re.escape(message.format(path=path))):
        Recorder(path, resume_at=10.0)


def test_resume_time_may_not_go_back_and_overwrite_and_resume_exclude_each_other(tmp_path):
    live = Recorder(tmp_path / "live.sqlite", policy=RecordingPolicy(interval=0.0))
    live.sample(make_sample(t=100.0))
    crashed = crashed_copy(live, tmp_path / "crashed.sqlite")
    live.close()
    with pytest.raises(ValueError, match=re.escape("at t=99.0 s: its last sample is at t=100.0 s")):
        Recorder(crashed, resume_at=99.0)
    with pytest.raises(ValueError, match="not both"):
        Recorder(crashed, resume_at=200.0, overwrite=True)
    assert read_run(crashed).events.empty  # refusals wrote nothing


def test_a_schema_1_run_reads_without_a_checkpoint_and_gains_the_table_when_resumed(tmp_path):
    live = Recorder(tmp_path / "live.sqlite", policy=RecordingPolicy(interval=0.0))
    live.sample(make_sample(t=1.0))
    crashed = crashed_copy(live, tmp_path / "crashed.sqlite")
    live.close()
    with closing(sqlite3.connect(crashed, isolation_level=None)) as db:  # as stackpress wrote it before schema 2
        db.execute("DROP TABLE checkpoint")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    assert last_checkpoint(crashed) is None
    with Recorder(crashed, resume_at=5.0) as again:
        again.sample(make_sample(t=5.0))
        again.checkpoint({"step": 1})
    assert last_checkpoint(crashed).position == {"step": 1}
    assert read_run(crashed).meta["schema_version"] == str(SCHEMA_VERSION)


def test_a_resumed_run_analyses_and_exports_like_an_uninterrupted_one(tmp_path):
    """The runner restores step, cycle and charge; only the time after the crash is shifted by the gap."""
    samples = cycling_samples(cycles=3)
    crash = len(samples) // 2 + 7  # mid-step, in cycle 2
    downtime = 5000.0
    uninterrupted = tmp_path / "uninterrupted.sqlite"
    with Recorder(uninterrupted) as recorder:
        for s in samples:
            recorder.sample(s)

    live = Recorder(tmp_path / "live.sqlite")
    for s in samples[:crash]:
        live.sample(s)
        live.checkpoint(position(s))
    resumed = crashed_copy(live, tmp_path / "resumed.sqlite")
    live.close()
    checkpoint = last_checkpoint(resumed)
    assert checkpoint.t == samples[crash - 1].t and checkpoint.position == position(samples[crash - 1])
    # The runner goes on from its checkpoint, one tick later plus the time it was down.
    with Recorder(resumed, resume_at=checkpoint.t + downtime) as recorder:
        for s in samples[crash:]:
            recorder.sample(replace(s, t=s.t + downtime))

    run, reference = read_run(resumed), read_run(uninterrupted)
    assert run.samples["t"].is_monotonic_increasing
    assert run.gaps == [(checkpoint.t, checkpoint.t + downtime)]
    charge_columns = ["cycle", "charge_capacity_Ah", "discharge_capacity_Ah", "coulombic_efficiency"]
    pd.testing.assert_frame_equal(
        cycle_table(run.samples)[charge_columns], cycle_table(reference.samples)[charge_columns]
    )

    out = export_run(resumed, tmp_path / "resumed.parquet")
    table = pq.read_table(out)
    assert json.loads(table.schema.metadata[b"stackpress:gaps"]) == [[checkpoint.t, checkpoint.t + downtime]]
    assert table.column("Test Time / s").to_pandas().is_monotonic_increasing
    assert not math.isnan(table.column("Net Capacity / Ah")[-1].as_py())
