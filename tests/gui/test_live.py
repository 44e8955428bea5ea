"""The live buffer: what the engine thread appends, the GUI thread drains, in bounded memory."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from stackpress.gui.live import COLUMNS, LiveBuffer
from stackpress.sample import Event, Sample


def sample(t: float) -> Sample:
    return Sample(t, 3.7, 1e-3, t * 1e-3, 25.0, 785.0, 10e6, 10e6, 1e-3, 1e-5, 785.0, 1, 1, "running")


def test_drain_returns_what_arrived_once_and_keeps_it_in_columns() -> None:
    buffer = LiveBuffer(capacity=100)
    for t in range(5):
        buffer.sample(sample(float(t)))
    buffer.event(Event(2.0, "step", "Rest for 1 minute"))
    samples, events = buffer.drain()
    assert [s.t for s in samples] == [0, 1, 2, 3, 4]
    assert [e.message for e in events] == ["Rest for 1 minute"]
    assert buffer.drain() == ([], [])
    np.testing.assert_array_equal(buffer.column("t"), [0, 1, 2, 3, 4])
    assert buffer.column("pressure")[0] == 10e6
    assert buffer.latest is not None and buffer.latest.t == 4


def test_a_full_buffer_thins_out_evenly_and_still_spans_the_whole_run() -> None:
    buffer = LiveBuffer(capacity=64)
    for start in range(0, 1000, 37):  # drains of uneven sizes, as a timer would see them
        for t in range(start, min(start + 37, 1000)):
            buffer.sample(sample(float(t)))
        buffer.drain()
    t = buffer.column("t")
    assert buffer.size <= 64
    assert buffer.stride == 16
    assert t[0] == 0 and t[-1] == 992  # the last multiple of the stride
    np.testing.assert_array_equal(np.diff(t), 16)  # even density: no gap, no clump


def test_samples_from_another_thread_are_all_received() -> None:
    buffer = LiveBuffer(capacity=1 << 16)
    writers = [threading.Thread(target=lambda k=k: [buffer.sample(sample(k * 1e4 + i)) for i in range(5000)])
               for k in range(2)]
    for writer in writers:
        writer.start()
    drained = 0
    while any(w.is_alive() for w in writers) or drained < 10_000:
        drained += len(buffer.drain()[0])
    assert drained == buffer.received == buffer.size == 10_000


def test_capacity_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        LiveBuffer(capacity=1)


def test_a_loaded_run_is_thinned_like_one_received_sample_by_sample() -> None:
    loaded, received = LiveBuffer(capacity=64), LiveBuffer(capacity=64)
    for t in range(1000):
        received.sample(sample(float(t)))
    received.drain()
    loaded.load({name: np.full(1000, 1.0) for name in COLUMNS} | {"t": np.arange(1000.0)})
    assert (loaded.stride, loaded.size, loaded.received) == (received.stride, received.size, received.received)
    np.testing.assert_array_equal(loaded.column("t"), received.column("t"))
    for t in range(1000, 1100):  # and goes on the same way
        loaded.sample(sample(float(t)))
        received.sample(sample(float(t)))
    loaded.drain()
    received.drain()
    np.testing.assert_array_equal(loaded.column("t"), received.column("t"))
