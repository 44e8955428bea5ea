"""How well the engine keeps its tick on the wall clock, in process and through the real drivers on loopback.

Runs a protocol (hold 10 MPa, rest, charge at C/3) through the whole stack
(engine, regulator, interlocks, runner, recorder writing a run file) on the
WALL clock at a fixed period, for `--seconds` each, three times:

- against the in-process simulator (our own loop and the machine, no I/O);
- through the real drivers against `stackpress serve-sim` in a process of its
  own: the cycler over SCPI (pyvisa-py, TCP socket), the load cell and the
  actuator over Modbus TCP (pymodbus);
- the same with the load cell as an ASCII indicator on a pseudo-terminal.

The served simulator runs in its own process because a CPU-bound thread in the
engine's process stretches its ticks towards the 5 ms GIL switch interval.
For each run it prints the achieved tick rate, how late each tick started
against its deadline, and how long a tick's work took (reads, interlocks,
regulation, commands, recording), leaving out the first second, where the
connections open and the set-up commands go out (its worst lateness is shown
apart). Then the drivers' round trips to the served simulator, and the
wire-time floor of a Modbus RTU read, which bounds what a serial bus allows
per tick. The goal is 50 Hz with p99 lateness under 5 ms; on a shared machine
the p99 carries other processes' noise, so the medians are printed too.

    .venv/bin/python bench/loop_timing.py [--seconds 10] [--period 0.02]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from stackpress.bench import Bench, load_bench
from stackpress.clock import WallClock
from stackpress.drivers.connect import close_instruments, connect_instruments
from stackpress.drivers.rtu_timing import rtu_read_time
from stackpress.protocols.load import parse_protocol_text
from stackpress.sample import Event, Sample
from stackpress.session import Session
from stackpress.sims.servers import SimServerProcess

BENCH = "sim-hydraulic"
GOAL_P99_MS = 5.0
WARM_UP = 1.0  # s: the first ticks open the connections and send the set-up; they are timed apart
PROTOCOL = """
name = "loop-timing"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 2 seconds", "Charge at C/3 for 1 hour"]
"""


class LatenessClock:
    """The wall clock, noting each tick's deadline and wake-up, and how long the work until the next wait took."""

    def __init__(self, speed: float = 1.0) -> None:
        self._wall = WallClock(speed)
        self.speed = speed
        self.deadlines: list[float] = []  # s of wall time, like the two below
        self.wake_ups: list[float] = []
        self.work: list[float] = []  # work[i]: from wake-up i to the next wait

    def now(self) -> float:
        return self._wall.now()

    def sleep_until(self, t: float) -> None:
        if self.wake_ups:
            self.work.append(self._wall.now() / self.speed - self.wake_ups[-1])
        self._wall.sleep_until(t)
        self.deadlines.append(t / self.speed)
        self.wake_ups.append(self._wall.now() / self.speed)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def with_period(bench: Bench, period: float) -> Bench:
    """The bench again, its engine ticking every `period` s (its source kept: dialect paths are relative to it)."""
    return bench.changed({"engine": {"period": f"{period} s"}}, source=bench.source)


def time_engine(bench: Bench, seconds: float, folder: Path) -> tuple[str, LatenessClock]:
    """Run the protocol for `seconds` of wall time, then abort it; what went wrong, if anything, and the clock."""
    protocol = parse_protocol_text(PROTOCOL, "loop-timing.toml")
    clock = LatenessClock(bench.clock_speed)
    problems: list[str] = []

    def stop_in_time(sample: Sample) -> None:
        if sample.t >= seconds * bench.clock_speed:
            session.abort("the timing run is over")

    def note(event: Event) -> None:
        if event.kind in ("alarm", "trip", "fault", "warning"):
            problems.append(f"{event.kind} at {event.t / bench.clock_speed:.1f} s: {event.message.split(':')[0]}")

    session = Session(protocol, bench, folder / f"{bench.name}.sqlite", clock=clock, overwrite=True,
                      on_sample=[stop_in_time], on_event=[note])
    session.run()
    return "; ".join(problems) or "clean", clock


