"""Relay auto-tuning: identification on a plant of known ultimate gain and period, the safe window, a whole run."""

from __future__ import annotations

import dataclasses
import math
import random
import tempfile
from pathlib import Path

import pytest

from stackpress.bench import load_bench, set_regulator_keys, write_tuned_bench
from stackpress.control.autotune import RelayTuner, TuneRefused, check_tunable, tyreus_luyben
from stackpress.control.pid import Gains
from stackpress.protocols.load import parse_protocol_text
from stackpress.sample import Sample
from stackpress.session import Session
from stackpress.tuning import autotune
from tests.helpers import C3_CYCLING

AREA = 0.785e-4
TAU = 0.2  # s: three equal lags, 1 / (1 + tau s)^3: Ku = 8, Pu = 2 pi tau / sqrt(3)
KU, PU = 8.0, 2 * math.pi * TAU / math.sqrt(3)


def sample(pressure: float, t: float, actuator: float) -> Sample:
    return Sample(t, 3.7, 0.0, 0.0, 25.0, math.nan, pressure, math.nan, 1e-3, 1e-4, actuator, 1, 1, "running")


class ThreeLags:
    """A force-commanded plant whose stack pressure follows the command (Pa = N / area) through three lags."""

    def __init__(self, dt: float, noise: float, seed: int = 1) -> None:
        self.dt = dt
        self.alpha = -math.expm1(-dt / TAU)
        self.states = [9e6, 9e6, 9e6]
        self.noise = noise
        self.gauss = random.Random(seed).gauss
        self.disturbance = 0.0  # Pa added to the pressure (a fault)

    def step(self, command: float) -> float:
        u = command / AREA
        for i in range(3):
            u = self.states[i] = self.states[i] + self.alpha * (u - self.states[i])
        return u + self.disturbance

    def drive(self, tuner: RelayTuner, seconds: float, command: float, fault: bool = False) -> list[float]:
        commands = []
        t = 0.0
        while t < seconds and not tuner.finished:
            if fault and tuner.phase == "relay" and tuner._phase_t > 1.0:
                self.disturbance = 45e6  # something pushes the stack far beyond the window, mid-relay
            pressure = self.step(command)
            t += self.dt
            command = tuner.update(sample(pressure + self.gauss(0.0, self.noise), t, command), self.dt)
            commands.append(command)
        return commands


def tuner(**kwargs) -> RelayTuner:
    return RelayTuner(Gains(0.5, 2.0), AREA, (0.0, 1e4), "N", **kwargs)


def test_the_relay_identifies_a_known_ultimate_gain_and_period():
    plant, relay = ThreeLags(dt=0.01, noise=100.0), tuner()
    relay.hold(10e6, 9e6 * AREA)
    plant.drive(relay, 120.0, 9e6 * AREA)
    result = relay.result("three lags", 0.01)
    assert result.ok, result.message
    assert result.ultimate_period == pytest.approx(PU, rel=0.05)
    assert result.ultimate_gain == pytest.approx(KU, rel=0.05)
    assert result.friction == pytest.approx(0.0, abs=2e3)  # no seal: the probe's swing is the command's
    assert result.gains == tyreus_luyben(result.ultimate_gain, result.ultimate_period)
    assert result.gains.kp == pytest.approx(KU / 3.2, rel=0.05)
    assert result.gains.ki == pytest.approx(KU / 3.2 / (2.2 * PU), rel=0.1)
    # Sized from the static gain, the relay's swing reaches the stack attenuated by the lags: never more
    # than the 2 % it aims at (here (4 / pi) d |G(j wu)| = 0.16 of it), well above the hysteresis.
    assert 3 * result.hysteresis < result.amplitude <= 0.02 * 10e6
    assert "ultimate gain" in result.summary() and "Tyreus-Luyben" in result.summary()


def test_noise_sets_the_hysteresis_and_the_estimate_errs_on_the_safe_side():
    plant, relay = ThreeLags(dt=0.01, noise=2e3), tuner()
    relay.hold(10e6, 9e6 * AREA)
    plant.drive(relay, 120.0, 9e6 * AREA)
    result = relay.result()
    assert result.ok and result.hysteresis == pytest.approx(3 * 2e3, rel=0.2)
    # The limit cycle sits where the phase is -180 deg + asin(h / a): a longer period, a lower gain.
    assert PU <= result.ultimate_period < 1.25 * PU
    assert 0.65 * KU < result.ultimate_gain <= KU


