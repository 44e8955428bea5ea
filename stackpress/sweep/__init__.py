"""Sweeps: many simulated cells over a grid of bench and protocol settings, one table, maps.

    stackpress sweep SWEEP.toml --out DIR [--scheduler ADDRESS] [--workers N] [--overwrite]
                     [--scratch DIR|none] [--check]

A sweep file (or the name of a bundled one: `pressure-window`):

    name = "pressure-window"
    protocol = "protocols/pressure-window-cycling.toml"  # beside this file, a file, or a bundled protocol;
                                                         # a template: {pressure} etc. are filled per cell
    bench = "sim-hydraulic"          # the base bench (file or bundled name); settings below override it
    seed = 0                         # the simulated noise seed of every cell (or vary "seed" in [grid])

    [fixed]                          # the same for every cell
    cycles = 100                     # a plain name fills the protocol's {cycles}
    "engine.period" = "30 s"         # "table.key" replaces that key of the bench's [table]
    "regulator.ki" = 0.02

    [grid]                           # every combination of these is one cell
    pressure = ["1 MPa", "10 MPa", "100 MPa"]   # an axis: a list of values of one setting
    [[grid.design]]                  # an axis of grouped settings: each table is one point
    label = "c-Si 100 nm"            # its name in the table and maps (default: its settings)
    "cell.si_structure" = "crystalline"
    "cell.si_particle_size" = "100 nm"

    [maps]
    x = "pressure"                   # the axis along x (default: pressure, else the first axis)
    at_cycle = 50                    # the fixed cycle of the second retention map (default 10)
    reference_cycle = 1              # retention = discharge capacity / this cycle's (default 1)

Placeholders are filled by `str.format`-style substitution of the values as
text; only plain `{name}` fields are allowed, and a literal brace is written
`{{` or `}}`. Every name must be set, and every plain name set must be a
placeholder, so a typo is refused. Every cell's protocol and bench are checked
— and the protocol against the bench — before any cell runs; errors name the
cell (`cell 3 (pressure=1 MPa, design=c-Si 100 nm): ...`).

- `study`: the sweep file as data: `load_study`, `Study.cells()`, `Study.jobs()`;
- `cells`: what a worker does with one cell (`run_cell`);
- `run`: the cells on Dask, and the table (`run_sweep`);
- `maps`: per-cell retention and the PNG maps.
"""

from __future__ import annotations

from stackpress.sweep.study import Axis, Cell, CellJob, Point, Study, SweepError, bundled_studies, load_study

__all__ = [
    "Axis",
    "Cell",
    "CellJob",
    "Point",
    "Study",
    "SweepError",
    "bundled_studies",
    "load_study",
]
