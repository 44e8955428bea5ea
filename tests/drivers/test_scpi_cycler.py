"""The SCPI cycler against exact command/reply pairs of the keithley-2450 dialect."""

from __future__ import annotations

import math

import pytest

from stackpress.clock import VirtualClock
from stackpress.drivers.dialect import load_dialect
from stackpress.drivers.errors import InstrumentError, InstrumentTimeout, OutOfRange
from stackpress.drivers.scpi_cycler import ScpiCycler
from stackpress.drivers.transport import LinkDropped, LinkSettings, VisaLink
from tests.drivers.fakes import TIMEOUT, FakeVisa, Opener, on_read

pytestmark = pytest.mark.timeout(20)

RESOURCE = "TCPIP0::10.0.0.5::5025::SOCKET"
SETUP = [
    ("*CLS", None),
    (":SENS:VOLT:RSEN ON", None),
    (":SENS:CURR:RSEN ON", None),
    (":SOUR:CURR:RANG:AUTO ON", None),
    (":SOUR:VOLT:RANG:AUTO ON", None),
]
NO_ERROR = (":SYST:ERR:NEXT?", '0,"No error;0;1970/01/01 00:00:00.000"')


def cycler(*ports, clock=None, **kwargs):
    opener = Opener(*ports)
    clock = clock or VirtualClock()
    link = VisaLink(RESOURCE, LinkSettings(timeout=0.2, retries=1, backoff=1.0), clock, opener)
    return ScpiCycler(link, load_dialect("keithley-2450"), clock=clock, **kwargs), opener


