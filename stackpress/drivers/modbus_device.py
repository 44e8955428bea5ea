"""What every Modbus instrument driver does with its dialect's register map.

Reads are grouped: all the registers asked for that sit in one table within
125 words are fetched with one request (FC3 holding / FC4 input), so a load
cell's force and status cost one round trip. Writes are FC16 (write multiple
registers), one register value at a time, range-checked in SI before anything
is sent. A status register's bits named in the dialect's [status] `out_of_range`
raise OutOfRange, those in `errors` raise InstrumentError.
"""

from __future__ import annotations

from collections.abc import Iterable

from stackpress.drivers.dialect import ModbusDialect, Register
from stackpress.drivers.errors import InstrumentError, OutOfRange
from stackpress.drivers.transport import ModbusLink

MAX_READ = 125  # registers in one FC3/FC4 request


class ModbusDevice:
    """One unit id on a Modbus link, speaking one dialect."""

    def __init__(self, link: ModbusLink, unit: int, dialect: ModbusDialect, *, name: str) -> None:
        self.name = name
        self.link = link
        self.unit = unit
        self.dialect = dialect

    @property
    def resource(self) -> str:
        separator = "&" if "?" in self.link.resource else "?"
        return f"{self.link.resource}{separator}unit={self.unit}"

    def read_registers(self, names: Iterable[str]) -> dict[str, float]:
        """SI values of the named registers, in as few requests as the map allows."""
        registers = [self.dialect.registers[n] for n in names]
        values: dict[str, float] = {}
        for table in ("holding", "input"):
            group = [r for r in registers if r.table == table]
            if not group:
                continue
            low = min(r.address for r in group)
            high = max(r.address + r.count for r in group)
            if high - low <= MAX_READ:
                words = self._read(table, low, high - low, group)
                for r in group:
                    values[r.name] = r.decode(words[r.address - low : r.address - low + r.count])
            else:
                for r in group:
                    values[r.name] = r.decode(self._read(table, r.address, r.count, [r]))
        return values

    def _read(self, table: str, address: int, count: int, registers: list[Register]) -> list[int]:
        what = (
            f"read {count} {table} register{'s' if count > 1 else ''} at {address} "
            f"({', '.join(r.name for r in registers)}) from unit {self.unit}"
        )
        return self.link.read(self.name, self.unit, table, address, count, what)

    def write_register(self, name: str, value: float) -> None:
        """Write one holding register in SI; OutOfRange before sending if the dialect's range refuses it."""
        register = self.dialect.registers[name]
        if register.table != "holding":
            raise InstrumentError(self.name, f"{name} is an input register and cannot be written")
        unit = f" {register.unit}" if register.unit else ""
        if register.range is not None:
            low, high = register.range
            if not low <= value <= high:
                raise OutOfRange(self.name, f"{name} {value:g}{unit} is outside {low:g}..{high:g}{unit}")
        try:
            words = register.encode(value)
        except (ValueError, OverflowError) as exc:
            raise OutOfRange(self.name, f"{name}: {exc}") from None
        what = f"write {name} = {value:g}{unit} ({words}) to holding register {register.address} of unit {self.unit}"
        self.link.write(self.name, self.unit, register.address, words, what)

    def check_status(self, values: dict[str, float]) -> dict[str, bool]:
        """The status bits in `values` (if the dialect has a status register); raise on out-of-range or fault bits."""
        status = self.dialect.status
        if status is None or status.register not in values:
            return {}
        flags = status.decode(values[status.register])
        word = int(values[status.register])
        where = f"(status {word:#06x} read from unit {self.unit} at {self.link.resource})"
        for bit in status.out_of_range:
            if flags[bit]:
                raise OutOfRange(self.name, f"{bit.replace('_', ' ')} {where}")
        raised = [bit for bit in status.errors if flags[bit]]
        if raised:
            raise InstrumentError(self.name, f"reports {', '.join(b.replace('_', ' ') for b in raised)} {where}")
        return flags

    def identify(self) -> str:
        """The dialect's name and its identification registers (model, serial, ...)."""
        names = self.dialect.identify
        if not names:
            return f"{self.dialect.name} (unit {self.unit})"
        values = self.read_registers(names)
        text = ", ".join(f"{n} {values[n]:.10g}" for n in names)
        return f"{self.dialect.name} (unit {self.unit}): {text}"

    def close(self) -> None:
        self.link.close()
