"""A load cell on a Modbus weighing transmitter (roles.ForceSensor), RTU or TCP, over pymodbus.

The dialect (e.g. dialects/generic-modbus-load-cell.toml) gives the force
register (32-bit float or a scaled integer, either word order) and, optionally,
a status register whose over/under-range bits make a reading raise OutOfRange
(as an indicator shows "OL") and whose fault bits raise InstrumentError.
Force and status are read with one request when they sit within 125 registers.
"""

from __future__ import annotations

from stackpress.drivers.dialect import ModbusDialect
from stackpress.drivers.modbus_device import ModbusDevice
from stackpress.drivers.transport import ModbusLink


class ModbusLoadCell(ModbusDevice):
    """roles.ForceSensor: compressive force, N (positive squeezes the stack)."""

    def __init__(self, link: ModbusLink, unit: int, dialect: ModbusDialect, *, name: str = "load_cell") -> None:
        super().__init__(link, unit, dialect, name=name)
        self._names = ["force"] + ([dialect.status.register] if dialect.status is not None else [])

    def read_force(self) -> float:
        values = self.read_registers(self._names)
        self.check_status(values)
        return values["force"]
