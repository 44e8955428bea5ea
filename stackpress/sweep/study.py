"""A study: a sweep file read into data — a protocol template, a base bench, a grid of settings.

A sweep file is TOML (the format is documented in `stackpress.sweep`). Reading
it does not run anything and does not need dask: `load_study` gives a `Study`,
`Study.cells()` expands its grid into `Cell`s, and `Study.jobs(out)` turns every
cell into a `CellJob` — the protocol text and the bench tables that cell runs
with — after checking every single one of them (protocol, bench, simulator
settings, protocol against bench) the way `stackpress run` would. A sweep with
one bad combination is refused as a whole, before any cell runs, with every
problem named by its cell.

Settings are named by keys:
- `seed`: the simulated bench's noise seed for the cell;
- `table.key` (one dot), e.g. `cell.si_particle_size`: replaces that key of
  the base bench's `[table]`;
- a plain name, e.g. `pressure`: fills the `{pressure}` placeholder of the
  protocol template. Placeholders are filled by `str.format` substitution of
  the values as text; only plain `{name}` fields are allowed (no attribute or
  index look-ups), so a template can never reach into Python objects.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackpress.bench import DEFAULT_BENCH, Bench, BenchError, load_bench, parse_bench, toml_text, toml_value
from stackpress.clock import VirtualClock
from stackpress.lookup import NotFound, bundled, did_you_mean, resolve
from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.load import bundled_protocols, parse_protocol_text
from stackpress.units import UnitError

SEED = "seed"
LABEL = "label"  # in a point of a grouped axis: how the point is named in the table and the maps
_TOP_KEYS = ("name", "description", "protocol", "bench", "seed", "fixed", "grid", "maps")
_MAPS_KEYS = ("x", "at_cycle", "reference_cycle")
_BENCH_TABLES = ("cell", "fixture", "load_cell", "engine", "limits", "regulator", "cycler")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_PROBLEMS_SHOWN = 25

Scalar = str | int | float | bool


class SweepError(ValueError):
    """A sweep that cannot run; `problems` holds one message per mistake, each naming its cell."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:_MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more} more"] if more > 0 else [])))


