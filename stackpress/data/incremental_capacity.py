"""Incremental capacity, dQ/dV, of one charge or discharge half-cycle, robust to decimated samples.

Differentiating Q(V) sample to sample amplifies noise and breaks down on a
plateau, where V barely moves between samples (dV → 0). Instead the charge is
binned by voltage on a fixed grid: the charge passed between two consecutive
samples (the cycler's counter, exact) is spread over the voltage bins the
segment between them crosses, in proportion to how much of the segment lies in
each bin (V linear in Q between samples, as for the energies in `analysis`),
and dQ/dV is each bin's charge over the bin width. So:

- the curve integrates to the half-cycle's capacity exactly, however sparsely
  the recorder kept samples;
- a plateau, where many samples sit within a few mV, is a tall peak at its
  voltage instead of a division by zero;
- noise that makes V go back and forth is averaged within a bin, not
  differentiated;
- bins are multiples of the bin width (default 10 mV, twice the recorder's
  5 mV voltage delta), so curves of different cycles share one grid.

Only constant-current steps count by default: on a constant-voltage hold the
charge piles into the one bin of the hold voltage, a spike that is the
protocol's, not the electrode's. numpy only, no smoothing filter to tune.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from stackpress.data.analysis import COULOMB_PER_AH, MAH_PER_AH

DQDV_COLUMNS = ("voltage_V", "dqdv_mAh_per_V")
DEFAULT_BIN_WIDTH = 0.010  # V
CONSTANT_CURRENT_TOLERANCE = 0.02  # a step is constant-current if most of its samples are this close to its median
DIRECTIONS = ("charge", "discharge")


def dqdv(
    samples: pd.DataFrame,
    cycle: int,
    direction: str = "charge",
    *,
    bin_width: float = DEFAULT_BIN_WIDTH,
    constant_current_only: bool = True,
) -> pd.DataFrame:
    """dQ/dV of one half-cycle: columns `voltage_V` (bin centres) and `dqdv_mAh_per_V`.

    `samples` as `read_run` returns them; `direction` is "charge" (the cycle's
    steps that raised the charge counter) or "discharge" (the ones that
    lowered it). Q is the capacity passed in that half-cycle, so dQ/dV is
    positive on charge and negative on discharge (capacity grows while V
    falls), the usual way incremental capacity is plotted, both on one axis.
    With `constant_current_only` (default) constant-voltage holds are left
    out (see the module docstring); a step is constant-current when at least
    half its samples are within 2 % of its median current. Rows without a
    voltage or a charge counter (NaN while paused) are skipped. One row per
    bin from the lowest to the highest voltage reached, zeros included; an
    empty frame if the half-cycle passed no charge.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'charge' or 'discharge', not {direction!r}")
    if not bin_width > 0:
        raise ValueError(f"bin_width must be > 0 V, got {bin_width!r}")
    v0, v1, dq = half_cycle_segments(samples, cycle, direction, constant_current_only=constant_current_only)
    if not len(dq) or not np.any(dq > 0):
        return pd.DataFrame({name: pd.Series(dtype="float64") for name in DQDV_COLUMNS})
    edges = voltage_bins(min(v0.min(), v1.min()), max(v0.max(), v1.max()), bin_width)
    per_bin = bin_charge(v0, v1, dq, edges) / COULOMB_PER_AH * MAH_PER_AH
    sign = 1.0 if direction == "charge" else -1.0
    return pd.DataFrame({"voltage_V": 0.5 * (edges[:-1] + edges[1:]), "dqdv_mAh_per_V": sign * per_bin / bin_width})


