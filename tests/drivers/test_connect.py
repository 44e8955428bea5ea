"""[instruments] tables: drivers from resource URLs and dialects; every mistake named by table and key."""

from __future__ import annotations

import copy
import threading
import time

import pytest

from stackpress.clock import VirtualClock
from stackpress.drivers.connect import connect_instruments
from stackpress.drivers.dialect import ConfigError
from stackpress.drivers.modbus_actuators import ModbusActuator
from stackpress.drivers.modbus_load_cell import ModbusLoadCell
from stackpress.drivers.scpi_cycler import ScpiCycler
from stackpress.drivers.serial_load_cell import SerialLoadCell
from stackpress.drivers.transport import Link, LinkSettings, parse_modbus_resource, parse_serial_resource

pytestmark = pytest.mark.timeout(20)

TABLES = {
    "cycler": {"max_current": "10 mA"},
    "instruments": {
        "cycler": {"driver": "scpi", "resource": "TCPIP0::127.0.0.1::5025::SOCKET", "dialect": "keithley-2450"},
        "load_cell": {
            "driver": "modbus",
            "resource": "modbus-tcp://127.0.0.1:5020?unit=1",
            "dialect": "generic-modbus-load-cell",
            "timeout": "100 ms",
        },
        "actuator": {
            "driver": "modbus",
            "resource": "modbus-tcp://127.0.0.1:5020?unit=2",
            "dialect": "generic-hydraulic",
            "command_range": ["0 N", "11.775 kN"],
            "name": "ram",
        },
    },
}


def tables_with(role: str | None = None, **changes) -> dict:
    tables = copy.deepcopy(TABLES)
    if role is not None:
        tables["instruments"][role].update(changes)
    return tables


def test_drivers_from_the_table_without_opening_anything():
    cycler, load_cell, actuator = connect_instruments(TABLES, VirtualClock())
    assert isinstance(cycler, ScpiCycler) and isinstance(load_cell, ModbusLoadCell)
    assert isinstance(actuator, ModbusActuator)
    assert (cycler.name, load_cell.name, actuator.name) == ("cycler", "load_cell", "ram")
    assert cycler.max_current == pytest.approx(0.01)  # from the bench's [cycler]
    assert load_cell.link is actuator.link  # one connection (and one lock) per Modbus server
    assert load_cell.link.settings.timeout == pytest.approx(0.1)
    assert actuator.command_range == (0.0, 11775.0) and actuator.max_force == 11775.0
    assert not (cycler.link.connected or load_cell.link.connected)
    assert load_cell.resource == "modbus-tcp://127.0.0.1:5020?unit=1"


def test_a_serial_load_cell_and_a_screw_drive():
    tables = tables_with("load_cell", driver="serial", resource="serial:///dev/ttyUSB0?baud=19200",
                         dialect="generic-ascii-indicator", timeout="300 ms")
    tables["instruments"]["actuator"].update(dialect="generic-screw-drive", command_range=["0 mm", "2 mm"],
                                             velocity="20 um/s", max_force="11.775 kN")
    _, load_cell, actuator = connect_instruments(tables, VirtualClock())
    assert isinstance(load_cell, SerialLoadCell) and load_cell.link.options["baudrate"] == 19200
    assert (actuator.command_unit, actuator.command_range) == ("m", (0.0, 0.002))
    assert actuator.velocity == pytest.approx(2e-5)