@dataclass(frozen=True)
class Point:
    """One value of an axis: its label (a column value in the table) and the settings it makes."""

    label: str
    settings: Mapping[str, Scalar]


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid, its points in the order the file lists them."""

    name: str  # the grid key: a setting key ("pressure", "cell.si_structure") or a group name ("design")
    points: tuple[Point, ...]
    grouped: bool  # a list of tables: each point sets several keys together

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.points[0].settings) if self.points else ()


@dataclass(frozen=True)
class MapSettings:
    x: str  # the axis along the maps' x: stack pressure, usually
    at_cycle: int  # the fixed cycle of the second retention map
    reference_cycle: int  # retention is discharge capacity over this cycle's


@dataclass(frozen=True)
class Cell:
    """One combination of the grid: which point of every axis, and every setting that makes."""

    index: int  # 1-based, in grid order (the last axis varies fastest)
    labels: Mapping[str, str]  # axis name -> point label
    settings: Mapping[str, Scalar]  # every key, [fixed] and grid: seed, table.key, placeholders
    seed: int

    def describe(self) -> str:
        """How messages name the cell: `cell 3 (pressure=1 MPa, design=c-Si 100 nm)`."""
        inside = ", ".join(f"{axis}={label}" for axis, label in self.labels.items())
        return f"cell {self.index} ({inside})"


@dataclass(frozen=True)
class CellJob:
    """What a worker needs to run one cell: plain data, cheap to pickle, nothing to look up."""

    index: int
    labels: Mapping[str, str]
    settings: Mapping[str, Scalar]
    seed: int
    protocol_text: str
    protocol_source: str
    bench_tables: Mapping[str, Any]
    bench_text: str
    bench_source: str
    bench_name: str
    run_path: str
    overwrite: bool = False
    scratch: str | None = None  # a local folder to record in, the run file moved to run_path when done

    @property
    def description(self) -> str:
        return Cell(self.index, self.labels, self.settings, self.seed).describe()


@dataclass(frozen=True)
class Study:
    name: str
    description: str
    source: str  # the sweep file
    text: str  # the sweep file as written
    protocol_source: str  # the template's file
    protocol_template: str  # its text, with {placeholders}
    bench: Bench  # the base bench, before any override
    seed: int
    fixed: Mapping[str, Scalar]
    axes: tuple[Axis, ...]
    maps: MapSettings
    placeholders: tuple[str, ...] = field(default=())  # the template's fields, in order of first use

    def cells(self) -> list[Cell]:
        """Every combination of the grid, the last axis varying fastest."""
        cells = []
        for index, points in enumerate(itertools.product(*(axis.points for axis in self.axes)), 1):
            settings: dict[str, Scalar] = dict(self.fixed)
            for point in points:
                settings.update(point.settings)
            seed = settings.get(SEED, self.seed)
            labels = {axis.name: point.label for axis, point in zip(self.axes, points, strict=True)}
            cells.append(Cell(index, labels, settings, int(seed)))
        return cells

    def protocol_text(self, cell: Cell) -> str:
        """The template with the cell's placeholders filled in."""
        values = {key: _as_text(value) for key, value in cell.settings.items() if _is_placeholder(key)}
        return self.protocol_template.format_map(values)

    def bench_tables(self, cell: Cell) -> dict[str, Any]:
        """The base bench's tables with the cell's `table.key` settings in place."""
        tables = copy.deepcopy(self.bench.tables)
        for key, value in cell.settings.items():
            if "." in key:
                table, name = key.split(".")
                tables.setdefault(table, {})[name] = value
        return tables

    def jobs(self, out: Path, *, overwrite: bool = False, scratch: Path | None = None) -> list[CellJob]:
        """One job per cell, each checked as `stackpress run` would check it; SweepError lists all problems.

        Run files go to `out/cells/cell-NNN.sqlite` (recorded in `scratch` first, if given).
        """
        cells = self.cells()
        width = max(3, len(str(len(cells))))
        jobs, problems = [], []
        for cell in cells:
            try:
                run_path = out / "cells" / f"cell-{cell.index:0{width}d}.sqlite"
                jobs.append(self._job(cell, run_path, overwrite, scratch))
            except ProtocolError as exc:
                problems.extend(f"{cell.describe()}: {problem}" for problem in exc.problems)
            except (BenchError, UnitError, ValueError) as exc:
                problems.append(f"{cell.describe()}: {exc}")
        if problems:
            raise SweepError(problems)
        return jobs

    def _job(self, cell: Cell, run_path: Path, overwrite: bool, scratch: Path | None = None) -> CellJob:
        protocol_text = self.protocol_text(cell)
        protocol = parse_protocol_text(protocol_text, self.protocol_source)
        tables = self.bench_tables(cell)
        overrides = {key: value for key, value in cell.settings.items() if "." in key}
        header = [f"# {self.bench.source}, as {cell.describe()} of sweep {self.name!r} runs it"]
        header += [f"#   {key} = {toml_value(value)}" for key, value in overrides.items()]
        bench_text = "\n".join(header) + "\n" + toml_text(tables)
        if tomllib.loads(bench_text) != tables:  # pragma: no cover - toml_text writes what bench files hold
            raise ValueError(f"cannot write the bench of {cell.describe()} back as TOML")
        bench_source = f"{self.bench.source} [{cell.describe()}]"
        bench = parse_bench(tables, text=bench_text, source=bench_source, default_name=self.bench.name)
        bench.check_protocol(protocol)
        bench.connect(VirtualClock(), cell.seed)  # the simulator's own checks, and the fixture's rating
        return CellJob(
            index=cell.index,
            labels=dict(cell.labels),
            settings=dict(cell.settings),
            seed=cell.seed,
            protocol_text=protocol_text,
            protocol_source=self.protocol_source,
            bench_tables=tables,
            bench_text=bench_text,
            bench_source=bench_source,
            bench_name=bench.name,
            run_path=str(run_path),
            overwrite=overwrite,
            scratch=None if scratch is None else str(scratch),
        )


# --- reading a sweep file -------------------------------------------------------------------


def bundled_studies() -> dict[str, Path]:
    """The sweep files shipped with stackpress, by name (file name without .toml)."""
    return bundled("stackpress.sweep", "bundled")


def load_study(name_or_path: str | Path) -> Study:
    """The sweep in an existing file, else the bundled sweep of that name ("pressure-window")."""
    try:
        path = resolve(name_or_path, bundled_studies(), "sweep").path
    except NotFound as exc:
        raise SweepError([str(exc)]) from None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError([f"{path}: cannot read the file: {exc}"]) from None
    return parse_study(text, path)


