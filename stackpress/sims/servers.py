"""The simulator on the wire: one SimWorld served as real instruments, for hardware-in-the-loop tests.

    handle = serve(load_bench("sim-hydraulic"), speed=1.0, ports={"scpi": 0, "modbus": 0})   # 0: any free port
    handle.resources      # {"cycler": "TCPIP0::127.0.0.1::PORT::SOCKET", "load_cell": "modbus-tcp://...?unit=1",
                          #  "actuator": "modbus-tcp://...?unit=2", "load_cell_serial": "serial:///dev/pts/N"}
    handle.write_bench("wire.toml")      # the bench again, with [instruments] pointing the real drivers here
    handle.inject("scpi", "garble", duration=2.0)
    handle.stop()

One world (its clock the wall clock, or `speed` times faster)
behind, all bound to 127.0.0.1 only:

- the cycler as a SCPI instrument on a TCP socket (default port 5025), speaking
  the keithley-2450 dialect: the server is built from the dialect file itself
  (its setting templates, measurement queries, error queue), answered from the
  world: source current / voltage with compliance, output, measurements;
- a Modbus TCP server (pymodbus, default port 5020): the load cell as unit 1
  (generic-modbus-load-cell registers) and the actuator as unit 2
  (generic-hydraulic for a force-commanded fixture, generic-screw-drive for a
  motor with a position command), registers computed from the world on every
  request and writes applied to it;
- the load cell again as an ASCII indicator on a pseudo-terminal (os.openpty,
  generic-ascii-indicator dialect).

The world's own faults ([faults] in the bench: dropouts, a stuck actuator, ...)
show on the wire as a real instrument would show them: a dropout is a SCPI
instrument or an indicator that does not answer, and a Modbus exception 0x0B
(gateway target failed to respond) from units behind the Modbus server.

Wire faults, on the handle (`target` "scpi" | "modbus" | "load_cell" (Modbus
unit 1) | "actuator" (unit 2) | "serial"; `duration` s of wall time, None: until
`clear`):

    inject(target, "drop")                   close every open connection now (TCP targets)
    inject(target, "delay", seconds=0.3)     answer each request that much later
    inject(target, "garble")                 answer with bytes the driver cannot parse
    inject(target, "silent")                 stop answering (requests are read and ignored)
    clear(target=None)                       end wire faults (of one target, or all)

and from the command line, at wall times after serve-sim is ready (`parse_fault`):
`stackpress serve-sim --fault "modbus silent at 60 s for 5 s" --fault "scpi delay 300 ms at 10 s"`.

Access to the world is serialised by one lock (`handle.lock`); hold it to read
`handle.world.truth()` from a test while the servers run.

`stackpress serve-sim` (`run_until_interrupted`) writes the bench file whole,
prints the resources, then a last line READY ("ready"), each line flushed at
once: a parent reading it through a pipe (block-buffered otherwise) sees it.
`SimServerProcess` runs it as a child process and waits for that line, for a
client that must not share its interpreter with the simulator (loop timing):

    with SimServerProcess("sim-hydraulic", "wire.toml", speed=1.0) as served:
        bench = load_bench(served.bench_file)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import select
import socket
import subprocess
import sys
import threading
import tty
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackpress.bench import Bench, toml_text
from stackpress.clock import WallClock
from stackpress.drivers.dialect import ModbusDialect, Register, ScpiDialect, SerialDialect, load_dialect
from stackpress.drivers.errors import InstrumentTimeout, OutOfRange
from stackpress.sims.world import SimWorld
from stackpress.units import quantity

HOST = "127.0.0.1"
DEFAULT_PORTS = {"scpi": 5025, "modbus": 5020}
UNITS = {"load_cell": 1, "actuator": 2}
TARGETS = ("scpi", "modbus", "load_cell", "actuator", "serial")
FAULT_KINDS = ("drop", "delay", "garble", "silent")
READY = "ready"  # serve-sim's last line once everything is served and the bench file is written
# Keep pymodbus's own error logging (a frame dump per failed request: every injected fault) off the console.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())
DEFAULT_DIALECTS = {
    "cycler": "keithley-2450",
    "load_cell": "generic-modbus-load-cell",
    "load_cell_serial": "generic-ascii-indicator",
    "hydraulic": "generic-hydraulic",
    "screw": "generic-screw-drive",
}


# --- wire faults ---------------------------------------------------------------------------------


class WireFaults:
    """Faults on the wire by target, each until a wall-clock time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clock = WallClock()
        self._faults: dict[tuple[str, str], tuple[float, float]] = {}  # (target, kind) -> (until, seconds)

    def set(self, target: str, kind: str, duration: float | None, seconds: float = 0.0) -> None:
        until = math.inf if duration is None else self._clock.now() + duration
        with self._lock:
            self._faults[(target, kind)] = (until, seconds)

    def clear(self, target: str | None = None) -> None:
        with self._lock:
            for key in list(self._faults):
                if target is None or key[0] == target:
                    del self._faults[key]

    def get(self, kind: str, *targets: str) -> float | None:
        """The fault's `seconds` (0 if it has none) if `kind` is on for any of `targets`, else None."""
        now = self._clock.now()
        with self._lock:
            for target in targets:
                entry = self._faults.get((target, kind))
                if entry is not None:
                    if now < entry[0]:
                        return entry[1]
                    del self._faults[(target, kind)]
        return None

    def reply(
        self, target: str, answer: Callable[[str], str | None], line: str, stopping: threading.Event
    ) -> str | None:
        """`answer(line)` as a line-based server on `target` sends it: none (silent), late (delay), or garbled."""
        if self.get("silent", target) is not None:
            return None
        delay = self.get("delay", target)
        if delay:
            stopping.wait(delay)
        reply = answer(line)
        if reply is not None and self.get("garble", target) is not None:
            return _garble(reply)
        return reply


