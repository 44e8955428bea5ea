"""Shared pieces of the end-to-end tests: a short C/3 cycling protocol and a way to run it in memory."""

from __future__ import annotations

from pathlib import Path

from stackpress.bench import load_bench
from stackpress.protocols.load import parse_protocol_text
from stackpress.sample import Event, Sample
from stackpress.session import Session

C3_CYCLING = """
name = "c3-cycling"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 10 minutes"]
[[block]]
repeat = {repeat}
steps = ["Charge at C/3 until 4.2 V", "Hold at 4.2 V until C/20", "Rest for 10 minutes",
         "Discharge at C/3 until 2.5 V", "Rest for 10 minutes"]
"""


def c3_cycling(repeat: int = 2):
    return parse_protocol_text(C3_CYCLING.format(repeat=repeat), "c3-cycling.toml")


def run_in_memory(bench: str, out: Path, *, repeat: int = 2, seed: int = 0) -> tuple[str, list[Sample], list[Event]]:
    """Run C/3 cycling on a bundled bench; every engine tick and event, as well as the run file."""
    samples: list[Sample] = []
    events: list[Event] = []
    session = Session(
        c3_cycling(repeat), load_bench(bench), out, seed=seed, on_sample=[samples.append], on_event=[events.append]
    )
    return session.run(), samples, events
