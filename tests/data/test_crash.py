"""A recorder killed with SIGKILL mid-run leaves a readable file that lacks at most its last commit interval,
whose last checkpoint matches its last sample, and which can be reopened to append."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stackpress.data import NotARunError, Recorder, RunInProgressError, last_checkpoint, read_run
from tests.data.fakes import make_sample

COMMIT_INTERVAL = 0.05  # s
# What scheduling on a shared 2-vCPU VM may add to the commit interval (a commit, a preempted process).
SLACK = 0.25  # s
ROWS_BEFORE_KILL = 2000
REPO = Path(__file__).resolve().parents[2]

# Records samples stamped with the system-wide monotonic clock, so the parent can tell how far behind
# the kill the last row on disk is; `charge` numbers the samples to find holes. `policy` says which
# are recorded; `then` runs after each sample `s` (sample number `i`).
CHILD = """
import sys, time
from stackpress.data import Recorder, RecordingPolicy
from stackpress.sample import Sample
recorder = Recorder(sys.argv[1], {{"name": "killed"}}, policy={policy}, commit_interval={commit_interval})
i = 0
while True:
    s = Sample(time.monotonic(), 3.7 + 0.001 * (i % 3), 1e-3, float(i), 25.0, 1e3, 10e6, 10e6,
               1e-3, 5e-5, 0.0, 1 + i // 5000, 1, "running")
    recorder.sample(s)
    {then}
    i += 1
    time.sleep(0.0001)
"""
EVERY_SAMPLE = "RecordingPolicy(interval=0.0)"


def committed_rows(path):
    """(rows on disk, how far their newest t trails now), or (0, inf) before the file exists."""
    now = time.monotonic()
    try:
        t = read_run(path).samples["t"]
    except (FileNotFoundError, NotARunError):
        return 0, float("inf")
    return len(t), now - t.max() if len(t) else float("inf")


def record_until_killed(path, policy=EVERY_SAMPLE, then="pass", rows_before_kill=ROWS_BEFORE_KILL):
    """Run the child on `path` until `rows_before_kill` rows are on disk, kill it, return when it was killed.

    While it runs, checks that what is on disk trails the recorder by about one
    commit interval, and that nothing else may replace the live run file.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    code = CHILD.format(policy=policy, commit_interval=COMMIT_INTERVAL, then=then)
    with subprocess.Popen(
        [sys.executable, "-c", code, str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as child:
        try:
            deadline = time.monotonic() + 15.0
            lags = []
            rows = 0
            while rows < rows_before_kill or len(lags) < 10:
                assert child.poll() is None, child.communicate()[1].decode()
                assert time.monotonic() < deadline, f"child wrote only {rows} rows in 15 s"
                time.sleep(0.02)
                rows, lag = committed_rows(path)
                if rows:
                    lags.append(lag)
            # While it runs, what is on disk trails the recorder by about one commit interval.
            assert max(lags[1:]) < COMMIT_INTERVAL + SLACK, lags
            with pytest.raises(RunInProgressError):
                Recorder(path, overwrite=True)
        finally:
            killed_at = time.monotonic()
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
    return killed_at


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_recorder_loses_no_more_than_its_commit_interval(tmp_path):
    path = tmp_path / "run.sqlite"
    killed_at = record_until_killed(path)
    run = read_run(path)
    t = run.samples["t"].to_numpy()
    index = run.samples["charge"].to_numpy()
    assert len(t) >= ROWS_BEFORE_KILL
    assert np.all(np.diff(t) > 0), "t must be strictly increasing"
    assert np.array_equal(index, np.arange(len(index))), "rows must be contiguous: no holes, no repeats"
    assert run.meta["name"] == "killed" and "closed" not in run.meta
    lost_seconds = killed_at - t[-1]
    rate = (len(t) - 1) / (t[-1] - t[0])
    assert lost_seconds < COMMIT_INTERVAL + SLACK, (
        f"last row is {lost_seconds:.3f} s older than the kill (~{lost_seconds * rate:.0f} rows lost)"
    )
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # The dead writer holds no lock any more: its run may now be replaced, deliberately.
    with pytest.raises(FileExistsError):
        Recorder(path)
    Recorder(path, overwrite=True).close()
    assert read_run(path).samples.empty


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_run_keeps_a_checkpoint_matching_its_last_sample_and_resumes(tmp_path):
    path = tmp_path / "run.sqlite"
    # The default policy skips most of these samples (10 s interval, voltage within 5 mV); a checkpoint
    # after every one numbers it, as a runner reports its position after every tick.
    killed_at = record_until_killed(
        path, policy="RecordingPolicy()", then='recorder.checkpoint({"i": i, "charge": s.charge})', rows_before_kill=3
    )
    checkpoint = last_checkpoint(path)
    before = read_run(path).samples
    last = before.iloc[-1]
    assert checkpoint.t == last["t"], "the checkpoint belongs to the last sample on disk"
    assert checkpoint.position == {"i": int(last["charge"]), "charge": last["charge"]}
    assert killed_at - checkpoint.t < COMMIT_INTERVAL + SLACK

    restart = time.monotonic()
    with Recorder(path, resume_at=restart) as recorder:
        for k in range(1, 4):
            recorder.sample(make_sample(t=restart + 10.0 * k, charge=last["charge"] + k, step=int(last["step"])))
            recorder.checkpoint({"i": checkpoint.position["i"] + k})
    run = read_run(path)
    pd.testing.assert_frame_equal(run.samples.iloc[: len(before)], before)  # everything there is kept
    assert np.all(np.diff(run.samples["t"]) > 0)
    assert run.samples["charge"].iloc[len(before) :].tolist() == [last["charge"] + k for k in range(1, 4)]
    assert run.gaps == [(last["t"], restart)]
    assert run.meta["closed"] == "true" and last_checkpoint(path).position == {"i": checkpoint.position["i"] + 3}
