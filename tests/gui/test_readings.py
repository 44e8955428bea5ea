"""A reading an instrument could not give (NaN) shows as a dash, never as "nan"."""

from __future__ import annotations

import math

import pandas as pd

from stackpress.data.analysis import CYCLE_COLUMNS
from stackpress.gui.panels.cycles import CycleTable
from stackpress.gui.panels.pressure import PressurePanel
from stackpress.gui.units import or_dash
from stackpress.sample import Sample


def test_or_dash_formats_a_number_and_dashes_a_nan() -> None:
    assert or_dash(10.0004, "{:.3f} MPa") == "10.000 MPa"
    assert or_dash(math.nan, "{:.3f} MPa") == "–"


def test_the_pressure_panel_dashes_a_lost_load_cell_reading(qtbot) -> None:
    panel = PressurePanel()
    qtbot.addWidget(panel)
    lost = Sample(t=60.0, voltage=3.7, current=0.0, charge=0.0, temperature=math.nan, force=math.nan,
                  pressure=math.nan, setpoint=10e6, gap=math.nan, thickness=math.nan, actuator=math.nan,
                  step=1, cycle=1, state="paused")
    panel.show_sample(lost)
    assert panel.setpoint.text() == "10.000 MPa"
    assert panel.measured.text() == "–" and panel.error.text() == "–"


def test_the_cycle_table_dashes_what_a_cycle_has_not_got(qtbot) -> None:
    table = CycleTable()
    qtbot.addWidget(table)
    row = {column: math.nan for column in CYCLE_COLUMNS} | {"cycle": 1, "charge_capacity_Ah": 7.8e-4}
    table.show_table(pd.DataFrame([row]))
    headings = [table.horizontalHeaderItem(col).text() for col in range(table.columnCount())]
    shown = dict(zip(headings, (table.item(0, col).text() for col in range(table.columnCount())), strict=True))
    assert shown["cycle"] == "1" and shown["charge / mAh"] == "0.78"
    assert shown["discharge / mAh"] == "–" and shown["CE / %"] == "–"
