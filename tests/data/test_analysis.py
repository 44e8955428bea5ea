import dataclasses
import math

import pandas as pd
import pytest

from stackpress.data import (
    CYCLE_COLUMNS,
    complete_cycles,
    cycle_table,
    default_reference_cycle,
    pressure_tracking,
    read_run,
)
from tests.data.fakes import CYCLER_FIELDS, cycling_samples, make_sample, record_run, with_pause

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


# --- energies, mean voltages, retention, swelling ---------------------------------------------------

# One cycle by hand, decimated as the recorder keeps it, every step ending on its last sample:
# CC charge with V linear in Q (3.5 -> 3.9 V over 3.6 C), a CV hold at 4.2 V whose current decays between
# sparse samples (0.12 C), a rest, a CC discharge with V linear in Q (3.95 -> 3.35 V over 3.24 C), a rest.
#         t       step  charge/C  V     I/mA
CYCLE = [
    (0.0,    1,    0.00,     3.50, 1.0),
    (1800.0, 1,    1.80,     3.70, 1.0),
    (3599.0, 1,    3.60,     3.90, 1.0),
    (3600.0, 2,    3.60,     4.20, 0.8),  # CV: the current is anything, the voltage is not
    (3700.0, 2,    3.65,     4.20, 0.3),
    (4000.0, 2,    3.72,     4.20, 0.05),
    (4001.0, 3,    3.72,     4.10, 0.0),
    (4600.0, 3,    3.72,     4.05, 0.0),
    (4601.0, 4,    3.72,     3.95, -1.0),
    (6221.0, 4,    2.10,     3.65, -1.0),
    (7841.0, 4,    0.48,     3.35, -1.0),
    (7842.0, 5,    0.48,     3.45, 0.0),
    (8441.0, 5,    0.48,     3.46, 0.0),
]  # fmt: skip
CHARGE_J = 3.6 * 3.7 + 0.12 * 4.2  # CC: mean of a linear V over its charge; CV: V x charge
DISCHARGE_J = 3.24 * 3.65


def voltage_frame(rows, cycle=1):
    samples = [make_sample(t=t, step=s, cycle=cycle, charge=q, voltage=v, current=i * 1e-3) for t, s, q, v, i in rows]
    return pd.DataFrame([dataclasses.asdict(s) for s in samples])


def test_energies_and_mean_voltages_are_exact_from_the_charge_counter():
    row = cycle_table(voltage_frame(CYCLE)).iloc[0]
    assert row["charge_capacity_Ah"] == pytest.approx(3.72 / 3600)
    assert row["discharge_capacity_Ah"] == pytest.approx(3.24 / 3600)
    assert row["charge_energy_Wh"] == pytest.approx(CHARGE_J / 3600, rel=1e-12)
    assert row["discharge_energy_Wh"] == pytest.approx(DISCHARGE_J / 3600, rel=1e-12)
    assert row["energy_efficiency"] == pytest.approx(DISCHARGE_J / CHARGE_J)
    assert row["mean_charge_voltage_V"] == pytest.approx(CHARGE_J / 3.72)
    assert row["mean_discharge_voltage_V"] == pytest.approx(3.65)
    assert row["polarization_V"] == pytest.approx(CHARGE_J / 3.72 - 3.65)


def test_a_constant_voltage_hold_is_v_times_charge_however_the_current_decayed_between_samples():
    hold = [(0.0, 1, 0.0, 4.2, 2.0), (10.0, 1, 0.02, 4.2, 1.0), (600.0, 1, 0.3, 4.2, 0.2), (601.0, 2, 0.3, 4.1, 0.0)]
    row = cycle_table(voltage_frame(hold)).iloc[0]
    assert row["charge_energy_Wh"] == pytest.approx(4.2 * 0.3 / 3600, rel=1e-12)
    assert row["mean_charge_voltage_V"] == pytest.approx(4.2, rel=1e-12)
    assert math.isnan(row["mean_discharge_voltage_V"]) and math.isnan(row["polarization_V"])
    assert row["discharge_energy_Wh"] == 0.0 and math.isnan(row["energy_efficiency"])


def test_energies_do_not_depend_on_how_densely_a_linear_step_was_sampled():
    dense = sorted([*CYCLE, (900.0, 1, 0.9, 3.6, 1.0), (2700.0, 1, 2.7, 3.8, 1.0), (5411.0, 4, 2.91, 3.8, -1.0)])
    sparse, dense = cycle_table(voltage_frame(CYCLE)), cycle_table(voltage_frame(dense))
    for column in ("charge_energy_Wh", "discharge_energy_Wh", "mean_charge_voltage_V", "polarization_V"):
        assert dense[column].tolist() == pytest.approx(sparse[column].tolist(), rel=1e-12), column


def test_energies_through_the_recorder_match_the_integral_of_v_dq(tmp_path):
    table = cycle_table(read_run(record_run(tmp_path / "run.sqlite", cycling_samples(cycles=3))).samples)
    # fakes: V = 3.3 + 0.25 q + 50 I; each cycle charges 3.6 C from q0 = 0.36 (c - 1) and discharges 3.24 C.
    for c, row in zip((1, 2, 3), table.itertuples(), strict=True):
        q0, q1 = 0.36 * (c - 1), 0.36 * (c - 1) + 3.6
        charge = 3.35 * 3.6 + 0.125 * (q1**2 - q0**2)
        discharge = 3.25 * 3.24 + 0.125 * (q1**2 - (q1 - 3.24) ** 2)
        # The step's last interval (one 10 s tick, 0.01 C) is taken at its last sample's voltage: 1e-6 of the energy.
        assert row.charge_energy_Wh == pytest.approx(charge / 3600, rel=2e-6)
        assert row.discharge_energy_Wh == pytest.approx(discharge / 3600, rel=2e-6)
        assert row.mean_charge_voltage_V == pytest.approx(charge / 3.6, abs=1e-5)
        assert row.polarization_V == pytest.approx(charge / 3.6 - discharge / 3.24, abs=2e-5)


