import dataclasses
import math

import pandas as pd
import pytest

from stackpress.data import CYCLE_COLUMNS, cycle_table, pressure_tracking
from tests.data.fakes import make_sample

# Decimated samples of three cycles, as the recorder keeps them: a step's first sample carries the
# charge counter at the step boundary. 3.6 C = 1 mAh.
#      t      cycle step charge/C  pressure/MPa thickness/um
ROWS = [
    (0.0,     1,    1,   0.00,     10.0,        50.0),  # charge
    (1800.0,  1,    1,   1.80,     10.0,        55.0),
    (3600.0,  1,    2,   3.60,     12.0,        60.0),  # rest
    (4200.0,  1,    3,   3.60,     12.0,        60.0),  # discharge
    (7440.0,  1,    3,   0.36,     10.0,        51.0),
    (7500.0,  2,    4,   0.36,     10.0,        51.0),  # charge: step 3 passed -3.24 C = 0.9 mAh
    (11100.0, 2,    5,   3.96,     13.0,        62.0),  # discharge: step 4 passed +3.6 C
    (14520.0, 2,    5,   0.54,     10.0,        50.0),
    (14600.0, 3,    6,   0.54,     10.0,        50.0),  # charge: step 5 passed -3.42 C = 0.95 mAh
    (16400.0, 3,    6,   2.34,     11.0,        56.0),  # run ends mid-charge: +1.8 C
]  # fmt: skip


def frame(rows):
    samples = [
        make_sample(t=t, cycle=c, step=s, charge=q, pressure=p * 1e6, thickness=d * 1e-6)
        for t, c, s, q, p, d in rows
    ]
    return pd.DataFrame([dataclasses.asdict(s) for s in samples])


def test_cycle_table_from_the_charge_counter_by_step():
    table = cycle_table(frame(ROWS))
    assert tuple(table.columns) == CYCLE_COLUMNS
    assert table["cycle"].tolist() == [1, 2, 3]
    assert table["charge_capacity_Ah"].tolist() == pytest.approx([1e-3, 1e-3, 0.5e-3])
    assert table["discharge_capacity_Ah"].tolist() == pytest.approx([0.9e-3, 0.95e-3, 0.0])
    assert table["coulombic_efficiency"].iloc[:2].tolist() == pytest.approx([0.9, 0.95])
    assert math.isnan(table["coulombic_efficiency"].iloc[2])  # no discharge yet
    assert table["duration_h"].tolist() == pytest.approx([7500 / 3600, 7100 / 3600, 1800 / 3600])


def test_pressure_mean_weights_each_sample_by_how_long_it_stood():
    table = cycle_table(frame(ROWS))
    # Cycle 1: 10 MPa for 3600 s, 12 MPa for 3840 s, 10 MPa for the last 60 s before cycle 2.
    # Cycle 3: its last sample stood for no time.
    expected = [(10 * 3600 + 12 * 3840 + 10 * 60) / 7500, (10 * 3600 + 13 * 3420 + 10 * 80) / 7100, 10.0]
    assert table["pressure_mean_MPa"].tolist() == pytest.approx(expected)
    assert table["pressure_min_MPa"].tolist() == pytest.approx([10.0, 10.0, 10.0])
    assert table["pressure_max_MPa"].tolist() == pytest.approx([12.0, 13.0, 11.0])


def test_thickness_extremes_and_swing_per_cycle():
    table = cycle_table(frame(ROWS))
    assert table["thickness_min_um"].tolist() == pytest.approx([50.0, 50.0, 50.0])
    assert table["thickness_max_um"].tolist() == pytest.approx([60.0, 62.0, 56.0])
    assert table["thickness_swing_um"].tolist() == pytest.approx([10.0, 12.0, 6.0])


def test_capacities_do_not_depend_on_how_densely_a_step_was_sampled():
    sparse = cycle_table(frame(ROWS))
    dense_rows = sorted(ROWS + [(900.0 * k, 1, 1, 0.45 * k, 10.0, 50.0) for k in (1, 3)])
    dense = cycle_table(frame(dense_rows))
    assert dense["charge_capacity_Ah"].tolist() == pytest.approx(sparse["charge_capacity_Ah"].tolist())
    assert dense["discharge_capacity_Ah"].tolist() == pytest.approx(sparse["discharge_capacity_Ah"].tolist())


def test_an_empty_run_has_an_empty_table_with_the_columns():
    table = cycle_table(frame(ROWS).iloc[:0])
    assert table.empty and tuple(table.columns) == CYCLE_COLUMNS


def test_pressure_tracking_counts_only_held_samples_time_weighted():
    samples = frame(ROWS[:5])
    samples["setpoint"] = [math.nan, 10e6, 12e6, 12e6, 12e6]
    mean, rms = pressure_tracking(samples)
    # Held from t=1800: 10 MPa (set 10) for 1800 s, 12 (set 12) for 3840 s, then the last sample stands 0 s.
    assert mean == pytest.approx((10e6 * 1800 + 12e6 * 3840) / 5640)
    assert rms == pytest.approx(0.0)
    samples["setpoint"] = 11e6
    assert pressure_tracking(samples)[1] == pytest.approx(1e6)
