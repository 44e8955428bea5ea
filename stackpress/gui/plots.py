"""The run's plots: what a researcher watches for a month, live or from a run file.

Left, against time (hours, linked axes): voltage, current, and the measured
pressure with its setpoint and the band around it in which the pressure counts
as held. Right: pressure and electrode thickness against the charge passed,
and per-cycle discharge capacity and retention.

Smooth with a million samples per curve: the time plots get only what is in
view, at most two points per bin of about a pixel (`decimate.visible_peaks`:
spikes stay visible), re-cut whenever the view moves; the charge plots, whose x
goes back and forth with every cycle, are subsampled to a fixed budget. No
grid: its lines cost more to paint than the curves. `bench/gui_fps.py` measures
the frame time.

Views: "follow" shows the last `follow_span` of the run and moves with it,
"whole run" fits everything; a pan or zoom by hand switches to "manual", which
no live update overrides, until the operator picks a view again.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from stackpress.control.interlocks import ESTABLISHED_BAND
from stackpress.gui.decimate import visible_peaks

S_PER_H = 3600.0
C_PER_MAH = 3.6
TIME_BINS = 1500  # per time curve: about one per pixel column of a wide window
CHARGE_PLOT_POINTS = 10_000  # points drawn per charge curve
VIEWS = ("follow", "whole", "manual")


class RunPlots(pg.GraphicsLayoutWidget):
    """Time, charge and cycle plots of one run; `show_samples` and `show_cycles` replace their data."""

    view_changed = Signal(str)

    def __init__(self, follow_span: float = 6 * S_PER_H, time_bins: int = TIME_BINS) -> None:
        super().__init__()
        self.follow_span = follow_span  # s
        self.time_bins = time_bins  # a time curve shows at most two points per bin
        self.view = "follow"
        self._hours = (0.0, 0.0)  # the run's first and last sample, h
        self.voltage_plot = self._plot(0, 0, "voltage", "V")
        self.current_plot = self._plot(1, 0, "current", "A")
        self.pressure_plot = self._plot(2, 0, "pressure", "Pa")
        self.pressure_plot.setLabel("bottom", "time (h)")
        for plot in (self.voltage_plot, self.current_plot):
            plot.hideAxis("bottom")  # one time axis, under the linked plots: less to read, less to paint
        self.time_plots = (self.voltage_plot, self.current_plot, self.pressure_plot)
        for plot in self.time_plots:
            plot.getViewBox().setAutoVisible(y=True)
            plot.getViewBox().sigRangeChangedManually.connect(self._moved_by_hand)
            if plot is not self.voltage_plot:
                plot.setXLink(self.voltage_plot)
        self.voltage_plot.getViewBox().sigXRangeChanged.connect(self._view_moved)
        self._columns: Mapping[str, np.ndarray] = {}
        # connect="finite": a NaN (an instrument that did not answer) leaves a gap
        self.voltage = self.voltage_plot.plot(pen="#1f77b4", connect="finite")
        self.current = self.current_plot.plot(pen="#d62728", connect="finite")
        self.band_low = self.pressure_plot.plot(pen=None, connect="finite")
        self.band_high = self.pressure_plot.plot(pen=None, connect="finite")
        band = pg.FillBetweenItem(self.band_low, self.band_high, brush=(44, 160, 44, 50))
        self.pressure_plot.addItem(band, ignoreBounds=True)  # the y range follows the curves in view
        dashed = pg.mkPen("#2ca02c", style=Qt.PenStyle.DashLine)
        self.setpoint = self.pressure_plot.plot(pen=dashed, connect="finite")
        self.pressure = self.pressure_plot.plot(pen="#ff7f0e", connect="finite")

        self.pressure_charge_plot = self._plot(0, 1, "pressure", "Pa")
        self.thickness_plot = self._plot(1, 1, "electrode thickness", "m")
        self.thickness_plot.setLabel("bottom", "charge passed (mAh)")
        self.thickness_plot.setXLink(self.pressure_charge_plot)
        self.pressure_charge_plot.hideAxis("bottom")
        self.pressure_charge = self.pressure_charge_plot.plot(pen="#ff7f0e", connect="finite")
        self.thickness = self.thickness_plot.plot(pen="#9467bd", connect="finite")

        cycles = self.addLayout(row=2, col=1)
        self.capacity_plot = cycles.addPlot(row=0, col=0)
        self.capacity_plot.setLabel("left", "discharge capacity (mAh)")
        self.capacity_plot.setLabel("bottom", "cycle")
        self.retention_plot = cycles.addPlot(row=0, col=1)
        self.retention_plot.setLabel("left", "retention (%)")
        self.retention_plot.setLabel("bottom", "cycle")
        self.capacity = self.capacity_plot.plot(pen="#1f77b4", symbol="o", symbolSize=6)
        self.retention = self.retention_plot.plot(pen="#2ca02c", symbol="o", symbolSize=6)

    def _plot(self, row: int, col: int, name: str, unit: str) -> pg.PlotItem:
        """A plot of a quantity in an SI unit, which the axis shows with a prefix (MPa, mA, µm)."""
        plot = self.addPlot(row=row, col=col)
        plot.setLabel("left", name, unit)
        return plot

    # --- data ---------------------------------------------------------------------------------

    def show_samples(self, columns: Mapping[str, np.ndarray]) -> None:
        """Show these columns (SI units, as in `Sample`; kept by reference until the next call)."""
        self._columns = columns
        t = columns["t"]
        if len(t):
            self._hours = (float(t[0]) / S_PER_H, float(t[-1]) / S_PER_H)
        every = max(1, len(t) // CHARGE_PLOT_POINTS)
        charge = columns["charge"][::every] / C_PER_MAH
        self.pressure_charge.setData(charge, columns["pressure"][::every])
        self.thickness.setData(charge, columns["thickness"][::every])
        self._apply_view()
        self._draw_time_curves()

    def _draw_time_curves(self) -> None:
        """Cut the time curves to the x range in view."""
        if not self._columns:
            return
        low, high = (hours * S_PER_H for hours in self.voltage_plot.getViewBox().viewRange()[0])
        t = self._columns["t"]
        for curve, name in ((self.voltage, "voltage"), (self.current, "current"), (self.pressure, "pressure")):
            x, y = visible_peaks(t, self._columns[name], low, high, self.time_bins)
            curve.setData(x / S_PER_H, y)
        x, setpoint = visible_peaks(t, self._columns["setpoint"], low, high, self.time_bins)
        hours = x / S_PER_H
        self.setpoint.setData(hours, setpoint)
        self.band_low.setData(hours, setpoint * (1 - ESTABLISHED_BAND))
        self.band_high.setData(hours, setpoint * (1 + ESTABLISHED_BAND))

    def show_cycles(self, table: pd.DataFrame) -> None:
        """Per-cycle discharge capacity and retention, from `stackpress.data.analysis.cycle_table`."""
        for curve, column, scale in ((self.capacity, "discharge_capacity_Ah", 1e3), (self.retention, "retention", 100)):
            values = table[["cycle", column]].dropna().to_numpy(dtype=float)
            curve.setData(values[:, 0], values[:, 1] * scale)

    # --- views --------------------------------------------------------------------------------

    def set_view(self, view: str) -> None:
        """"follow", "whole" or "manual"."""
        if view not in VIEWS:
            raise ValueError(f"unknown plot view {view!r} (known: {', '.join(VIEWS)})")
        if view != self.view:
            self.view = view
            self.view_changed.emit(view)
        self._apply_view()
        self._draw_time_curves()

    def _apply_view(self) -> None:
        box = self.voltage_plot.getViewBox()
        first, last = self._hours
        if self.view == "follow":
            span = self.follow_span / S_PER_H
            box.setXRange(max(first, last - span), max(last, first + span), padding=0)
        elif self.view == "whole":
            box.setXRange(first, max(last, first + 1 / 60), padding=0.01)
        else:
            return  # manual: the operator's pan and zoom stand
        for plot in self.time_plots:
            plot.getViewBox().enableAutoRange(axis=pg.ViewBox.YAxis)

    def _moved_by_hand(self, *_: object) -> None:
        self.set_view("manual")

    def _view_moved(self, *_: object) -> None:
        if self.view == "manual":  # the operator pans or zooms: bring in what comes into view
            self._draw_time_curves()