def check_fault(target: str, kind: str, seconds: float = 0.5) -> None:
    """ValueError unless `kind` on `target` is a wire fault the servers can inject (`seconds`: a delay's length)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (known: {', '.join(TARGETS)})")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown wire fault {kind!r} (known: {', '.join(FAULT_KINDS)})")
    if kind == "drop" and target == "serial":
        raise ValueError("a pseudo-terminal has no connection to drop; use 'silent'")
    if kind == "delay" and not seconds > 0:
        raise ValueError(f"a delay needs seconds > 0, not {seconds!r}")


@dataclass(frozen=True)
class ScheduledFault:
    """A wire fault that `stackpress serve-sim --fault` injects `at` s of wall time after it is ready."""

    at: float
    target: str
    kind: str
    duration: float | None = None  # s of wall time; None: until serve-sim ends (a drop has none)
    seconds: float = 0.5  # a delay's length

    def __str__(self) -> str:
        text = f"{self.target} {self.kind}" + (f" {self.seconds:g} s" if self.kind == "delay" else "")
        if self.kind == "drop":
            return text
        return text + (" until the end" if self.duration is None else f" for {self.duration:g} s")


_FAULT_SPEC = re.compile(
    r"^\s*(?P<target>\S+)\s+(?P<kind>\S+)(?:\s+(?P<amount>.+?))?\s+at\s+(?P<at>.+?)(?:\s+for\s+(?P<duration>.+?))?\s*$"
)


def parse_fault(spec: str) -> ScheduledFault:
    """`TARGET KIND [DELAY] at TIME [for DURATION]`: "modbus silent at 60 s for 5 s", "scpi delay 300 ms at 10 s"."""
    what = f"--fault {spec!r}"
    match = _FAULT_SPEC.match(spec)
    if match is None:
        raise ValueError(f"{what}: expected 'TARGET KIND [DELAY] at TIME [for DURATION]', "
                         "e.g. 'modbus silent at 60 s for 5 s' or 'scpi delay 300 ms at 10 s'")
    target, kind, amount, duration = match["target"], match["kind"], match["amount"], match["duration"]
    if kind == "delay" and amount is None:
        raise ValueError(f"{what}: a delay needs its length, e.g. 'scpi delay 300 ms at 10 s'")
    if kind != "delay" and amount is not None:
        raise ValueError(f"{what}: {amount!r} is for a delay only")
    if kind == "drop" and duration is not None:
        raise ValueError(f"{what}: a drop closes the connections at one moment; it has no duration")
    seconds = quantity(amount, "s", what) if amount is not None else 0.5
    try:
        check_fault(target, kind, seconds)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    at = quantity(match["at"], "s", f"{what}, at")
    length = quantity(duration, "s", f"{what}, for") if duration is not None else None
    if at < 0 or (length is not None and not length > 0):
        raise ValueError(f"{what}: the time must be 0 or later and the duration longer than 0")
    return ScheduledFault(at, target, kind, length, seconds)


def _garble(reply: str) -> str:
    return "\x15?#" + reply[::-1].replace(".", "%")


# --- SCPI on a TCP socket ---------------------------------------------------------------------


class _ScpiInstrument:
    """A SCPI source-measure unit built from its dialect, with the world's cycler behind it."""

    def __init__(self, dialect: ScpiDialect, world: SimWorld, lock: threading.Lock) -> None:
        self.dialect = dialect
        self.world = world
        self.lock = lock
        sim = dialect.sim
        self.identity = sim.get("identity", f"stackpress,{dialect.name} simulator,0,0")
        self.number = sim.get("number", "{:+.6E}")
        self.no_error = sim.get("no_error", '0,"No error"')
        self.out_of_range = sim.get("out_of_range", '-222,"Parameter data out of range"')
        self.undefined = sim.get("undefined", '-113,"Undefined header"')
        self.overflow = sim.get("overflow", "+9.910000E+37")
        self.patterns = [(name, s.pattern(), s) for name, s in dialect.settings.items()]
        self.queries = {m.query.upper(): name for name, m in dialect.measurements.items()}
        self.setup = {c.upper() for c in dialect.setup}
        self.errors: deque[str] = deque(maxlen=10)
        # the SMU's state: each function keeps its own level and limit
        self.function = "current"
        self.output = False
        self.levels = {"current": 0.0, "voltage": 0.0, "voltage_limit": 21.0, "current_limit": 1e-4}

    def handle(self, line: str) -> str | None:
        """One command line (commands separated by ';'); the reply, or None if nothing is to be sent."""
        replies = []
        with self.lock:
            if not self.world.cycler.answering():  # the world's cycler_dropout fault
                return None
            for command in (c.strip() for c in line.split(";")):
                if command:
                    reply = self._command(command)
                    if reply is not None:
                        replies.append(reply)
        return ";".join(replies) if replies else None

    def _command(self, command: str) -> str | None:
        upper = command.upper()
        dialect = self.dialect
        if upper == dialect.identify.upper():
            return self.identity
        if dialect.error_query is not None and upper == dialect.error_query.upper():
            return self.errors.popleft() if self.errors else self.no_error
        if upper in self.setup:
            if upper == "*CLS":
                self.errors.clear()
            return None
        name = self.queries.get(upper)
        if name is not None:
            return self._measure(name)
        for key, pattern, setting in self.patterns:
            match = pattern.match(command)
            if match is not None:
                self._set(key, setting, match.group("value"))
                return None
        self.errors.append(self.undefined)
        return None

    def _measure(self, name: str) -> str:
        reading = self.world.cycler.read()
        value = {"voltage": reading.voltage, "current": reading.current, "charge": reading.charge,
                 "temperature": reading.temperature}[name]
        return self.number.format(value) if math.isfinite(value) else self.overflow

    def _set(self, key: str, setting: Any, text: str) -> None:
        if setting.values is not None:
            choices = {v.upper(): k for k, v in setting.values.items()}
            value = choices.get(text.upper())
            if value is None:
                self.errors.append(self.out_of_range)
                return
        else:
            try:
                value = float(text)
            except ValueError:
                self.errors.append(self.out_of_range)
                return
            if setting.range is not None and not setting.range[0] <= value <= setting.range[1]:
                self.errors.append(self.out_of_range)
                return
        if key == "source_function":
            self.function = value
        elif key == "output":
            self.output = value == "on"
        else:
            self.levels[key] = value
        self._apply()

    def _apply(self) -> None:
        cycler = self.world.cycler
        levels = self.levels
        try:
            if not self.output:
                cycler.rest()
            elif self.function == "current":
                cycler.apply_current(levels["current"], levels["voltage_limit"])
            else:
                cycler.apply_voltage(levels["voltage"], levels["current_limit"])
        except OutOfRange:
            self.errors.append(self.out_of_range)
        except InstrumentTimeout:
            pass


