"""Running a study on Dask and gathering its cells into one table.

`run_sweep(study, out)` checks every cell first (`Study.jobs`), then hands the
cells to a `dask.distributed` cluster — a LocalCluster of worker processes by
default (one per core, one thread each: the simulation is pure Python), or an
existing scheduler by address — and collects the results as they complete,
with a progress bar. A cell that fails is reported with its settings and its
error, and the others go on. At the end it writes, into `out`:

- `cells/cell-NNN.sqlite`: each cell's own run file (`stackpress report` reads it);
- `cycles.parquet`, `cycles.csv`: THE table, one row per cell and cycle, the
  grid's settings as columns (see `TABLE_COLUMNS`), a row with no cycle for a
  cell that recorded none;
- `cells.csv`: one row per cell: status, error, cycles, retention;
- `maps/`: the PNG maps (`stackpress.sweep.maps`);
- `sweep.toml`, `protocol-template.toml`: the sweep file and its protocol as they were run.

On another cluster the workers must have stackpress installed and see `out`
at the same path (a shared file system): each worker writes its cell's run file.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from stackpress.data.analysis import CYCLE_COLUMNS, retention
from stackpress.sweep.cells import FAILED, INTERRUPTED, LOST, CellResult, interrupted, lost, run_cell
from stackpress.sweep.study import CellJob, Study, SweepError
from stackpress.units import UnitError, quantity

# Columns of the cycle table before the grid's and after them (the grid's columns sit in between).
CELL_COLUMNS = ("cell", "status", "error", "run")
TABLE_COLUMNS = CYCLE_COLUMNS  # its `retention` is recomputed against the sweep's own reference cycle
_SI_UNITS = ("Pa", "m", "s", "A", "V", "N", "m**2", "A*s/m**2", "degC")
_OUTPUTS = ("cycles.parquet", "cycles.csv", "cells.csv")


@dataclass(frozen=True)
class SweepResult:
    table: pd.DataFrame  # one row per cell and cycle
    cells: pd.DataFrame  # one row per cell
    paths: list[Path]  # everything written, run files excepted
    wall_time: float  # s, running the cells: cluster start-up to the last result

    @property
    def failed(self) -> pd.DataFrame:
        """The cells that raised or could not be run."""
        return self.cells[self.cells["status"].isin((FAILED, LOST))]

    @property
    def interrupted(self) -> bool:
        return bool((self.cells["status"] == INTERRUPTED).any())


def default_workers() -> int:
    """One worker process per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_sweep(
    study: Study,
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress: TextIO | None = None,
    processes: bool = True,
    scratch: str | Path | None = "auto",
    submit: Callable[[CellJob], CellResult] = run_cell,
) -> SweepResult:
    """Run every cell of `study` into `out` and write the table and maps; see the module docstring.

    `scheduler`: the address of a running dask scheduler ("tcp://host:8786");
    default: a LocalCluster of `workers` processes (default: one per core).
    `progress`: where the progress bar and the failures go (None: quiet).
    `processes=False` runs the local cluster's workers as threads of this
    process (quick to start, for tests and tiny sweeps; the GIL makes it serial).
    `scratch`: where cells record before their run files move into `out`
    (see `cells`): "auto" is a folder in /dev/shm on a local cluster and none
    (record in place) on another scheduler; None records in place.
    `submit` is what each worker runs on a cell (a module-level function).
    Raises SweepError, before anything runs, if any cell is wrong or `out`
    already holds a sweep (unless `overwrite`).
    """
    from stackpress.sweep.maps import cell_summary, make_maps

    out = Path(out)
    _refuse_existing(out, overwrite)
    folder = _scratch_folder(scratch, scheduler)
    jobs = study.jobs(out, overwrite=overwrite, scratch=folder)  # every cell checked before any runs
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.toml").write_text(study.text, encoding="utf-8")
    (out / "protocol-template.toml").write_text(study.protocol_template, encoding="utf-8")

    start = time.perf_counter()
    try:
        results = _run_on_dask(jobs, scheduler, workers, processes, progress, submit)
    finally:
        if folder is not None and scheduler is None:  # on this machine: what interrupted cells left
            shutil.rmtree(folder, ignore_errors=True)
    wall_time = time.perf_counter() - start

    table = sweep_table(study, jobs, results, out)
    cells = cell_summary(table, study)
    paths = [out / name for name in _OUTPUTS]
    table.to_parquet(paths[0], index=False)
    table.to_csv(paths[1], index=False, float_format="%.8g")
    cells.to_csv(paths[2], index=False, float_format="%.6g")
    paths += make_maps(table, study, out / "maps")
    return SweepResult(table, cells, paths, wall_time)


