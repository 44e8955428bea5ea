"""Wire faults as a line-based simulated server applies them (WireFaults.reply), without sockets."""

from __future__ import annotations

import threading

from stackpress.sims.servers import WireFaults


class Waits(threading.Event):
    """A stopping event that records how long a server was told to wait, and does not wait."""

    def __init__(self) -> None:
        super().__init__()
        self.waited: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waited.append(timeout)
        return False


def test_without_faults_the_answer_goes_out_as_it_is():
    stopping = Waits()
    assert WireFaults().reply("scpi", str.upper, "*idn?", stopping) == "*IDN?"
    assert stopping.waited == []


def test_a_silent_target_is_not_even_asked_and_other_targets_still_answer():
    faults = WireFaults()
    faults.set("serial", "silent", None)
    asked: list[str] = []

    def answer(line: str) -> str:
        asked.append(line)
        return "S S 10.0 N"

    assert faults.reply("serial", answer, "READ", Waits()) is None
    assert asked == []
    assert faults.reply("scpi", answer, "READ", Waits()) == "S S 10.0 N"


def test_a_delay_waits_its_seconds_on_the_stopping_event_before_answering():
    faults = WireFaults()
    faults.set("scpi", "delay", None, seconds=0.3)
    stopping = Waits()
    assert faults.reply("scpi", str.upper, "meas?", stopping) == "MEAS?"
    assert stopping.waited == [0.3]


def test_a_garbled_reply_is_not_the_answer_and_no_reply_stays_none():
    faults = WireFaults()
    faults.set("serial", "garble", None)
    garbled = faults.reply("serial", lambda line: "S S 12.5 N", "READ", Waits())
    assert garbled is not None and garbled != "S S 12.5 N" and "12.5" not in garbled
    assert faults.reply("serial", lambda line: None, "READ", Waits()) is None


def test_a_fault_with_a_duration_ends_by_itself():
    faults = WireFaults()
    faults.set("scpi", "silent", 0.0)  # already over
    assert faults.reply("scpi", str.upper, "x", Waits()) == "X"
