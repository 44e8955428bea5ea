"""Export a run in the Battery Data Format (BDF), as CSV or Parquet, chosen by the file extension.

Column names are BDF preferred labels (`Quantity / unit`), taken from the
Battery Data Alliance's term tables (github.com/battery-data-alliance/
battery-data-format, README, generated from BDF ontology 1.1.0). As in BDF,
charging current is positive, which is also stackpress's own convention.
`Applied Pressure / Pa` is the regulator setpoint (empty while no pressure is
held), `Surface Pressure / Pa` the measured stack pressure, `Net Capacity / Ah`
the cycler's net charge counter, and `Ambient Temperature / degC` the bench's
temperature sensor (empty when it has none).

Quantities BDF does not define (force, plate gap, electrode thickness) are
exported under the same `Quantity / unit` pattern and declared with a name,
unit and description (`DECLARED_COLUMNS`):

- Parquet carries the declaration inside the file, as the JSON schema
  metadata entry `stackpress:declared_columns` (next to `stackpress:run_meta`,
  the run's meta, and `stackpress:gaps`, the [from, to] times of a resumed
  run's stretches without samples), so the file describes itself.
- CSV stays a plain table (one header line, no comment lines that break
  readers); its declaration is `DECLARED_COLUMNS` in this module. Ship the
  Parquet file when the recipient needs it in the data.

Both are written by Arrow: for a million samples, Arrow's CSV writer takes ~1 s
where pandas' `to_csv` takes ~20 s (`bench/recorder.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq

from stackpress.data.analysis import COULOMB_PER_AH
from stackpress.data.runfile import Run, read_run


@dataclass(frozen=True)
class ExportColumn:
    """One exported column: its `Quantity / unit` header and the Sample field it comes from."""

    header: str
    field: str
    scale: float = 1.0  # header unit per SI unit of the field
    description: str = ""  # only for quantities BDF does not define: their declaration

    @property
    def unit(self) -> str:
        return self.header.rpartition(" / ")[2]

    def declaration(self) -> dict[str, str]:
        """Name, unit and description, as written into the Parquet metadata."""
        return {"name": self.header, "unit": self.unit, "description": self.description}


COLUMNS = (
    ExportColumn("Test Time / s", "t"),
    ExportColumn("Voltage / V", "voltage"),
    ExportColumn("Current / A", "current"),
    ExportColumn("Net Capacity / Ah", "charge", 1.0 / COULOMB_PER_AH),
    ExportColumn("Cycle Count / 1", "cycle"),
    ExportColumn("Step Count / 1", "step"),
    ExportColumn("Applied Pressure / Pa", "setpoint"),
    ExportColumn("Surface Pressure / Pa", "pressure"),
    ExportColumn("Ambient Temperature / degC", "temperature"),
    ExportColumn("Force / N", "force", description="Stack force measured by the fixture's load cell."),
    ExportColumn(
        "Gap / m", "gap", description="Fixture plate separation (displacement sensor or actuator readback)."
    ),
    ExportColumn(
        "Electrode Thickness / m",
        "thickness",
        description="Electrode thickness: the plate gap minus the rest of the stack, per the bench description.",
    ),
)
DECLARED_COLUMNS = tuple(c for c in COLUMNS if c.description)


def to_bdf(samples: pd.DataFrame) -> pd.DataFrame:
    """Rename and rescale a run's samples (as `read_run` returns them) into the export columns."""
    return pd.DataFrame(
        {c.header: samples[c.field] if c.scale == 1.0 else samples[c.field] * c.scale for c in COLUMNS}
    )


def export_run(run_path: str | Path, out_path: str | Path) -> Path:
    """Write the run at `run_path` to `out_path` (.csv or .parquet) in BDF columns; return `out_path`."""
    out = Path(out_path)
    writer = _WRITERS.get(out.suffix.lower())
    if writer is None:
        raise ValueError(
            f"cannot export to {out}: unknown extension {out.suffix!r}; use .csv or .parquet"
        )
    run = read_run(run_path)
    writer(to_bdf(run.samples), out, run)
    return out


def _write_csv(table: pd.DataFrame, out: Path, run: Run) -> None:
    with out.open("wb") as file:
        # The header as pandas and most tools write it, unquoted (Arrow would quote every name).
        file.write((",".join(table.columns) + "\n").encode())
        pyarrow.csv.write_csv(
            pa.Table.from_pandas(table, preserve_index=False), file, pyarrow.csv.WriteOptions(include_header=False)
        )


def _write_parquet(table: pd.DataFrame, out: Path, run: Run) -> None:
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = {
        **(arrow.schema.metadata or {}),
        b"stackpress:declared_columns": json.dumps([c.declaration() for c in DECLARED_COLUMNS]).encode(),
        b"stackpress:run_meta": json.dumps(run.meta).encode(),
        b"stackpress:gaps": json.dumps(run.gaps).encode(),
    }
    pq.write_table(arrow.replace_schema_metadata(metadata), out)


_WRITERS = {".csv": _write_csv, ".parquet": _write_parquet}