class _ScpiServer:
    """A raw-socket SCPI server: one thread accepting, one per connection, lines in and out."""

    def __init__(self, instrument: _ScpiInstrument, port: int, faults: WireFaults, stopping: threading.Event) -> None:
        self.instrument = instrument
        self.faults = faults
        self.stopping = stopping
        self.listener = socket.create_server((HOST, port), reuse_port=False)
        self.listener.settimeout(0.1)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.port = self.address[1]
        self.connections: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.accepter = threading.Thread(target=self._accept, name="sim-scpi-accept", daemon=True)
        self.accepter.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections.add(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), name="sim-scpi", daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        dialect = self.instrument.dialect
        terminator = dialect.write_termination.encode()
        reply_end = dialect.read_termination
        buffer = b""
        conn.settimeout(0.1)
        try:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    return
                buffer += data
                while terminator in buffer:
                    raw, buffer = buffer.split(terminator, 1)
                    line = raw.decode("ascii", "replace")
                    reply = self.faults.reply("scpi", self.instrument.handle, line, self.stopping)
                    if reply is not None:
                        conn.sendall((reply + reply_end).encode("ascii", "replace"))
        except OSError:
            return
        finally:
            with self._lock:
                self.connections.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def drop(self) -> None:
        with self._lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()
        self.drop()
        self.accepter.join(timeout=2)
        for thread in self.threads:
            thread.join(timeout=2)


