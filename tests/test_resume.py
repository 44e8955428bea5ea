"""Crash resume: a run killed with SIGKILL mid-step and resumed ends like one never interrupted."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import pytest

from stackpress.bench import load_bench
from stackpress.data.analysis import cycle_table
from stackpress.data.recorder import Recorder
from stackpress.data.runfile import read_meta, read_run
from stackpress.protocols.load import load_protocol
from stackpress.session import ResumeError, Session, recorded_setup
from tests.helpers import C3_CYCLING, c3_cycling, run_in_memory

CYCLES = 4
KILL_AFTER = 1_000  # samples on disk, of ~8 900: the first commit (~1 s of wall time), seconds before the end


def _rows(path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute("SELECT count(*) FROM samples").fetchone()[0]
    except sqlite3.Error:
        return 0


def _stackpress(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "stackpress.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """A C/3 cycling run killed with SIGKILL mid-run, the rows on disk just before the kill, and the resume's output."""
    folder = tmp_path_factory.mktemp("resume")
    protocol = folder / "c3.toml"
    protocol.write_text(C3_CYCLING.format(repeat=CYCLES))
    run = folder / "run.sqlite"
    child = _stackpress("run", str(protocol), "--out", str(run))
    try:
        deadline = time.monotonic() + 120
        while _rows(run) < KILL_AFTER and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)  # waiting on a real child process, not on simulated time
        assert child.poll() is None, "the run ended before it could be killed"
        on_disk = _rows(run)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        child.kill()
        child.communicate()
    resumed = _stackpress("resume", str(run))
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    return run, on_disk, output


def test_a_killed_run_resumed_gives_the_per_cycle_table_of_an_uninterrupted_run(killed_and_resumed, tmp_path):
    run, _, output = killed_and_resumed
    state, _, _ = run_in_memory("sim-hydraulic", tmp_path / "whole.sqlite", repeat=CYCLES)
    assert state == "finished"
    resumed = cycle_table(read_run(run).samples)
    whole = cycle_table(read_run(tmp_path / "whole.sqlite").samples)
    assert len(resumed) == len(whole) == CYCLES
    for column in ("charge_capacity_Ah", "discharge_capacity_Ah"):
        assert resumed[column].to_numpy() == pytest.approx(whole[column].to_numpy(), rel=0.005), column
    assert resumed["coulombic_efficiency"].to_numpy() == pytest.approx(
        whole["coulombic_efficiency"].to_numpy(), abs=0.005
    )
    assert "run finished" in output


def test_nothing_on_disk_before_the_kill_is_lost_and_the_gap_is_an_event(killed_and_resumed, tmp_path):
    run, on_disk, _ = killed_and_resumed
    recorded = read_run(run)
    samples = recorded.samples
    assert samples["t"].is_monotonic_increasing and samples["t"].is_unique
    [(last_before, resumed_at)] = recorded.gaps
    before = samples[samples["t"] <= last_before]
    assert len(before) >= on_disk  # every row seen on disk just before the kill is still there
    run_in_memory("sim-hydraulic", tmp_path / "whole.sqlite", repeat=CYCLES)
    whole = read_run(tmp_path / "whole.sqlite").samples
    whole = whole[whole["t"] <= last_before]
    assert before["t"].tolist() == whole["t"].tolist()  # the same rows as the run that was never killed
    assert before["pressure"].to_numpy() == pytest.approx(whole["pressure"].to_numpy())
    restored = recorded.events[recorded.events["message"].str.startswith("restored at step")]
    assert len(restored) == 1 and restored["t"].iloc[0] == resumed_at
    assert recorded.meta["closed"] == "true" and "resumed_at" in recorded.meta


def test_a_run_files_own_protocol_and_bench_are_read_back_as_they_were_run(tmp_path):
    bench = load_bench("sim-servo")
    session = Session(c3_cycling(1), bench, tmp_path / "run.sqlite", seed=7)
    session.abort("the meta is all this test needs")
    assert session.run() == "aborted"
    protocol, stored = recorded_setup(read_meta(tmp_path / "run.sqlite"))
    assert (protocol.name, protocol.source) == ("c3-cycling", "c3-cycling.toml")
    assert protocol.text == C3_CYCLING.format(repeat=1)
    assert (stored.name, stored.text, stored.gains, stored.regulation) == (bench.name, bench.text, bench.gains,
                                                                          bench.regulation)


def test_a_run_that_finished_cannot_be_resumed(tmp_path):
    state, _, _ = run_in_memory("sim-hydraulic", tmp_path / "done.sqlite", repeat=1)
    assert state == "finished"
    with pytest.raises(ValueError, match=r"done\.sqlite"):
        Session.continue_run(tmp_path / "done.sqlite")


def test_a_run_without_a_checkpoint_cannot_be_resumed(tmp_path):
    path = tmp_path / "empty.sqlite"
    with Recorder(path, meta={"protocol": "", "bench": ""}):
        pass  # no sample, no checkpoint: the process died before its first
    with pytest.raises(ResumeError, match="no checkpoint"):
        Session.continue_run(path)


def test_a_script_protocols_run_is_refused_with_the_reason(tmp_path):
    script = tmp_path / "short.py"
    script.write_text('LIMITS = {"voltage": ["2.5 V", "4.3 V"]}\n\n\ndef protocol(run):\n'
                      '    yield "Hold pressure at 10 MPa"\n    yield "Rest for 10 minutes"\n')
    Session(load_protocol(script), load_bench("sim-hydraulic"), tmp_path / "script.sqlite").run()
    with pytest.raises(ResumeError, match=r"its protocol is a Python script \(.*short\.py\).*start the script again"):
        Session.continue_run(tmp_path / "script.sqlite")


def test_a_resumed_run_goes_on_with_the_clock_it_is_given(killed_and_resumed, tmp_path):
    import shutil

    from stackpress.clock import VirtualClock

    run, _, _ = killed_and_resumed
    copy = tmp_path / "again.sqlite"
    shutil.copy(run, copy)
    with closing(sqlite3.connect(copy)) as db:  # a finished run made unfinished again, to build a Session from
        db.execute("DELETE FROM meta WHERE key = 'closed'")
        db.commit()
    starts = []

    def make_clock(start):
        starts.append(start)
        return VirtualClock(start)

    session = Session.continue_run(copy, make_clock=make_clock)
    assert session.clock.now() == starts[0] > read_run(run).samples["t"].max()
    session.abort("enough")
    assert session.run() == "aborted"
