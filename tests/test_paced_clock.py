"""Virtual time paced to the wall: the run of `stackpress run`, at a speed a person can watch."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from stackpress.clock import PacedClock


def wall_seconds(action) -> float:
    start = time.monotonic()
    action()
    return time.monotonic() - start


def test_time_moves_only_when_the_engine_waits() -> None:
    clock = PacedClock(speed=1e9)
    clock.sleep_until(10.0)
    assert clock.now() == 10.0
    assert clock.now() == 10.0  # reads within a tick all see the tick's time, as with VirtualClock


def test_waits_last_as_long_as_the_speed_says() -> None:
    clock = PacedClock(speed=100)
    assert wall_seconds(lambda: clock.sleep_until(5.0)) >= 0.045  # 5 simulated s at 100x: 50 ms


def test_an_engine_that_fell_behind_is_paced_again_without_skipping_or_sprinting() -> None:
    clock = PacedClock(speed=100)
    clock.sleep_until(1.0)
    time.sleep(0.5)  # the engine stalls for 50 simulated seconds' worth of wall time
    assert wall_seconds(lambda: clock.sleep_until(2.0)) < 0.005  # late: no wait
    assert clock.now() == 2.0  # and no skip
    assert wall_seconds(lambda: clock.sleep_until(3.0)) >= 0.008  # paced again, not sprinting to catch up


def test_a_faster_speed_wakes_the_engine_at_once() -> None:
    clock = PacedClock(speed=1)
    woke = threading.Event()
    sleeper = threading.Thread(target=lambda: (clock.sleep_until(3600), woke.set()))
    sleeper.start()
    assert not woke.wait(timeout=0.1)  # asleep for an hour
    clock.set_speed(1e9)
    assert woke.wait(timeout=5)
    sleeper.join()
    assert clock.now() == 3600


def test_a_speed_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        PacedClock(speed=0)
    with pytest.raises(ValueError, match="speed"):
        PacedClock(speed=1).set_speed(-1)


def test_a_clock_survives_pickling_with_its_time() -> None:
    clock = PacedClock(speed=1e9)
    clock.sleep_until(42.0)
    copy = pickle.loads(pickle.dumps(clock))
    assert copy.now() == 42.0 and copy.speed == 1e9
    copy.sleep_until(43.0)
    assert copy.now() == 43.0


def test_a_clock_that_starts_later_is_paced_from_its_start() -> None:
    clock = PacedClock(speed=100, start=3600.0)  # a continued run, an hour in
    assert clock.now() == 3600.0
    assert 0.008 <= wall_seconds(lambda: clock.sleep_until(3601.0)) < 1.0  # 10 ms, not the 36 s from zero
    assert clock.now() == 3601.0
