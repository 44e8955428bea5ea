"""Protocols written as Python: a file whose `protocol(run)` is a generator of steps.

    # fade-check.py
    NAME = "fade-check"                           # optional; default: the file name
    LIMITS = {"voltage": ["2.5 V", "4.3 V"]}      # required: the same keys as a TOML file's [limits]

    def protocol(run):
        yield "Hold pressure at 10 MPa"
        yield "Rest for 10 minutes"
        while run.cycle < 500:
            yield "Charge at C/3 until 4.2 V and hold until C/20"
            yield "Discharge at C/3 until 2.5 V"
            if run.discharge_capacity(run.cycle) < 0.8 * run.discharge_capacity(1):
                break
        yield "Charge at C/20 until 4.2 V"

Each yielded step is text in the step language (or a Step); the runner asks
for the next one only when the previous has ended, so the generator can decide
on what has been measured so far through `run` (a `Measured`). The file is
imported by path (importlib) as the module it is, never `exec`'d from text, and
only when the user names it. Its limits are checked before anything moves; its
steps, decided as it runs, are each checked against those limits when yielded,
and a bad one ends the run (with the cleanup) naming the script's line.
A run of a script cannot be restored after a crash: a generator's place is not
data.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.steps import Step

if TYPE_CHECKING:
    from stackpress.protocols.runner import Runner
    from stackpress.sample import Sample

Script = Callable[["Measured"], Iterator["str | Step"]]


class Measured:
    """What a script's generator may look at: the runner's counters and capacities, read-only, in SI."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    @property
    def cycle(self) -> int:
        """The current cycle count (BDF: from 1)."""
        return self._runner.cycle_count

    @property
    def step(self) -> int:
        """The number of steps begun so far."""
        return self._runner.step_count

    @property
    def sample(self) -> Sample | None:
        """The last sample the runner saw (None before the first)."""
        return self._runner.last_sample

    def charge_capacity(self, cycle: int) -> float:
        """C charged in `cycle` so far (0 for a cycle not reached)."""
        return self._runner.cycle_capacity(cycle, "charge")

    def discharge_capacity(self, cycle: int) -> float:
        """C discharged in `cycle` so far (0 for a cycle not reached)."""
        return self._runner.cycle_capacity(cycle, "discharge")


def load_script(path: Path) -> tuple[str, dict[str, Any], Script, str]:
    """The script's name, its LIMITS table, its `protocol` generator function and its source text."""
    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError([f"{label}: cannot read the script: {exc}"]) from None
    module = _import(path, label)
    problems = []
    generator = getattr(module, "protocol", None)
    if not inspect.isgeneratorfunction(generator):
        problems.append(f"{label}: needs a generator function protocol(run) that yields steps, e.g. "
                        "def protocol(run): yield \"Rest for 10 minutes\"")
    limits = getattr(module, "LIMITS", None)
    if not isinstance(limits, dict):
        problems.append(f"{label}: needs LIMITS = {{\"voltage\": [\"2.5 V\", \"4.3 V\"]}} (the keys of a protocol "
                        "file's [limits])")
    name = getattr(module, "NAME", path.stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{label}: NAME must be non-empty text, not {name!r}")
    if problems:
        raise ProtocolError(problems)
    return name, limits, generator, text


def _import(path: Path, label: str) -> ModuleType:
    name = f"stackpress_protocol_script_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProtocolError([f"{label}: cannot be imported as a Python module"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: any error is theirs, reported with its line
        lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == str(path)]
        line = lines[-1] if lines else "?"
        raise ProtocolError([f"{label}, line {line}: importing the script failed: {type(exc).__name__}: {exc}"]) \
            from exc
    return module

