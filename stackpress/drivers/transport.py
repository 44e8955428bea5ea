"""The one place for instrument I/O policy: timeouts, retries, reconnect with backoff, one lock.

Drivers never hold a socket, a VISA session or a serial port. They hold a Link
and ask it for one transaction at a time; the Link

- owns the connection (the "port": a pyvisa resource, a pymodbus client, a
  pyserial port) and a lock: whichever thread calls (the engine's, normally)
  holds the lock for the whole transaction, so a client is never used by two
  threads at once; instruments on one Modbus bus or gateway share one Link;
- opens it lazily on first use and again after it was lost, running the
  drivers' open hooks (e.g. a SCPI setup) on every new connection;
- bounds every wait: each port operation has the link's `timeout`; nothing
  sleeps. A timeout raises InstrumentTimeout, and the connection is reopened
  before the next transaction so a late reply cannot be taken for the next one;
- on a dropped connection reconnects at once and repeats the transaction (up to
  `retries` times); if the instrument cannot be reached, it waits `backoff`
  seconds (doubling up to `backoff_max`) before the next attempt, and calls in
  between fail at once instead of waiting on a dead instrument every tick;
- raises only stackpress.drivers.errors: each message names the instrument, what
  was sent and the resource, e.g.
  "cycler: no reply within 0.2 s (sent ':MEAS:VOLT?' to TCPIP0::127.0.0.1::5025::SOCKET)".

Port operations report trouble with three exceptions of this module, whatever
the library: LinkTimeout (no reply in time), LinkDropped (the connection is
gone or cannot be made), LinkGarbled (a reply that cannot be understood);
LinkRefused is the instrument saying no (an error reply): it keeps the connection.

Resource URLs (documented in connect.py):
    modbus-tcp://HOST[:PORT]?unit=N
    modbus-rtu:///dev/ttyUSB0?baud=19200&parity=E&unit=N
    serial:///dev/ttyUSB0?baud=9600
and VISA resource strings for SCPI ("TCPIP0::HOST::PORT::SOCKET", "ASRL/dev/ttyUSB0::INSTR", ...).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

from stackpress.clock import Clock, WallClock
from stackpress.drivers.errors import InstrumentError, InstrumentTimeout, OutOfRange

T = TypeVar("T")

# pymodbus logs every failed request, with a dump of the last frames, and with no logging configured Python prints
# that to stderr, through a run's progress line. Our errors already name the instrument, the resource and what was
# sent. A NullHandler keeps pymodbus off the console; an application that configures logging still gets its records.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())


class LinkTimeout(Exception):
    """No (complete) reply within the timeout; `waited` False: told at once that none will come (a gateway)."""

    def __init__(self, detail: str = "", waited: bool = True) -> None:
        super().__init__(detail)
        self.waited = waited


class LinkDropped(Exception):
    """The connection is gone, or could not be made."""


class LinkGarbled(Exception):
    """A reply arrived that cannot be understood."""


class LinkRefused(Exception):
    """The instrument answered with an error: the command is wrong, the connection is fine."""

    def __init__(self, message: str, out_of_range: bool = False) -> None:
        super().__init__(message)
        self.out_of_range = out_of_range


@dataclass(frozen=True)
class LinkSettings:
    timeout: float = 1.0  # s, for each reply (and for making the connection)
    retries: int = 1  # repeats of a transaction after its connection dropped (reconnecting first)
    backoff: float = 0.5  # s before reconnecting to an instrument that could not be reached; doubles...
    backoff_max: float = 10.0  # s ...up to this


class Link:
    """One connection to one instrument (or one bus): lock, lazy open, reconnect with backoff."""

    kind = "link"
    reopen_on_timeout = True  # a late reply must never be read as the next one's: start a new connection

    def __init__(
        self, resource: str, settings: LinkSettings, clock: Clock | None = None, opener: Callable[[], Any] | None = None
    ) -> None:
        """`opener` replaces the real connection (tests: a fake port of exact command/reply pairs)."""
        self.resource = resource
        self.settings = settings
        self.clock = clock if clock is not None else WallClock()
        self.lock = threading.RLock()
        self._opener = opener
        self._port: Any = None
        self._opened = 0  # connections made
        self._hooks: list[Callable[[Any], None]] = []
        self._retry_at = -float("inf")
        self._delay = settings.backoff
        self._failure = ""

    # --- what subclasses provide ---------------------------------------------------------

    def _open(self) -> Any:
        """Make the connection and return the port; LinkDropped if it cannot be made."""
        raise NotImplementedError

    def _close(self, port: Any) -> None:
        port.close()

    def _alive(self, port: Any) -> bool:
        """A cheap check before a transaction (False: the peer has gone; reconnect first)."""
        return True

    # --- the policy ------------------------------------------------------------------------

    def on_open(self, hook: Callable[[Any], None]) -> None:
        """Run `hook(port)` on every new connection (before the transaction that needed it)."""
        self._hooks.append(hook)

    @property
    def connected(self) -> bool:
        return self._port is not None

    @property
    def reconnects(self) -> int:
        """Connections made after the first: for diagnostics and tests."""
        return max(0, self._opened - 1)

    def describe(self, what: str, problem: str) -> str:
        return f"{problem} (sent {what!r} to {self.resource})"

    def call(self, instrument: str, what: str, operation: Callable[[Any], T]) -> T:
        """Run `operation(port)` under the lock with the policy above; `what` is what it sends."""
        with self.lock:
            attempt = 0
            while True:
                port = self._ensure_open(instrument, what)
                try:
                    return operation(port)
                except LinkTimeout as exc:
                    if self.reopen_on_timeout:
                        self.discard()
                    if exc.waited:
                        problem = f"no reply within {self.settings.timeout:g} s" + (f": {exc}" if str(exc) else "")
                    else:
                        problem = f"no reply: {exc}"
                    raise InstrumentTimeout(instrument, self.describe(what, problem)) from None
                except LinkGarbled as exc:
                    self.discard()
                    raise InstrumentError(instrument, self.describe(what, f"garbled reply: {exc}")) from None
                except LinkRefused as exc:
                    error = OutOfRange if exc.out_of_range else InstrumentError
                    raise error(instrument, self.describe(what, f"refused: {exc}")) from None
                except LinkDropped as exc:
                    self.discard()
                    if attempt >= self.settings.retries:
                        raise InstrumentError(instrument, self.describe(what, f"connection lost: {exc}")) from None
                    attempt += 1

    def _ensure_open(self, instrument: str, what: str) -> Any:
        port = self._port
        if port is not None:
            if self._alive(port):
                return port
            self.discard()
        now = self.clock.now()
        if now < self._retry_at:
            raise InstrumentError(
                instrument,
                self.describe(
                    what, f"not connected ({self._failure}); next attempt in {self._retry_at - now:.1f} s"
                ),
            )
        try:
            port = self._opener() if self._opener is not None else self._open()
            self._port = port
            for hook in self._hooks:
                hook(port)
        except (LinkDropped, LinkTimeout, LinkGarbled, LinkRefused, OSError) as exc:
            self.discard()
            delay = self._delay
            self._failure = f"cannot connect: {exc}"
            self._retry_at = now + delay
            self._delay = min(2.0 * delay, self.settings.backoff_max)
            error = InstrumentTimeout if isinstance(exc, LinkTimeout) else InstrumentError
            raise error(instrument, self.describe(what, f"{self._failure}; next attempt in {delay:g} s")) from None
        except InstrumentError:
            self.discard()
            raise
        self._opened += 1
        self._delay = self.settings.backoff
        self._retry_at = -float("inf")
        return port

    def discard(self) -> None:
        """Close the connection (quietly); the next transaction opens a new one."""
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(Exception):
                self._close(port)

    def close(self) -> None:
        with self.lock:
            self.discard()


# --- SCPI over VISA --------------------------------------------------------------------------


class VisaLink(Link):
    """A message-based instrument through pyvisa (pyvisa-py, "@py", by default): lines of text."""

    kind = "visa"
    _managers: ClassVar[dict[str, Any]] = {}
    _managers_lock = threading.Lock()

    def __init__(
        self,
        resource: str,
        settings: LinkSettings,
        clock: Clock | None = None,
        opener: Callable[[], Any] | None = None,
        *,
        library: str = "@py",
        read_termination: str = "\n",
        write_termination: str = "\n",
        encoding: str = "ascii",
    ) -> None:
        super().__init__(resource, settings, clock, opener)
        self.library = library
        self.read_termination = read_termination
        self.write_termination = write_termination
        self.encoding = encoding

    def _manager(self) -> Any:
        import pyvisa

        with self._managers_lock:
            manager = self._managers.get(self.library)
            if manager is None:
                manager = self._managers[self.library] = pyvisa.ResourceManager(self.library)
            return manager

    def _open(self) -> Any:
        milliseconds = max(1, round(self.settings.timeout * 1000))
        try:
            port = self._manager().open_resource(
                self.resource,
                read_termination=self.read_termination,
                write_termination=self.write_termination,
                encoding=self.encoding,
                timeout=milliseconds,
                open_timeout=milliseconds,
            )
        except Exception as exc:  # a VisaIOError, or pyvisa-py's bare Exception("could not connect: ...")
            raise LinkDropped(str(exc)) from None
        sock = _visa_socket(port)
        if sock is not None:  # pyvisa-py "opens" a refused TCP socket; the error shows here
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                with contextlib.suppress(Exception):
                    port.close()
                raise LinkDropped(f"connection refused ({error})")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return port

    def _alive(self, port: Any) -> bool:
        """A closed TCP peer (readable, zero bytes): reconnect; stale bytes: drop them (resync)."""
        sock = _visa_socket(port)
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return True
            if not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                return False
            port.clear()  # a late reply to an earlier query: never read it as the next one
            return True
        except (OSError, ValueError):
            return False

    def _write(self, port: Any, command: str) -> None:
        _visa_io(port.write, command)

    def _read(self, port: Any) -> str:
        return _visa_io(port.read)

    def write(self, instrument: str, command: str) -> None:
        self.call(instrument, command, lambda port: self._write(port, command))

    def query(self, instrument: str, command: str, parse: Callable[[str], T] | None = None) -> T:
        """Send `command`, read one reply, and `parse` it (raising LinkGarbled if it cannot)."""

        def operation(port: Any) -> Any:
            self._write(port, command)
            reply = self._read(port)
            return reply if parse is None else parse(reply)

        return self.call(instrument, command, operation)


def _visa_socket(port: Any) -> socket.socket | None:
    """The TCP socket under a pyvisa-py TCPIP SOCKET session, if that is what `port` is."""
    try:
        session = port.visalib.sessions[port.session]
    except Exception:
        return None
    sock = getattr(session, "interface", None)
    return sock if isinstance(sock, socket.socket) else None


def _visa_io(operation: Callable[..., T], *args: Any) -> T:
    """`operation(*args)` with pyvisa's and the socket's exceptions as this module's (timeout, dropped, garbled)."""
    import pyvisa

    try:
        return operation(*args)
    except pyvisa.errors.VisaIOError as exc:
        if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
            raise LinkTimeout() from None
        raise LinkDropped(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise LinkGarbled(f"undecodable bytes ({exc.reason})") from None
    except OSError as exc:
        raise LinkDropped(str(exc) or type(exc).__name__) from None


# --- Modbus (pymodbus) -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModbusEndpoint:
    """Where a Modbus device is: a TCP server, or a serial RTU bus, and its unit id there."""

    transport: str  # "tcp" or "rtu"
    host: str = ""
    port: int = 502
    device: str = ""
    baud: int = 19200
    parity: str = "N"
    bytesize: int = 8
    stopbits: int = 1
    unit: int = 1

    @property
    def bus(self) -> tuple[Any, ...]:
        """What instruments on one connection share: one Link per bus."""
        return ("tcp", self.host, self.port) if self.transport == "tcp" else ("rtu", self.device)


def parse_modbus_resource(resource: str) -> ModbusEndpoint:
    """`modbus-tcp://HOST[:PORT]?unit=N` or `modbus-rtu://DEVICE?baud=B&parity=P&bytesize=8&stopbits=1&unit=N`."""
    parts = urlsplit(resource)
    query = _query(resource, parts.query, {"unit", "baud", "parity", "bytesize", "stopbits"})
    unit = _int_param(resource, query, "unit", 1, 0, 247)
    if parts.scheme == "modbus-tcp":
        if not parts.hostname:
            raise ValueError(f"{resource!r}: needs a host, e.g. modbus-tcp://192.168.1.20:502?unit=1")
        extra = set(query) - {"unit"}
        if extra:
            raise ValueError(f"{resource!r}: {', '.join(sorted(extra))} is for modbus-rtu:// resources")
        try:
            port = parts.port or 502
        except ValueError as exc:
            raise ValueError(f"{resource!r}: bad port ({exc})") from None
        return ModbusEndpoint("tcp", host=parts.hostname, port=port, unit=unit)
    if parts.scheme == "modbus-rtu":
        device = parts.netloc + parts.path
        if not device:
            raise ValueError(f"{resource!r}: needs a serial device, e.g. modbus-rtu:///dev/ttyUSB0?baud=19200&unit=1")
        parity = query.get("parity", "N").upper()
        if parity not in ("N", "E", "O"):
            raise ValueError(f"{resource!r}: parity must be N, E or O")
        return ModbusEndpoint(
            "rtu",
            device=device,
            baud=_int_param(resource, query, "baud", 19200, 50, 4_000_000),
            parity=parity,
            bytesize=_int_param(resource, query, "bytesize", 8, 7, 8),
            stopbits=_int_param(resource, query, "stopbits", 1, 1, 2),
            unit=unit,
        )
    raise ValueError(f"{resource!r}: a Modbus resource starts with modbus-tcp:// or modbus-rtu://")


def _query(resource: str, text: str, known: set[str]) -> dict[str, str]:
    pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    query = dict(pairs)
    unknown = sorted(set(query) - known)
    if unknown:
        raise ValueError(f"{resource!r}: unknown parameter {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return query


def _int_param(resource: str, query: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    text = query.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{resource!r}: {key}={text!r} must be a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{resource!r}: {key}={value} must be from {low} to {high}")
    return value


_MODBUS_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class ModbusLink(Link):
    """One pymodbus sync client for one TCP server or RTU bus; each request names its unit id."""

    kind = "modbus"

    def __init__(
        self,
        endpoint: ModbusEndpoint,
        settings: LinkSettings,
        clock: Clock | None = None,
        opener: Callable[[], Any] | None = None,
        resource: str | None = None,
    ) -> None:
        if resource is None:
            if endpoint.transport == "tcp":
                resource = f"modbus-tcp://{endpoint.host}:{endpoint.port}"
            else:
                resource = f"modbus-rtu://{endpoint.device}?baud={endpoint.baud}"
        super().__init__(resource, settings, clock, opener)
        self.endpoint = endpoint

    def _open(self) -> Any:
        from pymodbus.client import ModbusSerialClient, ModbusTcpClient
        from pymodbus.framer import FramerType

        endpoint = self.endpoint
        timeout = self.settings.timeout
        if endpoint.transport == "tcp":
            client = ModbusTcpClient(endpoint.host, port=endpoint.port, timeout=timeout, retries=0)
        else:
            client = ModbusSerialClient(
                endpoint.device,
                framer=FramerType.RTU,
                baudrate=endpoint.baud,
                parity=endpoint.parity,
                bytesize=endpoint.bytesize,
                stopbits=endpoint.stopbits,
                timeout=timeout,
                retries=0,
            )
        if not client.connect():
            client.close()
            raise LinkDropped(f"cannot connect to {self.resource}")
        if endpoint.transport == "tcp" and getattr(client, "socket", None) is not None:
            client.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client

    @staticmethod
    def _request(run: Callable[[], Any], count: int | None) -> Any:
        from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

        try:
            response = run()
        except ConnectionException as exc:
            raise LinkDropped(str(exc).split("] ", 1)[-1] or "connection closed") from None
        except ModbusIOException as exc:
            text = str(exc)
            if "No response received" in text:  # pymodbus 3.16: the sync client's timeout
                raise LinkTimeout() from None
            raise LinkGarbled(text.split("] ", 1)[-1]) from None
        except ModbusException as exc:
            raise LinkGarbled(str(exc)) from None
        except OSError as exc:
            raise LinkDropped(str(exc) or type(exc).__name__) from None
        if response is None:
            raise LinkTimeout()
        if response.isError():
            code = getattr(response, "exception_code", 0)
            meaning = _MODBUS_EXCEPTIONS.get(code, "unknown")
            if code in (10, 11):  # a gateway whose device did not answer: a timeout behind the gateway
                raise LinkTimeout(f"exception {code}: {meaning}", waited=False)
            raise LinkRefused(f"exception {code}: {meaning}", out_of_range=code == 3)
        if count is not None and len(getattr(response, "registers", [])) < count:
            raise LinkGarbled(f"{len(response.registers)} registers instead of {count}")
        return response

    def read(self, instrument: str, unit: int, table: str, address: int, count: int, what: str) -> list[int]:
        """`count` registers from `table` ("holding": FC3, "input": FC4) at 0-based `address`."""

        def operation(client: Any) -> list[int]:
            read = client.read_holding_registers if table == "holding" else client.read_input_registers
            response = self._request(lambda: read(address, count=count, device_id=unit), count)
            return list(response.registers[:count])

        return self.call(instrument, what, operation)

    def write(self, instrument: str, unit: int, address: int, values: list[int], what: str) -> None:
        """Write holding registers (FC16) from 0-based `address`."""

        def operation(client: Any) -> None:
            self._request(lambda: client.write_registers(address, values, device_id=unit), None)

        self.call(instrument, what, operation)


# --- ASCII over a serial port (pyserial) -------------------------------------------------------


@dataclass(frozen=True)
class SerialEndpoint:
    device: str
    baud: int | None = None  # None: the dialect's
    parity: str | None = None
    bytesize: int | None = None
    stopbits: int | None = None


def parse_serial_resource(resource: str) -> SerialEndpoint:
    """`serial:///dev/ttyUSB0?baud=9600&parity=N&bytesize=8&stopbits=1` (any parameter overrides the dialect's)."""
    parts = urlsplit(resource)
    if parts.scheme != "serial":
        raise ValueError(f"{resource!r}: a serial resource starts with serial://, e.g. serial:///dev/ttyUSB0?baud=9600")
    device = parts.netloc + parts.path
    if not device:
        raise ValueError(f"{resource!r}: needs a device, e.g. serial:///dev/ttyUSB0")
    query = _query(resource, parts.query, {"baud", "parity", "bytesize", "stopbits"})
    parity = query.get("parity")
    if parity is not None and parity.upper() not in ("N", "E", "O", "M", "S"):
        raise ValueError(f"{resource!r}: parity must be N, E, O, M or S")
    return SerialEndpoint(
        device,
        baud=_int_param(resource, query, "baud", 0, 50, 4_000_000) or None,
        parity=parity.upper() if parity else None,
        bytesize=_int_param(resource, query, "bytesize", 0, 5, 8) or None,
        stopbits=_int_param(resource, query, "stopbits", 0, 1, 2) or None,
    )


class SerialLink(Link):
    """Line-based ASCII over pyserial: flush stale input, write a query, read one terminated line.

    Reads take what `in_waiting` holds and wait on the port's file descriptor in
    between (pyserial's readline reads byte by byte), all within one deadline.
    """

    kind = "serial"
    reopen_on_timeout = False  # the input is flushed before every query instead

    def __init__(
        self,
        resource: str,
        settings: LinkSettings,
        clock: Clock | None = None,
        opener: Callable[[], Any] | None = None,
        *,
        device: str = "",
        baud: int = 9600,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        read_termination: str = "\r\n",
        write_termination: str = "\r\n",
        encoding: str = "ascii",
    ) -> None:
        super().__init__(resource, settings, clock, opener)
        self.device = device
        self.options = {"baudrate": baud, "bytesize": bytesize, "parity": parity, "stopbits": stopbits}
        self.read_termination = read_termination.encode(encoding)
        self.write_termination = write_termination
        self.encoding = encoding

    def _open(self) -> Any:
        import serial

        try:
            return serial.Serial(
                self.device, timeout=self.settings.timeout, write_timeout=self.settings.timeout, **self.options
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkDropped(str(exc)) from None

    def _exchange(self, port: Any, line: str) -> str:
        import serial

        try:
            port.reset_input_buffer()  # a late reply to an earlier query is never read as this one's
            port.write((line + self.write_termination).encode(self.encoding))
            reply = self._read_line(port)
        except serial.SerialTimeoutException:
            raise LinkTimeout("write timed out") from None
        except (serial.SerialException, OSError) as exc:
            raise LinkDropped(str(exc) or type(exc).__name__) from None
        try:
            return reply.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise LinkGarbled(f"undecodable bytes {reply!r} ({exc.reason})") from None

    def _read_line(self, port: Any) -> bytes:
        terminator = self.read_termination
        deadline = time.monotonic() + self.settings.timeout
        buffer = bytearray()
        fileno = getattr(port, "fileno", None)
        while True:
            waiting = port.in_waiting
            if waiting:
                buffer += port.read(waiting)
            elif fileno is None:
                buffer += port.read(1)  # blocks at most the port's timeout
            end = buffer.find(terminator)
            if end >= 0:
                return bytes(buffer[:end])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LinkTimeout(f"got {bytes(buffer)!r} so far" if buffer else "")
            if fileno is not None:
                select.select([fileno()], [], [], remaining)

    def query(self, instrument: str, line: str, parse: Callable[[str], T]) -> T:
        return self.call(instrument, line, lambda port: parse(self._exchange(port, line)))
