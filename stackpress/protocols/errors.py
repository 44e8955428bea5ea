"""The one error a protocol can raise, and the wording its problems share.

A protocol is refused as a whole, before anything is sent to the bench, and the
user should be able to fix every mistake in one pass: so problems are collected
and raised together, each on its own line, each naming where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class ProtocolError(ValueError):
    """A protocol that cannot run; `problems` holds one located message per mistake."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def located(where: str, text: str, problem: str, line: int = 0) -> str:
    """One problem line about a step: where it is, what the user wrote, its line in the file (0: unknown),
    what is wrong."""
    at = f" at line {line}" if line else ""
    return f'{where} ("{text}"){at}: {problem}'


def attempt(problems: list[str], read: Callable[..., Any], *args: Any) -> Any:
    """`read(*args)`, or None with its complaint added to `problems`: reading goes on, so one pass
    reports every mistake instead of the first."""
    try:
        return read(*args)
    except ValueError as exc:
        problems.append(str(exc))
        return None
