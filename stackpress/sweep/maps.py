"""Maps of a sweep: per-cell retention, and PNG heat maps and line plots of it over the grid.

All of it is computed from the sweep's cycle table alone (`run.sweep_table`),
so a table read back from `cycles.parquet` maps the same way.

Per cell (`cell_summary`):
- `first_discharge_mAh`: discharge capacity of the reference cycle (`[maps] reference_cycle`, default 1);
- `retention_last`: the last complete cycle's `retention` in the table, its discharge capacity over the
  reference cycle's (a run that did not finish has its last, cut-short, cycle left out);
- `retention_at_N`: the same at cycle N = `[maps] at_cycle` (NaN if the cell never got there).

Figures (`make_maps`), drawn on matplotlib `Figure`s with the Agg canvas, no pyplot:
- `retention-map.png`: heat maps of those three numbers; columns: the points of the
  x axis (`[maps] x`, stack pressure), rows: every combination of the other axes;
- `retention-vs-<x>.png`: retention against x, one line per row of the heat map;
- `retention-vs-<x>-by-<axis>.png`, for each other axis: retention against x, one line
  per point of that axis, averaged over the rest.
Cells that did not finish are marked on the heat maps with their status.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from stackpress.data.analysis import MAH_PER_AH
from stackpress.sweep.study import Study

DPI = 120
FINISHED = "finished"
_SHORT = {"tripped": "trip", "failed": "FAIL", "lost": "lost", "interrupted": "stop", "aborted": "abort"}
_CMAP = mpl.colormaps["viridis"].with_extremes(bad="#dddddd")  # grey: no value (failed, never got there)


def cell_summary(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    """One row per cell: cell, the axes' labels, status, cycles, first_discharge_mAh, retention_last,
    retention_at_N, error, run."""
    axis_names = [axis.name for axis in study.axes]
    at = study.maps.at_cycle
    rows = []
    for cell, group in table.groupby("cell", sort=True):
        head = group.iloc[0]
        status = head["status"]
        done = group[group["cycle"].notna() & (group["discharge_capacity_Ah"] > 0)]
        if status != FINISHED and len(done):
            done = done[done["cycle"] < done["cycle"].max()]  # the last cycle was cut short
        reference = group.loc[group["cycle"] == study.maps.reference_cycle, "discharge_capacity_Ah"]
        first = float(reference.iloc[0]) if len(reference) else math.nan
        at_cycle = done.loc[done["cycle"] == at, "retention"]
        rows.append(
            {
                "cell": int(cell),
                **{name: head[name] for name in axis_names},
                "status": status,
                "cycles": int(group["cycle"].max()) if group["cycle"].notna().any() else 0,
                "first_discharge_mAh": first * MAH_PER_AH,
                "retention_last": float(done["retention"].iloc[-1]) if len(done) else math.nan,
                f"retention_at_{at}": float(at_cycle.iloc[0]) if len(at_cycle) else math.nan,
                "error": head["error"],
                "run": head["run"],
            }
        )
    return pd.DataFrame(rows)


def make_maps(table: pd.DataFrame, study: Study, out_dir: Path) -> list[Path]:
    """Write the sweep's PNGs into `out_dir` (see the module docstring); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = cell_summary(table, study)
    x_axis = next(axis for axis in study.axes if axis.name == study.maps.x)
    others = [axis for axis in study.axes if axis is not x_axis]
    x_labels = [point.label for point in x_axis.points]
    positions, log = _positions(table, x_axis.name, x_labels)
    row_key = _row_keys(summary, others)
    summary = summary.assign(_row=row_key)
    rows = list(dict.fromkeys(row_key))
    at = study.maps.at_cycle
    metrics = [
        ("retention_last", "capacity retention, last / first cycle", ".2f"),
        (f"retention_at_{at}", f"capacity retention at cycle {at}", ".2f"),
        ("first_discharge_mAh", f"discharge capacity of cycle {study.maps.reference_cycle}, mAh", ".3g"),
    ]
    paths = [out_dir / "retention-map.png"]
    _save(_heat_maps(summary, rows, x_labels, x_axis.name, metrics, study.name), paths[0])

    name = _file_part(x_axis.name)
    paths.append(out_dir / f"retention-vs-{name}.png")
    _save(_lines(summary, "_row", rows, x_labels, positions, log, x_axis.name, metrics[:2], study.name), paths[-1])
    if len(others) > 1 or (others and len(rows) != len(others[0].points)):
        for axis in others:
            paths.append(out_dir / f"retention-vs-{name}-by-{_file_part(axis.name)}.png")
            labels = [point.label for point in axis.points]
            figure = _lines(summary, axis.name, labels, x_labels, positions, log, x_axis.name, metrics[:2],
                            f"{study.name}: by {axis.name} (mean over the other axes)")
            _save(figure, paths[-1])
    return paths


