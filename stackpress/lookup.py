"""Finding what the user named: the closest known word to a typo, and a file path or a bundled file's name.

Benches, dialects, protocols and sweeps are all given the same way: a TOML file,
else the name of one shipped in a package folder. They share the lookup here so
that every one of them refuses an unknown name alike — naming the word, the
closest bundled name and all of them — each through its own error type.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A hint naming the closest option as it is spelled, or "" when nothing is close; case is ignored
    so that "Chrage" finds "Charge" and "LOADCELL" finds "load_cell"."""
    by_lower = {option.lower(): option for option in options}
    close = difflib.get_close_matches(word.lower(), by_lower, n=1)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def bundled(package: str, folder: str) -> dict[str, Path]:
    """The .toml files shipped in `folder` of `package`, by name (the file name without .toml), sorted by name."""
    files = resources.files(package).joinpath(folder)
    names = sorted(entry.name for entry in files.iterdir() if entry.name.endswith(".toml"))
    return {Path(name).stem: Path(str(files.joinpath(name))) for name in names}


class NotFound(LookupError):
    """Neither a file nor a bundled name; the message says so, so callers re-raise it as their own error."""


@dataclass(frozen=True)
class Found:
    """Where a name led: the file to read, and whether it is a bundled one (protocols label those "bundled:")."""

    path: Path
    bundled: bool  # found by its bundled name, not as a file


def resolve(name_or_path: str | Path, files: Mapping[str, Path], what: str, *, beside: Path | None = None) -> Found:
    """The existing file `name_or_path` (looked for in `beside` first, if given), else the bundled file of
    that name in `files`; a file wins over a bundled name so a user's own copy is never shadowed.

    Raises NotFound naming the word, the closest bundled name and every bundled `what`.
    """
    path = Path(name_or_path)
    for candidate in ((beside / path,) if beside is not None else ()) + (path,):
        if candidate.is_file():
            return Found(candidate, bundled=False)
    word = str(name_or_path)
    if word in files:
        return Found(files[word], bundled=True)
    where = f" here or in {beside}" if beside is not None else ""
    raise NotFound(
        f"no {what} file '{word}'{where} and no bundled {what} of that name{did_you_mean(word, files)} "
        f"(bundled: {', '.join(files) or 'none'})"
    )