def _scratch_folder(scratch: str | Path | None, scheduler: str | None) -> Path | None:
    """This sweep's own scratch folder (see `run_sweep`), or None to record in place."""
    if scratch is None or str(scratch) in ("", "none"):
        return None
    if str(scratch) == "auto":
        shm = Path("/dev/shm")
        if scheduler or not (shm.is_dir() and os.access(shm, os.W_OK)):
            return None
        scratch = shm
    return Path(scratch) / f"stackpress-sweep-{uuid.uuid4().hex[:12]}"


def _refuse_existing(out: Path, overwrite: bool) -> None:
    if overwrite or not out.exists():
        return
    found = [name for name in (*_OUTPUTS, "cells") if (out / name).exists()]
    if found:
        raise SweepError([f"{out} already holds a sweep ({', '.join(found)}); pass --overwrite to replace it"])


def _run_on_dask(
    jobs: list[CellJob],
    scheduler: str | None,
    workers: int | None,
    processes: bool,
    progress: TextIO | None,
    submit: Callable[[CellJob], CellResult],
) -> dict[int, CellResult]:
    from distributed import Client, LocalCluster, as_completed

    bar = ProgressBar(len(jobs), progress)
    if scheduler:
        cluster = None
        client = Client(scheduler)
        bar.note(f"on the dask scheduler at {scheduler}")
    else:
        n = workers or default_workers()
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None, silence_logs=40
        )
        client = Client(cluster)
        kind = ("process", "processes") if processes else ("thread", "threads")
        bar.note(f"on a local dask cluster of {n} worker {kind[n > 1]}")
    results: dict[int, CellResult] = {}
    try:
        token = uuid.uuid4().hex[:12]  # keys unique to this sweep: a shared scheduler may hold older ones
        futures = client.map(submit, jobs, key=[f"stackpress-cell-{job.index}-{token}" for job in jobs])
        job_of = {future.key: job for future, job in zip(futures, jobs, strict=True)}
        bar.start()
        try:
            for future in as_completed(futures):
                job = job_of[future.key]
                try:
                    result = future.result()
                except Exception as exc:  # the scheduler's failure (a dead worker), not the cell's
                    result = lost(job, exc)
                results[job.index] = result
                bar.done(job, result)
                future.release()
        except KeyboardInterrupt:  # Ctrl-C: keep what finished, mark the rest, still write the table
            bar.note(f"\ninterrupted: {len(jobs) - len(results)} cells did not finish")
            for job in jobs:
                if job.index not in results:
                    results[job.index] = interrupted(job)
    finally:
        bar.finish()
        client.close()
        if cluster is not None:
            cluster.close()
    return results


