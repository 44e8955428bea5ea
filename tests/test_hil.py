"""Hardware in the loop: a protocol run through the real drivers, over real sockets, against the served simulator."""

import math

import pytest

from stackpress.bench import BenchError, load_bench
from stackpress.cli import main
from stackpress.clock import WallClock
from stackpress.data.runfile import read_run
from stackpress.protocols.load import parse_protocol_text
from stackpress.session import Session
from stackpress.sims.servers import SimServerProcess, serve

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
    with serve(load_bench("sim-hydraulic"), speed=SPEED, ports={"scpi": 0, "modbus": 0}) as handle:
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


def test_stackpress_run_with_the_written_bench_goes_through_the_real_drivers(tmp_path, served, capsys):
    _, bench_file = served
    protocol = tmp_path / "hil.toml"
    protocol.write_text(PROTOCOL.replace("for 5 minutes", "for 2 minutes"))
    out = tmp_path / "run.sqlite"
    assert main(["run", str(protocol), "--bench", str(bench_file), "--out", str(out)]) == 0
    assert f"run finished: {out}" in capsys.readouterr().out
    samples = read_run(out).samples
    c3 = load_bench(bench_file).capacity / 3 / 3600  # A
    assert samples["charge"].max() == pytest.approx(c3 * 120, rel=0.05)  # the SMU's current, integrated


def test_a_real_bench_may_not_carry_simulator_sections(tmp_path, served):
    _, bench_file = served
    text = bench_file.read_text() + '\n[fixture]\nkind = "hydraulic"\n'
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text)
    with pytest.raises(BenchError, match=r"\[fixture\] describes a simulated bench"):
        load_bench(wrong)


class TickCounter(WallClock):
    """The wall clock at the served world's speed, counting the engine's ticks (it waits once per tick)."""

    def __init__(self, speed: float) -> None:
        super().__init__(speed)
        self.ticks = 0

    def sleep_until(self, t: float) -> None:
        self.ticks += 1
        super().sleep_until(t)


@pytest.mark.parametrize(
    ("target", "kind", "links", "pauses"),
    [
        ("modbus", "silent", ("force_sensor", "actuator"), True),  # 1 s of wall time, a minute of the world
        ("scpi", "silent", ("cycler",), True),
        ("modbus", "drop", ("force_sensor", "actuator"), False),  # connections closed under the drivers
        ("scpi", "drop", ("cycler",), False),
    ],
)
def test_wire_faults_mid_run_end_in_a_reconnection_or_a_safe_pause_never_a_hang_or_a_lost_sample(
    tmp_path, served, target, kind, links, pauses
):
    handle, bench_file = served
    protocol = parse_protocol_text(
        PROTOCOL.replace('voltage = ["2.5 V", "4.3 V"]', 'voltage = ["2.5 V", "4.3 V"]\nresume = "auto"')
        .replace("for 5 minutes", "for 2 minutes"),
        "hil.toml",
    )
    samples, events, faulted = [], [], []

    def fault_once(sample):
        if sample.step == 3 and not faulted:
            faulted.append(sample.t)
            handle.inject(target, kind, duration=1.0)

    clock = TickCounter(SPEED)
    session = Session(protocol, load_bench(bench_file), tmp_path / "run.sqlite", clock=clock,
                      on_sample=[samples.append, fault_once], on_event=[events.append])
    assert session.run() == "finished"  # no hung engine
    assert len(samples) == clock.ticks  # every tick published its sample, through the fault too
    times = [s.t for s in samples]
    assert times == sorted(times)
    kinds = [e.kind for e in events]
    if pauses:  # the safe state: the cycler rests and the actuator holds until every instrument answers again
        assert "pause" in kinds and "resume" in kinds
        pause = next(e for e in events if e.kind == "pause")
        assert "127.0.0.1" in str(pause.data) or "127.0.0.1" in pause.message  # the error names the resource
        paused = [s for s in samples if s.state == "paused"]
        assert paused and all(s.current == 0.0 or math.isnan(s.current) for s in paused[1:])
    else:  # the drivers reconnect within the tick: the run never notices
        assert "pause" not in kinds and "fault" not in kinds
        assert all(getattr(session.engine, name).link.reconnects >= 1 for name in links)


def test_serve_sim_in_a_process_of_its_own_says_ready_through_a_pipe(tmp_path, monkeypatch):
    # Without PYTHONUNBUFFERED a pipe is block-buffered: serve-sim's lines once never reached a parent waiting
    # for them. They are flushed as they are printed now, the last one once the bench file is written whole.
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    with SimServerProcess("sim-hydraulic", tmp_path / "wire.toml", speed=SPEED, timeout=20) as served:
        assert any("modbus-tcp://127.0.0.1:" in line for line in served.output)
        assert load_bench(served.bench_file).clock_speed == SPEED
        assert main(["check", str(served.bench_file)]) == 0
    assert served.output[-1] == "stopping"  # SIGTERM closed the servers instead of killing them