def parse_study(text: str, path: Path) -> Study:
    """A study from the text of a sweep file at `path` (relative protocol and bench files are found beside it)."""
    label = path.name
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError([f"{label}: not valid TOML: {exc}"]) from None
    problems: list[str] = []
    for key in document:
        if key not in _TOP_KEYS:
            hint = did_you_mean(key, _TOP_KEYS)
            problems.append(f"{label}: unknown key '{key}'{hint}; expected {', '.join(_TOP_KEYS)}")

    name = document.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{label}: name must be non-empty text, not {name!r}")
    description = document.get("description", "")
    seed = document.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.append(f"{label}: seed must be a whole number, not {seed!r}")
        seed = 0

    template_source, template = _protocol_template(document.get("protocol"), path, label, problems)
    bench = _base_bench(document.get("bench", DEFAULT_BENCH), path, label, problems)
    fixed = _fixed(document.get("fixed", {}), label, problems)
    axes = _axes(document.get("grid"), label, problems)
    for axis in axes:
        for key in axis.keys:
            if key in fixed:
                problems.append(f"{label}: '{key}' is set in [fixed] and varied in [grid] ({axis.name}); pick one")
    placeholders = _placeholders(template, template_source, problems) if template is not None else ()
    if template is not None:
        _check_placeholders(placeholders, fixed, axes, template_source, label, problems)
    maps = _maps(document.get("maps", {}), axes, label, problems)
    if problems or bench is None or template is None or maps is None:
        raise SweepError(problems)
    return Study(
        name=name,
        description=str(description),
        source=str(path),
        text=text,
        protocol_source=template_source,
        protocol_template=template,
        bench=bench,
        seed=seed,
        fixed=fixed,
        axes=axes,
        maps=maps,
        placeholders=placeholders,
    )


def _protocol_template(raw: Any, path: Path, label: str, problems: list[str]) -> tuple[str, str | None]:
    """(source, text) of the protocol: a file beside the sweep file, a file, or a bundled protocol."""
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f'{label}: needs protocol = "FILE.toml" (beside the sweep file) or a bundled protocol name')
        return "", None
    try:
        found = resolve(raw, bundled_protocols(), "protocol", beside=path.parent)
    except NotFound as exc:
        problems.append(f"{label}: protocol: {exc}")
        return "", None
    try:
        text = found.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{label}: protocol {raw!r}: cannot read the file: {exc}")
        return "", None
    return (f"bundled:{raw}" if found.bundled else str(found.path)), text


def _base_bench(raw: Any, path: Path, label: str, problems: list[str]) -> Bench | None:
    """The bench the cells start from; a real bench is refused, because checking every cell would connect
    its instruments and a sweep only runs simulated cells (no override can drop [instruments]: it is not
    one of the bench tables a cell may set)."""
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f'{label}: bench must be a bench file or bundled bench name, like bench = "sim-hydraulic"')
        return None
    try:
        bench = load_bench(raw, beside=path.parent)
    except (BenchError, UnitError) as exc:
        problems.append(f"{label}: bench: {exc}")
        return None
    if not bench.simulated:
        problems.append(
            f"{label}: bench {bench.source} has an [instruments] table: a sweep runs only simulated benches "
            "(checking its cells would connect the real instruments); name a bench without [instruments]"
        )
        return None
    return bench


def _check_key(key: str, where: str, problems: list[str]) -> bool:
    if key == SEED or _IDENTIFIER.match(key):
        return True
    parts = key.split(".")
    if len(parts) == 2 and all(_IDENTIFIER.match(part) for part in parts):
        if parts[0] in _BENCH_TABLES:
            return True
        problems.append(
            f"{where}: '{key}': [{parts[0]}] is not a bench table{did_you_mean(parts[0], _BENCH_TABLES)} "
            f"(bench tables: {', '.join(_BENCH_TABLES)})"
        )
        return False
    problems.append(
        f"{where}: '{key}' is not a setting name: use a protocol placeholder (pressure), a bench key as "
        f"\"table.key\" (\"cell.si_particle_size\"), or seed"
    )
    return False


def _check_value(key: str, value: Any, where: str, problems: list[str]) -> bool:
    if key == SEED:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: seed must be a whole number, not {value!r}")
            return False
        return True
    if isinstance(value, Scalar) and not (isinstance(value, float) and not math.isfinite(value)):
        return True
    problems.append(f"{where}: '{key}' must be text, a number or true/false, not {value!r}")
    return False


def _fixed(raw: Any, label: str, problems: list[str]) -> dict[str, Scalar]:
    if not isinstance(raw, dict):
        problems.append(f"{label}: [fixed] must be a table of settings")
        return {}
    where = f"{label}, [fixed]"
    return {
        key: value
        for key, value in raw.items()
        if _check_key(key, where, problems) and _check_value(key, value, where, problems)
    }


def _axes(raw: Any, label: str, problems: list[str]) -> tuple[Axis, ...]:
    if not isinstance(raw, dict) or not raw:
        problems.append(f'{label}: needs a [grid] table with at least one axis, like pressure = ["5 MPa", "10 MPa"]')
        return ()
    axes = []
    for name, values in raw.items():
        where = f"{label}, [grid] {name}"
        if not isinstance(values, list) or not values:
            problems.append(f"{where}: an axis must be a non-empty list of values, or of tables ([[grid.{name}]])")
            continue
        if all(isinstance(value, dict) for value in values):
            axis = _grouped_axis(name, values, where, problems)
        else:
            axis = _plain_axis(name, values, where, problems)
        if axis is not None:
            labels = [point.label for point in axis.points]
            for duplicate in sorted({x for x in labels if labels.count(x) > 1}):
                problems.append(f"{where}: {duplicate!r} appears twice")
            axes.append(axis)
    return tuple(axes)


