"""Pressure regulation quality: one table, measured in one run in virtual time.

    .venv/bin/python bench/regulation.py [--period 0.1] [--workers N] [--quick]

For each regulated bundled bench (sim-hydraulic, sim-spring, sim-servo) at
10 MPa, one C/3 cycle and two 1C cycles (CC charge to 4.2 V, CV to C/20, rest
10 min, CC discharge to 2.5 V, rest 10 min, after 5 minutes of holding at
rest; two at 1C because the ram's friction feed-forward learns each swelling
direction once before it acts), each with four controllers:

- no control: the bench's regulator brings the pressure to 10 MPa, then goes
  to manual as the cycling starts, so the actuator stays at that command (the
  fixture alone);
- plain PID: the bench's kp/ki with no filter, no slew limit, no
  feed-forward, no scheduling (the regulator as it was before);
- PID + FF + sched.: the bench's [regulator] as shipped (filter, slew rate,
  feed-forward from the current, gain scheduling, backlash compensation);
- auto-tuned: as shipped, with kp/ki (and stiffness) from a relay auto-tune
  (stackpress.control.autotune) run first on the same bench at the same tick.

Every run is an ordinary Session (engine, interlocks, protocol runner,
recorder) at an engine period of 0.1 s (10 Hz; hardware targets 50 Hz), the
physics stepped at the same 0.1 s. Errors are over the cycling (from the first
charge to the end), of the TRUE stack pressure (the simulated world's truth,
never seen by the engine) and of the MEASURED one (the load cell), against the
setpoint. The load cell of the bundled benches has 0.5 N of noise (its own
column, in MPa) and its zero drifts by 0.05 N/h from the start of the run: the
loop holds the MEASURED pressure, so the true pressure is off by the drift,
which no controller can see; "true, drift removed" is the true error after
adding the drift back, i.e. the controller's own share.

Below the table, one setpoint-step line per bench: 10 -> 30 MPa (after
3 minutes at 10 MPa), the time for the TRUE pressure to settle within 2 % of
30 MPa (and stay), and its overshoot in % of the 20 MPa step.

Runs go in parallel over the machine's cores; the whole script takes about
3 minutes on 2 cores (it prints its wall time).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from stackpress.bench import Bench, load_bench
from stackpress.control.autotune import TuneResult
from stackpress.control.pid import Gains
from stackpress.control.regulator import RegulatorSettings
from stackpress.protocols.load import parse_protocol_text
from stackpress.sample import Sample
from stackpress.session import Session
from stackpress.tuning import autotune
from stackpress.units import quantity

BENCHES = ("sim-hydraulic", "sim-spring", "sim-servo")
RATES = ("C/3", "1C")
CYCLES = {"C/3": 1, "1C": 2}  # 1C twice: the ram's friction feed-forward acts from the second reversal on
CONTROLS = ("no control", "plain PID", "PID + FF + sched.", "auto-tuned")
SETPOINT = 10e6
STEP_TO = 30e6
CHARGE_STEP = 3  # step count of the first charge (1: hold pressure, 2: rest)

CYCLING = """
name = "regulation-{rate_name}"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 5 minutes"]
[[block]]
repeat = {cycles}
steps = ["Charge at {rate} until 4.2 V", "Hold at 4.2 V until C/20", "Rest for 10 minutes",
         "Discharge at {rate} until 2.5 V", "Rest for 10 minutes"]
