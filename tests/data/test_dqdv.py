import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from stackpress.data import DQDV_COLUMNS, dqdv, read_run
from stackpress.data.incremental_capacity import bin_charge
from tests.data.fakes import CYCLER_FIELDS, make_sample, record_run, with_pause

PLATEAU_V, PLATEAU_WIDTH = 3.40, 0.01  # V: a logistic step in Q(V), i.e. a voltage plateau in V(Q)
TOTAL_C = 3.6  # 1 mAh
LINEAR_SHARE = 0.5  # half the capacity spread evenly over 3.0-3.8 V, half in the plateau
V_LOW, V_HIGH = 3.0, 3.8


def q_of_v(v):
    """Charge at voltage v, C: the linear part plus the plateau."""
    sigmoid = 1.0 / (1.0 + np.exp(-(v - PLATEAU_V) / PLATEAU_WIDTH))
    return TOTAL_C * (LINEAR_SHARE * (v - V_LOW) / (V_HIGH - V_LOW) + (1 - LINEAR_SHARE) * sigmoid)


def plateau_samples(tick=2.0):
    """Ticks of a 1 mA charge through the plateau, a rest, and the same discharge back (no hysteresis)."""
    grid = np.linspace(V_LOW, V_HIGH, 80_001)
    q_grid = q_of_v(grid) - q_of_v(V_LOW)
    top = q_grid[-1]

    def volts(q):
        return float(np.interp(q, q_grid, grid))

    samples, t, q = [], 0.0, 0.0
    for step, current, until in ((1, 1e-3, top), (2, 0.0, None), (3, -1e-3, 0.0)):
        ticks = 30 if until is None else math.ceil(abs(until - q) / (abs(current) * tick))
        for _ in range(ticks):
            samples.append(make_sample(t=t, voltage=volts(q), current=current, charge=q, step=step, cycle=1))
            t += tick
            q = min(max(q + current * tick, 0.0), top)
    samples.append(make_sample(t=t, voltage=volts(q), current=0.0, charge=q, step=4, cycle=1))
    return samples, top


@pytest.fixture(scope="module")
def plateau_run(tmp_path_factory):
    """The plateau run as the recorder keeps it (every 10 s or 5 mV), read back."""
    samples, top = plateau_samples()
    path = record_run(tmp_path_factory.mktemp("dqdv") / "plateau.sqlite", samples)
    return read_run(path).samples, top


def test_a_voltage_plateau_is_a_peak_at_its_voltage(plateau_run):
    samples, top = plateau_run
    assert len(samples) < 1000  # decimated: the recorder kept a fraction of the 3 600 ticks
    curve = dqdv(samples, 1, "charge")
    assert tuple(curve.columns) == DQDV_COLUMNS
    peak = curve.loc[curve["dqdv_mAh_per_V"].idxmax()]
    assert abs(peak["voltage_V"] - PLATEAU_V) <= 0.005 + 1e-9  # within half a 10 mV bin
    # The bin's average of the true dQ/dV, (Q(high edge) - Q(low edge)) / 10 mV, in mAh/V (3.6 C = 1 mAh).
    low, high = peak["voltage_V"] - 0.005, peak["voltage_V"] + 0.005
    assert peak["dqdv_mAh_per_V"] == pytest.approx((q_of_v(high) - q_of_v(low)) / 3.6 / 0.01, rel=1e-3)
    # Away from the plateau only the linear part is left: 0.5 mAh over 0.8 V.
    flat = curve[(curve["voltage_V"] - 3.1).abs() < 0.06]
    assert flat["dqdv_mAh_per_V"].to_numpy() == pytest.approx(0.5 / 0.8, rel=0.05)
    # The curve integrates to the half-cycle's capacity exactly.
    assert curve["dqdv_mAh_per_V"].sum() * 0.01 == pytest.approx(top / 3.6, rel=1e-9)


