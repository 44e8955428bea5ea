"""The Modbus load cell and actuators against exact register requests and replies."""

from __future__ import annotations

import math

import pytest
from pymodbus.exceptions import ModbusIOException

from stackpress.clock import VirtualClock
from stackpress.drivers.dialect import bundled_dialects, load_dialect
from stackpress.drivers.errors import InstrumentError, InstrumentTimeout, OutOfRange
from stackpress.drivers.modbus_actuators import ModbusActuator
from stackpress.drivers.modbus_load_cell import ModbusLoadCell
from stackpress.drivers.transport import LinkSettings, ModbusLink, parse_modbus_resource
from tests.drivers.fakes import TIMEOUT, FakeModbus, ModbusException_, Opener

pytestmark = pytest.mark.timeout(20)

RESOURCE = "modbus-tcp://10.0.0.7:502"
STABLE = 0b1000


def link(*ports):
    opener = Opener(*ports)
    endpoint = parse_modbus_resource(RESOURCE + "?unit=1")
    return ModbusLink(endpoint, LinkSettings(timeout=0.2), VirtualClock(), opener), opener


def load_cell(*ports, dialect="generic-modbus-load-cell"):
    shared, opener = link(*ports)
    return ModbusLoadCell(shared, 1, load_dialect(dialect)), opener


def test_force_and_status_in_one_request():
    port = FakeModbus([(("read", "input", 0, 3, 1), [0x449A, 0x5000, STABLE])])
    cell, _ = load_cell(port)
    assert cell.read_force() == 1234.5
    assert port.done()


def test_identify_reads_model_and_serial():
    port = FakeModbus([(("read", "input", 8, 3, 1), [4101, 0x0135, 0x24A1])])
    cell, _ = load_cell(port)
    assert cell.identify() == "generic-modbus-load-cell (unit 1): model 4101, serial 20260001"


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (0b1001, OutOfRange, "over range"),
        (0b0010, OutOfRange, "under range"),
        (0b0100, InstrumentError, "sensor fault"),
    ],
)
def test_status_bits_raise(status, error, text):
    port = FakeModbus([(("read", "input", 0, 3, 1), [0x459C, 0x3F33, status])])
    cell, _ = load_cell(port)
    with pytest.raises(error, match=f"load_cell: .*{text}.*unit 1 at {RESOURCE}"):
        cell.read_force()


def test_timeout_names_the_instrument_the_registers_and_the_resource():
    port = FakeModbus([(("read", "input", 0, 3, 1), TIMEOUT)])
    cell, _ = load_cell(port, FakeModbus([]))
    with pytest.raises(InstrumentTimeout) as caught:
        cell.read_force()
    message = str(caught.value)
    assert message.startswith("load_cell: no reply within 0.2 s")
    assert "read 3 input registers at 0 (force, status) from unit 1" in message and RESOURCE in message


def test_a_gateway_whose_device_does_not_answer_is_a_timeout():
    port = FakeModbus([(("read", "input", 0, 3, 1), ModbusException_(11))])
    cell, _ = load_cell(port, FakeModbus([]))
    with pytest.raises(InstrumentTimeout, match="gateway target device failed to respond"):
        cell.read_force()


def test_an_exception_response_is_a_refusal_and_keeps_the_connection():
    port = FakeModbus([
        (("read", "input", 0, 3, 1), ModbusException_(2)),
        (("read", "input", 0, 3, 1), [0x42F0, 0x8000, STABLE]),
    ])
    cell, opener = load_cell(port)
    with pytest.raises(InstrumentError, match="refused: exception 2: illegal data address"):
        cell.read_force()
    assert cell.read_force() == 120.25
    assert len(opener.opened) == 1


def test_a_garbled_reply_is_an_instrument_error():
    port = FakeModbus([(("read", "input", 0, 3, 1), ModbusIOException("Unable to decode request"))])
    cell, _ = load_cell(port)
    with pytest.raises(InstrumentError, match=r"garbled reply: .*Unable to decode") as caught:
        cell.read_force()
    assert not isinstance(caught.value, InstrumentTimeout)


def test_a_short_reply_is_garbled():
    port = FakeModbus([(("read", "input", 0, 3, 1), [0x42F0])])
    cell, _ = load_cell(port)
    with pytest.raises(InstrumentError, match="1 registers instead of 3"):
        cell.read_force()


def test_a_scaled_integer_little_endian_dialect(tmp_path):
    text = bundled_dialects()["generic-modbus-load-cell"].read_text()
    text = text.replace('word_order = "big"', 'word_order = "little"')
    text = text.replace('type = "float32"\nunit = "N"', 'type = "int32"\nunit = "N"\nscale = 0.1')
    path = tmp_path / "int-cell.toml"
    path.write_text(text.replace('name = "generic-modbus-load-cell"', 'name = "int-cell"'))
    port = FakeModbus([(("read", "input", 0, 3, 1), [0x3039, 0x0000, STABLE])])  # 12345, low word first
    cell, _ = load_cell(port, dialect=str(path))
    assert cell.read_force() == pytest.approx(1234.5)


