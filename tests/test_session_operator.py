"""The operator's requests through a Session on a simulated bench, as the GUI makes them."""

from __future__ import annotations

import pytest

from stackpress.bench import load_bench
from stackpress.data.runfile import read_run
from stackpress.session import Session
from tests.helpers import c3_cycling


def test_a_jog_on_the_screw_moves_it_and_automatic_brings_the_pressure_back(tmp_path):
    session = None
    requests = {1000.0: lambda: session.jog(0.2e-6), 1600.0: lambda: session.automatic(),
                2200.0: lambda: session.abort("done")}

    ticks = {}

    def operator(sample):
        ticks[sample.t] = sample
        if sample.t in requests:
            requests[sample.t]()

    session = Session(c3_cycling(1), load_bench("sim-servo"), tmp_path / "run.sqlite", on_sample=[operator])
    unit, (low, high) = session.actuator_command
    assert unit == "m" and low < high
    assert session.run() == "aborted"
    run = read_run(tmp_path / "run.sqlite")
    before, jogged = ticks[1000.0], ticks[1500.0]
    assert jogged.actuator == pytest.approx(before.actuator + 0.2e-6, abs=1e-9)
    assert ticks[1200.0].actuator == jogged.actuator  # manual: held there while the cell swells
    assert ticks[2150.0].pressure == pytest.approx(10e6, rel=0.02)  # back at the setpoint
    operator_events = run.events[run.events["kind"] == "operator"]
    assert [d.get("request") for d in operator_events["data"]] == ["jog", "automatic", None]  # None: the abort
