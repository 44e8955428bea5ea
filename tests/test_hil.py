"""Hardware in the loop: a protocol run through the real drivers, over real sockets, against the served simulator."""

import math

import pytest

from stackpress.bench import BenchError, load_bench
from stackpress.cli import main
from stackpress.protocols.load import parse_protocol_text
from stackpress.session import Session
from stackpress.sims.servers import serve

SPEED = 60.0  # simulated seconds per wall second: 5.5 simulated minutes in about 6 s
PROTOCOL = """
name = "hil"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 30 seconds", "Charge at C/3 for 5 minutes", "Rest for 10 seconds"]
"""


@pytest.fixture
def served(tmp_path):
    with serve(load_bench("sim-hydraulic").tables, speed=SPEED, ports={"scpi": 0, "modbus": 0}) as handle:
        yield handle, handle.write_bench(tmp_path / "wire.toml")  # the handle stays up for the test


def test_a_protocol_runs_through_the_real_drivers_against_the_served_simulator(tmp_path, served):
    _, bench_file = served
    bench = load_bench(bench_file)
    assert not bench.simulated and bench.clock_speed == SPEED
    samples = []
    session = Session(parse_protocol_text(PROTOCOL, "hil.toml"), bench, tmp_path / "run.sqlite",
                      on_sample=[samples.append])
    assert session.run() == "finished"
    held = [s.pressure for s in samples if s.step >= 3]
    rms = math.sqrt(sum((p - 10e6) ** 2 for p in held) / len(held))
    assert rms < 0.02 * 10e6
    c3 = bench.capacity / 3 / 3600  # A
    charged = max(s.charge for s in samples)  # the driver integrates the SMU's current readings
    assert charged == pytest.approx(c3 * 300, rel=0.03)
    thickness = [s.thickness for s in samples if math.isfinite(s.thickness)]
    assert max(thickness) > min(thickness)  # the gap register reports the swelling

    # The same protocol on the same bench in-process, in virtual time: the same cell behaviour.
    local = []
    Session(parse_protocol_text(PROTOCOL, "hil.toml"), load_bench("sim-hydraulic"), tmp_path / "local.sqlite",
            on_sample=[local.append]).run()
    assert max(s.charge for s in local) == pytest.approx(charged, rel=0.03)
    assert samples[-1].voltage == pytest.approx(local[-1].voltage, abs=0.02)  # after the rest
    assert max(thickness) - min(thickness) == pytest.approx(
        max(s.thickness for s in local) - min(s.thickness for s in local), rel=0.1
    )


def test_check_identifies_every_served_instrument(served, capsys):
    _, bench_file = served
    assert main(["check", str(bench_file)]) == 0
    out = capsys.readouterr().out
    for role in ("cycler", "load_cell", "actuator"):
        assert role in out


def test_a_real_bench_may_not_carry_simulator_sections(tmp_path, served):
    _, bench_file = served
    text = bench_file.read_text() + '\n[fixture]\nkind = "hydraulic"\n'
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text)
    with pytest.raises(BenchError, match=r"\[fixture\] describes a simulated bench"):
        load_bench(wrong)


def test_a_silent_modbus_server_mid_run_pauses_safely_and_the_run_resumes(tmp_path, served):
    handle, bench_file = served
    protocol = parse_protocol_text(PROTOCOL.replace('voltage = ["2.5 V", "4.3 V"]',
                                                    'voltage = ["2.5 V", "4.3 V"]\nresume = "auto"'), "hil.toml")
    samples, events, silenced = [], [], []

    def silence_once(sample):  # 1 s of wall time (a minute of the served world) without Modbus replies
        if sample.step == 3 and not silenced:
            silenced.append(sample.t)
            handle.inject("modbus", "silent", duration=1.0)

    session = Session(protocol, load_bench(bench_file), tmp_path / "run.sqlite",
                      on_sample=[samples.append, silence_once], on_event=[events.append])
    assert session.run() == "finished"  # no hung engine
    kinds = [e.kind for e in events]
    assert "pause" in kinds and "resume" in kinds
    pause = next(e for e in events if e.kind == "pause")
    assert any("127.0.0.1" in str(v) or "modbus" in str(v).lower() for v in (pause.message, pause.data))
    times = [s.t for s in samples]
    assert times == sorted(times)  # no sample invented or lost out of order
    paused = [s for s in samples if s.state == "paused"]
    assert paused and all(s.current == 0.0 or math.isnan(s.current) for s in paused[1:])  # the cycler rests