def test_it_refuses_to_start_outside_the_safe_window():
    bench = load_bench("sim-servo")
    check_tunable(bench, 10e6)
    for setpoint in (4e6, 60e6, math.nan):
        with pytest.raises(TuneRefused, match="safe window"):
            check_tunable(bench, setpoint)
    with pytest.raises(TuneRefused, match="twice the relay"):
        check_tunable(bench, 49e6)  # 49 MPa + 2 x 0.98 MPa is beyond 50 MPa
    with pytest.raises(TuneRefused, match="safe window"):
        check_tunable(dataclasses.replace(bench, max_pressure=20e6), 25e6)  # above the bench's hard limit
    relay = tuner()
    relay.hold(60e6, 0.0)  # the engine would be told to hold it: the tuner does not engage
    assert relay.finished and not relay.ok and not relay.active and "refused" in relay.message


def test_it_stops_safely_when_the_pressure_leaves_the_window():
    plant, relay = ThreeLags(dt=0.01, noise=100.0), tuner()
    relay.hold(10e6, 9e6 * AREA)
    commands = plant.drive(relay, 120.0, 9e6 * AREA, fault=True)
    assert relay.finished and not relay.ok and "left the safe window" in relay.message
    assert commands[-1] == pytest.approx(relay.bias)  # back to the command that held the setpoint
    assert relay.update(sample(60e6, 200.0, commands[-1]), 0.01) == commands[-1]  # and it stays there
    assert relay.result().gains is None


def test_a_tuning_run_is_a_session_run_and_the_tuned_gains_hold_10_mpa_on_the_servo(tmp_path):
    bench = load_bench("sim-servo")  # 1 s engine period, as bundled
    seen = []
    result = autotune(bench, 10e6, out=tmp_path / "tune.sqlite", progress=seen.append)
    assert result.ok, result.message
    assert [p.phase for p in seen][:3] == ["settle", "probe", "relay"] and seen[-1].phase == "done"
    assert result.state == "aborted" and (tmp_path / "tune.sqlite").exists()  # ended by the tuner, cleanup ran
    assert result.stiffness == pytest.approx(2.36e12, rel=0.05)  # the probe measures the screw's stiffness
    assert result.ultimate_period == pytest.approx(2.0, rel=0.1)  # two ticks: the relay flips every tick
    tuned = dataclasses.replace(
        bench, gains=result.gains, regulation=dataclasses.replace(bench.regulation, stiffness=result.stiffness)
    )
    samples: list[Sample] = []
    protocol = parse_protocol_text(C3_CYCLING.format(repeat=1), "c3.toml")
    session = Session(protocol, tuned, tmp_path / "run.sqlite", on_sample=[samples.append])
    assert session.run() == "finished"
    cycling = [s.pressure for s in samples if s.step >= 3]
    rms = math.sqrt(sum((p - 10e6) ** 2 for p in cycling) / len(cycling))
    assert rms < 0.02 * 10e6
    assert rms < 0.002 * 10e6  # in fact to within a few times the load cell's noise (6.4 kPa)


def test_the_tuned_gains_are_written_into_a_copy_of_the_bench(tmp_path):
    bench = load_bench("sim-servo")
    result = autotune(bench, 10e6)
    path = write_tuned_bench(bench, result, tmp_path / "servo-tuned.toml")
    again = load_bench(path)
    assert again.gains.kp == pytest.approx(result.gains.kp, rel=1e-3)
    assert again.gains.ki == pytest.approx(result.gains.ki, rel=1e-3)
    assert again.regulation.stiffness == pytest.approx(result.stiffness, rel=1e-3)
    assert again.regulation.backlash == bench.regulation.backlash  # the rest as it was
    assert "from `stackpress tune`" in path.read_text()
    text = set_regulator_keys('name = "x"\n[engine]\nperiod = "1 s"\n', {"kp": "0.3"})
    assert text.endswith("[regulator]\nkp = 0.3\n")


def test_a_bench_without_a_regulated_fixture_is_refused():
    with tempfile.TemporaryDirectory() as folder, pytest.raises(TuneRefused, match="not regulated"):
        autotune(load_bench("sim-rigid"), 10e6, out=Path(folder) / "t.sqlite")


def test_a_tuning_run_can_be_cancelled():
    ticks = []
    result = autotune(load_bench("sim-hydraulic"), 10e6, cancel=lambda: ticks.append(1) or len(ticks) > 5)
    assert not result.ok and "cancelled" in result.message and result.gains is None