@pytest.mark.parametrize(
    ("role", "changes", "message"),
    [
        ("cycler", {"resorce": "x"}, r"\[instruments.cycler\] resorce: unknown key \(did you mean 'resource'\?\)"),
        ("cycler", {"driver": "visa"}, r"\[instruments.cycler\] driver: 'visa' cannot be a cycler"),
        ("load_cell", {"driver": "scpi"}, r"\[instruments.load_cell\] driver: 'scpi' cannot be a load_cell"),
        ("actuator", {"dialect": "generic-modbus-load-cell"}, r"\[instruments.actuator\] dialect: .*not a actuator"),
        ("actuator", {"dialect": "kistler"}, r"\[instruments.actuator\] dialect: no dialect file 'kistler'"),
        ("load_cell", {"resource": "modbus://x"}, r"\[instruments.load_cell\] resource: .*modbus-tcp://"),
        ("load_cell", {"resource": "modbus-tcp://h?unit=300"}, r"unit=300 must be from 0 to 247"),
        ("load_cell", {"timeout": "100"}, r"\[instruments.load_cell\] timeout: '100' needs a number and a unit"),
        ("actuator", {"command_range": ["0 N", "60 kN"]}, r"\[instruments.actuator\]: .*beyond what"),
        ("actuator", {"velocity": "1 um/s"}, r"generic-hydraulic has no velocity register"),
        ("actuator", {"regulated": "yes"}, r"\[instruments.actuator\] regulated: 'yes' must be true or false"),
        ("cycler", {"dialect": None}, r"\[instruments.cycler\] dialect: None must be text"),
    ],
)
def test_mistakes_are_refused_by_table_and_key(role, changes, message):
    with pytest.raises(ConfigError, match=message):
        connect_instruments(tables_with(role, **changes), VirtualClock())


def test_missing_and_unknown_instrument_tables():
    with pytest.raises(ConfigError, match=r"\[instruments\]: missing"):
        connect_instruments({}, VirtualClock())
    tables = tables_with()
    del tables["instruments"]["actuator"]
    with pytest.raises(ConfigError, match=r"\[instruments.actuator\]: missing"):
        connect_instruments(tables, VirtualClock())
    tables = tables_with()
    tables["instruments"]["loadcell"] = {}
    with pytest.raises(ConfigError, match=r"\[instruments\] loadcell: unknown instrument \(did you mean 'load_cell'"):
        connect_instruments(tables, VirtualClock())


def test_resource_urls():
    tcp = parse_modbus_resource("modbus-tcp://192.168.1.20?unit=3")
    assert (tcp.transport, tcp.host, tcp.port, tcp.unit) == ("tcp", "192.168.1.20", 502, 3)
    rtu = parse_modbus_resource("modbus-rtu:///dev/ttyUSB0?baud=115200&parity=E&unit=7")
    assert (rtu.device, rtu.baud, rtu.parity, rtu.unit) == ("/dev/ttyUSB0", 115200, "E", 7)
    assert rtu.bus == ("rtu", "/dev/ttyUSB0")
    assert parse_modbus_resource("modbus-rtu://COM3?unit=2").device == "COM3"
    assert parse_serial_resource("serial:///dev/pts/4").device == "/dev/pts/4"
    assert parse_serial_resource("serial://COM4?baud=2400&parity=e").parity == "E"
    for bad, message in [
        ("modbus-tcp://host?baud=9600", "baud is for modbus-rtu"),
        ("modbus-tcp://host?speed=1", "unknown parameter 'speed'"),
        ("modbus-rtu://?unit=1", "needs a serial device"),
        ("modbus-tcp://host:99999", "bad port"),
        ("serial:///dev/ttyS0?baud=fast", "baud='fast' must be a whole number"),
        ("/dev/ttyS0", "starts with serial://"),
    ]:
        with pytest.raises(ValueError, match=message):
            (parse_serial_resource if "serial" in bad or bad.startswith("/") else parse_modbus_resource)(bad)


class _Port:
    """Fails if two threads are inside it at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.calls = 0

    def use(self) -> None:
        self.inside += 1
        assert self.inside == 1, "two threads on one connection"
        time.sleep(0.0005)
        self.calls += 1
        self.inside -= 1

    def close(self) -> None:
        pass


def test_the_link_lock_keeps_a_connection_to_one_thread_at_a_time():
    port = _Port()
    link = Link("fake://1", LinkSettings(), VirtualClock(), opener=lambda: port)
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(50):
                link.call("x", "use", lambda p: p.use())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors and port.calls == 200
