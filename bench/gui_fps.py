"""Frame time of the bench window's live plots with 1e5 and 1e6 samples per curve.

One frame is what the window does on each refresh of a live run: hand the
plots the (grown) columns, cut each time curve to the view and reduce it to
its peaks per pixel bin (`stackpress.gui.decimate`), and paint, once, through
the event loop. It is timed for the two views — "follow" (the last 6 h, moving
with the run) and "whole run" (everything) — and, as a baseline, with every
sample in view handed to pyqtgraph as it is. The data is a synthetic 1 s-tick run of C/3
cycles at 10 MPa: 1e6 samples are 278 hours. The plots are 1200x700 on Qt's
offscreen platform, so the numbers are painting and Python work, not a
display's. The goal is under 33 ms per frame (30 fps) at 1e6.

    .venv/bin/python bench/gui_fps.py [--frames 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from stackpress.gui.live import COLUMNS
from stackpress.gui.plots import TIME_BINS, RunPlots

GOAL_MS = 33.0
SIZES = (100_000, 1_000_000)
CYCLE_S = 6 * 3600.0


def synthetic_run(n: int) -> dict[str, np.ndarray]:
    """n samples, 1 s apart, of a cell cycling between 3.0 and 4.2 V at 10 MPa with load-cell noise."""
    rng = np.random.default_rng(0)
    t = np.arange(n, dtype=float)
    phase = (t % CYCLE_S) / CYCLE_S
    charging = phase < 0.5
    soc = np.where(charging, 2 * phase, 2 - 2 * phase)
    data = {name: np.zeros(n) for name in COLUMNS}
    data.update(
        t=t,
        voltage=3.0 + 1.2 * soc ** 0.7,
        current=np.where(charging, 7.8e-4, -7.8e-4),
        charge=np.cumsum(np.where(charging, 7.8e-4, -7.7e-4)),
        pressure=10e6 + rng.normal(0, 6e3, n),
        setpoint=np.full(n, 10e6),
        thickness=10e-6 + 7e-6 * soc,
    )
    return data


def frame_times(plots: RunPlots, data: dict[str, np.ndarray], frames: int, app: QApplication) -> list[float]:
    """ms per frame: new data in (one more sample per frame, as in a live run), then the event loop paints."""
    times = []
    n = len(data["t"])
    for i in range(frames + 2):
        view = {name: column[: n - frames - 2 + i + 1] for name, column in data.items()}
        start = time.perf_counter()
        plots.show_samples(view)
        app.processEvents()
        times.append((time.perf_counter() - start) * 1e3)
    return times[2:]  # the first frames build caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print(f"pyqtgraph {pg.__version__}, offscreen 1200x700, {args.frames} frames each (medians; p90 in brackets)")
    print(f"{'samples/curve':>13}  {'plots':<32} {'view':<6} {'ms/frame':>18}  {'fps':>5}  goal < {GOAL_MS:g} ms")
    for n in SIZES:
        data = synthetic_run(n)
        for bins, label in ((TIME_BINS, "in view, peaks per pixel bin"), (n, "every sample in view")):
            for view in ("follow", "whole"):
                plots = RunPlots(time_bins=bins)
                plots.resize(1200, 700)
                plots.show()
                plots.set_view(view)
                frames = args.frames if bins == TIME_BINS else max(5, args.frames // 5)
                times = frame_times(plots, data, frames, app)
                median = statistics.median(times)
                p90 = statistics.quantiles(times, n=10)[-1]
                ok = "yes" if median < GOAL_MS else "no"
                print(f"{n:>13,}  {label:<32} {view:<6} {median:8.1f} [{p90:6.1f}]  {1e3 / median:5.0f}  {ok}")
                plots.close()
                plots.deleteLater()
                app.processEvents()


if __name__ == "__main__":
    main()
