"""The plan `stackpress check-protocol` prints: steps flattened with their repeat counts, and the duration estimate."""

from __future__ import annotations

import pytest

from stackpress.cli import main
from stackpress.protocols.load import parse_protocol_text
from stackpress.protocols.plan import HOLD_ESTIMATE, plan

CAPACITY = 3.6 * 3.0  # 3 mAh in C
AREA = 1e-4  # 1 cm2


def protocol_of(*blocks: str):
    body = "".join(f"[[block]]\n{block}\n" for block in blocks)
    return parse_protocol_text(f'[limits]\nvoltage = ["2.5 V", "4.3 V"]\n{body}', "p.toml")


def estimate(*blocks: str) -> float:
    return plan(protocol_of(*blocks), capacity=CAPACITY, area=AREA, safe_preload=5e6).total


@pytest.mark.parametrize(
    ("steps", "seconds"),
    [
        ('"Rest for 10 minutes"', 600.0),
        ('"Charge at C/3 until 4.2 V"', 3 * 3600.0),  # the nominal capacity at C/3
        ('"Charge at 1 mA until 4.2 V"', 3 * 3600.0),  # 3 mAh at 1 mA
        ('"Discharge at C/3 for 1 hour or until 2.5 V"', 3600.0),  # the time limit comes first
        ('"Charge at C/10 until 1 mAh"', 12000.0),  # 1 mAh at 0.3 mA: 3.33 h
        ('"Hold at 4.2 V until C/20"', HOLD_ESTIMATE),
        ('"Hold at 4.2 V for 10 minutes or until C/20"', 600.0),
        ('"Charge at C/2 until 4.2 V and hold until C/20"', 2 * 3600.0 + HOLD_ESTIMATE),
        ('"Discharge at 3.4 mW until 2.5 V"', 3.6 * 3.0 * 3.4 / 3.4e-3),  # 3 mAh x 3.4 V (the middle) / 3.4 mW
        ('"Discharge pulses at C/10 for 1 hour with 2 hours rests until 2.5 V"', 10 * 3 * 3600.0),
        ('"Hold pressure at 10 MPa", "Ramp pressure to 20 MPa at 2 MPa/min"', 300.0),
        ('"Ramp pressure to 20 MPa at 3 MPa/min"', 300.0),  # from the bench's 5 MPa safe preload
        ('"Hold pressure at 10 MPa", "Wait until pressure is stable within 0.1 MPa for 5 minutes or for 1 h"', 300.0),
        ('"Rest until dV/dt < 1 mV/h or for 4 hours"', 4 * 3600.0),
        ('"Hold pressure at 10 MPa", "Release pressure"', 0.0),
    ],
)
def test_each_step_is_estimated_from_its_rates_capacities_and_times(steps: str, seconds: float) -> None:
    assert estimate(f"steps = [{steps}]") == pytest.approx(seconds, rel=1e-3)


def test_repeats_multiply_through_nested_blocks_and_until_makes_it_an_upper_bound() -> None:
    nested = ('repeat = 3\nuntil = "discharge capacity < 80 % of cycle 1"\n[[block.block]]\nsteps = ["Rest for 1 h"]\n'
              '[[block.block]]\nrepeat = 2\nsteps = ["Rest for 10 minutes"]')
    result = plan(protocol_of('steps = ["Rest for 1 min"]', nested), capacity=CAPACITY, area=AREA, safe_preload=5e6)
    assert result.total == pytest.approx(60 + 3 * (3600 + 2 * 600))
    assert result.bounded
    assert [(line.depth, line.text, line.repeat) for line in result.lines] == [
        (0, "block 1", 1),
        (1, "Rest for 1 min", 1),
        (0, "block 2, 3 times, until discharge capacity < 80 % of cycle 1", 3),
        (1, "block 2.1", 3),
        (2, "Rest for 1 h", 3),
        (1, "block 2.2, 2 times", 6),
        (2, "Rest for 10 minutes", 6),
    ]
    assert "estimated duration: at most 4.02 h" in result.render()  # 14 460 s


def test_check_protocol_prints_the_plan_of_a_protocol_the_bench_accepts(capsys) -> None:
    assert main(["check-protocol", "demo", "--bench", "sim-hydraulic"]) == 0
    out = capsys.readouterr().out
    assert "protocol 'demo' (bundled:demo) on bench 'sim-hydraulic': checked, no problems" in out
    assert "block 3 (cycling), 5 times" in out
    assert "Charge at C/3 until 4.2 V" in out and "x5" in out
    assert "estimated duration: 58.2 h" in out


def test_check_protocol_lists_every_problem_with_file_line_block_and_step(tmp_path, capsys) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[limits]\nvoltage = ["2.5 V", "4.3 V"]\n[[block]]\n'
                    'steps = ["Charge at 20 mA until 4.2 V", "Rest until dV/dt < 1 mV/h"]\n', encoding="utf-8")
    assert main(["check-protocol", str(path), "--bench", "sim-hydraulic"]) == 2
    err = capsys.readouterr().err
    where = 'bad.toml, block 1, step 2 ("Rest until dV/dt < 1 mV/h") at line 4'
    assert f"{where}: it ends only on what the bench does" in err
    path.write_text('[limits]\nvoltage = ["2.5 V", "4.3 V"]\n[[block]]\nsteps = ["Charge at 20 mA until 4.2 V"]\n',
                    encoding="utf-8")
    assert main(["check-protocol", str(path), "--bench", "sim-hydraulic"]) == 2
    where = 'bad.toml, block 1, step 1 ("Charge at 20 mA until 4.2 V") at line 4'
    assert f"{where}: drives 0.02 A, above the cycler's maximum" in capsys.readouterr().err
