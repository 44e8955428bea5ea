"""The real drivers against the simulator on the wire: real sockets, a real pseudo-terminal.

Every wait is bounded (a deadline, or a driver timeout); nothing sleeps where a
condition can be polled.
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable, Iterator

import pytest

from stackpress.bench import Bench, load_bench
from stackpress.cli import main
from stackpress.clock import WallClock
from stackpress.drivers.connect import check, close_instruments, connect_instruments, identify
from stackpress.drivers.errors import InstrumentError, InstrumentTimeout, OutOfRange
from stackpress.sims.servers import (
    READY,
    ScheduledFault,
    SimServers,
    parse_fault,
    run_until_interrupted,
    serve,
)

pytestmark = pytest.mark.timeout(30)

FREE = {"scpi": 0, "modbus": 0}


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.005)


def served_bench(name: str = "sim-hydraulic", **changes: dict) -> Bench:
    """A bundled bench to serve, with some settings of its tables changed (`faults={...}`)."""
    bench = load_bench(name)
    return bench.changed(changes, source=f"{name}, changed") if changes else bench


@pytest.fixture
def served() -> Iterator[SimServers]:
    handle = serve(served_bench(), speed=10.0, ports=FREE)
    yield handle
    handle.stop()


_OPEN: list[tuple] = []


@pytest.fixture(autouse=True)
def _close_instruments() -> Iterator[None]:
    yield
    while _OPEN:
        close_instruments(_OPEN.pop())


def connect(tables: dict) -> tuple:
    drivers = connect_instruments(tables, WallClock())
    _OPEN.append(drivers)
    return drivers


def instruments(handle: SimServers, load_cell: str = "modbus", timeout: str | None = None):
    tables = handle.bench_tables(load_cell)
    if timeout is not None:
        for table in tables["instruments"].values():
            table["timeout"] = timeout
            table["backoff"] = "10 ms"
    return connect(tables)


def truth(handle: SimServers):
    with handle.lock:
        return handle.world.truth()


def test_every_instrument_identifies_and_reads(served):
    results = identify(instruments(served))
    assert [r.role for r in results] == ["cycler", "load_cell", "actuator"]
    assert all(r.ok for r in results), [r.line() for r in results]
    assert "MODEL 2450" in results[0].identity and " V, " in results[0].reading
    assert "model 4101" in results[1].identity and results[1].reading.endswith(" N")
    assert "generic-hydraulic" in results[2].identity and "gap" in results[2].reading
    assert results[0].line().startswith("ok    cycler")


def test_the_servers_listen_on_loopback_only(served):
    assert served.addresses == {"scpi": ("127.0.0.1", served.ports["scpi"]),
                                "modbus": ("127.0.0.1", served.ports["modbus"])}
    assert all(port > 0 for port in served.ports.values())  # port 0 asked for any free port


def test_the_cycler_sources_and_the_actuator_squeezes_the_stack_in_the_world(served):
    cycler, load_cell, actuator = instruments(served)
    rest = cycler.read()
    assert 2.0 < rest.voltage < 4.5 and abs(rest.current) < 1e-6
    actuator.command(785.0)  # 10 MPa on 0.785 cm2
    wait_for(lambda: load_cell.read_force() > 770.0, what="the force following the ram")
    wait_for(lambda: truth(served).force > 778.0, what="the ram settling (785 N less 5 N of seal friction)")
    assert load_cell.read_force() == pytest.approx(truth(served).force, abs=4.0)
    assert actuator.read_command() == pytest.approx(785.0, abs=10.0)
    assert actuator.read_gap() == pytest.approx(truth(served).gap, abs=1e-9)
    cycler.apply_current(2e-4, 4.2)
    reading = cycler.read()
    assert reading.current == pytest.approx(2e-4, rel=1e-3)
    assert reading.voltage > rest.voltage
    assert truth(served).current == pytest.approx(2e-4)
    actuator.stop()
    cycler.rest()
    assert abs(truth(served).current) < 1e-9
    wait_for(lambda: cycler.read().charge > 0.0, what="the integrated charge")


def test_the_same_load_cell_on_a_pseudo_terminal(served):
    _, modbus_cell, actuator = instruments(served)
    _, serial_cell, _ = instruments(served, load_cell="serial")
    assert served.resources["load_cell_serial"].startswith("serial:///dev/")
    actuator.command(400.0)
    wait_for(lambda: serial_cell.read_force() > 380.0, what="the force on the serial indicator")
    assert serial_cell.read_force() == pytest.approx(modbus_cell.read_force(), abs=5.0)
    assert serial_cell.identify() == "generic-ascii-indicator: SIM00001"


def test_a_plain_pyvisa_session():
    import pyvisa

    with serve(served_bench(), ports=FREE, serial=False) as handle:
        manager = pyvisa.ResourceManager("@py")
        smu = manager.open_resource(handle.resources["cycler"], read_termination="\n", write_termination="\n",
                                    timeout=2000)
        try:
            assert smu.query("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2450")
            voltage = float(smu.query(":MEAS:VOLT?"))
            assert voltage == pytest.approx(truth(handle).voltage, abs=1e-3)
            smu.write(":SOUR:CURR 5")  # beyond the 2450's 1.05 A
            assert smu.query(":SYST:ERR:NEXT?").startswith("-222,")
            assert smu.query(":SYST:ERR:NEXT?").startswith("0,")
        finally:
            smu.close()


def test_a_plain_pymodbus_client():
    from pymodbus.client import ModbusTcpClient

    with serve(served_bench(), speed=10.0, ports=FREE, serial=False) as handle:
        client = ModbusTcpClient("127.0.0.1", port=handle.ports["modbus"], timeout=2)
        assert client.connect()
        try:
            response = client.read_input_registers(0, count=3, device_id=1)
            assert not response.isError()
            force = client.convert_from_registers(response.registers[:2], client.DATATYPE.FLOAT32)
            assert force == pytest.approx(truth(handle).force, abs=5.0)
            assert response.registers[2] & 0b1000  # stable
            identity = client.read_input_registers(8, count=3, device_id=1).registers
            assert identity[0] == 4101
            assert client.convert_from_registers(identity[1:], client.DATATYPE.UINT32) == 20260001
            # the actuator, unit 2: a force setpoint, then run
            words = client.convert_to_registers(300.0, client.DATATYPE.FLOAT32)
            assert not client.write_registers(0, words, device_id=2).isError()
            assert not client.write_registers(2, [1], device_id=2).isError()
            assert client.read_holding_registers(0, count=3, device_id=2).registers == [*words, 1]
            assert client.write_registers(2, [9], device_id=2).isError()  # not a control value
            wait_for(lambda: truth(handle).force > 280.0, what="the ram following a plain client")
        finally:
            client.close()


def test_a_screw_drive_on_the_wire():
    with serve(served_bench("sim-servo"), speed=10.0, ports=FREE, serial=False) as handle:
        tables = handle.bench_tables()
        assert tables["instruments"]["actuator"]["dialect"] == "generic-screw-drive"
        tables["instruments"]["actuator"]["velocity"] = "20 um/s"
        _, load_cell, actuator = connect(tables)
        assert (actuator.command_unit, actuator.command_range) == ("m", pytest.approx((0.0, 0.002)))
        start = actuator.read_command()
        actuator.command(start + 4e-6)  # 4 um into a 200 N/um frame: ~740 N
        wait_for(lambda: actuator.read_command() == pytest.approx(start + 4e-6, abs=1e-8), what="the screw moving")
        assert handle.world.fixture.velocity == pytest.approx(20e-6)
        wait_for(lambda: load_cell.read_force() > 500.0, what="the screw squeezing the stack")
        assert actuator.status()["in_position"]


def test_the_worlds_dropouts_look_like_dead_instruments_on_the_wire():
    faults = {"load_cell_dropout": {"at": "0 s"}, "cycler_dropout": {"at": "0 s"}}
    with serve(served_bench(faults=faults), ports=FREE) as handle:
        cycler, load_cell, actuator = instruments(handle, timeout="150 ms")
        with pytest.raises(InstrumentTimeout, match="gateway target device failed to respond"):
            load_cell.read_force()
        with pytest.raises(InstrumentTimeout, match=r"no reply within 0.15 s"):
            cycler.read()
        _, serial_cell, _ = instruments(handle, load_cell="serial", timeout="150 ms")
        with pytest.raises(InstrumentTimeout):
            serial_cell.read_force()
        assert actuator.read_command() >= 0.0  # unit 2 still answers


@pytest.mark.parametrize("load_cell", ["modbus", "serial"])
@pytest.mark.parametrize(("spike", "direction"), [("-3 kN", "under range"), ("3 kN", "over range")])
def test_a_load_cell_beyond_its_full_scale_is_out_of_range_the_way_its_reading_went(load_cell, spike, direction):
    # A squeezed stack (its true force compressive) under a spike that drives the reading beyond -1 kN is under
    # range, as its reading is: the sign of the true force, which the indicator could not read, says nothing.
    faults = {"load_cell_spike": {"at": "0 s", "for": "1 h", "size": spike}}
    bench = served_bench(load_cell={"range": "1 kN", "noise": "0 N"}, faults=faults)
    with serve(bench, speed=10.0, ports=FREE) as handle:
        _, sensor, actuator = instruments(handle, load_cell=load_cell)
        actuator.command(300.0)
        wait_for(lambda: truth(handle).force > 250.0, what="the ram squeezing the stack")
        with pytest.raises(OutOfRange, match=direction):
            sensor.read_force()


def test_a_dropped_connection_is_reconnected_by_the_driver(served):
    cycler, load_cell, actuator = instruments(served)
    cycler.read()
    load_cell.read_force()
    served.inject("scpi", "drop")
    served.inject("modbus", "drop")
    assert cycler.read().voltage > 2.0
    assert load_cell.read_force() >= 0.0
    actuator.command(100.0)
    assert cycler.link.reconnects == 1 and load_cell.link.reconnects == 1


@pytest.mark.parametrize(("target", "role"), [("scpi", "cycler"), ("load_cell", "load_cell"), ("serial", "load_cell")])
def test_a_device_that_stops_answering_times_out_within_its_timeout(served, target, role):
    drivers = instruments(served, load_cell="serial" if target == "serial" else "modbus", timeout="200 ms")
    driver = drivers[0] if role == "cycler" else drivers[1]
    read = driver.read if role == "cycler" else driver.read_force
    read()
    served.inject(target, "silent")
    start = time.monotonic()
    with pytest.raises(InstrumentTimeout) as caught:
        read()
    elapsed = time.monotonic() - start
    assert 0.19 < elapsed < 1.0
    message = str(caught.value)
    assert message.startswith(f"{role}: no reply within 0.2 s") and driver.resource.split("?")[0] in message
    if target == "load_cell":
        assert drivers[2].read_command() >= 0.0  # the actuator on unit 2 still answers
    served.clear(target)
    read()  # back, on a new connection


@pytest.mark.parametrize(("target", "role"), [("scpi", "cycler"), ("modbus", "load_cell"), ("serial", "load_cell")])
def test_garbled_replies_are_instrument_errors(served, target, role):
    drivers = instruments(served, load_cell="serial" if target == "serial" else "modbus", timeout="200 ms")
    read = drivers[0].read if role == "cycler" else drivers[1].read_force
    served.inject(target, "garble", duration=5.0)
    start = time.monotonic()
    with pytest.raises(InstrumentError, match="garbled reply") as caught:
        read()
    assert not isinstance(caught.value, InstrumentTimeout) and time.monotonic() - start < 0.19
    served.clear(target)
    read()


def test_delays_within_and_beyond_the_timeout(served):
    cycler, load_cell, _ = instruments(served, timeout="200 ms")
    served.inject("modbus", "delay", seconds=0.05)
    start = time.monotonic()
    load_cell.read_force()
    assert time.monotonic() - start >= 0.05
    served.inject("scpi", "delay", seconds=0.5)
    with pytest.raises(InstrumentTimeout):
        cycler.identify()
    served.clear()


def test_a_fault_with_a_duration_ends_by_itself(served):
    cycler, _, _ = instruments(served, timeout="100 ms")
    served.inject("scpi", "silent", duration=0.3)
    with pytest.raises(InstrumentTimeout):
        cycler.read()

    def answers() -> bool:
        try:
            cycler.read()
        except InstrumentError:
            return False
        return True

    wait_for(answers, timeout=3.0, what="the cycler answering again")


def test_the_written_bench_points_the_real_drivers_at_the_servers(served, tmp_path):
    path = served.write_bench(tmp_path / "wire.toml", load_cell="serial")
    tables = tomllib.loads(path.read_text())
    assert tables["name"] == "sim-hydraulic-wire" and "faults" not in tables
    assert tables["instruments"]["load_cell"]["resource"] == served.resources["load_cell_serial"]
    assert tables["instruments"]["actuator"]["command_range"] == ["0 N", "11775 N"]
    assert all(r.ok for r in check(tables))


def test_check_explains_an_instrument_that_does_not_answer(served):
    tables = served.bench_tables()
    tables["instruments"]["load_cell"]["resource"] = tables["instruments"]["load_cell"]["resource"].replace(
        "unit=1", "unit=9"
    )  # a unit id nobody answers to
    tables["instruments"]["cycler"]["resource"] = "TCPIP0::127.0.0.1::1::SOCKET"  # nothing listens there
    tables["instruments"]["cycler"]["timeout"] = "200 ms"
    cycler, load_cell, actuator = check(tables)
    assert not cycler.ok and "cannot connect" in cycler.error and "check the resource address" in cycler.error
    assert not load_cell.ok and "gateway target device failed to respond" in load_cell.error
    assert "from unit 9" in load_cell.error and "check power, the unit id" in load_cell.error
    assert actuator.ok
    assert cycler.line().startswith("FAIL  cycler")


def test_serve_until_interrupted_writes_the_bench_and_stops(tmp_path):
    handle = serve(served_bench(), ports=FREE, serial=False)
    stop = threading.Event()
    lines: list[str] = []
    thread = threading.Thread(
        target=run_until_interrupted, args=(handle,), kwargs={"bench_out": tmp_path / "b.toml", "out": lines.append,
                                                              "stop": stop}
    )
    thread.start()
    wait_for(lambda: READY in lines, what="the ready line")
    assert load_bench(tmp_path / "b.toml").tables["instruments"]  # written whole before the ready line
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and handle._stopped
    assert any("modbus-tcp://127.0.0.1:" in line for line in lines)
    assert lines[-1] == "stopping"


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("modbus silent at 60 s for 5 s", ScheduledFault(60.0, "modbus", "silent", 5.0)),
        ("scpi delay 300 ms at 1 min", ScheduledFault(60.0, "scpi", "delay", None, 0.3)),
        ("actuator drop at 0 s", ScheduledFault(0.0, "actuator", "drop")),
    ],
)
def test_serve_sim_fault_specs(spec, fault):
    assert parse_fault(spec) == fault


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("modbus silent", "expected 'TARGET KIND [DELAY] at TIME [for DURATION]'"),
        ("smu silent at 1 s", "unknown target 'smu'"),
        ("scpi crash at 1 s", "unknown wire fault 'crash'"),
        ("scpi delay at 1 s", "a delay needs its length"),
        ("scpi silent 2 s at 1 s", "'2 s' is for a delay only"),
        ("serial drop at 1 s", "no connection to drop"),
        ("scpi drop at 1 s for 2 s", "it has no duration"),
        ("scpi silent at 1 V", "is not a time"),
        ("scpi silent at 1 s for 0 s", "the duration longer than 0"),
    ],
)
def test_bad_fault_specs_are_refused_naming_the_spec(spec, problem):
    with pytest.raises(ValueError) as refused:
        parse_fault(spec)
    assert f"--fault {spec!r}" in str(refused.value) and problem in str(refused.value)


def test_serve_sim_refuses_a_bad_fault_before_serving_anything(capsys):
    assert main(["serve-sim", "--scpi-port", "0", "--modbus-port", "0", "--fault", "modbus melt at 1 s"]) == 2
    assert "unknown wire fault 'melt'" in capsys.readouterr().err


def test_serve_sim_refuses_a_bad_bench_naming_the_file_and_the_setting(tmp_path, capsys):
    bench = tmp_path / "bad.toml"
    bench.write_text(load_bench("sim-hydraulic").text.replace("[engine]\n", '[engine]\nsim_step = "fast"\n'))
    assert main(["serve-sim", str(bench), "--scpi-port", "0", "--modbus-port", "0"]) == 2
    assert f"{bench}: [engine] sim_step" in capsys.readouterr().err


def test_scheduled_faults_are_injected_at_their_time(tmp_path):
    handle = serve(served_bench(), ports=FREE, serial=False)
    stop = threading.Event()
    lines: list[str] = []
    faults = [parse_fault("load_cell silent at 0 s for 30 s")]
    thread = threading.Thread(target=run_until_interrupted, args=(handle,),
                              kwargs={"faults": faults, "out": lines.append, "stop": stop})
    thread.start()
    try:
        wait_for(lambda: any("injected: load_cell silent for 30 s" in line for line in lines), what="the injection")
        assert "wire fault at 0 s: load_cell silent for 30 s" in lines and lines.index(READY) > 0
        _, load_cell, actuator = instruments(handle, timeout="100 ms")
        with pytest.raises(InstrumentTimeout):
            load_cell.read_force()
        assert actuator.read_command() >= 0.0  # unit 2 on the same server still answers
    finally:
        stop.set()
        thread.join(timeout=5)


def test_bad_fault_requests_are_refused(served):
    with pytest.raises(ValueError, match="unknown target 'smu'"):
        served.inject("smu", "silent")
    with pytest.raises(ValueError, match="unknown wire fault 'crash'"):
        served.inject("scpi", "crash")
    with pytest.raises(ValueError, match="no connection to drop"):
        served.inject("serial", "drop")