def test_retention_is_relative_to_the_first_cycle_with_a_full_discharge():
    table = cycle_table(frame(ROWS))  # cycle 3 stops mid-charge: the run has not finished
    assert table["retention"].tolist() == pytest.approx([1.0, 0.95 / 0.9, 0.0])
    assert cycle_table(frame(ROWS), reference_cycle=2)["retention"].tolist() == pytest.approx([0.9 / 0.95, 1.0, 0.0])
    assert cycle_table(frame(ROWS), reference_cycle=3)["retention"].isna().all()  # no discharge to compare with


def test_the_last_cycle_is_complete_only_if_the_run_finished():
    samples = frame(ROWS)
    assert complete_cycles(samples) == [1, 2]
    samples.loc[samples.index[-1], "state"] = "finished"
    assert complete_cycles(samples) == [1, 2, 3]
    assert complete_cycles(samples.iloc[:0]) == []


def test_a_run_interrupted_in_its_first_discharge_has_no_reference():
    samples = frame(ROWS[:5])  # cycle 1 only, its discharge not done
    assert default_reference_cycle(samples) is None
    assert cycle_table(samples)["retention"].isna().all()
    samples.loc[samples.index[-1], "state"] = "finished"
    assert default_reference_cycle(samples) == 1


def test_irreversible_swelling_is_the_rise_of_each_cycles_minimum_thickness(tmp_path):
    samples = read_run(record_run(tmp_path / "run.sqlite", cycling_samples(cycles=3, growth=0.5e-6))).samples
    table = cycle_table(samples)
    # Minimum thickness at each cycle's start: 50 um x (1 + 0.3 x 0.1 (c - 1)) + 0.5 um (c - 1).
    assert table["thickness_min_um"].tolist() == pytest.approx([50.0, 52.0, 54.0])
    assert table["irreversible_swelling_um"].tolist() == pytest.approx([0.0, 2.0, 4.0], abs=1e-9)
    assert table["thickness_swing_um"].tolist() == pytest.approx([15.0, 15.0, 15.0])  # 0.3 x 50 um x 1 mAh


# --- NaN from paused samples ---------------------------------------------------------------------------


def test_paused_rows_without_a_cycler_reading_change_nothing():
    clean = cycling_samples(cycles=3)
    lost_cycler = with_pause(clean, 4000.0, 4600.0, CYCLER_FIELDS)  # inside cycle 1's first charge and rest
    lost_cycler = with_pause(lost_cycler, 7000.0, 7200.0, CYCLER_FIELDS)  # inside cycle 1's discharge
    expected = cycle_table(pd.DataFrame([dataclasses.asdict(s) for s in clean]))
    table = cycle_table(pd.DataFrame([dataclasses.asdict(s) for s in lost_cycler]))
    pd.testing.assert_frame_equal(table, expected, rtol=1e-12)


def test_paused_rows_with_every_instrument_lost_leave_finite_numbers():
    clean = pd.DataFrame([dataclasses.asdict(s) for s in cycling_samples(cycles=3)])
    paused = pd.DataFrame([dataclasses.asdict(s) for s in with_pause(cycling_samples(cycles=3), 4000.0, 4600.0)])
    expected, table = cycle_table(clean), cycle_table(paused)
    assert not table.drop(columns=["coulombic_efficiency", "energy_efficiency"]).isna().any().any()
    same = [c for c in CYCLE_COLUMNS if c != "pressure_mean_MPa"]  # the paused spans' pressure is unknown
    pd.testing.assert_frame_equal(table[same], expected[same], rtol=1e-12)
    assert table["pressure_mean_MPa"].tolist() == pytest.approx(expected["pressure_mean_MPa"].tolist(), rel=1e-3)


def test_a_step_that_starts_and_a_run_that_ends_paused_still_have_their_charge():
    samples = frame(ROWS)
    paused = {"voltage": math.nan, "current": math.nan, "charge": math.nan, "state": "paused"}
    first_of_discharge = samples.index[samples["t"] == 4200.0][0]
    samples.loc[first_of_discharge, list(paused)] = list(paused.values())
    last = samples.iloc[[-1]].assign(t=16500.0, **paused)  # the run ended while the cycler did not answer
    table = cycle_table(pd.concat([samples, last], ignore_index=True))
    assert table["charge_capacity_Ah"].tolist() == pytest.approx([1e-3, 1e-3, 0.5e-3])
    assert table["discharge_capacity_Ah"].tolist() == pytest.approx([0.9e-3, 0.95e-3, 0.0])


def test_a_cycle_without_any_reading_gives_nan_not_an_error():
    samples = frame(ROWS)
    for column in ("voltage", "current", "charge", "pressure", "thickness"):
        samples.loc[samples["cycle"] == 3, column] = math.nan
    table = cycle_table(samples)
    last = table.iloc[-1]
    assert last["charge_capacity_Ah"] == 0.0 and math.isnan(last["mean_charge_voltage_V"])
    assert math.isnan(last["pressure_mean_MPa"]) and math.isnan(last["irreversible_swelling_um"])
    assert table["irreversible_swelling_um"].iloc[:2].tolist() == [0.0, 0.0]
