"""Simulation speed: stackpress's whole closed loop in virtual time against PyBaMM's SPMe.

    make bench-speed                      # installs pybamm into .venv, then runs this
    .venv/bin/python bench/sim_speed.py [--repeats 5] [--no-fine] [--profile]

Both simulate the same experiment, written once below in PyBaMM's own
experiment syntax (which is also stackpress's step language): 10 cycles of
CC 1C to 4.2 V, CV to C/50, rest 10 min, CC 1C to 2.5 V, rest 10 min.

- stackpress: everything `stackpress run` does — bench and world set up, the
  engine ticking the regulator (hydraulic fixture holding 10 MPa), the
  interlocks and the protocol runner, the recorder writing a run file (SQLite,
  WAL, synchronous=FULL) — on the bundled `sim-hydraulic` bench, three ways:
  adaptive ticks (`[engine] period = "240 s"`, `min_period = "1 s"`: a tick
  every 240 s, closing in on each step's end in halves down to 1 s, physics
  sub-steps of at most 60 s, the regulator's ki cut to 0.0025/s to match); fixed
  30 s ticks (ki 0.02/s); and, for reference and for the tolerance, as bundled
  (1 s ticks and sub-steps).
- PyBaMM: `SPMe()` with its default parameters and the IDAKLU solver, model
  built and discretised anew in every repeat (`Simulation(...).solve()`).

Repeats are interleaved (A, B, C, A, B, C, ...) so a noisy machine slows all of
them alike; medians are reported. The tolerance lines compare each coarser
run's per-cycle discharge capacities and its simulated time (the CV holds end
on a current, which the coarser physics sub-steps reach a little sooner) with
the 1 s run's, and give the largest pressure error after the first 10 minutes.

`--profile` also says how much of a run is the simulator itself (the run's
instrument calls replayed on a fresh world, so the engine, regulator, runner and
recorder are left out) and prints a cProfile of one run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import platform
import pstats
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from stackpress.bench import Bench, load_bench
from stackpress.clock import VirtualClock
from stackpress.data.analysis import cycle_table
from stackpress.data.runfile import read_run
from stackpress.protocols.load import parse_protocol_text
from stackpress.session import Session
from stackpress.sims.instruments import SimActuator, SimCycler, SimForceSensor

CYCLES = 10
STEPS = (
    "Charge at 1C until 4.2 V",
    "Hold at 4.2 V until C/50",
    "Rest for 10 minutes",
    "Discharge at 1C until 2.5 V",
    "Rest for 10 minutes",
)
PROTOCOL = f"""
name = "speed-1c-cccv"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa"]
[[block]]
repeat = {CYCLES}
steps = [{", ".join(f'"{step}"' for step in STEPS)}]
"""
ADAPTIVE = {"engine": {"period": "240 s", "min_period": "1 s", "sim_step": "60 s"}, "regulator": {"ki": 0.0025}}
FIXED = {"engine": {"period": "30 s", "sim_step": "30 s"}, "regulator": {"ki": 0.02}}
SETPOINT = 10e6  # Pa
SETTLE = 600.0  # s: the pressure error counts from then on (a 1 s tick engaging from zero overshoots for a tick)


def adaptive_bench() -> Bench:
    """The bundled sim-hydraulic bench, ticking every 240 s and closing in on each step's end down to 1 s."""
    return load_bench("sim-hydraulic").changed(ADAPTIVE, source="sim-hydraulic (adaptive ticks)")


def fixed_bench() -> Bench:
    """The bundled sim-hydraulic bench, ticking (and stepping its physics) every 30 s instead of every 1 s."""
    return load_bench("sim-hydraulic").changed(FIXED, source="sim-hydraulic (30 s)")


class Results(NamedTuple):
    hours: float  # simulated
    capacities: list[float]  # Ah, per cycle, discharge
    pressure_error: float  # Pa, the largest |P - setpoint| recorded after the first SETTLE s (engaging from 0 is not)


Run = Callable[[], Callable[[], Results]]  # the timed part; it returns the untimed read-back


