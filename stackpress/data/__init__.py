"""Run data: record a run to disk as it goes, read it back, export it, analyse it, report on it.

- `Recorder` writes a run file (SQLite, WAL) while the run goes, decimating
  engine ticks by a `RecordingPolicy` and committing about once per wall second,
  with the runner's latest `checkpoint()`; `Recorder(path, resume_at=t)`
  reopens a run whose process died, to append to it.
- `read_run(path)` reads a run (finished, still being written, crashed or
  resumed) into pandas: `stackpress.data.read_run(path).samples` is a DataFrame
  with one column per `stackpress.sample.SAMPLE_FIELDS` entry, in SI units.
- `last_checkpoint(path)` gives the runner's last position on disk, to resume
  from; `last_sample_time(path)` and `read_meta(path)` the rest of what a
  resume needs, without reading every sample.
- `export_run(run_path, out_path)` writes Battery Data Format CSV or Parquet.
- `cycle_table(samples)` gives per cycle: capacities, coulombic efficiency,
  retention, energies, mean voltages and polarization, pressure and swelling.
- `dqdv(samples, cycle, direction)` gives the incremental capacity dQ/dV of
  one charge or discharge half-cycle, binned by voltage.
- `make_report(run_path, out_dir)` writes figures, the cycle table, a summary
  and one self-contained HTML page (`report.html`).

The names are loaded on first use: the engine imports `Recorder` without
paying for pandas, pyarrow and matplotlib (~0.8 s), which only reading,
export and reports need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackpress.data.analysis import (
        CYCLE_COLUMNS,
        complete_cycles,
        cycle_table,
        default_reference_cycle,
        pressure_tracking,
        step_table,
    )
    from stackpress.data.export import COLUMNS, DECLARED_COLUMNS, export_run, to_bdf
    from stackpress.data.incremental_capacity import DQDV_COLUMNS, dqdv
    from stackpress.data.recorder import (
        DEFAULT_POLICY,
        Recorder,
        RecordingPolicy,
        RunClosedError,
        RunInProgressError,
    )
    from stackpress.data.report import RunStatus, make_report, run_status
    from stackpress.data.runfile import Checkpoint, Run, last_checkpoint, last_sample_time, read_meta, read_run
    from stackpress.data.schema import NotARunError

__all__ = [
    "COLUMNS",
    "CYCLE_COLUMNS",
    "DECLARED_COLUMNS",
    "DEFAULT_POLICY",
    "DQDV_COLUMNS",
    "Checkpoint",
    "NotARunError",
    "Recorder",
    "RecordingPolicy",
    "Run",
    "RunClosedError",
    "RunInProgressError",
    "RunStatus",
    "complete_cycles",
    "cycle_table",
    "default_reference_cycle",
    "dqdv",
    "export_run",
    "last_checkpoint",
    "last_sample_time",
    "make_report",
    "pressure_tracking",
    "read_meta",
    "read_run",
    "run_status",
    "step_table",
    "to_bdf",
]
# Cheapest first, so a name is found without importing the heavier modules after it.
_SUBMODULES = ("schema", "recorder", "runfile", "analysis", "incremental_capacity", "export", "report")


def __getattr__(name: str) -> Any:
    if name in __all__:
        for submodule in _SUBMODULES:
            module = import_module(f"{__name__}.{submodule}")
            if hasattr(module, name):
                globals()[name] = value = getattr(module, name)  # later look-ups skip this function
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
