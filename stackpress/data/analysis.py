"""Per-cycle numbers from a run's samples: capacities, energies, voltages, pressure and swelling.

Capacities come from the cycler's cumulative net charge counter, not from
integrating current over decimated samples: within one step the current has
one sign, so the charge a step passed is exactly the counter's change from the
step's first sample to the next step's first sample (the run's last sample for
the last step). That stays exact however sparsely the recorder kept samples.

Energies are E = ∫ V dQ over the same span, with dQ the counter's change
between consecutive samples and V taken as linear in Q between them (the
trapezoid rule in Q; across the step's last interval, up to the next step's
first sample, V is the step's own last voltage). Why not ∫ V·I dt by the
trapezoid rule in time: the current is only known at the kept samples, and on
a constant-voltage hold it decays between samples 10 s apart, so a trapezoid
in time misses or adds charge; the counter does not. With dQ from the counter:

- a constant-voltage hold is exact (V is constant, E = V·ΔQ);
- a constant-current step: ΔQ is exact, and V departs from the chord between
  two samples only where the curve bends, by a fraction of the recorder's
  voltage delta (a sample is kept whenever V moved by 5 mV): the error is
  ΔQ³·|d²V/dQ²|/12 per interval. On the demo run (17 704 samples kept of
  173 920 ticks) every cycle's charge and discharge energy is within 2e-6 of
  the same integral over every tick, where a trapezoid of V·I in time over
  the kept samples is off by up to 1.3e-4;
- ΣΔQ is exactly the step's capacity, so energy / capacity is a true
  charge-weighted mean voltage, between the step's lowest and highest voltage.

Averages over time (mean pressure, pressure tracking) weight each sample by how
long its value stood, i.e. until the next sample. The recorder keeps samples
densely where things change and sparsely where they do not, so a plain mean
over rows would over-weight transients; holding each value until the next row
is exactly the recorder's own promise (nothing moved beyond its delta).

NaN: samples recorded while a run is paused carry NaN in whatever an
instrument could not give. Capacities and energies use only rows with both a
voltage and a charge counter (the cycler answered); pressure and thickness
statistics skip NaN; a cycle with no valid value gives NaN, never an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COULOMB_PER_AH = 3600.0
MAH_PER_AH = 1e3
J_PER_WH = 3600.0
PA_PER_MPA = 1e6
UM_PER_M = 1e6
S_PER_H = 3600.0

CYCLE_COLUMNS = (
    "cycle",
    "charge_capacity_Ah",
    "discharge_capacity_Ah",
    "coulombic_efficiency",
    "retention",
    "charge_energy_Wh",
    "discharge_energy_Wh",
    "energy_efficiency",
    "mean_charge_voltage_V",
    "mean_discharge_voltage_V",
    "polarization_V",
    "pressure_mean_MPa",
    "pressure_min_MPa",
    "pressure_max_MPa",
    "thickness_min_um",
    "thickness_max_um",
    "thickness_swing_um",
    "irreversible_swelling_um",
    "duration_h",
)


def cycle_table(samples: pd.DataFrame, reference_cycle: int | None = None) -> pd.DataFrame:
    """One row per cycle (columns `CYCLE_COLUMNS`) from samples as `read_run` returns them.

    - charge/discharge capacity: sum over the cycle's steps of the net charge
      counter's rise (charge) or fall (discharge) across the step, in Ah; a step
      belongs to the cycle of its first sample.
    - coulombic_efficiency: discharge / charge capacity, NaN unless the cycle has both.
    - retention: discharge capacity / the reference cycle's. The reference is
      `reference_cycle` if given, else `default_reference_cycle`: the first
      cycle with a full discharge (one the run went past, see
      `complete_cycles`). NaN everywhere if the reference has no discharge.
    - charge/discharge energy: ∫ V dQ over the same steps as the capacities, in
      Wh (see the module docstring for how, and how exact).
    - energy_efficiency: discharge / charge energy, NaN unless the cycle has both.
    - mean charge/discharge voltage: energy / capacity, in V (charge-weighted
      mean; NaN without that half-cycle).
    - polarization_V: mean charge voltage − mean discharge voltage.
    - pressure: measured stack pressure over all of the cycle's samples (held or
      not), the mean time-weighted (see module docstring), in MPa.
    - thickness: electrode thickness extremes and swing (max − min) over the cycle, in µm.
    - irreversible_swelling_um: the cycle's minimum electrode thickness minus
      the first cycle's (the first with a thickness reading), in µm: the
      growth that did not go away on delithiation. 0 for the first cycle.
    - duration_h: from the cycle's first sample to the next cycle's first sample
      (the run's last sample for the last cycle).
    """
    if samples.empty:
        return pd.DataFrame({name: pd.Series(dtype="float64") for name in CYCLE_COLUMNS})
    s = samples.reset_index(drop=True)

    steps = step_table(s)
    dq, energy = steps["charge_C"], steps["energy_J"]
    charging, discharging = dq > 0, dq < 0
    per_step = pd.DataFrame(
        {
            "cycle": steps["cycle"],
            "charge_capacity_Ah": dq.where(charging, 0.0) / COULOMB_PER_AH,
            "discharge_capacity_Ah": (-dq).where(discharging, 0.0) / COULOMB_PER_AH,
            "charge_energy_Wh": energy.where(charging, 0.0) / J_PER_WH,
            "discharge_energy_Wh": (-energy).where(discharging, 0.0) / J_PER_WH,
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
            **{name: per_step[name] for name in per_step.columns},
            "pressure_mean_MPa": _held_mean(s["pressure"], hold_weights(s["t"]), s["cycle"]) / PA_PER_MPA,
            "pressure_min_MPa": pressure.min() / PA_PER_MPA,
            "pressure_max_MPa": pressure.max() / PA_PER_MPA,
            "thickness_min_um": thickness.min() * UM_PER_M,
            "thickness_max_um": thickness.max() * UM_PER_M,
            "duration_h": (ends - starts) / S_PER_H,
        },
        index=starts.index,
    ).fillna({name: 0.0 for name in per_step.columns})  # a cycle without a cycler reading passed no charge
    charge, discharge = table["charge_capacity_Ah"], table["discharge_capacity_Ah"]
    both = (charge > 0) & (discharge > 0)
    table["coulombic_efficiency"] = (discharge / charge).where(both)
    table["energy_efficiency"] = (table["discharge_energy_Wh"] / table["charge_energy_Wh"]).where(both)
    table["mean_charge_voltage_V"] = (table["charge_energy_Wh"] / charge).where(charge > 0)
    table["mean_discharge_voltage_V"] = (table["discharge_energy_Wh"] / discharge).where(discharge > 0)
    table["polarization_V"] = table["mean_charge_voltage_V"] - table["mean_discharge_voltage_V"]
    table["thickness_swing_um"] = table["thickness_max_um"] - table["thickness_min_um"]
    first_min = table["thickness_min_um"].dropna()
    table["irreversible_swelling_um"] = table["thickness_min_um"] - (first_min.iloc[0] if len(first_min) else np.nan)

    table = table.rename_axis("cycle").reset_index()
    reference = reference_cycle if reference_cycle is not None else default_reference_cycle(s, table)
    table["retention"] = retention(table, reference)
    return table[list(CYCLE_COLUMNS)]


def complete_cycles(samples: pd.DataFrame) -> list[int]:
    """The cycles the run went past: every cycle but the last, and the last too if the run finished.

    A new cycle only starts when the protocol moves on from the previous
    one's last step, so every cycle before the last one ran its steps to
    their end (its discharge reached its cut-off). The last cycle is complete
    only if the run finished (its last sample's state is "finished"); a run
    that tripped, faulted, was aborted or is still going may have stopped it
    midway.
    """
    if samples.empty:
        return []
    cycles = sorted(int(c) for c in pd.unique(samples["cycle"]))
    finished = samples["state"].iloc[-1] == "finished"
    return cycles if finished else cycles[:-1]


def default_reference_cycle(samples: pd.DataFrame, table: pd.DataFrame | None = None) -> int | None:
    """The cycle retention is relative to by default: the first complete cycle with a discharge.

    `complete_cycles` says which cycles are complete; a complete cycle with
    discharge capacity > 0 had a full discharge. None if there is none (a run
    stopped during its first discharge). Pass `table` (the cycle table of these
    samples) to avoid recomputing it.
    """
    if table is None:
        table = cycle_table(samples, reference_cycle=-1)  # any reference: only the capacities are read
    complete = set(complete_cycles(samples))
    discharged = table.loc[table["discharge_capacity_Ah"] > 0, "cycle"]
    full = [int(c) for c in discharged if int(c) in complete]
    return full[0] if full else None


def step_table(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per step: step, cycle, charge_C (net charge passed) and energy_J (∫ V dQ), SI units.

    Only rows with a voltage and a charge counter count (NaN rows, e.g. while
    the cycler did not answer, are skipped). A step spans from its first such
    row to the next step's first such row (the last such row for the last
    step); see the module docstring for the integration. A step with no such
    row is absent.
    """
    s = samples.reset_index(drop=True)
    valid = np.isfinite(s["charge"].to_numpy(dtype="float64")) & np.isfinite(s["voltage"].to_numpy(dtype="float64"))
    s = s[valid]
    if s.empty:
        return pd.DataFrame(
            {"step": pd.Series(dtype="int64"), "cycle": pd.Series(dtype="int64"),
             "charge_C": pd.Series(dtype="float64"), "energy_J": pd.Series(dtype="float64")}
        )
    step = s["step"].to_numpy()
    starts = np.flatnonzero(np.r_[True, step[1:] != step[:-1]])
    run_of_row = np.cumsum(np.r_[True, step[1:] != step[:-1]]) - 1  # which step run each row is in
    q = s["charge"].to_numpy(dtype="float64")
    v = s["voltage"].to_numpy(dtype="float64")
    dq = np.diff(q)  # interval i (row i to row i+1) belongs to row i's step
    within = run_of_row[1:] == run_of_row[:-1]
    v_interval = np.where(within, 0.5 * (v[:-1] + v[1:]), v[:-1])
    owner = run_of_row[:-1]
    return pd.DataFrame(
        {
            "step": step[starts],
            "cycle": s["cycle"].to_numpy()[starts],
            "charge_C": np.bincount(owner, weights=dq, minlength=len(starts)),
            "energy_J": np.bincount(owner, weights=v_interval * dq, minlength=len(starts)),
        }
    )


def retention(table: pd.DataFrame, reference: int | None) -> pd.Series:
    """Each cycle's discharge capacity over the `reference` cycle's; NaN throughout if that has no discharge."""
    ref = table.loc[table["cycle"] == reference, "discharge_capacity_Ah"]
    capacity = float(ref.iloc[0]) if len(ref) else 0.0
    if not capacity > 0:
        return pd.Series(np.nan, index=table.index)
    return table["discharge_capacity_Ah"] / capacity


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
