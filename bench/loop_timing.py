"""How well the engine keeps its tick on the wall clock.

Runs the simulated hydraulic bench through the whole stack (engine, regulator,
interlocks, runner, recorder writing a run file) on the WALL clock at a fixed
period, and prints the achieved tick rate and how late each tick started
relative to its deadline. The simulator stands in for the instruments, so
this measures our own loop and the machine, not instrument I/O.

    .venv/bin/python bench/loop_timing.py [--seconds 20] [--period 0.02]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from stackpress.bench import load_bench, parse_bench
from stackpress.clock import WallClock
from stackpress.protocols.load import parse_protocol_text
from stackpress.session import Session

PROTOCOL = """
name = "loop-timing"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 2 seconds", "Charge at 1C for {seconds} seconds or until 4.2 V"]
"""


class LatenessClock:
    """The wall clock, noting how late every wake-up is against the deadline it was asked for."""

    def __init__(self) -> None:
        self._wall = WallClock()
        self.lateness: list[float] = []

    def now(self) -> float:
        return self._wall.now()

    def sleep_until(self, t: float) -> None:
        self._wall.sleep_until(t)
        self.lateness.append(self._wall.now() - t)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run on the wall clock")
    parser.add_argument("--period", type=float, default=0.02, help="engine period, s (0.02 = 50 Hz)")
    args = parser.parse_args()

    base = load_bench("sim-hydraulic")
    tables = {**base.tables, "engine": {"period": f"{args.period} s"}}
    bench = parse_bench(tables, text=base.text, source=base.source, default_name=base.name)
    protocol = parse_protocol_text(PROTOCOL.format(seconds=args.seconds), "loop-timing.toml")
    clock = LatenessClock()
    with tempfile.TemporaryDirectory() as folder:
        state = Session(protocol, bench, Path(folder) / "run.sqlite", clock=clock).run()
    late_ms = [1e3 * x for x in clock.lateness[1:]]  # the first wake-up has no deadline before it
    elapsed = clock.now()
    print(f"engine on the wall clock, sim-hydraulic, period {args.period * 1e3:g} ms, run {state}")
    print(f"| ticks | achieved rate | lateness median | p99 | max | ticks late > {args.period * 1e3:g} ms |")
    print("|---|---|---|---|---|---|")
    missed = sum(x > args.period * 1e3 for x in late_ms)
    print(
        f"| {len(late_ms)} | {len(clock.lateness) / elapsed:.1f} Hz | {statistics.median(late_ms):.3f} ms "
        f"| {percentile(late_ms, 0.99):.3f} ms | {max(late_ms):.3f} ms | {missed} |"
    )


if __name__ == "__main__":
    main()