def engine_row(label: str, problems: str, clock: LatenessClock, period: float) -> str:
    """One table row: the ticks after the warm-up, and the worst lateness during it."""
    first = clock.deadlines[0]
    steady = [i for i, deadline in enumerate(clock.deadlines) if deadline - first >= WARM_UP]
    late = [1e3 * (clock.wake_ups[i] - clock.deadlines[i]) for i in steady]
    work = [1e3 * clock.work[i] for i in steady if i < len(clock.work)]
    warm_up = max(clock.wake_ups[i] - clock.deadlines[i] for i in range(steady[0]))
    rate = (len(steady) - 1) / (clock.wake_ups[steady[-1]] - clock.wake_ups[steady[0]])
    missed = sum(x > period * 1e3 for x in late)
    p99 = percentile(late, 0.99)
    goal = "yes" if p99 < GOAL_P99_MS and rate > 0.98 / period else "no"
    return (
        f"| {label} | {problems} | {len(late)} | {rate:.1f} Hz | {statistics.median(late):.3f} ms | {p99:.3f} ms "
        f"| {max(late):.2f} ms | {missed} | {statistics.median(work):.3f} ms | {percentile(work, 0.99):.3f} ms "
        f"| {goal} | {1e3 * warm_up:.0f} ms |"
    )


def round_trips(bench: Bench, roles: tuple[str, ...], n: int = 300) -> list[str]:
    """Median and p99 of the `roles`' driver calls against the served simulator, on fresh connections."""
    cycler, load_cell, actuator = connect_instruments(bench.tables, WallClock(bench.clock_speed))
    voltage = cycler.dialect.measurements["voltage"].query
    calls: dict[str, dict[str, Callable[[], object]]] = {
        "cycler": {
            f"SCPI, one query ({voltage})": lambda: cycler.link.query(cycler.name, voltage),
            "SCPI, cycler.read() (voltage and current)": cycler.read,
        },
        "load_cell": {f"{load_cell.resource.split(':', 1)[0]}, load_cell.read_force()": load_cell.read_force},
        "actuator": {"modbus-tcp, actuator.read_command()": actuator.read_command},
    }
    wall = WallClock()
    lines = []
    try:
        for role in roles:
            for what, call in calls[role].items():
                call()  # connect and set up outside the timing
                times_ms = []
                for _ in range(n):
                    start = wall.now()
                    call()
                    times_ms.append(1e3 * (wall.now() - start))
                lines.append(f"| {what} | {statistics.median(times_ms):.3f} ms | {percentile(times_ms, 0.99):.3f} ms |")
    finally:
        close_instruments((cycler, load_cell, actuator))
    return lines


def rtu_table(period: float) -> list[str]:
    """The Modbus RTU floor of one read, and how many such reads fit in one engine tick."""
    lines = [
        "| baud | registers | floor, 3.5-character gaps | floor, spec's 1.75 ms gaps above 19200 "
        f"| reads per {period * 1e3:g} ms tick, at best |",
        "|---|---|---|---|---|",
    ]
    for registers in (2, 10):
        for baud in (19200, 115200):
            plain = rtu_read_time(baud, registers)
            spec = rtu_read_time(baud, registers, spec_gaps=True)
            lines.append(
                f"| {baud} | {registers} | {plain * 1e3:.1f} ms | {spec * 1e3:.1f} ms | {int(period // spec)} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="wall seconds of each engine run")
    parser.add_argument("--period", type=float, default=0.02, help="engine period, s (0.02 = 50 Hz)")
    args = parser.parse_args()

    engine = [
        f"engine on the wall clock, {BENCH}, period {args.period * 1e3:g} ms "
        f"(goal: {1 / args.period:g} Hz, p99 lateness < {GOAL_P99_MS:g} ms)",
        "| instruments | alarms, trips | ticks | achieved rate | lateness median | p99 | max "
        f"| ticks late > {args.period * 1e3:g} ms | tick work median | p99 | goal met "
        f"| worst lateness in the first {WARM_UP:g} s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    trips = ["round trips through the drivers to the served simulator (its own process)",
             "| call | median | p99 |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        problems, clock = time_engine(with_period(load_bench(BENCH), args.period), args.seconds, folder)
        engine.append(engine_row("in-process simulator", problems, clock, args.period))
        wire = [  # the load cell's transport, the row's label, whose round trips to time
            ("modbus", "SCPI cycler, Modbus TCP load cell + actuator", ("cycler", "load_cell", "actuator")),
            ("serial", "SCPI cycler, serial (pty) load cell, Modbus TCP actuator", ("load_cell",)),
        ]
        for load_cell, label, roles in wire:
            with SimServerProcess(BENCH, folder / f"wire-{load_cell}.toml", load_cell=load_cell) as served:
                bench = with_period(load_bench(served.bench_file), args.period)
                problems, clock = time_engine(bench, args.seconds, folder)
                engine.append(engine_row(label, problems, clock, args.period))
                trips.extend(round_trips(bench, roles))
    print("\n".join(engine), end="\n\n")
    print("\n".join(trips), end="\n\n")
    print("Modbus RTU: the wire-time floor of one read (FC03/FC04), 8N1")
    print("\n".join(rtu_table(args.period)))


if __name__ == "__main__":
    main()
