"""A run's report: two figures, the cycle table and a plain-text summary, in one folder.

Figures are drawn with matplotlib's Agg canvas on `Figure` objects, not through
pyplot: no display is needed, no global backend is switched under a GUI that
shares the process, and no figure lingers in pyplot's registry.

The summary reads these meta keys when the recorder was given them: name
(else the file name), protocol_name, bench_name, started_at, software_version.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from stackpress.data.analysis import (
    COULOMB_PER_AH,
    PA_PER_MPA,
    S_PER_H,
    UM_PER_M,
    cycle_table,
    pressure_tracking,
)
from stackpress.data.runfile import Run, read_run

MAH_PER_AH = 1e3
DPI = 120
PRESSURE_BAND = 0.02  # the band drawn around the setpoint: the hold a researcher expects


def make_report(run_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Write timeseries.png, swelling.png, cycles.csv and summary.txt into `out_dir`; return their paths."""
    run = read_run(run_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = run.meta.get("name") or run.path.stem
    cycles = cycle_table(run.samples)

    paths = [out / "timeseries.png", out / "swelling.png", out / "cycles.csv", out / "summary.txt"]
    _save(_timeseries_figure(run.samples, name), paths[0])
    _save(_swelling_figure(run.samples, name), paths[1])
    cycles.to_csv(paths[2], index=False, float_format="%.8g")  # a report: no 0.000999999999999991
    paths[3].write_text(summary_text(run, cycles), encoding="utf-8")
    return paths


def summary_text(run: Run, cycles: pd.DataFrame) -> str:
    """The run in a dozen lines: what ran, for how long, what capacity it kept, how well pressure held."""
    meta, samples = run.meta, run.samples
    duration_h = (samples["t"].iloc[-1] - samples["t"].iloc[0]) / S_PER_H if len(samples) else 0.0
    discharged = cycles[cycles["discharge_capacity_Ah"] > 0]
    mean, rms = pressure_tracking(samples)
    lines = [
        f"run:       {meta.get('name') or run.path.stem}",
        f"file:      {run.path}",
        f"protocol:  {meta.get('protocol_name', 'n/a')}",
        f"bench:     {meta.get('bench_name', 'n/a')}",
        f"started:   {meta.get('started_at', 'n/a')}",
        f"software:  stackpress {meta.get('software_version', 'n/a')}",
        f"status:    {'closed' if meta.get('closed') == 'true' else 'open or interrupted (not closed)'}",
        f"duration:  {duration_h:.2f} h ({duration_h / 24:.2f} d), {len(samples)} samples",
        f"cycles:    {len(cycles)}",
    ]
    if len(discharged):
        first, last = discharged.iloc[0], discharged.iloc[-1]
        lines += [
            f"first discharge capacity: {first['discharge_capacity_Ah'] * MAH_PER_AH:.4g} mAh"
            f" (cycle {int(first['cycle'])})",
            f"last discharge capacity:  {last['discharge_capacity_Ah'] * MAH_PER_AH:.4g} mAh"
            f" (cycle {int(last['cycle'])})",
            f"capacity retention:       "
            f"{100 * last['discharge_capacity_Ah'] / first['discharge_capacity_Ah']:.1f} %",
        ]
    else:
        lines.append("discharge capacity: n/a (no discharge recorded)")
    if math.isnan(mean):
        lines.append("stack pressure: n/a (no pressure was held)")
    else:
        lines.append(
            f"stack pressure while held: {mean / PA_PER_MPA:.3f} ± {rms / PA_PER_MPA:.3f} MPa"
            " (time-weighted mean ± RMS deviation from setpoint)"
        )
    return "\n".join(lines) + "\n"


def _timeseries_figure(samples: pd.DataFrame, name: str) -> Figure:
    """Voltage, current, pressure and thickness on one time axis: a flat pressure beside a swinging thickness."""
    fig = Figure(figsize=(11, 10), layout="constrained")
    v_ax, i_ax, p_ax, d_ax = fig.subplots(4, 1, sharex=True)
    hours = samples["t"] / S_PER_H
    v_ax.plot(hours, samples["voltage"], color="tab:blue", lw=0.8)
    v_ax.set_ylabel("Voltage / V")
    i_ax.plot(hours, samples["current"] * 1e3, color="tab:orange", lw=0.8)
    i_ax.axhline(0.0, color="0.6", lw=0.6)
    i_ax.set_ylabel("Current / mA\n(charge > 0)")
    setpoint = samples["setpoint"] / PA_PER_MPA
    if setpoint.notna().any():  # a rigid fixture regulates nothing: no setpoint to draw
        p_ax.fill_between(
            hours, setpoint * (1 - PRESSURE_BAND), setpoint * (1 + PRESSURE_BAND),
            color="0.85", lw=0, label=f"setpoint ± {PRESSURE_BAND:.0%}",
        )
        p_ax.plot(hours, setpoint, color="k", lw=1.0, ls="--", label="setpoint")
    p_ax.plot(hours, samples["pressure"] / PA_PER_MPA, color="tab:red", lw=0.8, label="measured")
    p_ax.set_ylabel("Stack pressure / MPa")
    p_ax.legend(loc="best")
    d_ax.plot(hours, samples["thickness"] * UM_PER_M, color="tab:green", lw=0.8)
    d_ax.set_ylabel("Electrode\nthickness / µm")
    d_ax.set_xlabel("Test time / h")
    for ax in (v_ax, i_ax, p_ax, d_ax):
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{name}: voltage, current, stack pressure and electrode thickness")
    return fig


def _swelling_figure(samples: pd.DataFrame, name: str) -> Figure:
    """Pressure and thickness against the charge passed since each cycle began, one colour per cycle."""
    fig = Figure(figsize=(12, 5.5), layout="constrained")
    p_ax, d_ax = fig.subplots(1, 2, sharex=True)
    cycles = samples["cycle"]
    cycle_start_charge = samples.groupby("cycle")["charge"].transform("first")
    charge_mah = (samples["charge"] - cycle_start_charge) / COULOMB_PER_AH * MAH_PER_AH
    first, last = (int(cycles.min()), int(cycles.max())) if len(cycles) else (1, 1)
    norm = Normalize(vmin=first, vmax=max(last, first + 1))
    cmap = mpl.colormaps["viridis"]
    for cycle, rows in samples.groupby("cycle").groups.items():
        colour = cmap(norm(cycle))
        p_ax.plot(charge_mah[rows], samples["pressure"][rows] / PA_PER_MPA, color=colour, lw=0.8)
        d_ax.plot(charge_mah[rows], samples["thickness"][rows] * UM_PER_M, color=colour, lw=0.8)
    p_ax.set_ylabel("Stack pressure / MPa")
    p_ax.set_title("Stack pressure")
    d_ax.set_ylabel("Electrode thickness / µm")
    d_ax.set_title("Electrode thickness")
    for ax in (p_ax, d_ax):
        ax.set_xlabel("Net charge since cycle start / mAh")
        ax.grid(True, alpha=0.3)
    colourbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=[p_ax, d_ax])
    colourbar.set_label("Cycle")
    colourbar.set_ticks(np.unique(np.linspace(first, last, min(last - first + 1, 8)).round()))
    fig.suptitle(f"{name}: swelling (pressure and thickness against charge)")
    return fig


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)  # attaches the Agg canvas to the figure
    fig.savefig(path, dpi=DPI)