def test_discharge_peaks_below_zero_at_the_same_plateau(plateau_run):
    samples, top = plateau_run
    curve = dqdv(samples, 1, "discharge")
    peak = curve.loc[curve["dqdv_mAh_per_V"].idxmin()]
    assert abs(peak["voltage_V"] - PLATEAU_V) <= 0.005 + 1e-9
    assert (curve["dqdv_mAh_per_V"] <= 0).all()
    assert -curve["dqdv_mAh_per_V"].sum() * 0.01 == pytest.approx(top / 3.6, rel=1e-9)


def test_a_wider_bin_keeps_the_peak_and_the_capacity(plateau_run):
    samples, top = plateau_run
    curve = dqdv(samples, 1, "charge", bin_width=0.02)
    assert abs(curve.loc[curve["dqdv_mAh_per_V"].idxmax(), "voltage_V"] - PLATEAU_V) <= 0.01 + 1e-9
    assert curve["dqdv_mAh_per_V"].sum() * 0.02 == pytest.approx(top / 3.6, rel=1e-9)
    assert (np.diff(curve["voltage_V"]) == pytest.approx(0.02)) and len(curve) > 30


def test_paused_rows_do_not_change_dqdv():
    samples, _ = plateau_samples(tick=10.0)
    clean = pd.DataFrame([dataclasses.asdict(s) for s in samples])
    paused = pd.DataFrame([dataclasses.asdict(s) for s in with_pause(samples, 1000.0, 1300.0, CYCLER_FIELDS)])
    for direction in ("charge", "discharge"):
        pd.testing.assert_frame_equal(dqdv(paused, 1, direction), dqdv(clean, 1, direction))


def cccv_frame():
    """A CC charge (V linear 3.5 -> 4.2 V over 3.6 C) and a CV hold at 4.2 V passing 0.4 C more."""
    rows = [(0.0, 1, 0.0, 3.5, 1.0), (1800.0, 1, 1.8, 3.85, 1.0), (3599.0, 1, 3.6, 4.2, 1.0),
            (3600.0, 2, 3.6, 4.2, 0.9), (3900.0, 2, 3.8, 4.2, 0.4), (4800.0, 2, 4.0, 4.2, 0.05),
            (4801.0, 3, 4.0, 4.1, 0.0)]  # fmt: skip
    samples = [make_sample(t=t, step=s, charge=q, voltage=v, current=i * 1e-3) for t, s, q, v, i in rows]
    return pd.DataFrame([dataclasses.asdict(s) for s in samples])


def test_a_constant_voltage_hold_is_left_out_unless_asked_for():
    samples = cccv_frame()
    cc = dqdv(samples, 1, "charge")
    assert cc["dqdv_mAh_per_V"].sum() * 0.01 == pytest.approx(1.0)  # the CC part: 1 mAh
    assert cc["dqdv_mAh_per_V"].to_numpy() == pytest.approx(1.0 / 0.7, rel=1e-9)  # 1 mAh evenly over 0.7 V
    everything = dqdv(samples, 1, "charge", constant_current_only=False)
    assert everything["dqdv_mAh_per_V"].sum() * 0.01 == pytest.approx(4.0 / 3.6)
    spike = everything.loc[everything["dqdv_mAh_per_V"].idxmax()]
    assert spike["voltage_V"] == pytest.approx(4.2, abs=0.0051)


def test_no_charge_in_that_direction_is_an_empty_frame_and_bad_arguments_are_refused():
    samples = cccv_frame()
    empty = dqdv(samples, 1, "discharge")
    assert empty.empty and tuple(empty.columns) == DQDV_COLUMNS
    assert dqdv(samples, 7, "charge").empty
    with pytest.raises(ValueError, match="direction"):
        dqdv(samples, 1, "up")
    with pytest.raises(ValueError, match="bin_width"):
        dqdv(samples, 1, "charge", bin_width=0.0)


def test_bin_charge_spreads_each_segment_over_the_bins_it_crosses():
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    # 3 C from 0.5 to 2.0 V (1 C per 0.5 V), going down from 2.0 to 0.5 V alike; 2 C at exactly 2.5 V.
    binned = bin_charge(np.array([0.5, 2.0, 2.5]), np.array([2.0, 0.5, 2.5]), np.array([3.0, 3.0, 2.0]), edges)
    assert binned.tolist() == pytest.approx([2.0, 4.0, 2.0])
