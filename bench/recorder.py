"""Recorder and export speed: samples/s to a crash-safe run file, and a 1,000,000-sample run to BDF Parquet.

    .venv/bin/python bench/recorder.py [--repeats 3] [--rows 1000000] [--folder DIR]

Crash-safe means the `Recorder` as every run uses it: SQLite in WAL mode with
`synchronous=FULL`, a commit (one fsync of the WAL) at the first tick a wall
second after the last one, on a writer thread. A SIGKILL then loses at most
that second and the tick in flight (`tests/data/test_crash.py` kills a child
recorder and checks it); a clean `close()` loses nothing; FULL makes a power
cut lose no more than a kill does (NORMAL, ~2x the rows/s in NOTES.md, syncs
only at WAL checkpoints, so a power cut could take several seconds). The rate
is measured recording every sample (`RecordingPolicy(interval=0)`, the worst
case: a run keeps far fewer), alone and with a `checkpoint()` after every
sample, as the runner gives its position; it counts from the first sample
offered until `flush()` returns, i.e. until the last one is on disk.

Export is timed on a run of `--rows` samples recorded the same way, reading it
with the ADBC SQLite driver when installed (what `read_run` uses) and, for
comparison, with the standard library's sqlite3 alone. Repeats are
interleaved, so a noisy machine slows them alike; medians are printed.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from stackpress.data import Recorder, RecordingPolicy, export_run, read_run, runfile
from stackpress.sample import Sample

EVERY_SAMPLE = RecordingPolicy(interval=0.0)
RATE_GOAL = 50_000  # samples/s
PARQUET_GOAL = 5.0  # s, for 1,000,000 samples


def bench_samples(count: int, start: int = 0) -> Iterator[Sample]:
    """Plausible, varying engine ticks at 1 s: a 2-hour charge/discharge cycle with a swelling electrode."""
    for i in range(start, start + count):
        phase = math.sin(2 * math.pi * i / 7200.0)
        yield Sample(
            t=float(i),
            voltage=3.7 + 0.45 * phase + 1e-4 * ((i * 7919) % 13),
            current=1e-3 if phase >= 0 else -1e-3,
            charge=3.6 * phase,
            temperature=25.0 + 0.01 * ((i * 31) % 7),
            force=785.0 + 40.0 * phase,
            pressure=10e6 + 0.5e6 * phase,
            setpoint=10e6,
            gap=1.2e-3 + 15e-6 * phase,
            thickness=50e-6 * (1.0 + 0.3 * phase),
            actuator=785.0 + 39.0 * phase,
            step=1 + i // 3600,
            cycle=1 + i // 7200,
            state="running",
        )


def record(path: Path, samples: list[Sample], checkpoint: bool) -> float:
    """Samples/s from the first sample offered until all are on disk, in the crash-safe configuration."""
    recorder = Recorder(path, policy=EVERY_SAMPLE, overwrite=True)
    start = time.perf_counter()
    for s in samples:
        recorder.sample(s)
        if checkpoint:
            recorder.checkpoint({"step": s.step, "cycle": s.cycle, "charge": s.charge})
    recorder.flush()
    elapsed = time.perf_counter() - start
    recorder.close()
    return len(samples) / elapsed


@contextmanager
def stdlib_reader() -> Iterator[None]:
    """read_run without the ADBC driver, as on an installation that lacks it."""
    adbc, runfile.adbc = runfile.adbc, None
    try:
        yield
    finally:
        runfile.adbc = adbc


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000, help="samples in the exported run")
    parser.add_argument("--rate-rows", type=int, default=200_000, help="samples per recording-rate repeat")
    parser.add_argument("--folder", type=Path, help="where the run files go (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        run(folder, args.repeats, args.rows, args.rate_rows)


def run(folder: Path, repeats: int, rows: int, rate_rows: int) -> None:
    print(f"python {platform.python_version()}, {platform.machine()}, ADBC reader: {runfile.adbc is not None}")
    samples = list(bench_samples(rate_rows))
    rates: dict[str, list[float]] = {"record every sample": [], "record + checkpoint every sample": []}
    for _ in range(repeats):
        rates["record every sample"].append(record(folder / "rate.sqlite", samples, checkpoint=False))
        rates["record + checkpoint every sample"].append(record(folder / "rate.sqlite", samples, checkpoint=True))
    del samples

    big = folder / "big.sqlite"
    with Recorder(big, policy=EVERY_SAMPLE, overwrite=True) as recorder:
        for s in bench_samples(rows):
            recorder.sample(s)
    assert len(read_run(big).samples) == rows
    times: dict[str, list[float]] = {
        "read_run": [],
        "read_run, sqlite3 only": [],
        "export to Parquet": [],
        "export to Parquet, sqlite3 only": [],
        "export to CSV": [],
    }
    for _ in range(repeats):
        times["read_run"].append(seconds(lambda: read_run(big)))
        times["export to Parquet"].append(seconds(lambda: export_run(big, folder / "big.parquet")))
        times["export to CSV"].append(seconds(lambda: export_run(big, folder / "big.csv")))
        with stdlib_reader():
            times["read_run, sqlite3 only"].append(seconds(lambda: read_run(big)))
            times["export to Parquet, sqlite3 only"].append(seconds(lambda: export_run(big, folder / "big.parquet")))

    print(f"\nmedians of {repeats} interleaved repeats; {rate_rows:,} samples per rate repeat, {rows:,} exported\n")
    print(f"| {'what':40s} | {'median':>18s} | {'goal':>14s} | met |")
    print(f"|{'-' * 42}|{'-' * 20}|{'-' * 16}|-----|")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name:40s} | {rate:>8,.0f} samples/s | {f'>= {RATE_GOAL:,}':>14s} | {_met(rate >= RATE_GOAL)} |")
    for name, values in times.items():
        median = statistics.median(values)
        goal = f"< {PARQUET_GOAL} s" if name == "export to Parquet" and rows == 1_000_000 else ""
        met = _met(median < PARQUET_GOAL) if goal else "   "
        print(f"| {name:40s} | {median:>16.2f} s | {goal:>14s} | {met} |")
    sizes = {path.name: f"{path.stat().st_size / 1e6:.0f} MB" for path in (big, folder / "big.parquet")}
    print(f"\nfile sizes: {sizes}")


def _met(ok: bool) -> str:
    return "yes" if ok else "NO "


if __name__ == "__main__":
    sys.exit(main())
