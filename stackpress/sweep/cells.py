"""Running one cell of a sweep: what a worker does with a `CellJob`.

`run_cell` is the function the scheduler ships to the workers. It needs
nothing but the job (plain data): it parses the cell's protocol and bench
again (cheap, and the worker may be another machine), runs one `Session` in
virtual time to the cell's own run file, and hands back the run's cycle
table. It never raises: whatever goes wrong becomes a "failed" result that
names the error, so one bad cell cannot take the others down with it.

With a `scratch` folder (by default a sweep uses one in /dev/shm, a RAM disk)
the cell records there and its run file is moved into the sweep's folder
when the run ends, however it ends. The recorder makes every event durable at
once (one fsync each: a C/3 cycle has five), which is right at the bench but
for a simulated cell in a sweep only costs time: on a busy disk the fsyncs
took 35-40 % of a cell's wall time. The file that lands is the same.
"""

from __future__ import annotations

import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stackpress.sweep.study import CellJob

FAILED = "failed"  # the cell raised: no run, or a run cut short by an error
LOST = "lost"  # the scheduler could not run it (its worker died, the cluster went away)
INTERRUPTED = "interrupted"  # the sweep was stopped (Ctrl-C) before the cell finished


@dataclass(frozen=True)
class CellResult:
    index: int
    status: str  # the run's final state ("finished", "tripped", "fault", "aborted"), or FAILED / LOST
    error: str  # what went wrong, "" when the run ended by itself
    cycles: pd.DataFrame  # the run's cycle table (stackpress.data.analysis.CYCLE_COLUMNS); empty if none
    wall_time: float  # s, on the worker
    run_path: str


def run_cell(job: CellJob) -> CellResult:
    """Run one cell to its run file; the result says how it ended and what its cycles were."""
    from stackpress.bench import parse_bench
    from stackpress.data.analysis import cycle_table
    from stackpress.data.runfile import read_run
    from stackpress.protocols.load import parse_protocol_text
    from stackpress.session import Session

    start, started_at = time.perf_counter(), time.time()
    final = path = Path(job.run_path)
    try:
        protocol = parse_protocol_text(job.protocol_text, job.protocol_source)
        bench = parse_bench(
            dict(job.bench_tables), text=job.bench_text, source=job.bench_source, default_name=job.bench_name
        )
        final.parent.mkdir(parents=True, exist_ok=True)
        overwrite = job.overwrite
        if job.scratch:
            _clear(final, overwrite)  # what the recorder would refuse in place is refused here, before the run
            path = Path(job.scratch) / final.name
            path.parent.mkdir(parents=True, exist_ok=True)
            overwrite = True  # a leftover of an interrupted sweep in this sweep's own scratch folder
        try:
            status = Session(protocol, bench, path, seed=job.seed, overwrite=overwrite).run()
            cycles = cycle_table(read_run(path).samples)
        finally:
            if path != final:
                _move(path, final)
        error = ""
    except Exception as exc:
        status, error = FAILED, _one_line(exc)
        cycles = _cycles_so_far(final, started_at)
    return CellResult(job.index, status, error, cycles, time.perf_counter() - start, job.run_path)


def _clear(path: Path, overwrite: bool) -> None:
    """Make way for a run file at `path` as the recorder would: refuse, or remove one nobody has open."""
    from stackpress.data.recorder import _remove_unused_run

    if path.exists() or path.is_symlink():
        if not overwrite:
            raise FileExistsError(f"run file {path} already exists; pass overwrite=True to replace it")
        _remove_unused_run(path)


def _move(scratch: Path, final: Path) -> None:
    """The run file (and the WAL of one that was not closed) from the scratch folder to its place."""
    for suffix in ("", "-wal", "-shm"):
        source = scratch.with_name(scratch.name + suffix)
        if source.exists():
            shutil.move(source, final.with_name(final.name + suffix))


def lost(job: CellJob, exc: BaseException) -> CellResult:
    """The result of a cell the scheduler could not run."""
    return CellResult(job.index, LOST, _one_line(exc), pd.DataFrame(), 0.0, job.run_path)


def interrupted(job: CellJob) -> CellResult:
    """The result of a cell the sweep was stopped before (its run file, if it got one, is cut short)."""
    return CellResult(job.index, INTERRUPTED, "the sweep was interrupted", pd.DataFrame(), 0.0, job.run_path)


def _one_line(exc: BaseException) -> str:
    """`Type: message`, and where it was raised, on one line for the table."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}{at}"


def _cycles_so_far(path: Path, since: float) -> pd.DataFrame:
    """The cycles a run that failed part-way had recorded, if it got as far as a run file of its own
    (written since `since`, a wall-clock time: not one an earlier sweep left there)."""
    from stackpress.data.analysis import cycle_table
    from stackpress.data.runfile import read_run

    try:
        if path.stat().st_mtime < since:
            return pd.DataFrame()
        return cycle_table(read_run(path).samples)
    except Exception:
        return pd.DataFrame()
