"""Fake ports for driver tests: each expects exact (sent, reply) pairs, in order (PyMeasure-style).

A reply of None means the command is a write (nothing is read back); TIMEOUT
means the instrument does not answer; an exception instance is raised as the
library would raise it. Every pair must be used: `done()` says so.
"""

from __future__ import annotations

from typing import Any

TIMEOUT = object()


class _Pairs:
    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self.pairs = list(pairs)
        self.sent: list[Any] = []
        self.closed = False

    def expect(self, sent: Any) -> Any:
        assert not self.closed, f"sent {sent!r} on a closed port"
        assert self.pairs, f"unexpected {sent!r}: no more pairs"
        expected, reply = self.pairs.pop(0)
        assert sent == expected, f"sent {sent!r}, expected {expected!r}"
        self.sent.append(sent)
        return reply

    def done(self) -> bool:
        return not self.pairs

    def close(self) -> None:
        self.closed = True


class FakeVisa(_Pairs):
    """A pyvisa message-based resource: write(str), read() -> str."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self._reply: Any = None

    def write(self, command: str) -> None:
        reply = self.expect(command)
        if isinstance(reply, BaseException) and not isinstance(reply, _Late):
            raise reply
        self._reply = reply

    def read(self) -> str:
        import pyvisa
        from pyvisa import constants

        reply, self._reply = self._reply, None
        assert reply is not None, "read() after a write that expects no reply"
        if reply is TIMEOUT:
            raise pyvisa.errors.VisaIOError(constants.StatusCode.error_timeout)
        if isinstance(reply, _Late):
            raise reply.error
        return reply

    def clear(self) -> None:
        pass


class _Late(Exception):
    """An exception raised on read() rather than write()."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def on_read(error: BaseException) -> _Late:
    return _Late(error)


class _Response:
    def __init__(self, registers: list[int] | None = None, exception_code: int = 0) -> None:
        self.registers = registers or []
        self.exception_code = exception_code

    def isError(self) -> bool:
        return bool(self.exception_code)


class ModbusException_:
    """An exception response with this code."""

    def __init__(self, code: int) -> None:
        self.code = code


class FakeModbus(_Pairs):
    """A pymodbus sync client. Requests: ("read", "input"|"holding", address, count, unit) -> registers,
    ("write", address, [words], unit) -> None."""

    def connect(self) -> bool:
        return True

    def _answer(self, request: tuple[Any, ...]) -> Any:
        from pymodbus.exceptions import ModbusIOException

        reply = self.expect(request)
        if reply is TIMEOUT:
            raise ModbusIOException("No response received after 0 retries, continue with next request")
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, ModbusException_):
            return _Response(exception_code=reply.code)
        return _Response(reply)

    def read_holding_registers(self, address: int, *, count: int = 1, device_id: int = 1) -> Any:
        return self._answer(("read", "holding", address, count, device_id))

    def read_input_registers(self, address: int, *, count: int = 1, device_id: int = 1) -> Any:
        return self._answer(("read", "input", address, count, device_id))

    def write_registers(self, address: int, values: list[int], *, device_id: int = 1) -> Any:
        return self._answer(("write", address, list(values), device_id))


class FakeSerial(_Pairs):
    """A pyserial port: write(bytes); the reply waits in in_waiting. No fileno: reads use read(1)."""

    def __init__(self, pairs: list[tuple[bytes, Any]]) -> None:
        super().__init__(pairs)
        self._pending = b""
        self.flushes = 0

    def reset_input_buffer(self) -> None:
        self._pending = b""
        self.flushes += 1

    def write(self, data: bytes) -> int:
        reply = self.expect(data)
        if isinstance(reply, BaseException):
            raise reply
        if reply is not TIMEOUT and reply is not None:
            self._pending += reply
        return len(data)

    @property
    def in_waiting(self) -> int:
        return len(self._pending)

    def read(self, size: int = 1) -> bytes:
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


class Opener:
    """Hands out fake ports one connection at a time; an exception instance in the list fails that connect."""

    def __init__(self, *ports: Any) -> None:
        self.ports = list(ports)
        self.opened: list[Any] = []

    def __call__(self) -> Any:
        assert self.ports, "unexpected (re)connection"
        port = self.ports.pop(0)
        if isinstance(port, BaseException):
            raise port
        self.opened.append(port)
        return port