# --- Modbus TCP (pymodbus) ------------------------------------------------------------------------


class _ModbusUnit:
    """One unit id: a dialect's register map, computed from the world on every request."""

    def __init__(self, role: str, dialect: ModbusDialect, world: SimWorld, lock: threading.Lock) -> None:
        self.role = role
        self.unit = UNITS[role]
        self.dialect = dialect
        self.world = world
        self.lock = lock
        self.sim = dialect.sim
        self.size = {
            table: max([r.address + r.count for r in dialect.registers.values() if r.table == table] or [1])
            for table in ("holding", "input")
        }
        self.holding: dict[str, float] = {}
        if role == "actuator":
            fixture = world.fixture
            with lock:
                self.holding["setpoint"] = world.actuator.read_command()
            self.holding["control"] = dialect.control["disable"]
            if "velocity" in dialect.registers:
                self.holding["velocity"] = getattr(fixture, "velocity", 0.0)

    def initial(self, table: str) -> list[int]:
        words = [0] * self.size[table]
        if table == "holding":
            for name, value in self.holding.items():
                self._put(words, 0, self.dialect.registers[name], value)
        return words

    @staticmethod
    def _put(words: list[int], start: int, register: Register, value: float) -> None:
        try:
            encoded = register.encode(value)
        except (ValueError, OverflowError):
            low, high = (0, 0) if register.range is None else register.range
            encoded = register.encode(min(max(value, low), high)) if register.range else [0] * register.count
        offset = register.address - start
        words[offset : offset + register.count] = encoded

    def fill(self, words: list[int], start: int) -> None:
        """Put the world's values now into the input registers."""
        values = self._load_cell() if self.role == "load_cell" else self._actuator()
        for name, value in values.items():
            register = self.dialect.registers.get(name)
            if register is not None and register.table == "input":
                self._put(words, start, register, value)

    def _identity(self) -> dict[str, float]:
        return {name: float(self.sim.get(name, 0)) for name in self.dialect.identify}

    def _load_cell(self) -> dict[str, float]:
        flags = {"stable": True}
        try:
            force = self.world.force_sensor.read_force()
        except OutOfRange as exc:
            full_scale = self.world.load_cell.full_scale
            over = exc.reading > 0  # the reading's way, not the true force's (a spike below -full scale)
            flags["over_range" if over else "under_range"] = True
            force = full_scale if over else -full_scale
        values = {"force": force, **self._identity()}
        status = self.dialect.status
        if status is not None:
            values[status.register] = status.encode(flags)
        return values

    def _actuator(self) -> dict[str, float]:
        actuator = self.world.actuator
        feedback = actuator.read_command()
        gap = actuator.read_gap()
        control = self.dialect.control
        running = self.holding["control"] == control["run"]
        low, high = actuator.command_range
        error = abs(feedback - self.holding["setpoint"])
        tolerance = 1e-3 * (high - low)
        flags = {
            "ready": True,
            "enabled": self.holding["control"] != control["disable"],
            "at_setpoint": running and error <= tolerance,
            "in_position": running and error <= tolerance,
            "moving": running and error > tolerance,
            "limit_positive": self.dialect.kind == "screw" and feedback >= high,
            "limit_negative": self.dialect.kind == "screw" and feedback <= low,
        }
        values = {"feedback": feedback, "gap": gap, **self._identity()}
        status = self.dialect.status
        if status is not None:
            values[status.register] = status.encode(flags)
        return values

    def write(self, words: list[int], start: int, address: int, new: list[int]) -> Any:
        """Apply a write of `new` words at `address` to the world; an ExcCodes to refuse it."""
        from pymodbus.constants import ExcCodes

        image = list(words)
        image[address - start : address - start + len(new)] = new
        touched = sorted(
            (r for r in self.dialect.registers.values()
             if r.table == "holding" and r.address < address + len(new) and address < r.address + r.count),
            key=lambda r: r.address,
        )
        actuator = self.world.actuator
        control = self.dialect.control
        try:
            for register in touched:
                value = register.decode(image[register.address - start : register.address - start + register.count])
                if register.name == "setpoint":
                    if self.holding["control"] == control["run"]:
                        actuator.command(value)
                    self.holding["setpoint"] = value
                elif register.name == "control":
                    if value == control["run"]:
                        actuator.command(self.holding["setpoint"])
                    elif value in (control["hold"], control["disable"]):
                        actuator.stop()
                    else:
                        return ExcCodes.ILLEGAL_VALUE
                    self.holding["control"] = value
                elif register.name == "velocity":
                    if value > 0 and hasattr(self.world.fixture, "velocity"):
                        self.world.fixture.velocity = value
                    self.holding["velocity"] = value
        except OutOfRange:
            return ExcCodes.ILLEGAL_VALUE
        return None


