"""The protocol panel's ETA: the run's elapsed (simulated) time against the plan's estimated total."""

from __future__ import annotations

from pathlib import Path

from stackpress.protocols.plan import duration

TIMEOUT = 30_000  # ms


def test_the_eta_is_the_plans_total_less_the_elapsed_time(make_window, short_protocol: Path) -> None:
    panel = make_window(protocol=short_protocol).protocol_panel
    total = panel.planned
    assert total == 120 + 2 * (3600 + 60 + 3600 + 60) and not panel.planned_bounded  # 1C passes the capacity in 1 h
    panel.show_elapsed(total / 4, speed=1000)
    assert panel.eta.text() == (f"elapsed {duration(total / 4)} of an estimated {duration(total)}: "
                                f"about {duration(total * 3 / 4)} left, {duration(total * 3 / 4000)} at 1,000× "
                                "(estimate)")
    panel.show_elapsed(total + 60)
    assert "past the estimated" in panel.eta.text()


def test_a_bounded_plan_says_at_most(make_window) -> None:
    window = make_window()
    window.open_protocol("long-cycling")
    panel = window.protocol_panel
    panel.show_elapsed(3600)
    assert "of an estimated at most" in panel.eta.text() and ": at most " in panel.eta.text()


def test_the_eta_follows_a_running_simulation(make_window, short_protocol: Path, qtbot) -> None:
    window = make_window(protocol=short_protocol, speed=1000)
    window.start()
    qtbot.waitUntil(lambda: window.buffer.latest is not None and window.buffer.latest.t > 120, timeout=TIMEOUT)
    window.refresh()
    text = window.protocol_panel.eta.text()
    assert text.startswith("elapsed ") and "left" in text and "at 1,000×" in text and text.endswith("(estimate)")
    window.abort()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    window.start()
    assert window.protocol_panel.eta.text() == ""  # a new run: nothing elapsed yet
    window.abort()
