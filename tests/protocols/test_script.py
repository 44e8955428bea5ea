"""Python-script protocols: a file the user names whose protocol(run) yields steps, deciding on data measured so far."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackpress.cli import main
from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.load import check_against_bench, load_protocol
from stackpress.protocols.runner import Runner
from tests.control.protocols import ToyCell, drive

CAPACITY = 3600 * 2.4e-3
AREA = 0.785e-4

FADE_CHECK = '''\
"""Cycle until the discharge capacity of a cycle falls below 99.9 % of cycle 1, then one slow cycle."""
NAME = "fade-check"
LIMITS = {"voltage": ["2.5 V", "4.3 V"]}


def protocol(run):
    yield "Hold pressure at 10 MPa"
    while run.cycle < 20:
        yield "Charge at C/2 until 4.1 V"
        yield "Discharge at C/2 until 3.1 V"
        if run.discharge_capacity(run.cycle) < 0.999 * run.discharge_capacity(1):
            break
    yield "Charge at C/20 for 10 minutes"
'''


def script(tmp_path: Path, text: str, name: str = "fade_check.py") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make(protocol, events):
    return Runner(protocol, capacity=CAPACITY, area=AREA, current_limit=5e-3, on_event=events.append)


class FadingCell(ToyCell):
    """Loses 0.1 % of its capacity per cycle's worth of discharge, from the third discharge on."""

    discharges = 0

    def apply(self, commands):
        for command in commands:
            if getattr(command, "current", 0.0) < 0:
                self.discharges += 1
                if self.discharges >= 3:
                    self.capacity *= 0.995
        super().apply(commands)


def test_a_script_runs_its_steps_and_decides_on_the_capacities_measured_so_far(tmp_path: Path) -> None:
    protocol = load_protocol(script(tmp_path, FADE_CHECK))
    assert (protocol.name, protocol.text) == ("fade-check", FADE_CHECK)
    check_against_bench(protocol, capacity=CAPACITY, area=AREA, max_pressure=50e6, max_current=10e-3)
    events = []
    runner = make(protocol, events)
    drive(runner, FadingCell(CAPACITY))
    steps = [e for e in events if e.kind == "step"]
    assert steps[-1].message == "Charge at C/20 for 10 minutes"
    discharged = {cycle: totals[1] for cycle, totals in runner.cycle_capacities.items()}
    last = runner.cycle_count - 1  # the slow charge after the loop starts one more cycle
    assert 2 < last < 20
    assert discharged[last] < 0.999 * discharged[1] <= min(discharged[c] for c in range(1, last))
    assert (steps[1].data["where"], steps[1].data["line"]) == ("fade_check.py, step 2", 9)  # the yield's line


def test_a_script_step_outside_the_limits_ends_the_run_naming_its_line(tmp_path: Path) -> None:
    text = FADE_CHECK.replace('yield "Hold pressure at 10 MPa"', 'yield "Hold pressure at 60 MPa"')
    runner = make(load_protocol(script(tmp_path, text)), [])
    with pytest.raises(ProtocolError, match=r'fade_check.py, step 1 \("Hold pressure at 60 MPa"\) at line 7: 60 MPa '
                                            "is outside the pressure window"):
        runner.start(0.0)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("LIMITS = {'voltage': ['2.5 V', '4.3 V']}\n", "needs a generator function protocol(run)"),
        ("def protocol(run):\n    yield 'Rest for 1 h'\n", "needs LIMITS = "),
        ("LIMITS = {'voltage': ['2.5 V']}\ndef protocol(run):\n    yield 'Rest for 1 h'\n",
         "voltage must be a pair [min, max]"),
        ("LIMITS = {}\n1 / 0\n", "line 2: importing the script failed: ZeroDivisionError"),
    ],
)
def test_a_bad_script_is_refused_before_anything_moves(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        load_protocol(script(tmp_path, text, "bad.py"))
    assert any(message.startswith("bad.py") and problem in message for message in caught.value.problems), \
        caught.value.problems


def test_a_script_cannot_be_restored_after_a_crash(tmp_path: Path) -> None:
    protocol = load_protocol(script(tmp_path, FADE_CHECK))
    runner = make(protocol, [])
    runner.start(0.0)
    with pytest.raises(ValueError, match="a script protocol cannot be restored"):
        Runner.restore(protocol, runner.position(), 10.0, capacity=CAPACITY, area=AREA, current_limit=5e-3,
                       on_event=lambda e: None)


def test_a_script_runs_on_the_simulated_bench_from_the_command_line(tmp_path: Path, capsys) -> None:
    text = FADE_CHECK.replace("run.cycle < 20", "run.cycle < 2").replace("C/2", "C/3")
    path = script(tmp_path, text.replace("until 3.1 V", "until 2.5 V").replace("until 4.1 V", "until 4.2 V"))
    assert main(["check-protocol", str(path)]) == 0
    assert "a script decides its steps as it runs" in capsys.readouterr().out
    assert main(["run", str(path), "--out", str(tmp_path / "run.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "run finished" in out
