"""The plots: many repaints (PySide6 6.12.0 aborted within a few), and views that do not fight the operator."""

from __future__ import annotations

import numpy as np
import pytest

from stackpress.gui.live import COLUMNS
from stackpress.gui.plots import RunPlots


def columns(n: int, hours: float = 10.0) -> dict[str, np.ndarray]:
    t = np.linspace(0, hours * 3600, n)
    data = {name: np.zeros(n) for name in COLUMNS}
    data.update(t=t, voltage=3.7 + 0.3 * np.sin(t / 3000), current=np.sign(np.sin(t / 3000)) * 1e-3,
                charge=np.cumsum(np.full(n, 1e-3)), pressure=10e6 + np.random.default_rng(0).normal(0, 1e4, n),
                setpoint=np.full(n, 10e6), thickness=1e-5 + 1e-6 * np.sin(t / 3000))
    return data


def test_the_plots_survive_many_repaints(qtbot) -> None:
    plots = RunPlots()
    qtbot.addWidget(plots)
    plots.resize(1200, 700)
    plots.show()
    for frame in range(200):
        plots.show_samples(columns(10_000 + frame))
        plots.repaint()
    x, y = plots.pressure.getData()  # what is drawn: the last 6 h (follow), reduced to peaks per bin
    assert x[0] == pytest.approx(4.0, abs=0.01) and x[-1] == 10.0 and np.isfinite(y).all()
    assert len(x) <= 2 * plots.time_bins


def test_follow_shows_the_latest_hours_and_a_hand_made_zoom_stands(qtbot) -> None:
    plots = RunPlots(follow_span=2 * 3600)
    qtbot.addWidget(plots)
    plots.show_samples(columns(1000, hours=10))
    box = plots.voltage_plot.getViewBox()
    assert box.viewRange()[0] == [8.0, 10.0]

    box.setXRange(1, 3, padding=0)
    box.sigRangeChangedManually.emit(box.state["mouseEnabled"])  # what a drag or a wheel zoom emits
    assert plots.view == "manual"
    plots.show_samples(columns(1000, hours=12))  # the run goes on
    assert box.viewRange()[0] == [1.0, 3.0]

    plots.set_view("follow")
    assert box.viewRange()[0] == [10.0, 12.0]
    plots.set_view("whole")
    low, high = box.viewRange()[0]
    assert low <= 0.0 and high >= 12.0
    assert plots.voltage.getData()[0][0] == 0.0  # the curve is re-cut to the new view


def test_a_hand_made_pan_brings_in_what_comes_into_view(qtbot) -> None:
    plots = RunPlots(follow_span=2 * 3600)
    qtbot.addWidget(plots)
    plots.show_samples(columns(1000, hours=10))
    assert plots.voltage.getData()[0][0] > 7.9  # follow: only the last 2 h are drawn
    box = plots.voltage_plot.getViewBox()
    plots.set_view("manual")
    box.setXRange(0, 1, padding=0)
    x = plots.voltage.getData()[0]
    assert x[0] == 0.0 and 1.0 <= x[-1] < 1.1
