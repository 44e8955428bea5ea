"""The Modbus RTU wire-time floor, against figures worked out by hand from the serial-line specification."""

import pytest

from stackpress.drivers.rtu_timing import rtu_read_time


@pytest.mark.parametrize(
    ("baud", "registers", "ms"),
    [
        (19200, 2, 12.5),  # (8 + 9 + 2 x 3.5) characters x 10 bits / 19200 baud
        (115200, 2, 2.083),
        (19200, 10, 20.833),  # (8 + 25 + 7) characters
        (115200, 10, 3.472),
    ],
)
def test_two_frames_and_two_silent_intervals(baud, registers, ms):
    assert rtu_read_time(baud, registers) * 1e3 == pytest.approx(ms, abs=0.001)


def test_the_specs_fixed_gaps_apply_only_above_19200_baud():
    assert rtu_read_time(115200, 2, spec_gaps=True) * 1e3 == pytest.approx(17 * 10 / 115.2 + 3.5, abs=1e-9)  # 4.98
    assert rtu_read_time(19200, 2, spec_gaps=True) == rtu_read_time(19200, 2)


def test_parity_or_a_second_stop_bit_lengthens_every_character():
    assert rtu_read_time(19200, 2, bits_per_character=11) == pytest.approx(rtu_read_time(19200, 2) * 1.1)


def test_nonsense_is_refused():
    with pytest.raises(ValueError, match="must be positive, got 0, 2, 10"):
        rtu_read_time(0, 2)
    with pytest.raises(ValueError, match="must be positive"):
        rtu_read_time(9600, 0)
