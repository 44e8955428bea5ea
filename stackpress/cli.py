"""The `stackpress` command: run or resume a protocol, export a run, make a report, sweep many cells, tune the loop."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from stackpress.bench import DEFAULT_BENCH, BenchError, load_bench
from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.load import load_protocol
from stackpress.sample import Event, Sample
from stackpress.units import UnitError

if TYPE_CHECKING:
    import pandas as pd

    from stackpress.session import Session

_FINAL_EXIT_CODES = {"finished": 0, "aborted": 130}


class Progress:
    """One status line, refreshed at most every `every` wall seconds (a new line when not a terminal)."""

    def __init__(self, stream: TextIO, every: float | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every if every is not None else (0.2 if self.tty else 5.0)
        self._last = -float("inf")
        self.latest: Sample | None = None

    def sample(self, s: Sample) -> None:
        self.latest = s
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        self._write(s)

    def event(self, e: Event) -> None:
        if e.kind in ("trip", "fault", "alarm", "pause", "recovered", "resume", "warning", "operator"):
            self.stream.write(f"\n[{e.t / 3600:8.2f} h] {e.kind.upper()}: {e.message}\n")

    def finish(self) -> None:
        if self.latest is not None:
            self._write(self.latest)
        self.stream.write("\n")

    def _write(self, s: Sample) -> None:
        line = (
            f"[{s.t / 3600:8.2f} h] cycle {s.cycle:3d}  step {s.step:4d}  {s.voltage:6.3f} V  "
            f"{s.current * 1e3:+8.3f} mA  {s.pressure / 1e6:7.3f} MPa  {s.state}"
        )
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()


def _run(args: argparse.Namespace) -> int:
    from stackpress.data.recorder import new_run_path
    from stackpress.session import Session

    protocol = load_protocol(args.protocol)
    bench = load_bench(args.bench)
    out = Path(args.out) if args.out else new_run_path(Path("runs"), protocol.name)
    progress = Progress(sys.stdout)
    session = Session(
        protocol, bench, out, seed=args.seed, overwrite=args.overwrite,
        on_sample=(progress.sample,), on_event=(progress.event,),
    )
    print(f"running {protocol.name!r} on {bench.name!r} -> {out}")
    return _run_to_end(session, progress)


def _resume(args: argparse.Namespace) -> int:
    from stackpress.session import Session

    progress = Progress(sys.stdout)
    session = Session.continue_run(Path(args.run), on_sample=(progress.sample,), on_event=(progress.event,))
    print(f"resuming {args.run} at {session.clock.now() / 3600:.2f} h")
    return _run_to_end(session, progress)


def _run_to_end(session: Session, progress: Progress) -> int:
    """Run with Ctrl-C aborting (the cleanup runs), then print the per-cycle table; the exit code of the end."""
    from stackpress.data.analysis import cycle_table
    from stackpress.data.runfile import read_run

    previous = signal.signal(signal.SIGINT, lambda *_: session.abort("interrupted (Ctrl-C)"))
    try:
        state = session.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    progress.finish()
    print(f"run {state}: {session.path}")
    table = cycle_table(read_run(session.path).samples)
    if len(table):
        print(_readable(table).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return _FINAL_EXIT_CODES.get(state, 1)


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    """The cycle table with capacities in mAh, the scale of a pellet cell, for the terminal."""
    in_ah = [c for c in table.columns if c.endswith("_Ah")]
    return table.assign(**{c: table[c] * 1e3 for c in in_ah}).rename(columns={c: c[:-3] + "_mAh" for c in in_ah})


def _export(args: argparse.Namespace) -> int:
    from stackpress.data.export import export_run

    print(export_run(Path(args.run), Path(args.to)))
    return 0


def _report(args: argparse.Namespace) -> int:
    from stackpress.data.report import make_report

    for path in make_report(Path(args.run), Path(args.out)):
        print(path)
    return 0


def _check_protocol(args: argparse.Namespace) -> int:
    from stackpress.protocols.plan import plan

    protocol = load_protocol(args.protocol)
    bench = load_bench(args.bench)
    bench.check_protocol(protocol)
    print(f"protocol {protocol.name!r} ({protocol.source}) on bench {bench.name!r}: checked, no problems")
    print(f"nominal capacity {bench.capacity / 3.6:.4g} mAh, cell area {bench.area * 1e4:.4g} cm2")
    print(plan(protocol, capacity=bench.capacity, area=bench.area, safe_preload=bench.safe_preload).render())
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from stackpress.sweep import load_study
    from stackpress.sweep.run import print_summary, run_sweep

    study = load_study(args.sweep)
    out = Path(args.out)
    if args.check:
        jobs = study.jobs(out, overwrite=True)
        for job in jobs:
            print(job.description)
        print(f"sweep {study.name!r}: {len(jobs)} cells, all checked; nothing was run")
        return 0
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be 1 or more, not {args.workers}")
    print(f"sweep {study.name!r}: {len(study.cells())} cells -> {out}")
    try:
        result = run_sweep(
            study, out, scheduler=args.scheduler, workers=args.workers, overwrite=args.overwrite,
            progress=sys.stdout, scratch=args.scratch,
        )
    except KeyboardInterrupt:  # a second Ctrl-C, while the table or the maps were being written
        print(f"\nsweep interrupted; the cells' run files are in {out / 'cells'}", file=sys.stderr)
        return 130
    print_summary(result, study)
    print(f"{len(result.cells)} cells in {result.wall_time:.1f} s; wrote:")
    for path in result.paths:
        print(f"  {path}")
    if result.interrupted:
        return 130
    return 1 if len(result.failed) else 0


def _tune(args: argparse.Namespace) -> int:
    from stackpress.bench import write_tuned_bench
    from stackpress.control.autotune import TuneProgress
    from stackpress.tuning import autotune
    from stackpress.units import quantity

    bench = load_bench(args.bench)
    setpoint = quantity(args.setpoint, "Pa", "--setpoint")
    amplitude = quantity(args.amplitude, "Pa", "--amplitude") if args.amplitude else None
    out = Path(args.out) if args.out else None

    def progress(p: TuneProgress) -> None:
        print(f"[{p.t:7.1f} s] {p.phase}: {p.message}")

    print(f"tuning {bench.name!r} at {setpoint / 1e6:g} MPa (engine period {bench.period:g} s)")
    result = autotune(bench, setpoint, amplitude=amplitude, seed=args.seed, out=out, progress=progress)
    print(result.summary())
    if not result.ok:
        return 1
    if args.write:
        print(f"wrote {write_tuned_bench(bench, result, Path(args.write))}")
    return 0


def _serve_sim(args: argparse.Namespace) -> int:
    import threading

    from stackpress.sims.servers import parse_fault, run_until_interrupted, serve

    bench = load_bench(args.bench)
    faults = [parse_fault(spec) for spec in args.fault]
    ports = {"scpi": args.scpi_port, "modbus": args.modbus_port}
    handle = serve(bench, speed=args.speed, ports=ports, seed=args.seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # `kill`, or a parent's terminate(): close the servers too
    run_until_interrupted(handle, bench_out=args.write_bench, load_cell=args.load_cell, faults=faults, stop=stop)
    return 0


def _check(args: argparse.Namespace) -> int:
    results = load_bench(args.bench).check_instruments()
    for result in results:
        print(result.line())
    return 0 if all(result.ok for result in results) else 1


def _gui(args: argparse.Namespace) -> int:
    try:
        from stackpress.gui.app import main as gui_main  # Qt only when asked for: the CLI works without it
    except ImportError as exc:
        raise ValueError(f"the GUI needs the 'gui' extra (pip install 'stackpress[gui]'): {exc}") from None
    if args.after is not None and args.screenshot is None:
        raise ValueError("--after goes with --screenshot FILE")
    return gui_main(args.bench, screenshot=args.screenshot, after=args.after, speed=args.speed)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpress", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a protocol on a bench, recording to a run file")
    run.add_argument("protocol", help="a protocol TOML file, or the name of a bundled protocol (e.g. demo)")
    run.add_argument("--bench", default=DEFAULT_BENCH, help=f"a bench TOML file or bundled name ({DEFAULT_BENCH})")
    run.add_argument("--out", help="the run file to write (default: runs/NAME-DATE.sqlite)")
    run.add_argument("--seed", type=int, default=0, help="seed of the simulated bench's noise")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run file")
    run.set_defaults(handler=_run)

    resume = commands.add_parser(
        "resume", help="go on with a run whose process died (power cut, kill -9), appending to its run file"
    )
    resume.add_argument("run", help="the run file")
    resume.set_defaults(handler=_resume)

    export = commands.add_parser("export", help="export a run to Battery Data Format CSV or Parquet")
    export.add_argument("run", help="the run file")
    export.add_argument("--to", required=True, help="FILE.csv or FILE.parquet")
    export.set_defaults(handler=_export)

    report = commands.add_parser("report", help="plots, per-cycle table and summary of a run")
    report.add_argument("run", help="the run file")
    report.add_argument("--out", required=True, help="the folder to write the report into")
    report.set_defaults(handler=_report)

    sweep = commands.add_parser(
        "sweep", help="run many simulated cells over a grid of settings (on Dask); one table and maps"
    )
    sweep.add_argument("sweep", help="a sweep TOML file, or the name of a bundled sweep (e.g. pressure-window)")
    sweep.add_argument("--out", required=True, help="the folder for the run files, the table and the maps")
    sweep.add_argument("--scheduler", help="address of a running dask scheduler (default: a local cluster)")
    sweep.add_argument("--workers", type=int, help="worker processes of the local cluster (default: one per core)")
    sweep.add_argument("--overwrite", action="store_true", help="replace a sweep already in --out")
    sweep.add_argument(
        "--scratch", default="auto",
        help="a local folder where cells record before their run files move to --out; 'none' records in place "
        "(default 'auto': /dev/shm on a local cluster, in place on --scheduler)",
    )
    sweep.add_argument("--check", action="store_true", help="check every cell and list them; run nothing")
    sweep.set_defaults(handler=_sweep)

    serve_sim = commands.add_parser(
        "serve-sim", help="serve a simulated bench on loopback: SCPI, Modbus TCP and a serial pty"
    )
    serve_sim.add_argument("bench", nargs="?", default=DEFAULT_BENCH, help="a bench file or bundled name")
    serve_sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    serve_sim.add_argument("--scpi-port", type=int, default=5025)
    serve_sim.add_argument("--modbus-port", type=int, default=5020)
    serve_sim.add_argument("--load-cell", choices=("modbus", "serial"), default="modbus",
                           help="which load cell the written bench uses")
    serve_sim.add_argument("--write-bench", help="write a bench file pointing the real drivers here")
    serve_sim.add_argument("--seed", type=int, default=0)
    serve_sim.add_argument(
        "--fault", action="append", default=[], metavar="SPEC",
        help="a wire fault, wall time after start: 'TARGET KIND [DELAY] at TIME [for DURATION]', TARGET scpi, "
        "modbus, load_cell, actuator or serial, KIND drop, delay, garble or silent "
        "(e.g. 'modbus silent at 60 s for 5 s', 'scpi delay 300 ms at 10 s'); repeatable",
    )
    serve_sim.set_defaults(handler=_serve_sim)

    check = commands.add_parser("check", help="identify every instrument of a bench and read it once")
    check.add_argument("bench", help="a bench file with [instruments]")
    check.set_defaults(handler=_check)

    check_protocol = commands.add_parser(
        "check-protocol", help="check a protocol against a bench and print its plan with an estimated duration"
    )
    check_protocol.add_argument("protocol", help="a protocol TOML file, or the name of a bundled protocol")
    check_protocol.add_argument("--bench", default=DEFAULT_BENCH,
                                help=f"a bench file or bundled name ({DEFAULT_BENCH})")
    check_protocol.set_defaults(handler=_check_protocol)

    tune = commands.add_parser(
        "tune", help="relay auto-tune of the pressure loop on a bench: the loop's ultimate gain and period, and gains"
    )
    tune.add_argument("--bench", default=DEFAULT_BENCH, help=f"a bench TOML file or bundled name ({DEFAULT_BENCH})")
    tune.add_argument("--setpoint", default="10 MPa", help="the pressure to tune at (default 10 MPa; 5-50 MPa)")
    tune.add_argument("--amplitude", help="the relay's target oscillation (default 2 %% of the setpoint)")
    tune.add_argument("--write", help="write a copy of the bench file with the proposed gains to this file")
    tune.add_argument("--out", help="keep the tuning run's file here (default: a temporary file)")
    tune.add_argument("--seed", type=int, default=0, help="seed of the simulated bench's noise")
    tune.set_defaults(handler=_tune)

    gui = commands.add_parser("gui", help="the bench window: live plots, protocol, pressure, alarms, run files")
    gui.add_argument("--bench", help="a bench file or bundled name (default: the last used, else sim-hydraulic, "
                     "which starts the demo at once)")
    gui.add_argument("--speed", type=float, help="a simulated bench's time acceleration (default 1000)")
    gui.add_argument("--screenshot", help="run the simulated bench, save a PNG of the window to this file and exit")
    gui.add_argument("--after", type=float, help="wall seconds to run before the screenshot (10)")
    gui.set_defaults(handler=_gui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ProtocolError, BenchError, UnitError, FileExistsError, FileNotFoundError, ValueError) as exc:
        print(f"stackpress: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
