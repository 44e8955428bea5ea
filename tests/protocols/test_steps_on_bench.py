"""The newer steps on the simulated bench: a Session (engine, regulator, the Si cell's physics, recorder) in
virtual time, so what a step asks of the bench, what its recording keeps in the run file and when it ends can
be seen on real (simulated) physics.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from pathlib import Path

import pytest

from stackpress.bench import load_bench
from stackpress.data import read_run
from stackpress.protocols.load import parse_protocol_text
from stackpress.session import Session

LIMITS = '[limits]\nvoltage = ["2.5 V", "4.3 V"]\n'


@dataclasses.dataclass
class Run:
    state: str
    samples: list  # every tick's Sample
    recorded: list  # the run file's rows (namedtuples with the Sample's fields)
    events: list

    def steps(self):
        return [(e.t, e.message) for e in self.events if e.kind == "step"]

    def during(self, text):
        """The samples of the (first) step whose text is `text`."""
        number = next(e.data["step"] for e in self.events if e.kind == "step" and e.message == text)
        return [s for s in self.samples if s.step == number]


def run(*blocks: str, bench: str = "sim-hydraulic", period: str = "10 s") -> Run:
    body = "".join(f"[[block]]\n{block}\n" for block in blocks)
    protocol = parse_protocol_text(f"{LIMITS}{body}", "t.toml")
    changed = load_bench(bench).changed({"engine": {"period": period, "sim_step": period}}, source=f"{bench}, {period}")
    samples, events = [], []
    with tempfile.TemporaryDirectory(prefix="stackpress-steps-") as folder:
        out = Path(folder) / "run.sqlite"
        state = Session(protocol, changed, out, on_sample=[samples.append], on_event=[events.append]).run()
        recorded = list(read_run(out).samples.itertuples(index=False))
    return Run(state, samples, recorded, events)


@pytest.fixture(scope="module")
def pressure_steps() -> Run:
    return run('steps = ["Hold pressure at 10 MPa", "Rest for 10 minutes", "Ramp pressure to 20 MPa at 2 MPa/min", '
               '"Wait until pressure is stable within 0.1 MPa for 5 minutes or for 1 hour", '
               '"Release pressure", "Wait until pressure is stable within 0.1 MPa for 5 minutes or for 1 hour"]')


def test_a_ramp_moves_the_measured_pressure_at_its_rate(pressure_steps: Run) -> None:
    assert pressure_steps.state == "finished"
    ramp = pressure_steps.during("Ramp pressure to 20 MPa at 2 MPa/min")
    assert ramp[-1].t - ramp[0].t == pytest.approx(300.0, abs=20.0)  # 10 MPa at 2 MPa/min
    middle = [s for s in ramp if 60 <= s.t - ramp[0].t <= 240]
    rate = (middle[-1].pressure - middle[0].pressure) / (middle[-1].t - middle[0].t)
    assert rate == pytest.approx(2e6 / 60, rel=0.1)
    assert all(s.current == 0.0 for s in ramp)  # the cycler rests meanwhile


def test_a_wait_ends_once_the_pressure_has_stayed_in_its_band(pressure_steps: Run) -> None:
    wait = pressure_steps.during("Wait until pressure is stable within 0.1 MPa for 5 minutes or for 1 hour")
    tail = [s for s in wait if s.t >= wait[-1].t - 300]
    assert all(abs(s.pressure - 20e6) <= 0.1e6 for s in tail)
    assert wait[-1].t - wait[0].t < 3600  # settled well before the time limit
    assert not [e for e in pressure_steps.events if e.kind == "warning"]


def test_release_brings_the_pressure_to_the_benchs_safe_preload(pressure_steps: Run) -> None:
    assert pressure_steps.samples[-1].setpoint == 5e6
    assert pressure_steps.samples[-1].pressure == pytest.approx(5e6, abs=0.1e6)


def test_cccv_power_relaxation_and_gitt_on_the_si_cell() -> None:
    result = run('steps = ["Hold pressure at 10 MPa"]',
                 'steps = ["Charge at C/3 until 4.2 V and hold until C/20", '
                 '"Rest until dV/dt < 2 mV/h or for 3 hours", "Discharge at 1 mW/cm2 until 3.6 V", '
                 '"Discharge pulses at C/10 for 20 minutes with 30 minutes rests until 3.0 V"]')
    assert result.state == "finished"
    cccv = result.during("Charge at C/3 until 4.2 V and hold until C/20")
    held = [s for s in cccv if s.voltage > 4.19]
    assert held and cccv[-1].current < 2.355e-3 / 20 * 1.01  # tapered to C/20 at 4.2 V
    assert max(s.voltage for s in cccv) < 4.2 + 2e-3
    relax = result.during("Rest until dV/dt < 2 mV/h or for 3 hours")
    assert relax[-1].t - relax[0].t < 3 * 3600 - 60  # relaxed before the time limit
    power = result.during("Discharge at 1 mW/cm2 until 3.6 V")
    assert all(-s.current * s.voltage == pytest.approx(0.785e-4 * 10, rel=0.02) for s in power[2:-1])
    gitt = result.during("Discharge pulses at C/10 for 20 minutes with 30 minutes rests until 3.0 V")
    pulses = [e for e in result.events if e.kind == "phase" and e.message.endswith(": pulse")]
    assert len(pulses) >= 2 and min(s.voltage for s in gitt) >= 3.0 - 2e-3


def test_the_run_file_gets_the_samples_the_steps_recording_keeps() -> None:
    result = run('record = "every 5 min"\nsteps = ["Hold pressure at 10 MPa", "Rest for 30 minutes", '
                 '"Charge at C/3 for 30 minutes; record every 30 s or 2 mV"]')
    rest = [s for s in result.recorded if s.step == 2]
    charge = [s for s in result.recorded if s.step == 3]
    # the rest: its first sample, then every 5 minutes, and the sample it ended on
    assert [round(s.t - rest[0].t) for s in rest] == [0, 300, 600, 900, 1200, 1500, 1800]
    gaps = [b.t - a.t for a, b in itertools.pairwise(charge)]
    assert max(gaps) <= 30.0 and min(gaps) >= 10.0
    assert len(result.samples) > len(result.recorded) > 0  # the live view gets every tick