class _ModbusServer:
    """pymodbus ModbusTcpServer on its own asyncio loop in a thread; units 1 and 2."""

    def __init__(self, units: list[_ModbusUnit], port: int, faults: WireFaults) -> None:
        self.units = {u.unit: u for u in units}
        self.faults = faults
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sim-modbus", daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._start(port), self.loop).result(timeout=10)
        self.address: tuple[str, int] = self.server.transport.sockets[0].getsockname()[:2]
        self.port = self.address[1]

    def _targets(self, unit: int) -> tuple[str, ...]:
        role = self.units[unit].role if unit in self.units else ""
        return ("modbus", role)

    async def _start(self, port: int) -> Any:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        devices = []
        for unit in self.units.values():
            bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
            blocks = (
                bits,
                list(bits),
                [SimData(0, values=unit.initial("holding"), datatype=DataType.REGISTERS)],
                [SimData(0, values=unit.initial("input"), datatype=DataType.REGISTERS)],
            )
            devices.append(SimDevice(unit.unit, simdata=blocks, action=self._action(unit)))
        devices.append(self._nobody(SimData, SimDevice, DataType))
        server = ModbusTcpServer(devices, address=(HOST, port), trace_packet=self._trace)
        await server.serve_forever(background=True)
        return server

    @staticmethod
    def _nobody(sim_data: Any, sim_device: Any, data_type: Any) -> Any:
        """Unit ids nobody has: answered as a gateway whose target device does not respond (0x0B)."""
        from pymodbus.constants import ExcCodes

        async def absent(*_args: Any) -> Any:
            return ExcCodes.GATEWAY_NO_RESPONSE

        bits = [sim_data(0, values=[False] * 16, datatype=data_type.BITS)]
        words = [sim_data(0, count=65535, values=0, datatype=data_type.REGISTERS)]
        return sim_device(0, simdata=(bits, list(bits), words, list(words)), action=absent)

    def _action(self, unit: _ModbusUnit) -> Any:
        from pymodbus.constants import ExcCodes

        async def action(function_code: int, start: int, address: int, count: int, registers: list[int],
                         values: Any) -> Any:
            delay = self.faults.get("delay", *self._targets(unit.unit))
            if delay:
                await asyncio.sleep(delay)
            with unit.lock:
                try:
                    if values is None:
                        if function_code == 4:
                            unit.fill(registers, start)
                        return None
                    return unit.write(registers, start, address, list(values))
                except InstrumentTimeout:  # the world's dropout: a gateway whose device does not answer
                    return ExcCodes.GATEWAY_NO_RESPONSE

        return action

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending or len(data) < 8:
            return data
        targets = self._targets(data[6])
        if self.faults.get("silent", *targets) is not None:
            return b""
        if self.faults.get("garble", *targets) is not None:
            return data[:7] + b"\x55" + data[8:]  # a function code no Modbus client can decode
        return data

    def drop(self) -> None:
        async def close_all() -> None:
            for connection in list(self.server.active_connections.values()):
                with contextlib.suppress(Exception):
                    connection.transport.abort()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=5)

    def stop(self) -> None:
        from pymodbus.server import ModbusTcpServer

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.server.shutdown(), self.loop).result(timeout=5)
        if ModbusTcpServer.active_server is self.server:
            ModbusTcpServer.active_server = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.loop.close()


# --- ASCII load cell on a pseudo-terminal ---------------------------------------------------------


