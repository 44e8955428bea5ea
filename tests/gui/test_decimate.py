"""Reducing a long curve to what is in view, peaks kept."""

from __future__ import annotations

import numpy as np

from stackpress.gui.decimate import visible_peaks


def test_only_the_view_and_one_sample_beyond_each_end_are_kept() -> None:
    x = np.arange(100.0)
    kept_x, kept_y = visible_peaks(x, x * 2, 10.5, 20.5, bins=1000)
    np.testing.assert_array_equal(kept_x, np.arange(10.0, 22.0))
    np.testing.assert_array_equal(kept_y, kept_x * 2)


def test_a_one_sample_spike_survives_the_reduction() -> None:
    x = np.arange(1_000_000.0)
    y = np.zeros_like(x)
    y[123_457] = 40e6
    y[654_321] = -5e6
    kept_x, kept_y = visible_peaks(x, y, 0, 1e6, bins=1000)
    assert len(kept_x) <= 2000
    assert kept_y.max() == 40e6 and kept_y.min() == -5e6
    assert np.all(np.diff(kept_x) >= 0)


def test_a_gap_stays_a_gap_only_where_a_whole_bin_is_nan() -> None:
    x = np.arange(1000.0)
    y = np.ones_like(x)
    y[100:300] = np.nan  # an instrument that did not answer for 200 samples
    y[500] = np.nan  # one lost reading
    kept_x, kept_y = visible_peaks(x, y, 0, 1000, bins=100)
    gaps = kept_x[np.isnan(kept_y)]
    assert gaps.min() >= 100 and gaps.max() < 300
    assert np.isnan(kept_y).sum() == 2 * 20  # the 20 bins inside the dropout, two points each


def test_the_last_samples_are_reduced_like_the_others() -> None:
    x = np.arange(21_600.0)  # 6 h of 1 s samples into 1500 bins: 14.4 samples per bin
    y = np.sin(x / 600)
    kept_x, kept_y = visible_peaks(x, y, 0, 21_600, bins=1500)
    assert len(kept_x) <= 3000
    assert np.diff(kept_x).max() <= 2 * 15  # no long straight segment anywhere, the end included
    assert kept_x[-1] == 21_599 and kept_y.max() == y.max()