def half_cycle_segments(
    samples: pd.DataFrame, cycle: int, direction: str, *, constant_current_only: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The half-cycle as segments: start voltage, end voltage, and capacity passed (C, >= 0) of each.

    A step's samples give one segment per pair of consecutive samples; its last
    sample to the next step's first one (the span the step's capacity covers)
    is a segment at the step's last voltage, as in `analysis.step_table`.
    """
    s = samples.reset_index(drop=True)
    q = s["charge"].to_numpy(dtype="float64")
    v = s["voltage"].to_numpy(dtype="float64")
    keep = np.isfinite(q) & np.isfinite(v)
    s, q, v = s[keep], q[keep], v[keep]
    empty = np.empty(0)
    if len(s) < 2:
        return empty, empty, empty
    step = s["step"].to_numpy()
    new_step = np.r_[True, step[1:] != step[:-1]]
    run_of_row = np.cumsum(new_step) - 1
    within = run_of_row[1:] == run_of_row[:-1]
    owner = run_of_row[:-1]
    dq = np.diff(q)
    n_steps = int(run_of_row[-1]) + 1
    step_charge = np.bincount(owner, weights=dq, minlength=n_steps)
    step_cycle = s["cycle"].to_numpy()[new_step]
    wanted = (step_cycle == cycle) & (step_charge > 0 if direction == "charge" else step_charge < 0)
    if constant_current_only:
        wanted &= _constant_current(s["current"].to_numpy(dtype="float64"), run_of_row, wanted)
    chosen = wanted[owner]
    start = v[:-1][chosen]
    end = np.where(within, v[1:], v[:-1])[chosen]
    passed = np.abs(dq[chosen])
    return start, end, passed


def voltage_bins(low: float, high: float, width: float) -> np.ndarray:
    """Bin edges at multiples of `width` from about `low` to about `high`, with no empty bin at either end.

    4.2 / 0.01 is 420.00000000000006: a voltage within 1e-9 bin widths of an
    edge counts as on it (`bin_charge` clips the voltages to the edges).
    """
    first = math.floor(low / width + 1e-9)
    last = max(math.ceil(high / width - 1e-9), first + 1)
    return np.arange(first, last + 1) * width


def bin_charge(v0: np.ndarray, v1: np.ndarray, charge: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Charge per voltage bin (`edges`, increasing) of segments from v0 to v1, each carrying `charge`.

    Each segment's charge is spread uniformly over [min(v0, v1), max(v0, v1)];
    a segment of zero width is a point mass. Voltages outside the edges count
    as on the nearest edge, so the bins hold all the charge. O(n log n).
    """
    lo = np.clip(np.minimum(v0, v1), edges[0], edges[-1])
    hi = np.clip(np.maximum(v0, v1), edges[0], edges[-1])
    width = hi - lo
    point = width <= 0
    result, _ = np.histogram(lo[point], bins=edges, weights=charge[point])
    spread = ~point
    if spread.any():
        # F(x), the charge below voltage x, is piecewise linear: its slope rises by charge/width at each
        # segment's low end and falls by as much at its high end. Integrate the slope between sorted
        # breakpoints, then read F at the bin edges.
        slope = charge[spread] / width[spread]
        x = np.concatenate([lo[spread], hi[spread]])
        d_slope = np.concatenate([slope, -slope])
        order = np.argsort(x, kind="stable")
        x, d_slope = x[order], d_slope[order]
        slope_after = np.cumsum(d_slope)
        below = np.concatenate([[0.0], np.cumsum(slope_after[:-1] * np.diff(x))])
        result = result + np.diff(np.interp(edges, x, below))
    return result


def _constant_current(current: np.ndarray, run_of_row: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """For the candidate steps: True if at least half their samples are within the tolerance of their median."""
    flags = np.zeros(len(candidates), dtype=bool)
    bounds = np.searchsorted(run_of_row, np.arange(len(candidates) + 1))  # rows are in step order
    for k in np.flatnonzero(candidates):
        i = current[bounds[k] : bounds[k + 1]]
        i = i[np.isfinite(i)]
        median = np.median(i) if len(i) else 0.0
        flags[k] = median != 0 and np.mean(np.abs(i - median) <= CONSTANT_CURRENT_TOLERANCE * abs(median)) >= 0.5
    return flags
