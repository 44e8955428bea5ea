"""`stackpress tune`: the identified loop and the proposed gains, a tuned copy of the bench, refusals."""

import pytest

from stackpress.bench import load_bench
from stackpress.cli import main


def test_tune_prints_the_loop_and_the_gains_and_writes_a_tuned_bench(tmp_path, capsys):
    written = tmp_path / "servo-tuned.toml"
    assert main(["tune", "--bench", "sim-servo", "--setpoint", "12 MPa", "--write", str(written)]) == 0
    out = capsys.readouterr().out
    for text in ("at 12 MPa", "ultimate gain", "ultimate period", "oscillation", "relay amplitude",
                 "Tyreus-Luyben", "proposed gains", f"wrote {written}"):
        assert text in out
    kp = float(out.split("proposed gains")[1].split("kp =")[1].split()[0])
    assert load_bench(written).gains.kp == pytest.approx(kp, rel=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--setpoint", "60 MPa"], "safe window"),
        (["--setpoint", "49.5 MPa"], "twice the relay"),
        (["--setpoint", "10 mm"], "--setpoint"),
        (["--bench", "sim-rigid"], "not regulated"),
    ],
)
def test_tune_refuses_what_it_must_not_do(args, message, capsys):
    assert main(["tune", *args]) == 2
    assert message in capsys.readouterr().err