def stackpress_run(bench: Bench, folder: Path) -> Run:
    """Timed: Session (bench, world, recorder set up) and its run to the end. Untimed: reading the file back."""
    protocol = parse_protocol_text(PROTOCOL, "speed-1c-cccv.toml")
    path = folder / f"{bench.source.replace(' ', '_').replace('/', '_')}.sqlite"

    def run() -> Callable[[], Results]:
        Session(protocol, bench, path, overwrite=True).run()

        def results() -> Results:
            samples = read_run(path).samples
            error = (samples["pressure"] - SETPOINT).abs()[samples["t"] >= SETTLE]
            return Results(samples["t"].iloc[-1] / 3600, cycle_table(samples)["discharge_capacity_Ah"].tolist(),
                           float(error.max()))

        return results

    return run


def pybamm_run(pybamm) -> Run:
    """Timed: model, experiment, simulation (parameters, mesh, discretisation) and the solve."""

    def run() -> Callable[[], Results]:
        model = pybamm.lithium_ion.SPMe()
        experiment = pybamm.Experiment([STEPS] * CYCLES)
        solution = pybamm.Simulation(model, experiment=experiment, solver=pybamm.IDAKLUSolver()).solve()

        def results() -> Results:
            discharges = [cycle.steps[STEPS.index("Discharge at 1C until 2.5 V")] for cycle in solution.cycles]
            capacities = [float(np.ptp(step["Discharge capacity [A.h]"].entries)) for step in discharges]
            return Results(float(solution["Time [h]"].entries[-1]), capacities, math.nan)

        return results

    return run


class Timed(NamedTuple):
    wall: float  # s
    cpu: float  # s
    results: Results


def timed(run: Run) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    results = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Timed(wall, cpu, results())


