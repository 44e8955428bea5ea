"""The load-cell model: noise statistics, resolution, drift, range, determinism."""

from __future__ import annotations

import statistics

import pytest

from stackpress.sims.load_cell import LoadCell


def test_noise_statistics_match_the_setting():
    cell = LoadCell(noise=1.0, resolution=0.0, drift=0.0, seed=3)
    readings = [cell.measure(800.0, 0.0) for _ in range(20000)]
    assert statistics.fmean(readings) == pytest.approx(800.0, abs=0.05)  # 5 standard errors
    assert statistics.stdev(readings) == pytest.approx(1.0, rel=0.03)


def test_readings_are_quantised_to_the_resolution():
    cell = LoadCell(noise=1.0, resolution=0.5, drift=0.0)
    for _ in range(200):
        reading = cell.measure(800.123, 0.0)
        assert reading / 0.5 == pytest.approx(round(reading / 0.5), abs=1e-9)


def test_zero_drifts_with_time():
    cell = LoadCell(noise=0.0, resolution=0.0, drift=0.5 / 3600)
    assert cell.measure(800.0, 0.0) == 800.0
    assert cell.measure(800.0, 10 * 3600.0) == pytest.approx(805.0)


def test_readings_stay_within_the_range():
    cell = LoadCell(full_scale=5000.0, noise=0.0)
    assert cell.measure(7000.0, 0.0) == 5000.0
    assert cell.measure(-7000.0, 0.0) == -5000.0


def test_same_seed_same_readings_other_seed_other_readings():
    a, b, c = LoadCell(seed=1), LoadCell(seed=1), LoadCell(seed=2)
    first = [a.measure(800.0, t) for t in range(50)]
    assert first == [b.measure(800.0, t) for t in range(50)]
    assert first != [c.measure(800.0, t) for t in range(50)]
