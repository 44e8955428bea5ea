"""Simulation speed: stackpress's whole closed loop in virtual time against PyBaMM's SPMe.

    make bench-speed                      # installs pybamm into .venv, then runs this
    .venv/bin/python bench/sim_speed.py [--repeats 5] [--no-fine] [--profile]

Both simulate the same experiment, written once below in PyBaMM's own
experiment syntax (which is also stackpress's step language): 10 cycles of
CC 1C to 4.2 V, CV to C/50, rest 10 min, CC 1C to 2.5 V, rest 10 min.

- stackpress: everything `stackpress run` does — bench and world set up, the
  engine ticking the regulator (hydraulic fixture holding 10 MPa), the
  interlocks and the protocol runner, the recorder writing a run file (SQLite,
  WAL, synchronous=FULL) — on the bundled `sim-hydraulic` bench with
  `[engine] period` and `sim_step` of 30 s (and the regulator's ki cut to
  0.02/s to match) and, for reference and for the tolerance, as bundled (1 s).
- PyBaMM: `SPMe()` with its default parameters and the IDAKLU solver, model
  built and discretised anew in every repeat (`Simulation(...).solve()`).

Repeats are interleaved (A, B, C, A, B, C, ...) so a noisy machine slows all of
them alike; medians are reported. The tolerance line compares the per-cycle
discharge capacities of the 30 s and 1 s runs.

`--profile` also says how much of a run is the simulator itself (the run's
instrument calls replayed on a fresh world, so the engine, regulator, runner and
recorder are left out) and prints a cProfile of one run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import platform
import pstats
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

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
COARSE = {"engine": {"period": "30 s", "sim_step": "30 s"}, "regulator": {"ki": 0.02}}


def coarse_bench() -> Bench:
    """The bundled sim-hydraulic bench, ticking (and stepping its physics) every 30 s instead of every 1 s."""
    return load_bench("sim-hydraulic").changed(COARSE, source="sim-hydraulic (30 s)")


Run = Callable[[], Callable[[], tuple[float, list[float]]]]  # timed part; it returns the untimed read-back


def stackpress_run(bench: Bench, folder: Path) -> Run:
    """Timed: Session (bench, world, recorder set up) and its run to the end. Untimed: reading the file back."""
    protocol = parse_protocol_text(PROTOCOL, "speed-1c-cccv.toml")
    path = folder / f"{bench.source.replace(' ', '_').replace('/', '_')}.sqlite"

    def run() -> Callable[[], tuple[float, list[float]]]:
        Session(protocol, bench, path, overwrite=True).run()

        def results() -> tuple[float, list[float]]:
            samples = read_run(path).samples
            return samples["t"].iloc[-1] / 3600, cycle_table(samples)["discharge_capacity_Ah"].tolist()

        return results

    return run


def pybamm_run(pybamm) -> Run:
    """Timed: model, experiment, simulation (parameters, mesh, discretisation) and the solve."""

    def run() -> Callable[[], tuple[float, list[float]]]:
        model = pybamm.lithium_ion.SPMe()
        experiment = pybamm.Experiment([STEPS] * CYCLES)
        solution = pybamm.Simulation(model, experiment=experiment, solver=pybamm.IDAKLUSolver()).solve()

        def results() -> tuple[float, list[float]]:
            discharges = [cycle.steps[STEPS.index("Discharge at 1C until 2.5 V")] for cycle in solution.cycles]
            capacities = [float(np.ptp(step["Discharge capacity [A.h]"].entries)) for step in discharges]
            return float(solution["Time [h]"].entries[-1]), capacities

        return results

    return run


def timed(run: Run) -> tuple[float, float, float, list[float]]:
    wall, cpu = time.perf_counter(), time.process_time()
    results = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return (wall, cpu, *results())


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
    print(f"\nprofile of one stackpress run at 30 s (cProfile; {total:.3f} s of own time, inflated by the profiler):")
    for part, seconds in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {part:24s} {100 * seconds / total:5.1f} %")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(out.getvalue().split("\n\n", 1)[-1].strip())


INSTRUMENT_CALLS = {
    SimCycler: ("apply_current", "apply_voltage", "rest", "read"),
    SimForceSensor: ("read_force",),
    SimActuator: ("command", "read_command", "read_gap", "stop"),
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
                        help="also profile one stackpress run at 30 s, and time its simulator alone")
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

    with tempfile.TemporaryDirectory(prefix="stackpress-speed-") as tmp:
        folder = Path(tmp)
        contenders: dict[str, Run] = {
            "stackpress, 30 s ticks": stackpress_run(coarse_bench(), folder),
        }
        if pybamm is not None:
            contenders["PyBaMM SPMe (IDAKLU)"] = pybamm_run(pybamm)
        if not args.no_fine:
            contenders["stackpress, 1 s ticks (bundled)"] = stackpress_run(load_bench("sim-hydraulic"), folder)
        results: dict[str, list[tuple[float, float, float, list[float]]]] = {name: [] for name in contenders}
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
    reference = statistics.median(w for w, *_ in results["PyBaMM SPMe (IDAKLU)"]) if pybamm is not None else None
    print(f"| {'simulation':34s} | wall s (median) | min–max s    | CPU s | simulated h | vs PyBaMM SPMe |")
    print(f"|{'-' * 36}|-----------------|--------------|-------|-------------|----------------|")
    for name, runs in results.items():
        walls = [w for w, *_ in runs]
        median = statistics.median(walls)
        cpu = statistics.median(c for _, c, *_ in runs)
        if reference is None:
            ratio = "n/a"
        else:
            ratio = "1x" if name.startswith("PyBaMM") else f"{reference / median:.1f}x faster"
        print(f"| {name:34s} | {median:15.3f} | {min(walls):5.3f}–{max(walls):6.3f} | {cpu:5.2f} | "
              f"{runs[0][2]:11.1f} | {ratio:>14s} |")

    if not args.no_fine:
        coarse = results["stackpress, 30 s ticks"][0][3]
        fine = results["stackpress, 1 s ticks (bundled)"][0][3]
        deviation = max(abs(c - f) / f for c, f in zip(coarse, fine, strict=True))
        print(f"\ntolerance: per-cycle discharge capacity at 30 s vs 1 s ticks: max deviation {100 * deviation:.2f} % "
              f"(cycle 1: {coarse[0] * 1e3:.4f} vs {fine[0] * 1e3:.4f} mAh; cycle {CYCLES}: "
              f"{coarse[-1] * 1e3:.4f} vs {fine[-1] * 1e3:.4f} mAh)")
    print("\nwall - CPU is waiting, mostly for the run file's fsyncs: the recorder makes each event durable at once "
          "(51 step events here); on a busy disk they can cost more than the simulation.")
    if args.profile:
        with tempfile.TemporaryDirectory(prefix="stackpress-speed-") as tmp:
            whole, alone = simulator_share(coarse_bench(), Path(tmp))
            print(f"\nthe simulator alone (world, cell, fixture, instruments: the run's instrument calls replayed "
                  f"on a fresh world): {alone:.3f} CPU s of the run's {whole:.3f} ({100 * alone / whole:.0f} %); "
                  "the rest is the engine, regulator, interlocks, runner and recorder")
            profile(stackpress_run(coarse_bench(), Path(tmp)))
    return 0 if pybamm is not None else 1


if __name__ == "__main__":
    sys.exit(main())
