"""Dialect files: the bundled ones load, every key is checked, register codecs match pymodbus."""

from __future__ import annotations

import tomllib

import pytest
from pymodbus.client.mixin import ModbusClientMixin

from stackpress.drivers.dialect import ConfigError, Register, bundled_dialects, load_dialect, parse_dialect
from stackpress.drivers.errors import OutOfRange

pytestmark = pytest.mark.timeout(20)

DATATYPE = ModbusClientMixin.DATATYPE


def test_every_bundled_dialect_loads_with_its_driver_and_role():
    expected = {
        "keithley-2450": ("scpi", "cycler"),
        "generic-modbus-load-cell": ("modbus", "load_cell"),
        "generic-ascii-indicator": ("serial", "load_cell"),
        "generic-hydraulic": ("modbus", "actuator"),
        "generic-screw-drive": ("modbus", "actuator"),
    }
    assert set(bundled_dialects()) == set(expected)
    for name, (driver, role) in expected.items():
        dialect = load_dialect(name, driver=driver, role=role)
        assert (dialect.name, dialect.driver, dialect.role) == (name, driver, role)
        assert dialect.description


def test_the_2450_integrates_charge_and_rests_at_zero_current():
    dialect = load_dialect("keithley-2450")
    assert dialect.charge == "integrated" and dialect.rest == "zero-current"
    assert dialect.timeout == 1.0 and dialect.settings["current"].range == (-1.05, 1.05)


@pytest.mark.parametrize(
    ("kind", "datatype", "value"),
    [("float32", DATATYPE.FLOAT32, 1234.5), ("int32", DATATYPE.INT32, -123456), ("uint32", DATATYPE.UINT32, 4e9),
     ("float64", DATATYPE.FLOAT64, -0.125), ("int16", DATATYPE.INT16, -2), ("uint16", DATATYPE.UINT16, 65535)],
)
@pytest.mark.parametrize("word_order", ["big", "little"])
def test_register_codec_matches_pymodbus(kind, datatype, value, word_order):
    register = Register("x", "input", 0, kind, word_order=word_order)
    words = register.encode(value)
    assert words == ModbusClientMixin.convert_to_registers(value if kind.startswith("float") else int(value),
                                                            datatype, word_order=word_order)
    assert register.decode(words) == ModbusClientMixin.convert_from_registers(words, datatype, word_order=word_order)
    assert register.decode(words) == pytest.approx(value)


def test_scale_offset_and_byte_swap():
    register = Register("gap", "input", 2, "int32", scale=1e-9, unit="m")
    assert register.encode(669.85e-6) == [0x000A, 0x389A]  # 669850 nm
    assert register.decode([0x000A, 0x389A]) == pytest.approx(669.85e-6)
    swapped = Register("t", "holding", 0, "uint16", scale=0.1, offset=-40.0, byte_swap=True)
    assert swapped.encode(25.0) == [0x8A02]  # raw 650 = 0x028A, bytes swapped
    assert swapped.decode([0x8A02]) == pytest.approx(25.0)
    with pytest.raises(ValueError, match="beyond a uint16"):
        Register("x", "holding", 0, "uint16").encode(70000)


def test_setting_commands_and_the_patterns_the_simulator_reads_them_with():
    settings = load_dialect("keithley-2450").settings
    command = settings["current"].command(-2.5e-4, "smu")
    assert command == ":SOUR:CURR -2.500000e-04"
    assert float(settings["current"].pattern().match(command).group("value")) == -2.5e-4
    assert settings["output"].command("on", "smu") == ":OUTP ON"
    assert settings["output"].pattern().match(":outp off").group("value") == "off"
    with pytest.raises(OutOfRange, match="smu: output 'maybe' is not one of on, off"):
        settings["output"].command("maybe", "smu")


def _edit(name: str, old: str, new: str) -> dict:
    text = bundled_dialects()[name].read_text()
    assert old in text
    return tomllib.loads(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        ("keithley-2450", 'charge = "integrated"', 'charge = "integrated"\nspeed = 3', r"x.toml: speed: unknown key"),
        ("keithley-2450", "[settings.output]", "[settings.outputs]", r"\[settings\] output: missing"),
        ("keithley-2450", 'set = ":SOUR:CURR {value:.6e}"', 'set = ":SOUR:CURR"', r"needs exactly one \{value\}"),
        ("keithley-2450", 'unit = "A"', 'unit = "V"', r"\[settings.current\] unit: 'V' must be 'A'"),
        ("keithley-2450", "range = [-1.05, 1.05]", 'range = ["-1.05 A", "1 V"]', r"'1 V' is not a current"),
        ("keithley-2450", "no_error = '", "no_error = '(", r"no_error: bad regular expression"),
        ("keithley-2450", 'driver = "scpi"', 'driver = "visa"', r"driver: 'visa' must be one of scpi, modbus, serial"),
        ("generic-modbus-load-cell", "address = 2", "address = 1", r"\[registers.status\] overlaps"),
        ("generic-modbus-load-cell", 'type = "uint16"', 'type = "word"', r"\[registers.status\] type: 'word'"),
        ("generic-modbus-load-cell", '[registers.force]  ', '[registers.weight]  ', r"\[registers\] force: missing"),
        ("generic-modbus-load-cell", 'errors = ["sensor_fault"]', 'errors = ["fire"]', r"\[status\] errors: must list"),
        ("generic-hydraulic", 'unit = "N"', 'unit = "Pa"', r"\[registers.setpoint\] unit: 'Pa' must be 'N'"),
        ("generic-hydraulic", "hold = 2", "halt = 2", r"\[control\] hold: missing"),
        ("generic-ascii-indicator", "(?P<value>", "(?P<number>", r"\[force\] reply: needs .*value"),
    ],
)
def test_bad_dialects_are_refused_naming_the_file_and_key(name, old, new, message):
    with pytest.raises(ConfigError, match=message):
        parse_dialect(_edit(name, old, new), "x.toml")


def test_a_dialect_for_another_role_or_driver_is_refused():
    with pytest.raises(ConfigError, match="is for a load_cell, not a actuator"):
        load_dialect("generic-modbus-load-cell", role="actuator")
    with pytest.raises(ConfigError, match="is for driver 'modbus', not 'serial'"):
        load_dialect("generic-modbus-load-cell", driver="serial")
    with pytest.raises(ConfigError, match=r"no bundled dialect of that name .*bundled: generic-ascii-indicator"):
        load_dialect("keithley-2400")
