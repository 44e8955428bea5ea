"""Protocols built directly from the step model, so engine tests do not depend on the parser."""

from stackpress.protocols.steps import (
    Block,
    Current,
    CurrentStep,
    End,
    Limits,
    PressureStep,
    Protocol,
    RestStep,
    VoltageStep,
)


def charge(rate: float, until: float) -> CurrentStep:
    return CurrentStep(
        text=f"Charge at {rate}C until {until} V", where="test", current=Current(rate, "C"), direction=1,
        ends=(End("voltage_above", until),),
    )


def discharge(rate: float, until: float) -> CurrentStep:
    return CurrentStep(
        text=f"Discharge at {rate}C until {until} V", where="test", current=Current(rate, "C"), direction=-1,
        ends=(End("voltage_below", until),),
    )


def hold(voltage: float, rate: float) -> VoltageStep:
    return VoltageStep(
        text=f"Hold at {voltage} V until {rate}C", where="test", voltage=voltage,
        ends=(End("current_below", Current(rate, "C")),),
    )


def rest(seconds: float) -> RestStep:
    return RestStep(text=f"Rest for {seconds} s", where="test", ends=(End("time", seconds),))


def pressure(mpa: float) -> PressureStep:
    return PressureStep(text=f"Hold pressure at {mpa} MPa", where="test", setpoint=mpa * 1e6)


def protocol(*blocks: tuple[int, list], v_min: float = 2.5, v_max: float = 4.3) -> Protocol:
    return Protocol(
        name="test", source="test", text="", limits=Limits(v_min, v_max),
        blocks=tuple(Block(tuple(steps), repeat) for repeat, steps in blocks),
    )