class ProgressBar:
    """`[#####.....] 12/40 cells, 1 failed, 0:31 elapsed`: one line redrawn on a terminal; failures always shown."""

    def __init__(self, total: int, stream: TextIO | None, width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.count = self.failures = 0
        self.tty = bool(stream is not None and stream.isatty())
        self._start = time.perf_counter()
        self._last_line = -1.0

    def note(self, text: str) -> None:
        self._write(text + "\n")

    def start(self) -> None:
        self._start = time.perf_counter()
        self._draw(force=True)

    def done(self, job: CellJob, result: CellResult) -> None:
        self.count += 1
        if result.status in (FAILED, LOST):
            self.failures += 1
            self._write(("\r\x1b[K" if self.tty else "") + f"{job.description} {result.status}: {result.error}\n")
        self._draw(force=self.count == self.total)

    def finish(self) -> None:
        if self.tty:
            self._write("\n")

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and not self.tty and now - self._last_line < 5.0:
            return  # a log file gets a line every 5 s, not every cell
        self._last_line = now
        filled = self.width * self.count // max(self.total, 1)
        elapsed = int(now - self._start)
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {self.count}/{self.total} cells"
            f"{f', {self.failures} failed' if self.failures else ''}, {elapsed // 60}:{elapsed % 60:02d} elapsed"
        )
        self._write(("\r" + line) if self.tty else (line + "\n"))

    def _write(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(text)
            self.stream.flush()


def sweep_table(study: Study, jobs: list[CellJob], results: dict[int, CellResult], out: Path) -> pd.DataFrame:
    """One row per cell and cycle: cell, status, error, run, the grid's columns, then the cycle's numbers.

    Grid columns: one per axis (its point's label: the value as written, or a
    group's label); a group's keys each get their own column too; a setting
    written as a quantity ("10 MPa", "100 nm") also gets a numeric SI column
    named as in the Battery Data Format ("pressure / Pa").
    `retention`: the cycle's discharge capacity over the sweep's reference cycle's (`[maps] reference_cycle`).
    """
    grid_columns = _grid_columns(study, jobs)
    frames = []
    for job in jobs:
        result = results.get(job.index) or lost(job, RuntimeError("no result came back"))
        cycles = result.cycles if len(result.cycles) else pd.DataFrame({name: [math.nan] for name in CYCLE_COLUMNS})
        cycles = cycles.reindex(columns=list(CYCLE_COLUMNS)).copy()
        cycles["retention"] = retention(cycles, study.maps.reference_cycle)
        head = {
            "cell": job.index,
            "status": result.status,
            "error": result.error,
            "run": os.path.relpath(result.run_path, out),
            **grid_columns[job.index],
        }
        frames.append(pd.concat([pd.DataFrame({k: [v] * len(cycles) for k, v in head.items()}), cycles], axis=1))
    table = pd.concat(frames, ignore_index=True)
    table = table.astype({name: "float64" for name in TABLE_COLUMNS})
    return table.astype({"cycle": "Int64"})  # NA for a cell without cycles


def _grid_columns(study: Study, jobs: list[CellJob]) -> dict[int, dict[str, object]]:
    """cell index -> {column: value} for the grid's columns (see `sweep_table`)."""
    columns: dict[int, dict[str, object]] = {job.index: {} for job in jobs}
    for axis in study.axes:
        keys = axis.keys if axis.grouped else (axis.name,)
        for job in jobs:
            columns[job.index][axis.name] = job.labels[axis.name]
            if axis.grouped:
                columns[job.index].update({key: _shown(job.settings[key]) for key in keys})
        for key in keys:
            unit = _si_unit([job.settings[key] for job in jobs])
            if unit:
                for job in jobs:
                    columns[job.index][f"{key} / {unit.replace('**', '')}"] = quantity(job.settings[key], unit, key)
    return columns


def _shown(value: object) -> object:
    return value if isinstance(value, str) else str(value)


def _si_unit(values: list[object]) -> str | None:
    """The SI unit every value is a quantity of, if they are all quantities of one dimension."""
    if not all(isinstance(value, str) for value in values):
        return None
    for unit in _SI_UNITS:
        try:
            for value in values:
                quantity(value, unit, "grid value")
        except UnitError:
            continue
        return unit
    return None


def print_summary(result: SweepResult, study: Study, stream: TextIO = sys.stdout) -> None:
    """Per cell: the grid's labels, status, cycles, first capacity and retention."""
    shown = result.cells.drop(columns=["error", "run"], errors="ignore")
    stream.write(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}") + "\n")
    for _, row in result.failed.iterrows():
        stream.write(f"cell {row['cell']} {row['status']}: {row['error']}\n")
