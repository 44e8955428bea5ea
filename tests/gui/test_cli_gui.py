"""`stackpress gui`: the screenshot mode runs the simulated bench, saves the window and exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtGui import QImage

from stackpress.cli import main
from stackpress.data.runfile import read_run


def test_screenshot_runs_the_demo_and_saves_the_window(tmp_path: Path) -> None:
    shot = tmp_path / "gui.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(
        [sys.executable, "-m", "stackpress.cli", "gui", "--speed", "1000", "--screenshot", str(shot), "--after", "3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    assert image.width() >= 1000 and image.height() >= 600
    runs = list((tmp_path / "runs").glob("demo-*.sqlite"))
    assert len(runs) == 1
    events = read_run(runs[0]).events  # the demo ran, and exiting ended it with its cleanup
    assert list(events["message"].iloc[-2:]) == ["run aborted: screenshot taken", "run ended: aborted"]


def test_ctrl_c_ends_the_run_safely_before_the_window_goes(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    gui = subprocess.Popen([sys.executable, "-m", "stackpress.cli", "gui", "--speed", "100"], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list((tmp_path / "runs").glob("demo-*.sqlite")) and time.monotonic() < deadline:
            time.sleep(0.1)  # a real process on the wall clock: nothing virtual to wait on
        time.sleep(1.0)  # let the run get going
        gui.send_signal(signal.SIGINT)
        assert gui.wait(timeout=60) == 0, gui.stderr.read()
    finally:
        gui.kill()
    run = next((tmp_path / "runs").glob("demo-*.sqlite"))
    messages = list(read_run(run).events["message"])
    assert messages[-2:] == ["run aborted: interrupted (SIGINT)", "run ended: aborted"]


def test_after_without_a_screenshot_is_refused(capsys) -> None:
    assert main(["gui", "--after", "5"]) == 2
    assert "--after goes with --screenshot" in capsys.readouterr().err
