"""The `stackpress` command: run, export, report, and every way a user can get it wrong."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from stackpress.cli import main
from stackpress.data import read_run
from tests.helpers import C3_CYCLING


@pytest.fixture
def protocol_file(tmp_path):
    path = tmp_path / "cycling.toml"
    path.write_text(C3_CYCLING.format(repeat=1))
    return path


def test_run_export_report(tmp_path, protocol_file, capsys):
    run = tmp_path / "runs" / "run.sqlite"  # the run file's folder is made for it
    assert main(["run", str(protocol_file), "--bench", "sim-hydraulic", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "run finished" in out
    assert "discharge_capacity_mAh" in out  # the per-cycle table is printed at the end

    assert main(["export", str(run), "--to", str(tmp_path / "run.csv")]) == 0
    assert main(["export", str(run), "--to", str(tmp_path / "run.parquet")]) == 0
    csv = pd.read_csv(tmp_path / "run.csv")
    parquet = pd.read_parquet(tmp_path / "run.parquet")
    assert list(csv.columns) == list(parquet.columns)
    assert len(csv) == len(read_run(run).samples)
    assert csv["Surface Pressure / Pa"].iloc[-1] == pytest.approx(10e6, rel=0.02)

    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
    for name in ("timeseries.png", "swelling.png", "cycles.csv", "summary.txt"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_a_malformed_protocol_is_refused_before_anything_starts(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(C3_CYCLING.format(repeat=1).replace("Charge at C/3 until 4.2 V", "Charge at C/3 untill 4.2 V"))
    run = tmp_path / "run.sqlite"
    assert main(["run", str(bad), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml, block 2, step 1" in err and "untill" in err
    assert not run.exists()


def test_a_setpoint_above_the_bench_hard_limit_is_refused(tmp_path, capsys):
    bench = tmp_path / "low-limit.toml"
    bench.write_text('[limits]\nmax_pressure = "8 MPa"\n')
    protocol = tmp_path / "p.toml"
    protocol.write_text(C3_CYCLING.format(repeat=1))
    assert main(["run", str(protocol), "--bench", str(bench), "--out", str(tmp_path / "runs" / "r.sqlite")]) == 2
    assert "10 MPa" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # a refused run leaves nothing behind, not even a folder


@pytest.mark.parametrize(
    ("bench_text", "message"),
    [
        ('[cell]\narea = "0.785 cm"\n', "[cell] area"),
        ('[limits]\nmax_presure = "100 MPa"\n', "max_presure"),
        ('[engine]\nperiod = "1 Pa"\n', "[engine] period"),
        ('[engine]\nperiod = "30 s"\nmin_period = "1 m"\n', "[engine] min_period"),
        ('[engine]\nperiod = "30 s"\nmin_period = "60 s"\n', "[engine] min_period (60 s) must not be longer"),
        ("[cell\n", "low-limit.toml"),
    ],
)
def test_bench_mistakes_name_the_setting(tmp_path, protocol_file, capsys, bench_text, message):
    bench = tmp_path / "low-limit.toml"
    bench.write_text(bench_text)
    assert main(["run", str(protocol_file), "--bench", str(bench), "--out", str(tmp_path / "r.sqlite")]) == 2
    assert message in capsys.readouterr().err


def test_an_existing_run_file_is_never_replaced_without_asking(tmp_path, protocol_file, capsys):
    run = tmp_path / "run.sqlite"
    run.write_bytes(b"precious")
    assert main(["run", str(protocol_file), "--out", str(run)]) == 2
    assert str(run) in capsys.readouterr().err
    assert run.read_bytes() == b"precious"


def test_unknown_protocol_and_bench_names_list_what_is_bundled(tmp_path, capsys):
    assert main(["run", "no-such-protocol", "--out", str(tmp_path / "r.sqlite")]) == 2
    assert "demo" in capsys.readouterr().err
    assert main(["run", "demo", "--bench", "sim-nothing", "--out", str(tmp_path / "r.sqlite")]) == 2
    assert "sim-hydraulic" in capsys.readouterr().err


def _rows(path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM samples").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_run_killed_mid_run_leaves_a_readable_run_file(tmp_path):
    protocol = tmp_path / "long.toml"
    protocol.write_text(C3_CYCLING.format(repeat=500))  # months of virtual time: still running when killed
    run = tmp_path / "run.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-m", "stackpress.cli", "run", str(protocol), "--out", str(run)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while _rows(run) < 2000 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)  # waiting on a real child process, not on simulated time
        assert child.poll() is None, "the run ended before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        child.kill()
    recorded = read_run(run)
    assert len(recorded.samples) >= 2000
    assert recorded.samples["t"].is_monotonic_increasing
    assert recorded.meta["protocol_name"] == "c3-cycling"
    assert recorded.meta.get("closed") != "true"
    assert (recorded.events["kind"] == "step").any()
