"""A recorder killed with SIGKILL mid-run leaves a readable file that lacks at most its last commit interval."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from stackpress.data import NotARunError, Recorder, RunInProgressError, read_run

COMMIT_INTERVAL = 0.05  # s
# What scheduling on a shared 2-vCPU VM may add to the commit interval (a commit, a preempted process).
SLACK = 0.25  # s
ROWS_BEFORE_KILL = 2000
REPO = Path(__file__).resolve().parents[2]

# Records every sample, stamped with the system-wide monotonic clock so the parent can tell
# how far behind the kill the last row on disk is; `charge` numbers the samples to find holes.
CHILD = f"""
import sys, time
from stackpress.data import Recorder, RecordingPolicy
from stackpress.sample import Sample
recorder = Recorder(sys.argv[1], {{"name": "killed"}},
                    policy=RecordingPolicy(interval=0.0), commit_interval={COMMIT_INTERVAL})
i = 0
while True:
    recorder.sample(Sample(time.monotonic(), 3.7, 1e-3, float(i), 25.0, 1e3, 10e6, 10e6,
                           1e-3, 5e-5, 0.0, 1, 1, "running"))
    i += 1
    time.sleep(0.0001)
"""


def committed_rows(path):
    """(rows on disk, how far their newest t trails now), or (0, inf) before the file exists."""
    now = time.monotonic()
    try:
        t = read_run(path).samples["t"]
    except (FileNotFoundError, NotARunError):
        return 0, float("inf")
    return len(t), now - t.max() if len(t) else float("inf")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_recorder_loses_no_more_than_its_commit_interval(tmp_path):
    path = tmp_path / "run.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as child:
        try:
            deadline = time.monotonic() + 15.0
            lags = []
            rows = 0
            while rows < ROWS_BEFORE_KILL or len(lags) < 10:
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
