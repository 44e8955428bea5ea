"""The bundled protocols: each checks against every bundled bench and runs to its end as written."""

from __future__ import annotations

import pytest

from stackpress.bench import bundled_benches, load_bench
from stackpress.data.analysis import cycle_table
from stackpress.data.runfile import read_run
from stackpress.protocols.load import bundled_protocols, load_protocol
from stackpress.protocols.plan import plan
from stackpress.session import Session

EXPECTED = {"demo", "constant-pressure-cycling", "formation", "long-cycling", "rate-capability", "gitt",
            "pressure-window", "pressure-history"}


def coarse(name: str = "sim-hydraulic"):
    """A bundled bench at 30 s ticks (as the sweeps run), so that days of protocol take seconds."""
    # ki x period < 1 keeps the PI loop stable at this tick
    changes = {"engine": {"period": "30 s", "sim_step": "30 s"}, "regulator": {"ki": 0.02}}
    return load_bench(name).changed(changes, source=f"{name} (30 s ticks)")


def run(name: str, tmp_path):
    path = tmp_path / f"{name}.sqlite"
    state = Session(load_protocol(name), coarse(), path).run()
    recorded = read_run(path)
    return state, recorded, cycle_table(recorded.samples)


def test_every_bundled_protocol_is_there_and_fits_every_bundled_bench():
    assert set(bundled_protocols()) == EXPECTED
    for name in EXPECTED:
        protocol = load_protocol(name)
        for bench_name in bundled_benches():
            bench = load_bench(bench_name)
            bench.check_protocol(protocol)
        estimate = plan(protocol, capacity=bench.capacity, area=bench.area, safe_preload=bench.safe_preload)
        assert 0 < estimate.total < 400 * 86400, name


def test_formation_loses_lithium_in_its_first_cycle_and_little_in_its_second(tmp_path):
    state, _, table = run("formation", tmp_path)
    assert state == "finished" and len(table) == 2
    first, second = table["coulombic_efficiency"]
    assert first < 0.9 < second  # the SEI and the first lithiation of Si take their share once


def test_rate_capability_delivers_less_at_2c_and_recovers_at_c_10(tmp_path):
    state, _, table = run("rate-capability", tmp_path)
    assert state == "finished" and len(table) == 1 + 6 * 3
    discharge = table["discharge_capacity_Ah"].to_numpy()
    c10, c5, c2, one_c, two_c, again = (discharge[1 + 3 * i: 4 + 3 * i].mean() for i in range(6))
    assert c10 > c5 > c2 > one_c > two_c
    assert again > 0.95 * c10 > two_c


def test_gitt_titrates_in_pulses_each_followed_by_a_relaxation(tmp_path):
    state, recorded, _ = run("gitt", tmp_path)
    assert state == "finished"
    samples = recorded.samples
    gitt = samples[samples["step"] >= samples.loc[samples["current"].abs() > 0, "step"].max() - 1]
    on = (gitt["current"].abs() > 1e-6).astype(int)
    pulses = int((on.diff() == 1).sum())
    assert pulses >= 2 * 30  # C/10 for 15 min: ~40 pulses each way
    assert gitt["voltage"].max() <= 4.2 + 0.02 and gitt["voltage"].min() >= 2.5 - 0.02


@pytest.mark.parametrize(
    ("name", "pressures"),
    [("pressure-window", [10, 5, 5, 10, 10, 20, 20, 30, 30, 50, 50, 10, 10]),
     ("pressure-history", [10, 10, 10, 10, 50, 50, 50, 10, 10, 10, 5, 5, 5, 10, 10, 10])],
)
def test_the_pressure_studies_cycle_at_each_of_their_pressures(tmp_path, name, pressures):
    state, recorded, _ = run(name, tmp_path)
    assert state == "finished"
    held = recorded.samples.groupby("cycle")["pressure"].median() / 1e6  # a cycle's last rest holds the next ramp
    assert held.to_numpy() == pytest.approx(pressures, rel=0.02)
