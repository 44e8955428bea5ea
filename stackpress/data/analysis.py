"""Per-cycle numbers from a run's samples: capacities, coulombic efficiency, pressure and swelling.

Capacities come from the cycler's cumulative net charge counter, not from
integrating current over decimated samples: within one step the current has
one sign, so the charge a step passed is exactly the counter's change from the
step's first sample to the next step's first sample (the run's last sample for
the last step). That stays exact however sparsely the recorder kept samples.

Averages over time (mean pressure, pressure tracking) weight each sample by how
long its value stood, i.e. until the next sample. The recorder keeps samples
densely where things change and sparsely where they do not, so a plain mean
over rows would over-weight transients; holding each value until the next row
is exactly the recorder's own promise (nothing moved beyond its delta).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COULOMB_PER_AH = 3600.0
PA_PER_MPA = 1e6
UM_PER_M = 1e6
S_PER_H = 3600.0

CYCLE_COLUMNS = (
    "cycle",
    "charge_capacity_Ah",
    "discharge_capacity_Ah",
    "coulombic_efficiency",
    "pressure_mean_MPa",
    "pressure_min_MPa",
    "pressure_max_MPa",
    "thickness_min_um",
    "thickness_max_um",
    "thickness_swing_um",
    "duration_h",
)


def cycle_table(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per cycle (columns `CYCLE_COLUMNS`) from samples as `read_run` returns them.

    - charge/discharge capacity: sum over the cycle's steps of the net charge
      counter's rise (charge) or fall (discharge) across the step, in Ah; a step
      belongs to the cycle of its first sample.
    - coulombic_efficiency: discharge / charge, NaN unless the cycle has both.
    - pressure: measured stack pressure over all of the cycle's samples (held or
      not), the mean time-weighted (see module docstring), in MPa.
    - thickness: electrode thickness extremes and swing over the cycle, in µm.
    - duration_h: from the cycle's first sample to the next cycle's first sample
      (the run's last sample for the last cycle).
    """
    if samples.empty:
        return pd.DataFrame({name: pd.Series(dtype="float64") for name in CYCLE_COLUMNS})
    s = samples.reset_index(drop=True)

    step_starts = s.loc[s["step"].ne(s["step"].shift()), ["cycle", "charge"]]
    step_ends = step_starts["charge"].shift(-1)
    step_ends.iloc[-1] = s["charge"].iloc[-1]
    dq = (step_ends - step_starts["charge"]) / COULOMB_PER_AH
    capacity = pd.DataFrame(
        {
            "cycle": step_starts["cycle"],
            "charge_capacity_Ah": dq.clip(lower=0.0),
            "discharge_capacity_Ah": (-dq).clip(lower=0.0),
        }
    ).groupby("cycle").sum()

    by_cycle = s.groupby("cycle")
    pressure = by_cycle["pressure"]
    thickness = by_cycle["thickness"]
    starts = by_cycle["t"].first()
    ends = starts.shift(-1)
    ends.iloc[-1] = s["t"].iloc[-1]
    table = pd.DataFrame(
        {
            "charge_capacity_Ah": capacity["charge_capacity_Ah"],
            "discharge_capacity_Ah": capacity["discharge_capacity_Ah"],
            "pressure_mean_MPa": _held_mean(s["pressure"], hold_weights(s["t"]), s["cycle"]) / PA_PER_MPA,
            "pressure_min_MPa": pressure.min() / PA_PER_MPA,
            "pressure_max_MPa": pressure.max() / PA_PER_MPA,
            "thickness_min_um": thickness.min() * UM_PER_M,
            "thickness_max_um": thickness.max() * UM_PER_M,
            "duration_h": (ends - starts) / S_PER_H,
        }
    ).fillna({"charge_capacity_Ah": 0.0, "discharge_capacity_Ah": 0.0})
    both = (table["charge_capacity_Ah"] > 0) & (table["discharge_capacity_Ah"] > 0)
    table["coulombic_efficiency"] = (table["discharge_capacity_Ah"] / table["charge_capacity_Ah"]).where(both)
    table["thickness_swing_um"] = table["thickness_max_um"] - table["thickness_min_um"]
    return table.rename_axis("cycle").reset_index()[list(CYCLE_COLUMNS)]


def pressure_tracking(samples: pd.DataFrame) -> tuple[float, float]:
    """Mean measured pressure and RMS deviation from the setpoint, in Pa, while pressure was held.

    Only samples with a setpoint count; both are time-weighted. (NaN, NaN) if
    pressure was never held.
    """
    held = samples["setpoint"].notna().to_numpy()
    if not held.any():
        return float("nan"), float("nan")
    weights = hold_weights(samples["t"])[held]
    pressure = samples["pressure"][held]
    squared_error = (pressure - samples["setpoint"][held]) ** 2
    whole_run = pd.Series(0, index=pressure.index)
    mean = _held_mean(pressure, weights, whole_run).iloc[0]
    rms = float(np.sqrt(_held_mean(squared_error, weights, whole_run).iloc[0]))
    return float(mean), rms


def hold_weights(t: pd.Series) -> np.ndarray:
    """How long each sample's value stood, in s: until the next sample; 0 for the last one."""
    times = t.to_numpy(dtype="float64")
    return np.diff(times, append=times[-1:]) if len(times) else times


def _held_mean(values: pd.Series, weights: np.ndarray, by: pd.Series) -> pd.Series:
    """Time-weighted mean of `values` per group of `by`, NaNs ignored.

    A group whose samples stood for no time at all (a single sample at the very
    end) falls back to the plain mean rather than dividing by zero.
    """
    valid = values.notna().to_numpy()
    numeric = values.to_numpy(dtype="float64")
    held_time = pd.Series(np.where(valid, weights, 0.0), index=values.index).groupby(by).sum()
    integral = pd.Series(np.where(valid, weights * numeric, 0.0), index=values.index).groupby(by).sum()
    return (integral / held_time).where(held_time > 0, values.groupby(by).mean())
