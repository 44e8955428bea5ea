"""The per-cycle table (from `stackpress.data.analysis.cycle_table`) in the units a researcher reads."""

from __future__ import annotations

import pandas as pd
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

from stackpress.gui.units import or_dash

# column -> (heading, scale, format)
SHOWN = {
    "cycle": ("cycle", 1, "{:.0f}"),
    "charge_capacity_Ah": ("charge / mAh", 1e3, "{:.4g}"),
    "discharge_capacity_Ah": ("discharge / mAh", 1e3, "{:.4g}"),
    "coulombic_efficiency": ("CE / %", 100, "{:.2f}"),
    "retention": ("retention / %", 100, "{:.1f}"),
    "energy_efficiency": ("EE / %", 100, "{:.1f}"),
    "polarization_V": ("polarization / V", 1, "{:.3f}"),
    "pressure_mean_MPa": ("pressure / MPa", 1, "{:.3f}"),
    "thickness_swing_um": ("swing / µm", 1, "{:.2f}"),
    "irreversible_swelling_um": ("irrev. swelling / µm", 1, "{:.3f}"),
}


class CycleTable(QTableWidget):
    def __init__(self) -> None:
        super().__init__(0, len(SHOWN))
        self.setHorizontalHeaderLabels([heading for heading, _, _ in SHOWN.values()])
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

    def show_table(self, table: pd.DataFrame) -> None:
        self.setRowCount(len(table))
        for row, record in enumerate(table.to_dict("records")):
            for col, (name, (_, scale, spec)) in enumerate(SHOWN.items()):
                self.setItem(row, col, QTableWidgetItem(or_dash(float(record[name]) * scale, spec)))
