"""Numbers as the window shows them: a missing reading as a dash, and the actuator's command unit
(jog steps, commands and regulator gains).

A ram takes a force command ("N"); a motor-driven spring or screw a position ("m"),
which an operator thinks of in µm. The regulator's gains follow the command unit:
Pa of force command per Pa of error for a ram, m of travel per Pa for a motor. The
gains span many decades (4e-11 m/Pa for a spring), hence scientific notation.
"""

from __future__ import annotations

import math

from stackpress.control.pid import Gains

# command unit -> (what the operator reads, how many SI units one of them is)
SHOWN_UNIT = {"N": ("N", 1.0), "m": ("µm", 1e-6)}
# command unit -> (kp's unit, ki's unit)
GAIN_UNITS = {"N": ("Pa/Pa", "1/s"), "m": ("m/Pa", "m/(Pa s)")}


def or_dash(value: float, spec: str) -> str:
    """`value` formatted by `spec` ("{:.3f} MPa"), or "–" for NaN (a reading that is missing)."""
    return "–" if math.isnan(value) else spec.format(value)


def shown_unit(command_unit: str) -> tuple[str, float]:
    """("N", 1) or ("µm", 1e-6): the unit the operator reads a command in, and its size in the command unit."""
    return SHOWN_UNIT.get(command_unit, (command_unit, 1.0))


def format_command(value: float, command_unit: str) -> str:
    """An actuator command or readback in the operator's unit: "780.8 N", "789.39 µm"."""
    if math.isnan(value):
        return "–"
    label, scale = shown_unit(command_unit)
    return f"{value / scale:.5g} {label}"


def format_gains(gains: Gains, command_unit: str | None) -> str:
    """kp, ki (and kd if any) in scientific notation, with their units when the command unit is known
    (before a run has connected the actuator it is not: the bench's units, whatever its fixture)."""
    kp_unit, ki_unit = GAIN_UNITS.get(command_unit or "", ("", ""))
    text = f"kp = {gains.kp:.3e} {kp_unit}, ki = {gains.ki:.3e} {ki_unit}".replace(" ,", ",")
    if gains.kd:
        text += f", kd = {gains.kd:.3e}"
    return text.strip()
