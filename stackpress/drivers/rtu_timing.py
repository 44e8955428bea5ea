"""How long a Modbus RTU read takes on the wire at best: what a serial bus allows an engine tick.

A read of n registers (FC03/FC04) is a request of 8 bytes (unit, function,
address, count, CRC) and a reply of 5 + 2n bytes (unit, function, byte count,
the registers, CRC). Each byte is one character of `bits_per_character` bits
(10 for 8N1; 11 for 8E1 or 8N2), and each frame must be followed by a silent
interval of 3.5 characters before the next one may start. Above 19200 baud the
Modbus serial-line specification fixes that interval at 1.75 ms instead, which
many devices follow, so a fast bus gains less than its baud rate suggests. No
device answers instantly either: these are floors, not estimates.
"""

from __future__ import annotations

REQUEST_BYTES = 8
REPLY_OVERHEAD_BYTES = 5
SILENT_CHARACTERS = 3.5
SPEC_FIXED_GAP = 1.75e-3  # s, the specification's t3.5 above 19200 baud
SPEC_FIXED_GAP_ABOVE = 19200  # baud


def rtu_read_time(baud: int, registers: int, *, spec_gaps: bool = False, bits_per_character: int = 10) -> float:
    """Seconds on the wire for one RTU read of `registers` registers: both frames and their silent intervals.

    `spec_gaps`: use the specification's fixed 1.75 ms silent interval above 19200 baud.
    """
    if baud <= 0 or registers < 1 or bits_per_character < 1:
        raise ValueError(
            f"baud, registers and bits_per_character must be positive, "
            f"got {baud!r}, {registers!r}, {bits_per_character!r}"
        )
    character = bits_per_character / baud
    frames = (REQUEST_BYTES + REPLY_OVERHEAD_BYTES + 2 * registers) * character
    gap = SPEC_FIXED_GAP if spec_gaps and baud > SPEC_FIXED_GAP_ABOVE else SILENT_CHARACTERS * character
    return frames + 2 * gap
