import pytest

from stackpress.clock import VirtualClock, WallClock


def test_virtual_time_moves_only_when_waited_for_and_never_backwards():
    clock = VirtualClock(start=5.0)
    assert clock.now() == 5.0
    clock.sleep_until(3600.0)
    assert clock.now() == 3600.0
    clock.sleep_until(10.0)  # a deadline already past: no time travel
    assert clock.now() == 3600.0
    clock.advance(0.5)
    assert clock.now() == 3600.5


def test_wall_clock_starts_near_zero_and_does_not_wait_for_the_past():
    clock = WallClock()
    start = clock.now()
    assert 0.0 <= start < 1.0
    clock.sleep_until(start - 10.0)  # returns at once
    assert clock.now() - start < 1.0


def test_wall_clock_goes_on_from_its_start_at_its_speed(monkeypatch):
    wall = [1000.0]
    monkeypatch.setattr("stackpress.clock.time.monotonic", lambda: wall[0])
    clock = WallClock(speed=10.0, start=7200.0)  # a resumed run, two hours in, ten times faster
    assert clock.now() == 7200.0
    wall[0] += 3.0
    assert clock.now() == 7230.0


def test_an_accelerated_wall_clock_waits_a_fraction_of_the_time_and_refuses_a_speed_of_zero():
    clock = WallClock(100.0)
    start = clock.now()
    clock.sleep_until(start + 1.0)  # 10 ms of wall time
    assert 1.0 <= clock.now() - start < 5.0
    with pytest.raises(ValueError, match="clock speed must be positive"):
        WallClock(0.0)
