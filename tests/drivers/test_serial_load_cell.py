"""The ASCII serial load cell against exact query/reply pairs of the generic-ascii-indicator dialect."""

from __future__ import annotations

import pytest

from stackpress.clock import VirtualClock
from stackpress.drivers.dialect import load_dialect
from stackpress.drivers.errors import InstrumentError, InstrumentTimeout, OutOfRange
from stackpress.drivers.serial_load_cell import SerialLoadCell
from stackpress.drivers.transport import LinkSettings, SerialLink
from tests.drivers.fakes import TIMEOUT, FakeSerial, Opener

pytestmark = pytest.mark.timeout(20)

RESOURCE = "serial:///dev/ttyUSB3?baud=9600"


def indicator(*ports):
    opener = Opener(*ports)
    link = SerialLink(RESOURCE, LinkSettings(timeout=0.05), VirtualClock(), opener, device="/dev/ttyUSB3")
    return SerialLoadCell(link, load_dialect("generic-ascii-indicator")), opener


@pytest.mark.parametrize(
    ("reply", "force"),
    [
        (b"S S     1234.5 N\r\n", 1234.5),
        (b"S D      -12.0 N\r\n", -12.0),
        (b"S S      1.250 kN\r\n", 1250.0),
        (b"S S     10.000 kg\r\n", 98.0665),
    ],
)
def test_force_replies(reply, force):
    port = FakeSerial([(b"SI\r\n", reply)])
    cell, _ = indicator(port)
    assert cell.read_force() == pytest.approx(force)
    assert port.done() and port.flushes == 1  # stale input is dropped before every query


def test_a_reply_split_over_several_reads():
    port = FakeSerial([(b"SI\r\n", b"S S  42.0 N\r\nS S  43.0 N\r\n")])  # only the first line counts
    cell, _ = indicator(port)
    assert cell.read_force() == 42.0


def test_identify():
    port = FakeSerial([(b"I4\r\n", b'I4 A "B123456789"\r\n')])
    cell, _ = indicator(port)
    assert cell.identify() == "generic-ascii-indicator: B123456789"


@pytest.mark.parametrize(
    ("reply", "error", "text"),
    [
        (b"S +\r\n", OutOfRange, "over range 'S \\+'"),
        (b"S -\r\n", OutOfRange, "under range"),
        (b"ES\r\n", InstrumentError, "error reply 'ES'"),
        (b"S S 12#4.?x N\r\n", InstrumentError, "garbled reply"),
        (b"S S 12.0 lbf\r\n", InstrumentError, "unit 'lbf'"),
        (b"\xff\xfe\r\n", InstrumentError, "undecodable"),
    ],
)
def test_replies_that_are_not_a_force(reply, error, text):
    port = FakeSerial([(b"SI\r\n", reply)])
    cell, _ = indicator(port, FakeSerial([]))
    with pytest.raises(error, match=text) as caught:
        cell.read_force()
    assert not isinstance(caught.value, InstrumentTimeout)
    assert f"sent 'SI' to {RESOURCE}" in str(caught.value)


def test_no_reply_is_a_timeout_and_a_partial_one_is_reported():
    port = FakeSerial([(b"SI\r\n", TIMEOUT), (b"SI\r\n", b"S S  1")])
    cell, _ = indicator(port)
    with pytest.raises(InstrumentTimeout, match=r"load_cell: no reply within 0.05 s \(sent 'SI' to serial://"):
        cell.read_force()
    with pytest.raises(InstrumentTimeout, match="got b'S S  1' so far"):
        cell.read_force()