def hydraulic(*ports, **kwargs):
    shared, opener = link(*ports)
    return ModbusActuator(shared, 2, load_dialect("generic-hydraulic"), **kwargs), opener


def test_hydraulic_command_writes_the_setpoint_then_run_once():
    port = FakeModbus([
        (("write", 0, [0x43FA, 0x0000], 2), None),  # setpoint 500 N
        (("write", 2, [1], 2), None),  # run
        (("write", 0, [0x4444, 0x4000], 2), None),  # 785 N: already running
        (("write", 2, [2], 2), None),  # stop: hold
        (("write", 0, [0x449A, 0x5000], 2), None),  # 1234.5 N
        (("write", 2, [1], 2), None),  # run again after the hold
    ])
    ram, _ = hydraulic(port, command_range=(0.0, 11775.0))
    assert (ram.command_unit, ram.regulated, ram.kind, ram.max_force) == ("N", True, "hydraulic", 11775.0)
    ram.command(500.0)
    ram.command(785.0)
    ram.stop()
    ram.command(1234.5)
    assert port.done()


def test_hydraulic_readback_and_gap_in_one_request_each():
    feedback, gap = [0x4444, 0x4000], [0x4427, 0x7666]  # 785 N, 669.85 um
    port = FakeModbus([
        (("read", "input", 0, 5, 2), [*feedback, *gap, 0b1011]),
        (("read", "input", 0, 5, 2), [*feedback, *gap, 0b1011]),
        (("read", "input", 0, 5, 2), [*feedback, *gap, 0b0101]),
    ])
    ram, _ = hydraulic(port)
    assert ram.read_command() == 785.0
    assert ram.read_gap() == pytest.approx(669.85e-6)
    with pytest.raises(InstrumentError, match=r"actuator: reports fault \(status 0x0005 read from unit 2"):
        ram.read_command()


def test_the_engines_tick_reads_readback_and_gap_in_one_request():
    feedback, gap = [0x4444, 0x4000], [0x4427, 0x7666]  # 785 N, 669.85 um
    port = FakeModbus([(("read", "input", 0, 5, 2), [*feedback, *gap, 0b1011])])
    ram, _ = hydraulic(port)
    readback, plates = ram.read_state()
    assert readback == 785.0 and plates == pytest.approx(669.85e-6)
    assert port.done()  # one exchange, not one each


def test_actuator_commands_outside_the_fixture_range_are_refused_before_sending():
    port = FakeModbus([])
    ram, opener = hydraulic(port, command_range=(0.0, 11775.0))
    for value in (-1.0, 12000.0, math.nan):
        with pytest.raises(OutOfRange, match=r"command .* N is outside 0..11775 N"):
            ram.command(value)
    assert port.sent == [] and opener.opened == []
    with pytest.raises(ValueError, match="beyond what generic-hydraulic accepts"):
        hydraulic(FakeModbus([]), command_range=(0.0, 60000.0))


def test_a_reconnection_sends_run_again():
    first = FakeModbus([
        (("write", 0, [0x43FA, 0x0000], 2), None),
        (("write", 2, [1], 2), None),
        (("write", 0, [0x4444, 0x4000], 2), TIMEOUT),
    ])
    second = FakeModbus([(("write", 0, [0x4444, 0x4000], 2), None), (("write", 2, [1], 2), None)])
    ram, _ = hydraulic(first, second)
    ram.command(500.0)
    with pytest.raises(InstrumentTimeout, match=r"write setpoint = 785 N \(\[17476, 16384\]\) to holding register 0"):
        ram.command(785.0)
    ram.command(785.0)  # a new connection: the drive may have been reset, so "run" again
    assert second.done()


def test_screw_drive_velocity_position_and_limit_switches():
    shared, _ = link(port := FakeModbus([
        (("write", 2, [0x0000, 0x2710], 2), None),  # velocity 10 um/s = 10000 nm/s
        (("write", 0, [0x0001, 0x86A0], 2), None),  # 1 mm = 100000 counts of 10 nm
        (("write", 4, [1], 2), None),
        (("read", "input", 0, 5, 2), [0x0001, 0x86A0, 0x0003, 0x0D40, 0b1011]),
        (("read", "input", 0, 5, 2), [0x0000, 0x0000, 0x0003, 0x0D40, 0b100011]),
    ]))
    drive = ModbusActuator(shared, 2, load_dialect("generic-screw-drive"), command_range=(0.0, 0.002), velocity=10e-6)
    assert (drive.command_unit, drive.kind, drive.max_force) == ("m", "screw", math.inf)
    drive.command(1e-3)
    assert drive.read_command() == pytest.approx(1e-3)
    with pytest.raises(InstrumentError, match="reports limit negative"):
        drive.read_gap()
    assert port.done()