def _row_keys(summary: pd.DataFrame, others: list) -> list[str]:
    if not others:
        return ["all"] * len(summary)
    return [", ".join(str(row[axis.name]) for axis in others) for _, row in summary.iterrows()]


def _positions(table: pd.DataFrame, x_name: str, labels: list[str]) -> tuple[list[float], bool]:
    """Where each x point goes: its SI value when the axis is a quantity (log scale if it spans 20x), else 0, 1, ..."""
    numeric = [c for c in table.columns if c.startswith(f"{x_name} / ")]
    if numeric:
        by_label = table.groupby(x_name)[numeric[0]].first()
        values = [float(by_label[label]) for label in labels]
        if all(v > 0 for v in values):
            return values, max(values) / min(values) >= 20
        return values, False
    return [float(i) for i in range(len(labels))], False


def _heat_maps(summary, rows, x_labels, x_name, metrics, title) -> Figure:
    height = 1.2 + 0.45 * len(rows)
    width = max(5.2, 2.5 + 0.6 * len(x_labels))
    figure = Figure(figsize=(width, max(3.0, height) * len(metrics)), dpi=DPI, layout="constrained")
    figure.suptitle(title)
    for ax, (column, what, number) in zip(figure.subplots(len(metrics), 1), metrics, strict=True):
        grid = np.full((len(rows), len(x_labels)), np.nan)
        status = np.full(grid.shape, "", dtype=object)
        for _, cell in summary.iterrows():
            r, c = rows.index(cell["_row"]), x_labels.index(str(cell[x_name]))
            grid[r, c] = cell[column]
            status[r, c] = cell["status"]
        image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=_CMAP)
        middle = float(np.nanmean(grid)) if np.isfinite(grid).any() else 0.0
        for (r, c), value in np.ndenumerate(grid):
            text = "" if math.isnan(value) else format(value, number)
            if status[r, c] != FINISHED:
                text = f"{text}\n{_SHORT.get(status[r, c], status[r, c][:5])}".strip()
            color = "white" if value < middle else "black"
            ax.text(c, r, text, ha="center", va="center", fontsize=7, color=color)
        ax.set_xticks(range(len(x_labels)), x_labels, fontsize=8)
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel(x_name)
        ax.set_title(what, fontsize=10)
        figure.colorbar(image, ax=ax, shrink=0.8)
    return figure


def _lines(summary, by, series, x_labels, positions, log, x_name, metrics, title) -> Figure:
    figure = Figure(figsize=(6.0 * len(metrics), 4.2), dpi=DPI, layout="constrained")
    figure.suptitle(title)
    for ax, (column, what, _) in zip(figure.subplots(1, len(metrics)), metrics, strict=True):
        for name in series:
            mine = summary[summary[by].astype(str) == str(name)]
            means = mine.groupby(mine[x_name].astype(str))[column].mean()
            ax.plot(positions, [means.get(label, np.nan) for label in x_labels], marker="o", label=str(name))
        if log:
            ax.set_xscale("log")
        ax.set_xticks(positions, x_labels, rotation=45, ha="right")
        ax.minorticks_off()
        ax.set_xlabel(x_name)
        ax.set_ylabel(what)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, title=by if by != "_row" else None)
    return figure


def _file_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path)