class _SerialServer:
    """An ASCII indicator on a pty: the driver opens `path`, this answers on the master side."""

    def __init__(self, dialect: SerialDialect, world: SimWorld, lock: threading.Lock, faults: WireFaults,
                 stopping: threading.Event) -> None:
        self.dialect = dialect
        self.world = world
        self.lock = lock
        self.faults = faults
        self.stopping = stopping
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.thread = threading.Thread(target=self._run, name="sim-serial", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        terminator = self.dialect.write_termination.encode()
        buffer = b""
        while not self.stopping.is_set():
            try:
                readable, _, _ = select.select([self.master], [], [], 0.05)
                if not readable:
                    continue
                buffer += os.read(self.master, 4096)
            except OSError:
                return
            while terminator in buffer:
                raw, buffer = buffer.split(terminator, 1)
                line = raw.decode("ascii", "replace").strip()
                reply = self.faults.reply("serial", self._answer, line, self.stopping)
                if reply is not None:
                    with contextlib.suppress(OSError):
                        os.write(self.master, (reply + self.dialect.read_termination).encode("ascii", "replace"))

    def _answer(self, line: str) -> str | None:
        dialect = self.dialect
        sim = dialect.sim
        if line == dialect.query:
            with self.lock:
                try:
                    force = self.world.force_sensor.read_force()
                except InstrumentTimeout:
                    return None
                except OutOfRange as exc:
                    over = exc.reading > 0
                    return sim.get("over_range" if over else "under_range", "S +" if over else "S -")
            return sim.get("reply", "S S {value:10.1f} N").format(value=force)
        if dialect.identify_query is not None and line == dialect.identify_query:
            return sim.get("identity", "stackpress simulator")
        return sim.get("error", "ES")

    def stop(self) -> None:
        self.thread.join(timeout=2)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


# --- the handle ---------------------------------------------------------------------------------


class SimServers:
    """The running servers around one world; `stop()` (or a `with` block) ends them."""

    def __init__(self, tables: Mapping[str, Any], world: SimWorld, clock: WallClock, lock: threading.Lock,
                 scpi: _ScpiServer, modbus: _ModbusServer, serial: _SerialServer | None, dialects: dict[str, str],
                 faults: WireFaults, stopping: threading.Event) -> None:
        self.tables = tables
        self.world = world
        self.clock = clock
        self.lock = lock
        self.faults = faults
        self._stopping = stopping
        self._scpi = scpi
        self._modbus = modbus
        self._serial = serial
        self.addresses = {"scpi": scpi.address, "modbus": modbus.address}  # (host, port) as the sockets are bound
        self.ports = {"scpi": scpi.port, "modbus": modbus.port}
        self.resources = {
            "cycler": f"TCPIP0::{HOST}::{scpi.port}::SOCKET",
            "load_cell": f"modbus-tcp://{HOST}:{modbus.port}?unit={UNITS['load_cell']}",
            "actuator": f"modbus-tcp://{HOST}:{modbus.port}?unit={UNITS['actuator']}",
        }
        if serial is not None:
            self.resources["load_cell_serial"] = f"serial://{serial.path}"
        self.dialects = dialects
        self.speed = clock.speed
        self._stopped = False

    @property
    def other_layers_thickness(self) -> float:
        """m: stack thickness minus the anode (what a real bench must be told; the engine needs it)."""
        with self.lock:
            return self.world.other_layers_thickness

    # --- pointing the real drivers here --------------------------------------------------------

    def instruments_table(self, load_cell: str = "modbus") -> dict[str, Any]:
        """The [instruments] table for this world: the load cell over "modbus" or "serial"."""
        if load_cell not in ("modbus", "serial"):
            raise ValueError(f"load_cell must be 'modbus' or 'serial', not {load_cell!r}")
        if load_cell == "serial" and self._serial is None:
            raise ValueError("the serial load cell is not served (serve(..., serial=False))")
        actuator = self.world.actuator
        unit = actuator.command_unit
        low, high = actuator.command_range
        fmt = (lambda v: f"{v:.9g} N") if unit == "N" else (lambda v: f"{v * 1e6:.9g} um")
        table: dict[str, Any] = {
            "cycler": {"driver": "scpi", "resource": self.resources["cycler"], "dialect": self.dialects["cycler"]},
            "load_cell": (
                {"driver": "modbus", "resource": self.resources["load_cell"], "dialect": self.dialects["load_cell"]}
                if load_cell == "modbus"
                else {"driver": "serial", "resource": self.resources["load_cell_serial"],
                      "dialect": self.dialects["load_cell_serial"]}
            ),
            "actuator": {
                "driver": "modbus",
                "resource": self.resources["actuator"],
                "dialect": self.dialects["actuator"],
                "command_range": [fmt(low), fmt(high)],
                "max_force": f"{actuator.max_force:.9g} N",
                "regulated": bool(actuator.regulated),
            },
        }
        return table

    def bench_tables(self, load_cell: str = "modbus") -> dict[str, Any]:
        """The served bench's tables without [faults], with [instruments] pointing here."""
        simulated_only = ("faults", "instruments", "cell", "fixture", "load_cell")
        tables = {k: v for k, v in self.tables.items() if k not in simulated_only}
        tables["name"] = f"{self.tables.get('name', 'bench')}-wire"
        cell = self.tables.get("cell", {})
        tables["cell"] = {
            **{key: cell[key] for key in ("area", "loading") if key in cell},
            "other_layers": f"{self.other_layers_thickness!r} m",
        }
        engine = {k: v for k, v in self.tables.get("engine", {}).items() if k != "sim_step"}
        tables["engine"] = {**engine, "speed": self.speed}  # the served world's clock runs this fast
        tables["instruments"] = self.instruments_table(load_cell)
        return tables

    def write_bench(self, path: str | Path, load_cell: str = "modbus") -> Path:
        """Write a bench TOML file that points the real drivers at these servers."""
        path = Path(path)
        header = (
            "# Written by stackpress serve-sim: the real drivers, pointed at the simulator on the wire\n"
            f"# (speed {self.clock.speed:g}x; valid while that server runs).\n"
        )
        # Written whole, then renamed into place: whoever waits for the file never reads half of it.
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(header + toml_text(self.bench_tables(load_cell)))
        partial.replace(path)
        return path

    # --- faults --------------------------------------------------------------------------------------

    def inject(self, target: str, kind: str, duration: float | None = None, *, seconds: float = 0.5) -> None:
        """A wire fault on `target` for `duration` s of wall time (None: until `clear`); see the module doc."""
        check_fault(target, kind, seconds)
        if kind == "drop":
            if target == "scpi":
                self._scpi.drop()
            else:
                self._modbus.drop()
            return
        self.faults.set(target, kind, duration, seconds)

    def clear(self, target: str | None = None) -> None:
        self.faults.clear(target)

    # --- the end ------------------------------------------------------------------------------------------

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        self._scpi.stop()
        self._modbus.stop()
        if self._serial is not None:
            self._serial.stop()

    def __enter__(self) -> SimServers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    bench: Bench,
    *,
    speed: float = 1.0,
    ports: Mapping[str, int] | None = None,
    seed: int = 0,
    serial: bool = True,
    dialects: Mapping[str, str] | None = None,
) -> SimServers:
    """Serve the simulated world of `bench` (as `load_bench` parsed it) on 127.0.0.1; ports 0 mean any free port.

    The parsed bench, not its tables: its settings (`sim_step`) have one parser,
    `parse_bench`, whose errors name the file and the key.

    `ports`: {"scpi": 5025, "modbus": 5020} by default. `dialects` overrides the
    served dialects by role ("cycler", "load_cell", "load_cell_serial",
    "actuator"): bundled names or paths. The world's clock runs `speed` times
    the wall clock from the moment it is served.
    """
    chosen = dict(DEFAULT_PORTS)
    if ports:
        unknown = set(ports) - set(DEFAULT_PORTS)
        if unknown:
            raise ValueError(f"unknown port name {sorted(unknown)[0]!r} (known: scpi, modbus)")
        chosen.update(ports)
    clock = WallClock(speed)
    world = SimWorld.from_bench(bench.tables, clock, seed=seed, max_step=bench.sim_step)
    lock = threading.Lock()
    fixture_kind = "screw" if world.actuator.command_unit == "m" else "hydraulic"
    names = {
        "cycler": DEFAULT_DIALECTS["cycler"],
        "load_cell": DEFAULT_DIALECTS["load_cell"],
        "load_cell_serial": DEFAULT_DIALECTS["load_cell_serial"],
        "actuator": DEFAULT_DIALECTS[fixture_kind],
    }
    for role, name in (dialects or {}).items():
        if role not in names:
            raise ValueError(f"unknown dialect role {role!r} (known: {', '.join(names)})")
        names[role] = str(name)
    cycler_dialect = load_dialect(names["cycler"], driver="scpi", role="cycler")
    load_cell_dialect = load_dialect(names["load_cell"], driver="modbus", role="load_cell")
    actuator_dialect = load_dialect(names["actuator"], driver="modbus", role="actuator")
    if actuator_dialect.command_unit != world.actuator.command_unit:
        raise ValueError(
            f"dialect {actuator_dialect.name!r} commands in {actuator_dialect.command_unit}, "
            f"the fixture {world.fixture.kind!r} in {world.actuator.command_unit}"
        )
    faults = WireFaults()
    stopping = threading.Event()
    servers: list[Any] = []
    try:
        scpi = _ScpiServer(_ScpiInstrument(cycler_dialect, world, lock), chosen["scpi"], faults, stopping)
        servers.append(scpi)
        units = [
            _ModbusUnit("load_cell", load_cell_dialect, world, lock),
            _ModbusUnit("actuator", actuator_dialect, world, lock),
        ]
        modbus = _ModbusServer(units, chosen["modbus"], faults)
        servers.append(modbus)
        pty = None
        if serial:
            serial_dialect = load_dialect(names["load_cell_serial"], driver="serial", role="load_cell")
            pty = _SerialServer(serial_dialect, world, lock, faults, stopping)
            servers.append(pty)
    except BaseException:
        stopping.set()
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()
        raise
    return SimServers(bench.tables, world, clock, lock, scpi, modbus, pty, names, faults, stopping)