"""
STEP = """
name = "regulation-step"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 3 minutes", "Hold pressure at 30 MPa", "Rest for {after} seconds"]
"""


def at_period(name: str, period: float) -> Bench:
    """The bundled bench, ticking and stepping its physics every `period` s."""
    changes = {"engine": {"period": f"{period} s", "sim_step": f"{period} s"}}
    return load_bench(name).changed(changes, source=f"{name} ({period:g} s)")


def controlled(bench: Bench, control: str, tuned: TuneResult | None) -> Bench:
    """The bench with the regulator settings of one controller."""
    if control == "plain PID":
        return dataclasses.replace(bench, regulation=RegulatorSettings(feedforward=False))
    if control == "auto-tuned":
        assert tuned is not None and tuned.gains is not None
        stiffness = bench.regulation.stiffness
        if stiffness is not None and math.isfinite(tuned.stiffness):
            stiffness = tuned.stiffness
        return dataclasses.replace(
            bench, gains=tuned.gains, regulation=dataclasses.replace(bench.regulation, stiffness=stiffness)
        )
    return bench


def run(bench: Bench, text: str, control: str, watch_from: int) -> tuple[list[tuple[float, float, float]], str]:
    """One Session run; (t, measured, true pressure) per tick from step `watch_from`, and the final state."""
    rows: list[tuple[float, float, float]] = []
    holder: dict[str, Any] = {}

    def watch(sample: Sample) -> None:
        if control == "no control" and sample.step >= CHARGE_STEP and "manual" not in holder:
            holder["session"].manual()  # the operator's request: the actuator stays at its command, the fixture alone
            holder["manual"] = True
        if sample.step >= watch_from:
            rows.append((sample.t, sample.pressure, world.truth().pressure))

    protocol = parse_protocol_text(text, "regulation.toml")
    with tempfile.TemporaryDirectory() as folder:
        session = Session(protocol, bench, Path(folder) / "run.sqlite", on_sample=[watch])
        holder["session"] = session
        world = session.engine.force_sensor.world
        state = session.run()
    return rows, state


def cycling_job(name: str, rate: str, control: str, period: float, tuned: TuneResult | None) -> dict:
    bench = controlled(at_period(name, period), control, tuned)
    rate_name = rate.replace("/", "-")
    text = CYCLING.format(rate=rate, rate_name=rate_name, cycles=CYCLES[rate])
    rows, state = run(bench, text, control, CHARGE_STEP)
    drift = quantity(bench.tables.get("load_cell", {}).get("drift", "0.5 N/h"), "N/s", "drift") / bench.area

    def rms(values: list[float]) -> float:
        return math.sqrt(sum(v * v for v in values) / len(values))

    true = [p - SETPOINT for _, _, p in rows]
    measured = [m - SETPOINT for _, m, _ in rows]
    own = [p + drift * t - SETPOINT for t, _, p in rows]
    return {
        "bench": name, "rate": rate, "control": control, "state": state, "hours": rows[-1][0] / 3600,
        "true_rms": rms(true), "true_max": max(map(abs, true)),
        "meas_rms": rms(measured), "meas_max": max(map(abs, measured)),
        "own_rms": rms(own), "own_max": max(map(abs, own)),
        "drift_end": drift * rows[-1][0],
    }


def step_job(name: str, control: str, period: float, tuned: TuneResult | None) -> dict:
    bench = controlled(at_period(name, period), control, tuned)
    after = 240 if name == "sim-spring" else 60
    rows, state = run(bench, STEP.format(after=after), control, 3)  # from the 30 MPa step
    start = rows[0][0]
    settle, overshoot = math.nan, -math.inf
    for t, _, p in rows:
        overshoot = max(overshoot, p - STEP_TO)
        if abs(p - STEP_TO) > 0.02 * STEP_TO:
            settle = t - start
    settled = abs(rows[-1][2] - STEP_TO) <= 0.02 * STEP_TO
    return {"bench": name, "control": control, "state": state, "settle": settle if settled else math.inf,
            "overshoot": max(overshoot, 0.0), "window": rows[-1][0] - start}


def noise_of(name: str) -> float:
    bench = load_bench(name)
    return quantity(bench.tables.get("load_cell", {}).get("noise", "1 N"), "N", "noise") / bench.area


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--period", type=float, default=0.1, help="engine period and physics step, s (default 0.1)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="1C only (a smoke test of the script)")
    args = parser.parse_args(argv)
    wall = time.perf_counter()
    rates = ("1C",) if args.quick else RATES

    tuned: dict[str, TuneResult] = {}
    for name in BENCHES:
        result = autotune(at_period(name, args.period), SETPOINT)
        if not result.ok:
            print(f"auto-tune of {name} failed: {result.message}", file=sys.stderr)
            return 1
        tuned[name] = result

    with ProcessPoolExecutor(max_workers=max(args.workers, 1)) as pool:
        cycling = [pool.submit(cycling_job, name, rate, control, args.period, tuned[name])
                   for name in BENCHES for rate in rates for control in CONTROLS]
        steps = [pool.submit(step_job, name, control, args.period, tuned[name])
                 for name in BENCHES for control in CONTROLS[1:]]
        cycling_results = [f.result() for f in cycling]
        step_results = [f.result() for f in steps]

    print(f"Stack-pressure regulation at {SETPOINT / 1e6:g} MPa, engine period {args.period:g} s, virtual time; "
          "errors while cycling (C/3: one cycle, 1C: two; CC-CV charge, rest, CC discharge, rest), "
          "in MPa and in % of the setpoint")
    print()
    header = ("| bench | rate | control | true RMS | true max | measured RMS | measured max "
              "| true RMS, drift removed | true max, drift removed | load-cell noise |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))

    def cell(value: float) -> str:
        return f"{value / 1e6:.4f} ({100 * value / SETPOINT:.2f} %)"

    for r in cycling_results:
        flag = "" if r["state"] == "finished" else f" [{r['state']}]"
        print(f"| {r['bench']} | {r['rate']} | {r['control']}{flag} | {cell(r['true_rms'])} | {cell(r['true_max'])} "
              f"| {cell(r['meas_rms'])} | {cell(r['meas_max'])} | {cell(r['own_rms'])} | {cell(r['own_max'])} "
              f"| {noise_of(r['bench']) / 1e6:.4f} |")
    print()
    print("Load-cell zero drift at the end of each run: " + ", ".join(
        f"{r['bench']} {r['rate']} {r['drift_end'] / 1e6:.4f} MPa after {r['hours']:.1f} h"
        for r in cycling_results if r["control"] == CONTROLS[0]))
    print()
    print(f"Setpoint step {SETPOINT / 1e6:g} -> {STEP_TO / 1e6:g} MPa (true pressure): settling time to within "
          "2 % of 30 MPa, overshoot in % of the 20 MPa step")
    for name in BENCHES:
        parts = []
        for r in (s for s in step_results if s["bench"] == name):
            settle = f"{r['settle']:.1f} s" if math.isfinite(r["settle"]) else f"not within {r['window']:.0f} s"
            parts.append(f"{r['control']}: {settle}, {100 * r['overshoot'] / (STEP_TO - SETPOINT):.1f} %")
        print(f"  {name}: " + "; ".join(parts))
    print()
    print("Auto-tune (relay, Tyreus-Luyben PI) at this tick:")
    for name, result in tuned.items():
        g: Gains = result.gains  # type: ignore[assignment]
        unit = "Pa/Pa" if result.command_unit == "N" else "m/Pa"
        print(f"  {name}: Ku = {result.ultimate_gain:.4g} {unit}, Pu = {result.ultimate_period:.3g} s, "
              f"a = {result.amplitude / 1e3:.3g} kPa -> kp = {g.kp:.4g}, ki = {g.ki:.4g} /s")
    print()
    print(f"wall time {time.perf_counter() - wall:.0f} s ({args.workers} worker processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