def _plain_axis(name: str, values: list[Any], where: str, problems: list[str]) -> Axis | None:
    if not _check_key(name, f"{where}", problems):
        return None
    if not all(_check_value(name, value, where, problems) for value in values):
        return None
    return Axis(name, tuple(Point(_as_text(value), {name: value}) for value in values), grouped=False)


def _grouped_axis(name: str, tables: list[dict[str, Any]], where: str, problems: list[str]) -> Axis | None:
    if not _IDENTIFIER.match(name) or name == SEED:
        problems.append(f"{where}: a group of settings needs a plain name, like [[grid.design]]")
        return None
    points, ok = [], True
    for number, table in enumerate(tables, 1):
        point_where = f"{where}, point {number}"
        settings = {key: value for key, value in table.items() if key != LABEL}
        if not settings:
            problems.append(f"{point_where}: sets nothing")
            ok = False
            continue
        if not all(_check_key(k, point_where, problems) and _check_value(k, v, point_where, problems)
                   for k, v in settings.items()):
            ok = False
            continue
        point_label = table.get(LABEL, ", ".join(f"{k}={_as_text(v)}" for k, v in settings.items()))
        if not isinstance(point_label, str) or not point_label.strip():
            problems.append(f"{point_where}: label must be non-empty text, not {point_label!r}")
            ok = False
            continue
        points.append(Point(point_label, settings))
    if ok and points:
        keys = set(points[0].settings)
        for number, point in enumerate(points[1:], 2):
            if set(point.settings) != keys:
                problems.append(
                    f"{where}, point {number}: sets {', '.join(sorted(point.settings))}; every point of a group "
                    f"must set the same keys as the first ({', '.join(sorted(keys))})"
                )
                ok = False
    return Axis(name, tuple(points), grouped=True) if ok else None


def _placeholders(template: str, source: str, problems: list[str]) -> tuple[str, ...]:
    """The template's {fields} in order of first use; anything but a plain {name} is refused."""
    where = Path(source).name if not source.startswith("bundled:") else source
    found: list[str] = []
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        problems.append(f"{where}: cannot read its placeholders ({exc}); write a literal brace as {{{{ or }}}}")
        return ()
    for name in fields:
        if not _IDENTIFIER.match(name) or name == SEED:
            problems.append(
                f"{where}: placeholder {{{name}}} is not allowed: only plain names like {{pressure}} "
                "(write a literal brace as {{ or }})"
            )
        elif name not in found:
            found.append(name)
    return tuple(found)


def _check_placeholders(
    placeholders: tuple[str, ...],
    fixed: Mapping[str, Scalar],
    axes: tuple[Axis, ...],
    source: str,
    label: str,
    problems: list[str],
) -> None:
    where = Path(source).name if not source.startswith("bundled:") else source
    given = {key for key in fixed if _is_placeholder(key)}
    for axis in axes:
        given |= {key for key in axis.keys if _is_placeholder(key)}
    for name in placeholders:
        if name not in given:
            problems.append(f"{label}: the protocol {where} uses {{{name}}}, but neither [fixed] nor [grid] sets it")
    for name in sorted(given - set(placeholders)):
        problems.append(
            f"{label}: '{name}' is not a placeholder of the protocol {where}"
            f"{did_you_mean(name, placeholders)} (its placeholders: {', '.join(placeholders) or 'none'})"
        )


def _maps(raw: Any, axes: tuple[Axis, ...], label: str, problems: list[str]) -> MapSettings | None:
    if not isinstance(raw, dict):
        problems.append(f"{label}: [maps] must be a table")
        return None
    for key in raw:
        if key not in _MAPS_KEYS:
            problems.append(f"{label}, [maps]: unknown key '{key}'{did_you_mean(key, _MAPS_KEYS)}")
    names = [axis.name for axis in axes]
    x = raw.get("x", "pressure" if "pressure" in names else (names[0] if names else ""))
    if names and x not in names:
        problems.append(f"{label}, [maps]: x = {x!r} is not a grid axis (axes: {', '.join(names)})")
    numbers = {}
    for key, default in (("at_cycle", 10), ("reference_cycle", 1)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{label}, [maps]: {key} must be a cycle number of 1 or more, not {value!r}")
            value = default
        numbers[key] = value
    return MapSettings(x=x, **numbers)


# --- small helpers --------------------------------------------------------------------------


def _is_placeholder(key: str) -> bool:
    return key != SEED and "." not in key


def _as_text(value: Scalar) -> str:
    """A setting as the protocol text and the table show it: text verbatim, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)



