"""Connecting the bench without a test: a session whose protocol only rests, so the window shows live readings.

The window never talks to an instrument, so "Connect" is a session like any
run, with a protocol that does nothing to the cell: the cycler rests (no
current), no pressure step (the actuator stays where it is, the regulator holds
nothing until the operator sets a pressure or jogs), for longer than anyone
leaves a bench connected. Everything else is a run's: the engine reads every
instrument every tick, the interlocks are on (the bench's hard pressure limit, a
voltage window that only a broken or shorted cell leaves), faults pause it and
it goes on by itself once the instrument answers again, and "Disconnect" is an
abort, with the run's cleanup (cycler off, actuator holding).

It records into a run file in the runs folder like any run ("monitor-...").
The readings of a connected bench are evidence too (a cell relaxing under its
preload overnight, an instrument dropping out) and the file costs little (a row
every 10 s when nothing changes); a temporary file would lose them.
"""

from __future__ import annotations

import dataclasses

from stackpress.bench import Bench
from stackpress.protocols.load import parse_protocol_text
from stackpress.protocols.steps import Limits, Protocol

MONITOR_NAME = "monitor"
MONITOR_PROTOCOL = """\
name = "{name}"
# A connected bench: the cycler rests and no pressure is held; Disconnect ends it (an abort).
[limits]
voltage = ["0.01 V", "5 V"]
pressure_window = ["{low:g} Pa", "{high:g} Pa"]
resume = "auto"
max_pause = "1000 days"
[[block]]
steps = ["Rest for 1000 days"]
"""


def monitor_protocol(bench: Bench) -> Protocol:
    """The monitor's protocol on `bench`: its pressure window (for a setpoint the operator enters while
    connected) is the usual one, cut at the bench's hard limit."""
    usual = {field.name: field.default for field in dataclasses.fields(Limits)}
    high = min(usual["pressure_max"], bench.max_pressure)
    text = MONITOR_PROTOCOL.format(name=MONITOR_NAME, low=min(usual["pressure_min"], high / 2), high=high)
    return parse_protocol_text(text, f"{MONITOR_NAME}.toml")