def profile(run: Callable[[], object], top: int = 25) -> None:
    """cProfile of one run: the top functions by own time, and each package's share."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())
    shares: dict[str, float] = {}
    for (filename, _, _), entry in stats.stats.items():
        part = filename.split("stackpress/")[-1].split("/")[0] if "stackpress/" in filename else "python, sqlite, ..."
        shares[part] = shares.get(part, 0.0) + entry[2]
    print(f"\nprofile of one stackpress run with adaptive ticks (cProfile; {total:.3f} s of own time, inflated by "
          "the profiler):")
    for part, seconds in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {part:24s} {100 * seconds / total:5.1f} %")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(out.getvalue().split("\n\n", 1)[-1].strip())


INSTRUMENT_CALLS = {
    SimCycler: ("apply_current", "apply_voltage", "rest", "read"),
    SimForceSensor: ("read_force",),
    SimActuator: ("command", "read_command", "read_gap", "read_state", "stop"),
}


def simulator_share(bench: Bench, folder: Path, repeats: int = 5) -> tuple[float, float]:
    """CPU s of one whole run, and (median of `repeats`) of the simulator alone in it.

    The simulator alone: every call the engine made to the simulated instruments,
    recorded with its virtual time and replayed on a fresh world, so the engine,
    regulator, runner and recorder are left out and the physics is the same.
    """
    calls: list[tuple[float, type, str, tuple]] = []
    originals = {(cls, name): getattr(cls, name) for cls, names in INSTRUMENT_CALLS.items() for name in names}

    def recording(cls: type, name: str) -> Callable:
        method = originals[cls, name]

        def record(self, *args):
            calls.append((self.world.clock.now(), cls, name, args))
            return method(self, *args)

        return record

    for cls, name in originals:
        setattr(cls, name, recording(cls, name))
    try:
        whole = time.process_time()
        stackpress_run(bench, folder)()
        whole = time.process_time() - whole
    finally:
        for (cls, name), method in originals.items():
            setattr(cls, name, method)
    alone = []
    for _ in range(repeats):
        clock = VirtualClock()
        instruments, _ = bench.connect(clock, 0)
        by_class = {SimCycler: instruments.cycler, SimForceSensor: instruments.force_sensor,
                    SimActuator: instruments.actuator}
        replay = [(t, getattr(by_class[cls], name), args) for t, cls, name, args in calls]
        start = time.process_time()
        for t, method, args in replay:
            clock.sleep_until(t)
            method(*args)
        alone.append(time.process_time() - start)
    return whole, statistics.median(alone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each, interleaved (default 5)")
    parser.add_argument("--no-fine", action="store_true", help="skip the bundled 1 s bench (and the tolerance)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one stackpress run with adaptive ticks, and time its simulator alone")
    args = parser.parse_args(argv)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pybamm
        pybamm.set_logging_level("ERROR")
    except ImportError:
        pybamm = None
        print("pybamm is NOT installed: only stackpress is timed. `make bench-speed` installs it into .venv "
              "(or: .venv/bin/pip install pybamm).\n")

    adaptive, fixed, fine = "stackpress, adaptive ticks", "stackpress, 30 s ticks", "stackpress, 1 s ticks (bundled)"
    with tempfile.TemporaryDirectory(prefix="stackpress-speed-") as tmp:
        folder = Path(tmp)
        contenders: dict[str, Run] = {
            adaptive: stackpress_run(adaptive_bench(), folder),
            fixed: stackpress_run(fixed_bench(), folder),
        }
        if pybamm is not None:
            contenders["PyBaMM SPMe (IDAKLU)"] = pybamm_run(pybamm)
        if not args.no_fine:
            contenders[fine] = stackpress_run(load_bench("sim-hydraulic"), folder)
        results: dict[str, list[Timed]] = {name: [] for name in contenders}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for run in contenders.values():
                run()  # warm-up: imports, caches; not counted
            for _ in range(args.repeats):
                for name, run in contenders.items():
                    results[name].append(timed(run))

    version = f"pybamm {pybamm.__version__}" if pybamm is not None else "no pybamm"
    print(f"{CYCLES} cycles of: {' / '.join(STEPS)}")
    print(f"Python {platform.python_version()}, {version}, {args.repeats} interleaved repeats, medians\n")
    reference = statistics.median(r.wall for r in results["PyBaMM SPMe (IDAKLU)"]) if pybamm is not None else None
    print(f"| {'simulation':34s} | wall s (median) | min–max s    | CPU s | simulated h | vs PyBaMM SPMe |")
    print(f"|{'-' * 36}|-----------------|--------------|-------|-------------|----------------|")
    for name, runs in results.items():
        walls = [r.wall for r in runs]
        median = statistics.median(walls)
        cpu = statistics.median(r.cpu for r in runs)
        if reference is None:
            ratio = "n/a"
        else:
            ratio = "1x" if name.startswith("PyBaMM") else f"{reference / median:.1f}x faster"
        print(f"| {name:34s} | {median:15.3f} | {min(walls):5.3f}–{max(walls):6.3f} | {cpu:5.2f} | "
              f"{runs[0].results.hours:11.1f} | {ratio:>14s} |")

    if not args.no_fine:
        truth = results[fine][0].results
        print(f"\ntolerance, against 1 s ticks (largest pressure error there after {SETTLE:g} s: "
              f"{truth.pressure_error / 1e6:.3f} MPa):")
        for name in (adaptive, fixed):
            coarse = results[name][0].results
            deviation = max(abs(c - f) / f for c, f in zip(coarse.capacities, truth.capacities, strict=True))
            print(f"  {name}: per-cycle discharge capacity within {100 * deviation:.2f} % (cycle 1: "
                  f"{coarse.capacities[0] * 1e3:.4f} vs {truth.capacities[0] * 1e3:.4f} mAh; cycle {CYCLES}: "
                  f"{coarse.capacities[-1] * 1e3:.4f} vs {truth.capacities[-1] * 1e3:.4f} mAh); simulated time "
                  f"{100 * (coarse.hours / truth.hours - 1):+.2f} %; largest pressure error "
                  f"{coarse.pressure_error / 1e6:.3f} MPa")
    print("\nwall - CPU is waiting, mostly for the run file's fsyncs: the recorder makes each event durable at once "
          "(51 step events here); on a busy disk they can cost more than the simulation.")
    if args.profile:
        with tempfile.TemporaryDirectory(prefix="stackpress-speed-") as tmp:
            whole, alone = simulator_share(adaptive_bench(), Path(tmp))
            print(f"\nthe simulator alone (world, cell, fixture, instruments: the run's instrument calls replayed "
                  f"on a fresh world): {alone:.3f} CPU s of the run's {whole:.3f} ({100 * alone / whole:.0f} %); "
                  "the rest is the engine, regulator, interlocks, runner and recorder")
            profile(stackpress_run(adaptive_bench(), Path(tmp)))
    return 0 if pybamm is not None else 1


if __name__ == "__main__":
    sys.exit(main())
