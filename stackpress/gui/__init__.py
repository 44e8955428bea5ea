"""The bench window (PySide6 + pyqtgraph), `stackpress gui`.

    app.py       the main window and `main()`
    worker.py    a session, an auto-tune or an instrument check on its own thread (never on the GUI thread)
    live.py      the buffer the engine's callbacks fill and the window drains, in bounded memory
    pacing.py    virtual time paced to the wall: the time acceleration of a simulated run
    monitor.py   "Connect": a session that only rests, so a bench shows live readings without a test
    plots.py     the run's plots, live or from a run file; decimate.py cuts curves to the view
    runview.py   a run file, browsed
    units.py     the actuator's command unit as the operator reads it (N, µm) and the regulator's gains
    panels/      bench, protocol, pressure, regulator, auto-tune, alarms and events, per-cycle table

The window talks to `stackpress.session.Session` only, never to an instrument; "Connect &
check" on a real bench asks the bench (`Bench.check_instruments`, what `stackpress check`
runs) on a thread of its own, between runs.
Importing this package needs the `gui` extra; the rest of stackpress does not.
"""
