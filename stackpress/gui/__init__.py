"""The bench window (PySide6 + pyqtgraph), `stackpress gui`.

    app.py       the main window and `main()`
    worker.py    the session on its own thread (instruments and engine never on the GUI thread)
    live.py      the buffer the engine's callbacks fill and the window drains, in bounded memory
    pacing.py    virtual time paced to the wall: the time acceleration of a simulated run
    plots.py     the run's plots, live or from a run file; decimate.py cuts curves to the view
    runview.py   a run file, browsed
    panels/      bench, protocol, pressure, alarms and events, per-cycle table

Nothing here imports a driver: the window talks to `stackpress.session.Session` only.
Importing this package needs the `gui` extra; the rest of stackpress does not.
"""
