"""What of a long curve is worth drawing: the samples in view, at most two per horizontal bin.

A month of 1 s samples is 2.6 M points per curve; a plot is ~1000 pixels wide.
Each bin keeps its minimum and maximum, so a spike one sample wide still shows
at any zoom, and a NaN (an instrument that did not answer) only leaves a gap
where a whole bin is NaN. Cost: one binary search and one min/max pass over the
samples in view, a few ms for 1 M.
"""

from __future__ import annotations

import numpy as np


def visible_peaks(x: np.ndarray, y: np.ndarray, low: float, high: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The points of (x, y) — x ascending — within [low, high] and one beyond each end, reduced to at most
    2 x `bins` points: for each of at most `bins` runs of consecutive samples, its min at the run's first x
    and its max at its last."""
    start = max(int(np.searchsorted(x, low)) - 1, 0)
    stop = min(int(np.searchsorted(x, high, side="right")) + 1, len(x))
    x, y = x[start:stop], y[start:stop]
    per_bin = -(-len(x) // bins)  # ceil: at most `bins` runs, the last one maybe shorter
    if per_bin < 2:
        return x, y
    whole = len(x) // per_bin * per_bin
    lows, highs = _peaks(y[:whole].reshape(-1, per_bin))
    firsts, lasts = x[:whole:per_bin], x[per_bin - 1 : whole : per_bin]
    if whole < len(x):  # the last, shorter run
        low, high = _peaks(y[whole:].reshape(1, -1))
        lows, highs = np.append(lows, low), np.append(highs, high)
        firsts, lasts = np.append(firsts, x[whole]), np.append(lasts, x[-1])
    return np.column_stack((firsts, lasts)).ravel(), np.column_stack((lows, highs)).ravel()


def _peaks(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's min and max, NaN only where the whole row is NaN."""
    with np.errstate(invalid="ignore"):
        return np.fmin.reduce(runs, axis=1), np.fmax.reduce(runs, axis=1)
