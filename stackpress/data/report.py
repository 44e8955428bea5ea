"""A run's report: figures, the cycle table, a plain-text summary and one self-contained HTML page.

`make_report(run, out_dir)` writes, into one folder:

- `timeseries.png`: voltage, current, stack pressure (with its setpoint band)
  and electrode thickness against time;
- `swelling.png`: pressure and thickness against the charge passed in each cycle;
- `cycles.png`: per cycle, capacities; retention and coulombic efficiency;
  pressure mean with its min-max range; thickness swing and irreversible swelling;
- `dqdv.png`: dQ/dV of the first, a middle and the last cycle, charge above
  the axis and discharge below;
- `cycles.csv`: the cycle table (`analysis.CYCLE_COLUMNS`);
- `summary.txt`: the run in a dozen lines;
- `report.html`: all of it on one page for a lab notebook: what ran and how it
  ended, the results, the cycle table, every figure, and the events that
  matter. Self-contained: the figures are inside it as base64 data URIs, with
  no script, stylesheet or font to fetch, so it opens from a mail or a shared
  drive without a server, and it stays as it was when the run file is gone.

Figures are drawn with matplotlib's Agg canvas on `Figure` objects, not through
pyplot: no display is needed, no global backend is switched under a GUI that
shares the process, and no figure lingers in pyplot's registry.

The summary reads these meta keys when the recorder was given them: name
(else the file name), protocol_name, protocol_source, protocol, bench_name,
bench_source, bench, started_at, software_version, seed, area,
nominal_capacity, closed.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    MAH_PER_AH,
    PA_PER_MPA,
    S_PER_H,
    UM_PER_M,
    complete_cycles,
    cycle_table,
    default_reference_cycle,
    pressure_tracking,
)
from stackpress.data.incremental_capacity import DEFAULT_BIN_WIDTH, dqdv
from stackpress.data.runfile import Run, read_run

DPI = 120
PRESSURE_BAND = 0.02  # the band drawn around the setpoint: the hold a researcher expects
END_STATES = ("finished", "tripped", "fault", "aborted")
# Step changes are in the samples (and there is one per step): every other kind of event goes in the report.
HIDDEN_EVENT_KINDS = ("step",)
MAX_EVENTS_PER_KIND = 200  # a load cell that spikes all week must not bury the one trip


def make_report(run_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the report's files (see the module docstring) into `out_dir`; return their paths.

    The order is timeseries.png, swelling.png, cycles.csv, summary.txt,
    cycles.png, dqdv.png, report.html.
    """
    run = read_run(run_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = run.meta.get("name") or run.path.stem
    samples = run.samples
    cycles = cycle_table(samples)
    complete = complete_cycles(samples)

    figures = {
        "timeseries.png": _timeseries_figure(samples, name),
        "swelling.png": _swelling_figure(samples, name),
        "cycles.png": _cycles_figure(cycles, complete, name),
        "dqdv.png": _dqdv_figure(samples, dqdv_cycles(cycles, complete), name),
    }
    images = {file: _png(fig) for file, fig in figures.items()}
    for file, data in images.items():
        (out / file).write_bytes(data)
    (out / "cycles.csv").write_text(
        cycles.to_csv(index=False, float_format="%.8g"), encoding="utf-8"  # a report: no 0.000999999999999991
    )
    (out / "summary.txt").write_text(summary_text(run, cycles), encoding="utf-8")
    (out / "report.html").write_text(report_html(run, cycles, images), encoding="utf-8")
    order = ("timeseries.png", "swelling.png", "cycles.csv", "summary.txt", "cycles.png", "dqdv.png", "report.html")
    return [out / file for file in order]


@dataclass(frozen=True)
class RunStatus:
    """How a run ended: `state` is one word, `text` says it to a person."""

    state: str  # finished, tripped, fault, aborted; interrupted (file not closed); closed (no end recorded)
    text: str


def run_status(run: Run) -> RunStatus:
    """How the run ended, from its file: the engine's end-of-run event, the last sample, the closed mark.

    A run file without the recorder's `closed` mark is "interrupted": the run
    is still being recorded, or its process died (a crash, a kill, a power
    cut) and the file holds what was committed, all but the last second.
    """
    events, samples = run.events, run.samples
    ends = [e["data"]["state"] for e in events.to_dict("records") if e["kind"] == "run" and "state" in e["data"]]
    state = ends[-1] if ends else None
    if state is None and len(samples) and samples["state"].iloc[-1] in END_STATES:
        state = str(samples["state"].iloc[-1])
    if run.meta.get("closed") != "true":
        last = f"{samples['t'].iloc[-1] / S_PER_H:.2f} h" if len(samples) else "its start (no sample)"
        return RunStatus(
            "interrupted",
            "the run file was not closed: the run is still being recorded, or its recorder stopped without "
            "closing it (a crash, a kill, a power cut). This report covers what reached the disk, up to "
            f"{last}" + (f"; the engine had reported the run {state}." if state else "."),
        )
    if state == "finished":
        return RunStatus("finished", "the protocol ran to its end.")
    reason_kinds = {"tripped": ("trip", "alarm"), "fault": ("fault",), "aborted": ("operator", "alarm")}
    if state in reason_kinds:
        reasons = events.loc[events["kind"].isin(reason_kinds[state]), "message"]
        reason = f": {reasons.iloc[-1]}" if len(reasons) else ""
        what = {
            "tripped": "stopped by an interlock or a pressure alarm before the protocol's end",
            "fault": "stopped by an instrument fault before the protocol's end",
            "aborted": "stopped before the protocol's end",
        }[state]
        return RunStatus(state, f"{what}{reason}.")
    if state is not None:
        return RunStatus(state, f"ended {state}.")
    return RunStatus("closed", "the run file was closed, but it records no end-of-run state.")


def dqdv_cycles(cycles: pd.DataFrame, complete: Sequence[int] = ()) -> list[int]:
    """The cycles the dQ/dV figure shows: the first, a middle and the last, among the complete cycles.

    Only cycles that passed charge count; complete ones (`complete_cycles`)
    are preferred, so an interrupted last cycle does not stand for the end of
    the run. Fewer than three if the run has fewer.
    """
    active = cycles.loc[(cycles["charge_capacity_Ah"] > 0) | (cycles["discharge_capacity_Ah"] > 0), "cycle"]
    active = [int(c) for c in active]
    done = [c for c in active if c in set(complete)] or active
    if not done:
        return []
    return sorted({done[0], done[(len(done) - 1) // 2], done[-1]})


def summary_text(run: Run, cycles: pd.DataFrame) -> str:
    """The run in a dozen lines: what ran, for how long, how it ended, what capacity it kept, how well pressure held."""
    meta, samples = run.meta, run.samples
    status = run_status(run)
    lines = [
        f"run:       {meta.get('name') or run.path.stem}",
        f"file:      {run.path}",
        f"protocol:  {meta.get('protocol_name', 'n/a')}",
        f"bench:     {meta.get('bench_name', 'n/a')}",
        f"started:   {meta.get('started_at', 'n/a')}",
        f"software:  stackpress {meta.get('software_version', 'n/a')}",
        f"status:    {status.state}: {status.text}",
        f"duration:  {_duration_text(samples)}, {len(samples)} samples",
        f"cycles:    {len(cycles)}",
    ]
    lines += [f"{label + ':':<25} {value}" for label, value in _results(run, cycles)]
    return "\n".join(lines) + "\n"


def _duration_text(samples: pd.DataFrame) -> str:
    duration_h = (samples["t"].iloc[-1] - samples["t"].iloc[0]) / S_PER_H if len(samples) else 0.0
    return f"{duration_h:.2f} h ({duration_h / 24:.2f} d)"


def _results(run: Run, cycles: pd.DataFrame) -> list[tuple[str, str]]:
    """The headline numbers, as (label, text)."""
    samples = run.samples
    complete = set(complete_cycles(samples))
    reference = default_reference_cycle(samples, cycles)
    discharged = cycles[cycles["discharge_capacity_Ah"] > 0]
    results: list[tuple[str, str]] = []
    if len(discharged):
        first, last = discharged.iloc[0], discharged.iloc[-1]
        results += [
            ("first discharge capacity", _capacity(first)),
            ("last discharge capacity", _capacity(last) + ("" if int(last["cycle"]) in complete else ", incomplete")),
        ]
        full = discharged[discharged["cycle"].isin(complete)]
        if reference is not None and len(full):
            end = full.iloc[-1]
            results.append(
                (
                    "capacity retention",
                    f"{100 * end['retention']:.1f} % (cycle {int(end['cycle'])} / reference cycle {reference},"
                    " the first with a full discharge)",
                )
            )
            if pd.notna(end["coulombic_efficiency"]):
                results.append(("coulombic efficiency", f"{100 * end['coulombic_efficiency']:.2f} %"
                                f" (cycle {int(end['cycle'])})"))
        else:
            results.append(("capacity retention", "n/a (no cycle with a full discharge yet)"))
    else:
        results.append(("discharge capacity", "n/a (no discharge recorded)"))
    mean, rms = pressure_tracking(samples)
    if math.isnan(mean):
        results.append(("stack pressure", "n/a (no pressure was held)"))
    else:
        results.append(
            (
                "stack pressure while held",
                f"{mean / PA_PER_MPA:.3f} ± {rms / PA_PER_MPA:.3f} MPa"
                " (time-weighted mean ± RMS deviation from setpoint)",
            )
        )
    swelling = cycles["irreversible_swelling_um"].dropna()
    if len(swelling) > 1:
        row = cycles.loc[swelling.index[-1]]
        results.append(
            ("irreversible swelling", f"{row['irreversible_swelling_um']:+.3f} µm (cycle {int(row['cycle'])} "
             f"vs cycle {int(cycles.loc[swelling.index[0], 'cycle'])}, minimum electrode thickness)")
        )
    return results


def _capacity(row: pd.Series) -> str:
    return f"{row['discharge_capacity_Ah'] * MAH_PER_AH:.4g} mAh (cycle {int(row['cycle'])})"


# --- the HTML page ---------------------------------------------------------------------------

# (column, header, scale, format): how the cycle table reads on the page; cycles.csv keeps the exact values.
CYCLE_TABLE_DISPLAY = (
    ("cycle", "Cycle", 1.0, "d"),
    ("charge_capacity_Ah", "Charge capacity / mAh", MAH_PER_AH, ".5g"),
    ("discharge_capacity_Ah", "Discharge capacity / mAh", MAH_PER_AH, ".5g"),
    ("coulombic_efficiency", "Coulombic efficiency / %", 100.0, ".2f"),
    ("retention", "Retention / %", 100.0, ".2f"),
    ("charge_energy_Wh", "Charge energy / mWh", 1e3, ".5g"),
    ("discharge_energy_Wh", "Discharge energy / mWh", 1e3, ".5g"),
    ("energy_efficiency", "Energy efficiency / %", 100.0, ".2f"),
    ("mean_charge_voltage_V", "Mean charge voltage / V", 1.0, ".4f"),
    ("mean_discharge_voltage_V", "Mean discharge voltage / V", 1.0, ".4f"),
    ("polarization_V", "Polarization / mV", 1e3, ".1f"),
    ("pressure_mean_MPa", "Pressure mean / MPa", 1.0, ".3f"),
    ("pressure_min_MPa", "Pressure min / MPa", 1.0, ".3f"),
    ("pressure_max_MPa", "Pressure max / MPa", 1.0, ".3f"),
    ("thickness_min_um", "Thickness min / µm", 1.0, ".3f"),
    ("thickness_max_um", "Thickness max / µm", 1.0, ".3f"),
    ("thickness_swing_um", "Thickness swing / µm", 1.0, ".3f"),
    ("irreversible_swelling_um", "Irreversible swelling / µm", 1.0, ".3f"),
    ("duration_h", "Duration / h", 1.0, ".2f"),
)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1400px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; }
th { background: #f2f2f2; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.facts th { width: 16em; }
.scroll { overflow-x: auto; }
tr.incomplete td { color: #777; font-style: italic; }
.status-finished { color: #176117; }
.status-interrupted, .status-tripped, .status-fault, .status-aborted { color: #a31515; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
pre { background: #f7f7f7; padding: 0.7em; overflow-x: auto; font-size: 0.85em; }
.note { color: #555; font-size: 0.9em; }
"""

_FIGURE_CAPTIONS = {
    "cycles.png": "Per cycle: charge and discharge capacity; retention and coulombic efficiency; stack pressure "
    "(mean, with the cycle's minimum-maximum range); electrode thickness swing and irreversible swelling.",
    "timeseries.png": "Voltage, current, stack pressure (with its setpoint and a ±2 % band) and electrode "
    "thickness against test time.",
    "swelling.png": "Stack pressure and electrode thickness against the net charge passed since each cycle began, "
    "one colour per cycle.",
    "dqdv.png": f"Incremental capacity dQ/dV of the first, a middle and the last cycle ({DEFAULT_BIN_WIDTH * 1e3:g} mV "
    "voltage bins, constant-current steps only): charge above zero, discharge below.",
}


def report_html(run: Run, cycles: pd.DataFrame, images: dict[str, bytes]) -> str:
    """The report as one HTML5 page; `images` maps a figure's file name to its PNG bytes (embedded)."""
    meta, samples = run.meta, run.samples
    name = meta.get("name") or run.path.stem
    status = run_status(run)
    complete = set(complete_cycles(samples))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(name)}: stackpress run report</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(name)}</h1>",
        f'<p class="note">stackpress run report for <code>{_e(str(run.path))}</code></p>',
        "<h2>Run</h2>",
        _facts_table(
            [
                ("Status", f'<strong class="status-{_e(status.state)}">{_e(status.state)}</strong>: {_e(status.text)}'),
                ("Protocol", _e(_named(meta, "protocol"))),
                ("Bench", _e(_named(meta, "bench"))),
                ("Cell", _e(_cell_text(meta))),
                ("Software", _e(f"stackpress {meta.get('software_version', 'n/a')}")),
                ("Started", _e(meta.get("started_at", "n/a"))),
                ("Duration", _e(f"{_duration_text(samples)}; {len(samples)} samples recorded")),
                ("Cycles", _e(f"{len(cycles)} ({len(complete)} complete)")),
                ("Seed", _e(meta.get("seed", "n/a"))),
            ]
        ),
        "<h2>Results</h2>",
        _facts_table([(_e(label.capitalize()), _e(value)) for label, value in _results(run, cycles)]),
        "<h2>Per-cycle table</h2>",
        '<p class="note">Capacities from the cycler\'s charge counter per step; energies ∫V dQ; mean voltages '
        "energy / capacity; polarization = mean charge − mean discharge voltage; retention = discharge capacity / "
        "that of the first cycle with a full discharge; irreversible swelling = the cycle's minimum electrode "
        "thickness − the first cycle's. Exact values in <code>cycles.csv</code>.</p>",
        _cycle_table_html(cycles, complete),
        "<h2>Figures</h2>",
    ]
    for file in ("cycles.png", "timeseries.png", "swelling.png", "dqdv.png"):
        if file in images:
            parts.append(_figure_html(file, images[file]))
    parts += ["<h2>Events</h2>", _events_html(run.events, samples)]
    for key, title in (("protocol", "Protocol as run"), ("bench", "Bench as run")):
        if meta.get(key):
            parts.append(f"<details><summary>{_e(title)}</summary><pre>{_e(meta[key])}</pre></details>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _named(meta: dict[str, str], key: str) -> str:
    name = meta.get(f"{key}_name", "n/a")
    source = meta.get(f"{key}_source")
    return f"{name} ({source})" if source and source != name else name


def _cell_text(meta: dict[str, str]) -> str:
    parts = []
    area = _float(meta.get("area"))
    if area is not None:
        parts.append(f"area {area * 1e4:.4g} cm²")
    capacity = _float(meta.get("nominal_capacity"))
    if capacity is not None:
        parts.append(f"nominal capacity {capacity / COULOMB_PER_AH * MAH_PER_AH:.4g} mAh")
    return ", ".join(parts) or "n/a"


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _facts_table(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table; labels and values are HTML already (escaped by the caller)."""
    body = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


def _number(value: object, scale: float, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "–"
    if spec == "d":
        return str(int(value))
    return format(float(value) * scale, spec)


def _cycle_table_html(cycles: pd.DataFrame, complete: set[int]) -> str:
    if cycles.empty:
        return '<p class="note">No cycles recorded.</p>'
    header = "".join(f'<th scope="col">{_e(title)}</th>' for _, title, _, _ in CYCLE_TABLE_DISPLAY)
    rows = []
    for record in cycles.to_dict("records"):
        done = int(record["cycle"]) in complete
        cells = []
        for column, _, scale, spec in CYCLE_TABLE_DISPLAY:
            text = _number(record[column], scale, spec)
            if column == "cycle" and not done:
                text += " (incomplete)"
            cells.append(f'<td class="num">{_e(text)}</td>')
        row_class = "" if done else ' class="incomplete"'
        rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table class="cycles"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _figure_html(file: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    caption = _FIGURE_CAPTIONS.get(file, "")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(file)}: {_e(caption)}">'
        f"<figcaption>{_e(file)}: {_e(caption)}</figcaption></figure>"
    )


def report_events(events: pd.DataFrame) -> pd.DataFrame:
    """The events a report lists: every kind but step changes, at most `MAX_EVENTS_PER_KIND` of each kind.

    That is: run start and end, trips, alarms, pauses and resumes, faults and
    recoveries, warnings, operator actions and notes, pressure setpoints.
    """
    shown = events[~events["kind"].isin(HIDDEN_EVENT_KINDS)]
    return shown[shown.groupby("kind").cumcount() < MAX_EVENTS_PER_KIND]


def _events_html(events: pd.DataFrame, samples: pd.DataFrame) -> str:
    shown = report_events(events)
    if shown.empty:
        return '<p class="note">No events besides step changes.</p>'
    t = samples["t"].to_numpy(dtype="float64")
    rows = []
    for event in shown.to_dict("records"):
        where = ("", "")
        if len(t):
            i = max(int(np.searchsorted(t, event["t"], side="right")) - 1, 0)
            where = (str(samples["cycle"].iloc[i]), str(samples["step"].iloc[i]))
        rows.append(
            "<tr>"
            f'<td class="num">{_e(_clock(event["t"]))}</td>'
            f'<td class="num">{_e(where[0])}</td><td class="num">{_e(where[1])}</td>'
            f"<td>{_e(event['kind'])}</td><td>{_e(event['message'])}</td><td>{_e(_details(event['data']))}</td>"
            "</tr>"
        )
    counts = events["kind"].value_counts()
    left_out = [f"{counts[k] - MAX_EVENTS_PER_KIND} more {k}" for k in counts.index if counts[k] > MAX_EVENTS_PER_KIND]
    hidden = int(events["kind"].isin(HIDDEN_EVENT_KINDS).sum())
    note = f"Step changes are not listed ({hidden})" + (
        f"; left out: {', '.join(left_out)} (all are in the run file's events table)" if left_out else ""
    )
    return (
        '<div class="scroll"><table class="events"><thead><tr><th scope="col">Time / h:mm:ss</th>'
        '<th scope="col">Cycle</th><th scope="col">Step</th><th scope="col">Kind</th>'
        '<th scope="col">Message</th><th scope="col">Details</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f'<p class="note">{_e(note)}.</p>'
    )


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _details(data: dict) -> str:
    def shown(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.6g}"
        return value if isinstance(value, str) else json.dumps(value, default=str)

    return ", ".join(f"{key}={shown(value)}" for key, value in data.items())


# --- figures -----------------------------------------------------------------------------------


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


def _cycles_figure(cycles: pd.DataFrame, complete: Sequence[int], name: str) -> Figure:
    """Per cycle: capacities, retention and CE, pressure range, thickness swing and irreversible swelling."""
    fig = Figure(figsize=(12, 8), layout="constrained")
    (cap_ax, ret_ax), (p_ax, d_ax) = fig.subplots(2, 2, sharex=True)
    n = cycles["cycle"].to_numpy(dtype="float64")
    done = cycles["cycle"].isin(list(complete)).to_numpy()

    def points(ax, values: pd.Series, colour: str, label: str, marker: str = "o") -> None:
        y = values.to_numpy(dtype="float64")
        ax.plot(n, y, color=colour, lw=0.8, marker=marker, ms=4, label=label)
        if (~done).any():  # an interrupted cycle: open marker, it is not comparable
            ax.plot(n[~done], y[~done], ls="none", marker=marker, ms=7, mfc="white", mec=colour)

    points(cap_ax, cycles["discharge_capacity_Ah"] * MAH_PER_AH, "tab:blue", "discharge")
    points(cap_ax, cycles["charge_capacity_Ah"] * MAH_PER_AH, "tab:orange", "charge", "s")
    cap_ax.set_ylabel("Capacity / mAh")
    cap_ax.set_title("Capacity")
    points(ret_ax, cycles["retention"] * 100, "tab:blue", "retention")
    points(ret_ax, cycles["coulombic_efficiency"] * 100, "tab:purple", "coulombic efficiency", "s")
    ret_ax.set_ylabel("%")
    ret_ax.set_title("Retention (vs the first full discharge) and coulombic efficiency")
    p_ax.fill_between(n, cycles["pressure_min_MPa"], cycles["pressure_max_MPa"], color="tab:red", alpha=0.2,
                      lw=0, label="min-max")
    points(p_ax, cycles["pressure_mean_MPa"], "tab:red", "mean (time-weighted)")
    p_ax.set_ylabel("Stack pressure / MPa")
    p_ax.set_title("Stack pressure")
    points(d_ax, cycles["thickness_swing_um"], "tab:green", "swing (max - min)")
    points(d_ax, cycles["irreversible_swelling_um"], "tab:brown", "irreversible swelling (min - first min)", "s")
    d_ax.set_ylabel("Electrode thickness / µm")
    d_ax.set_title("Electrode thickness")
    for ax in (cap_ax, ret_ax, p_ax, d_ax):
        ax.grid(True, alpha=0.3)
        if len(cycles):
            ax.legend(loc="best", fontsize="small")
    for ax in (p_ax, d_ax):
        ax.set_xlabel("Cycle")
        ax.xaxis.get_major_locator().set_params(integer=True)
    note = " (open markers: incomplete cycle)" if (~done).any() else ""
    fig.suptitle(f"{name}: per-cycle capacity, retention, pressure and thickness{note}")
    return fig


def _dqdv_figure(samples: pd.DataFrame, cycles: Sequence[int], name: str) -> Figure:
    """dQ/dV of the given cycles, charge (> 0) and discharge (< 0) on one axis, one colour per cycle."""
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.subplots()
    colours = mpl.colormaps["viridis"](np.linspace(0.0, 0.85, max(len(cycles), 1)))
    for colour, cycle in zip(colours, cycles, strict=False):
        for direction, style in (("charge", "-"), ("discharge", "--")):
            curve = dqdv(samples, cycle, direction)
            if len(curve):
                label = f"cycle {cycle}" if direction == "charge" else None
                ax.plot(curve["voltage_V"], curve["dqdv_mAh_per_V"], color=colour, ls=style, lw=1.0, label=label)
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel("Voltage / V")
    ax.set_ylabel("dQ/dV / mAh V⁻¹\n(charge > 0, discharge < 0)")
    ax.grid(True, alpha=0.3)
    if cycles:
        ax.legend(loc="best")
    else:
        ax.text(0.5, 0.5, "no charge or discharge recorded", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(f"{name}: incremental capacity (dQ/dV, {DEFAULT_BIN_WIDTH * 1e3:g} mV bins, constant-current steps)")
    return fig


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)  # attaches the Agg canvas to the figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
