"""The Modbus load cell over RTU on a real serial line (a pseudo-terminal): the exact frames on the wire.

The far end of the pty is a few lines of this test that check each request
byte for byte, CRC included (computed here independently of pymodbus), and
answer with a frame built the same way.
"""

from __future__ import annotations

import os
import re
import select
import struct
import threading
import tty
from collections.abc import Iterator

import pytest

from stackpress.clock import WallClock
from stackpress.drivers.dialect import load_dialect
from stackpress.drivers.errors import InstrumentTimeout
from stackpress.drivers.modbus_load_cell import ModbusLoadCell
from stackpress.drivers.transport import LinkSettings, ModbusLink, parse_modbus_resource

pytestmark = pytest.mark.timeout(20)

STABLE = 0b1000


def crc16(frame: bytes) -> bytes:
    """Modbus CRC-16 (polynomial 0xA001 reflected, start 0xFFFF), low byte first."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def framed(body: bytes) -> bytes:
    return body + crc16(body)


class RtuDevice:
    """The device end of a pty: for each expected request frame, the reply frame to send."""

    def __init__(self, exchanges: list[tuple[bytes, bytes]]) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.exchanges = list(exchanges)
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self) -> None:
        for request, reply in self.exchanges:
            frame = b""
            while len(frame) < len(request):
                readable, _, _ = select.select([self.master], [], [], 5.0)
                if not readable:
                    return
                frame += os.read(self.master, 256)
            self.received.append(frame)
            if frame == request:
                os.write(self.master, reply)

    def close(self) -> None:
        self.thread.join(timeout=5)
        for fd in (self.master, self.slave):
            os.close(fd)


@pytest.fixture
def device(request) -> Iterator[RtuDevice]:
    device = RtuDevice(request.param)
    yield device
    device.close()


def load_cell(device: RtuDevice) -> ModbusLoadCell:
    endpoint = parse_modbus_resource(f"modbus-rtu://{device.path}?baud=115200&unit=7")
    link = ModbusLink(endpoint, LinkSettings(timeout=0.5), WallClock())
    return ModbusLoadCell(link, endpoint.unit, load_dialect("generic-modbus-load-cell"))


READ_FORCE = framed(bytes([7, 4, 0, 0, 0, 3]))  # unit 7, FC04, input registers 0-2: force (float32) and status
FORCE_1234_5 = framed(bytes([7, 4, 6, 0x44, 0x9A, 0x50, 0x00, 0x00, STABLE]))


@pytest.mark.parametrize("device", [[(READ_FORCE, FORCE_1234_5)]], indirect=True)
def test_force_and_status_in_one_rtu_frame_each_way(device):
    cell = load_cell(device)
    try:
        assert cell.read_force() == 1234.5
    finally:
        cell.close()
    assert device.received == [READ_FORCE]


@pytest.mark.parametrize("device", [[(READ_FORCE, FORCE_1234_5[:-1] + bytes([FORCE_1234_5[-1] ^ 0xFF]))]],
                         indirect=True)
def test_a_reply_with_a_bad_crc_is_line_noise_and_ends_in_a_timeout(device):
    cell = load_cell(device)
    sent = f"sent 'read 3 input registers at 0 (force, status) from unit 7' to modbus-rtu://{device.path}"
    try:
        with pytest.raises(InstrumentTimeout, match=r"load_cell: no reply within 0.5 s .*" + re.escape(sent)):
            cell.read_force()
    finally:
        cell.close()