# --- a small TOML writer (the standard library only reads TOML) -----------------------------------

def _say(line: str) -> None:
    """Print one line now: a parent reading serve-sim through a pipe would otherwise wait for a full buffer."""
    print(line, flush=True)


def run_until_interrupted(
    handle: SimServers,
    *,
    bench_out: str | Path | None = None,
    load_cell: str = "modbus",
    faults: Sequence[ScheduledFault] = (),
    out: Callable[[str], object] = _say,
    stop: threading.Event | None = None,
) -> None:
    """`stackpress serve-sim`: write the bench, say what is served where, then READY; serve until Ctrl-C or `stop`.

    `faults` are injected at their times, counted from READY.
    """
    path = handle.write_bench(bench_out, load_cell) if bench_out is not None else None
    out(f"serving {handle.tables.get('name', 'bench')} at {handle.clock.speed:g}x on {HOST} (Ctrl-C ends):")
    for role, resource in handle.resources.items():
        out(f"  {role:<17} {resource}  ({handle.dialects.get(role, handle.dialects['load_cell_serial'])})")
    if path is not None:
        out(f"bench for the real drivers: {path}  (stackpress check {path})")
    for fault in faults:
        out(f"wire fault at {fault.at:g} s: {fault}")
    out(READY)
    pending = sorted(faults, key=lambda f: f.at)
    clock = WallClock()
    stop = stop if stop is not None else threading.Event()
    try:
        while True:
            while pending and clock.now() >= pending[0].at:
                fault = pending.pop(0)
                handle.inject(fault.target, fault.kind, fault.duration, seconds=fault.seconds)
                out(f"[{clock.now():.1f} s] injected: {fault}")
            wait = 0.2 if not pending else min(0.2, max(0.0, pending[0].at - clock.now()))
            if stop.wait(wait):
                break
    except KeyboardInterrupt:
        pass
    finally:
        out("stopping")
        handle.stop()