def test_identify_sends_the_setup_once_per_connection():
    port = FakeVisa([*SETUP, ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b"),
                     ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b")])
    smu, _ = cycler(port)
    assert smu.identify() == "KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b"
    assert smu.identify().startswith("KEITHLEY")
    assert port.done()


def test_apply_current_sets_the_compliance_on_the_instrument_before_the_level_and_the_output():
    port = FakeVisa([
        *SETUP,
        (":SOUR:CURR:VLIM 4.2", None),
        (":SOUR:CURR 1.000000e-03", None),
        (":SOUR:FUNC CURR", None),
        (":OUTP ON", None),
        NO_ERROR,
    ])
    smu, _ = cycler(port)
    smu.apply_current(1e-3, 4.2)
    assert port.done()


def test_apply_current_discharging():
    port = FakeVisa([
        *SETUP,
        (":SOUR:CURR:VLIM 2.5", None),
        (":SOUR:CURR -2.500000e-04", None),
        (":SOUR:FUNC CURR", None),
        (":OUTP ON", None),
        NO_ERROR,
    ])
    smu, _ = cycler(port)
    smu.apply_current(-2.5e-4, 2.5)
    assert port.done()


def test_apply_voltage_sets_the_current_compliance():
    port = FakeVisa([
        *SETUP,
        (":SOUR:VOLT:ILIM 5.000000e-04", None),
        (":SOUR:VOLT 4.2", None),
        (":SOUR:FUNC VOLT", None),
        (":OUTP ON", None),
        NO_ERROR,
    ])
    smu, _ = cycler(port)
    smu.apply_voltage(4.2, 5e-4)
    assert port.done()


def test_rest_is_a_zero_current_source_and_output_off_turns_it_off():
    port = FakeVisa([
        *SETUP,
        (":SOUR:CURR:VLIM 10", None),
        (":SOUR:CURR 0.000000e+00", None),
        (":SOUR:FUNC CURR", None),
        (":OUTP ON", None),
        NO_ERROR,
        (":OUTP OFF", None),
        NO_ERROR,
    ])
    smu, _ = cycler(port)
    smu.rest()
    smu.output_off()
    assert port.done()


def test_read_measures_voltage_then_current_and_integrates_the_charge():
    clock = VirtualClock()
    port = FakeVisa([
        *SETUP,
        (":MEAS:VOLT?", "+3.700000E+00"),
        (":MEAS:CURR?", "+1.000000E-09"),
        (":SOUR:CURR:VLIM 4.2", None),
        (":SOUR:CURR 1.000000e-03", None),
        (":SOUR:FUNC CURR", None),
        (":OUTP ON", None),
        NO_ERROR,
        (":MEAS:VOLT?", "+3.800000E+00"),
        (":MEAS:CURR?", "+1.000000E-03"),
        (":MEAS:VOLT?", "+3.810000E+00"),
        (":MEAS:CURR?", "+9.000000E-04"),
    ])
    smu, _ = cycler(port, clock=clock)
    first = smu.read()
    assert first.voltage == 3.7 and first.current == 1e-9 and first.charge == 0.0
    assert math.isnan(first.temperature)
    clock.advance(10.0)
    smu.apply_current(1e-3, 4.2)  # the current steps at t = 10 s
    clock.advance(10.0)
    second = smu.read()  # 1 nA for 10 s, then 1 mA for 10 s: exact across the step
    assert second.charge == pytest.approx(1e-9 * 10 + 1e-3 * 10)
    clock.advance(10.0)
    third = smu.read()  # trapezoid between reads
    assert third.charge == pytest.approx(second.charge + 0.5 * (1e-3 + 9e-4) * 10)
    assert port.done()


def test_out_of_range_commands_are_refused_before_anything_is_sent():
    port = FakeVisa([])
    smu, opener = cycler(port, max_current=0.01, voltage_range=(2.0, 4.5))
    with pytest.raises(OutOfRange, match=r"current 2 A is outside -1.05..1.05 A"):
        cycler(FakeVisa([]))[0].apply_current(2.0, 4.2)
    with pytest.raises(OutOfRange, match="beyond the channel's"):
        smu.apply_current(0.02, 4.2)
    with pytest.raises(OutOfRange, match=r"voltage limit 5 V is outside 2..4.5 V"):
        smu.apply_current(1e-3, 5.0)
    with pytest.raises(OutOfRange, match=r"voltage_limit 0.01 V is outside 0.02..210 V"):
        cycler(FakeVisa([]))[0].apply_current(1e-3, 0.01)
    with pytest.raises(OutOfRange, match="must not be negative"):
        smu.apply_voltage(4.2, -1e-3)
    with pytest.raises(OutOfRange, match="not a finite number"):
        cycler(FakeVisa([]))[0].apply_current(math.nan, 4.2)
    assert port.sent == [] and opener.opened == []  # not even connected


def test_a_timeout_names_instrument_resource_and_command_and_reconnects_next_time():
    first = FakeVisa([*SETUP, (":MEAS:VOLT?", TIMEOUT)])
    second = FakeVisa([*SETUP, (":MEAS:VOLT?", "+3.7E+00"), (":MEAS:CURR?", "+0.0E+00")])
    smu, opener = cycler(first, second)
    with pytest.raises(InstrumentTimeout) as caught:
        smu.read()
    message = str(caught.value)
    assert message.startswith("cycler: no reply within 0.2 s")
    assert "':MEAS:VOLT?'" in message and RESOURCE in message
    assert first.closed  # a late reply can never be read as the next one
    assert smu.read().voltage == 3.7
    assert second.done() and len(opener.opened) == 2


def test_a_garbled_reply_is_an_instrument_error():
    port = FakeVisa([*SETUP, (":MEAS:VOLT?", "\x15?#00+E0007.3")])
    smu, _ = cycler(port, FakeVisa([]))
    with pytest.raises(InstrumentError, match=r"garbled reply.*does not match.*sent ':MEAS:VOLT\?'") as caught:
        smu.read()
    assert not isinstance(caught.value, InstrumentTimeout)
    assert port.closed


def test_an_overflow_reading_is_out_of_range():
    port = FakeVisa([*SETUP, (":MEAS:VOLT?", "+9.910000E+37")])
    smu, _ = cycler(port)
    with pytest.raises(OutOfRange, match="voltage over range"):
        smu.read()


def test_errors_in_the_instruments_queue_are_raised_with_what_was_sent():
    port = FakeVisa([
        *SETUP,
        (":SOUR:CURR:VLIM 4.2", None),
        (":SOUR:CURR 1.000000e-03", None),
        (":SOUR:FUNC CURR", None),
        (":OUTP ON", None),
        (":SYST:ERR:NEXT?", '-222,"Parameter data out of range;1;2026/01/01 00:00:00.000"'),
        NO_ERROR,
        (":OUTP OFF", None),
        (":SYST:ERR:NEXT?", '-285,"Program syntax error"'),
        (":SYST:ERR:NEXT?", '0,"No error"'),
    ])
    smu, _ = cycler(port)
    with pytest.raises(OutOfRange, match=r"refused: -222.*sent ':SOUR:CURR:VLIM 4.2; :SOUR:CURR"):
        smu.apply_current(1e-3, 4.2)
    with pytest.raises(InstrumentError, match="refused: -285") as caught:
        smu.output_off()
    assert not isinstance(caught.value, OutOfRange)
    assert port.done()


def test_a_dropped_connection_is_reconnected_and_the_command_repeated():
    first = FakeVisa([*SETUP, (":MEAS:VOLT?", BrokenPipeError(32, "Broken pipe"))])
    second = FakeVisa([*SETUP, (":MEAS:VOLT?", "+3.7E+00"), (":MEAS:CURR?", on_read(ConnectionResetError()))])
    third = FakeVisa([*SETUP, (":MEAS:CURR?", "+1.0E-03")])
    smu, opener = cycler(first, second, third)
    reading = smu.read()
    assert (reading.voltage, reading.current) == (3.7, 1e-3)
    assert smu.link.reconnects == 2 and len(opener.opened) == 3


def test_an_unreachable_instrument_is_retried_after_a_backoff_not_on_every_call():
    clock = VirtualClock()
    good = FakeVisa([*SETUP, ("*IDN?", "KEITHLEY")])
    smu, opener = cycler(LinkDropped("connection refused (111)"), LinkDropped("refused again"), good, clock=clock)
    with pytest.raises(InstrumentError, match=r"cannot connect: connection refused \(111\); next attempt in 1 s"):
        smu.identify()
    with pytest.raises(InstrumentError, match=r"not connected .*next attempt in 1.0 s"):
        smu.identify()  # fails at once: nothing was tried
    clock.advance(1.0)
    with pytest.raises(InstrumentError, match="next attempt in 2 s"):  # the backoff doubles
        smu.identify()
    clock.advance(2.0)
    assert smu.identify() == "KEITHLEY"
    assert opener.ports == []