# --- the served simulator in a process of its own -------------------------------------------------


class SimServerProcess:
    """`stackpress serve-sim` as a child process, for a client that must not share its GIL with the simulator.

    A CPU-bound thread in the engine's process stretches the engine's ticks
    towards the interpreter's 5 ms switch interval; a served world in its own
    process cannot. The child's output (stdout and stderr) is drained by a
    thread for its whole life, so it can never block on a full pipe, and is
    kept in `output` for error messages.
    """

    def __init__(self, bench: str | Path, bench_out: str | Path, *, speed: float = 1.0, load_cell: str = "modbus",
                 seed: int = 0, timeout: float = 30.0) -> None:
        self.bench_file = Path(bench_out)
        command = [
            sys.executable, "-m", "stackpress.cli", "serve-sim", str(bench), "--speed", repr(float(speed)),
            "--scpi-port", "0", "--modbus-port", "0", "--load-cell", load_cell,
            "--write-bench", str(self.bench_file), "--seed", str(seed),
        ]
        self.output: list[str] = []
        self._ready = threading.Event()
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
        self._drain = threading.Thread(target=self._read_output, name="serve-sim-output", daemon=True)
        self._drain.start()
        clock = WallClock()
        while not self._ready.wait(0.05):
            if self._process.poll() is not None or clock.now() > timeout:
                what = "exited" if self._process.poll() is not None else f"was not ready within {timeout:g} s"
                self.stop()
                raise RuntimeError(f"stackpress serve-sim {bench} {what}:\n" + "\n".join(self.output))

    def _read_output(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line.rstrip("\n"))
            if line.strip() == READY:
                self._ready.set()

    def stop(self) -> None:
        """Ask the child to stop (SIGTERM: it closes its servers), and kill it if it does not."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._drain.join(timeout=5)

    def __enter__(self) -> SimServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
