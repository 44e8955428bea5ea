import base64
import dataclasses
from html.parser import HTMLParser

import pandas as pd
import pytest

from stackpress.data import CYCLE_COLUMNS, Recorder, make_report, read_run, run_status
from stackpress.data.report import MAX_EVENTS_PER_KIND, report_events, report_html
from stackpress.sample import Event
from tests.data.fakes import cycling_samples, record_run, with_pause

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILES = ["timeseries.png", "swelling.png", "cycles.csv", "summary.txt", "cycles.png", "dqdv.png", "report.html"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
TRIP = "stack pressure 101.2 MPa above the hard limit 100 MPa"

# What a run that paused, resumed and then tripped records (its samples: `tripped_run_samples`).
EVENTS = [
    Event(0.0, "run", "run started: protocol 'cc-cycling'"),
    Event(0.0, "step", "Charge at 1 mA for 1 hour"),
    Event(0.0, "pressure", "holding 10 MPa", {"setpoint": 10e6}),
    Event(4000.0, "fault", "load-cell: no reply within 1 s", {"instrument": "load-cell"}),
    Event(4000.0, "pause", "run paused: load-cell not answering", {"cause": "fault"}),
    Event(4300.0, "recovered", "load-cell answers again", {"instrument": "load-cell"}),
    Event(4300.0, "resume", "run resumed (auto) after 300 s paused", {"by": "auto"}),
    Event(9000.0, "note", "cell 7: electrolyte <LPSCl> batch & lot 42", {"operator": "ab"}),
    Event(15000.0, "alarm", "pressure 10.5 MPa outside 10 MPa ± 2 %", {"kind": "tracking"}),
    Event(18000.0, "trip", TRIP, {"kind": "over_pressure", "pressure": 101.2e6}),
    Event(18000.0, "run", "run ended: tripped", {"state": "tripped"}),
]


def tripped_run_samples():
    """Three cycles with a load-cell dropout in cycle 1, the run tripping in cycle 3's charge."""
    samples = with_pause(cycling_samples(cycles=3), 4000.0, 4300.0, ("force", "pressure", "gap", "thickness"))
    samples = [s for s in samples if s.t < 18000.0]
    return [*samples, dataclasses.replace(samples[-1], t=18000.0, state="tripped")]


class StrictParser(HTMLParser):
    """Checks that every element is closed in order, and collects what the tests look at."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.images, self.tables = [], [], [], {}
        self.table, self.row, self.cell, self.doctype = None, None, None, None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self.table = self.tables.setdefault(attrs.get("class", ""), [])
        elif tag == "tr" and self.table is not None:
            self.row = []
            self.table.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse(text):
    parser = StrictParser()
    parser.feed(text)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One report of a run that paused, resumed and tripped; its paths and its parsed HTML."""
    tmp = tmp_path_factory.mktemp("report")
    run = record_run(tmp / "run.sqlite", tripped_run_samples(), EVENTS, bench_name="sim-hydraulic",
                     software_version="9.9.9", started_at="2025-01-02T03:04:05+00:00")
    paths = make_report(run, tmp / "report")
    html = paths[-1].read_text(encoding="utf-8")
    return paths, html, parse(html)


def test_report_writes_figures_cycle_table_summary_and_html(report):
    paths, _, _ = report
    assert [p.name for p in paths] == FILES
    for png in (p for p in paths if p.suffix == ".png"):
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000, png

    cycles = pd.read_csv(paths[2])
    assert tuple(cycles.columns) == CYCLE_COLUMNS
    assert cycles["cycle"].tolist() == [1, 2, 3]
    # 1 mA for 1 h in, 1 mA for 0.9 h out, every cycle; cycle 3 tripped during its charge.
    assert cycles["charge_capacity_Ah"].round(6).tolist()[:2] == [1e-3] * 2
    assert cycles["coulombic_efficiency"].round(6).tolist()[:2] == [0.9] * 2
    assert cycles["retention"].round(6).tolist() == [1.0, 1.0, 0.0]

    summary = paths[3].read_text()
    for expected in (
        "run:       synthetic",
        "protocol:  cc-cycling",
        "bench:     sim-hydraulic",
        f"status:    tripped: stopped by an interlock or a pressure alarm before the protocol's end: {TRIP}.",
        "cycles:    3",
        "first discharge capacity: 0.9 mAh (cycle 1)",
        "capacity retention:       100.0 % (cycle 2 / reference cycle 1",
        "MPa (time-weighted mean ± RMS deviation from setpoint)",
    ):
        assert expected in summary, summary


def test_report_html_is_one_self_contained_valid_page(report):
    _, html, page = report
    assert html.startswith("<!DOCTYPE html>\n") and page.doctype == "DOCTYPE html"
    assert page.errors == [] and page.stack == []  # every element closed, in order
    assert len(page.images) == 4
    for image in page.images:
        assert image["src"].startswith("data:image/png;base64,") and image.get("alt")
        assert base64.b64decode(image["src"].split(",", 1)[1], validate=True).startswith(PNG_SIGNATURE)
    lowered = html.lower()
    for external in ('src="http', "src='http", 'href="http', "<script", "<link", "url(", "@import", "<iframe"):
        assert external not in lowered, external


def test_report_html_shows_the_run_its_status_and_the_cycle_table(report):
    _, _, page = report
    facts = dict(row for row in page.tables["facts"] if len(row) == 2)
    assert facts["Status"].startswith("tripped: stopped by an interlock") and TRIP in facts["Status"]
    assert facts["Protocol"] == "cc-cycling" and facts["Bench"] == "sim-hydraulic"
    assert facts["Software"] == "stackpress 9.9.9" and facts["Started"] == "2025-01-02T03:04:05+00:00"
    assert facts["Duration"].startswith("5.00 h")
    assert facts["Capacity retention"].startswith("100.0 % (cycle 2 / reference cycle 1")

    header, *rows = page.tables["cycles"]
    assert header[:5] == ["Cycle", "Charge capacity / mAh", "Discharge capacity / mAh",
                          "Coulombic efficiency / %", "Retention / %"]
    assert len(header) == len(CYCLE_COLUMNS)
    assert [row[0] for row in rows] == ["1", "2", "3 (incomplete)"]
    assert rows[0][1:5] == ["1", "0.9", "90.00", "100.00"]
    assert rows[2][3] == "–"  # no coulombic efficiency without a discharge


def test_report_html_lists_the_events_that_matter(report):
    _, html, page = report
    header, *rows = page.tables["events"]
    assert header == ["Time / h:mm:ss", "Cycle", "Step", "Kind", "Message", "Details"]
    assert [row[3] for row in rows] == [e.kind for e in EVENTS if e.kind != "step"]
    trip = rows[-2]
    assert trip[:5] == ["5:00:00", "3", "9", "trip", TRIP]
    assert "pressure=1.012e+08" in trip[5]
    note = next(row for row in rows if row[3] == "note")
    assert note[4] == "cell 7: electrolyte <LPSCl> batch & lot 42"  # escaped in the page, intact when read
    assert "&lt;LPSCl&gt; batch &amp; lot" in html
    assert "Step changes are not listed (1)." in html


def test_a_run_whose_recorder_never_closed_is_reported_as_interrupted(tmp_path):
    path = tmp_path / "crashed.sqlite"
    recorder = Recorder(path, {"name": "crashed", "protocol_name": "cc-cycling"})
    try:
        for s in cycling_samples(cycles=1):
            recorder.sample(s)
        recorder.flush()  # on disk, but never closed: what a killed process leaves
        run = read_run(path)
        status = run_status(run)
        assert status.state == "interrupted"
        assert "not closed" in status.text and "up to 2.23 h" in status.text
        page = report_html(run, pd.DataFrame(columns=list(CYCLE_COLUMNS)), {})
        assert parse(page).errors == []
        assert '<strong class="status-interrupted">interrupted</strong>' in page
    finally:
        recorder.close()
    assert run_status(read_run(path)).state == "closed"  # closed, but no engine said how the run ended


def test_opening_a_run_in_pandas_is_the_one_documented_call(tmp_path):
    assert 'samples = read_run("runs/demo.sqlite").samples' in read_run.__doc__
    path = record_run(tmp_path / "run.sqlite", cycling_samples(cycles=1))
    samples = read_run(path).samples
    assert isinstance(samples, pd.DataFrame) and {"t", "voltage", "current", "charge", "pressure"} <= set(samples)


def test_a_flood_of_one_kind_of_event_does_not_bury_the_others():
    warnings = [Event(float(i), "warning", "reading discarded") for i in range(MAX_EVENTS_PER_KIND + 50)]
    events = pd.DataFrame([dataclasses.asdict(e) for e in [*warnings, Event(1e6, "trip", TRIP)]])
    shown = report_events(events)
    assert (shown["kind"] == "warning").sum() == MAX_EVENTS_PER_KIND
    assert shown["kind"].iloc[-1] == "trip"


def test_a_run_that_stopped_before_any_sample_still_gets_a_report(tmp_path):
    run = record_run(tmp_path / "empty.sqlite", [])
    paths = make_report(run, tmp_path / "report")
    assert [p.name for p in paths] == FILES
    assert all(p.stat().st_size > 0 for p in paths)
    summary = paths[3].read_text()
    assert "0 samples" in summary and "no pressure was held" in summary
    page = parse(paths[-1].read_text(encoding="utf-8"))
    assert page.errors == [] and len(page.images) == 4


def test_the_status_of_a_finished_run(tmp_path):
    samples = cycling_samples(cycles=1)
    samples[-1] = dataclasses.replace(samples[-1], state="finished")
    ended = Event(samples[-1].t, "run", "run ended: finished", {"state": "finished"})
    status = run_status(read_run(record_run(tmp_path / "run.sqlite", samples, [ended])))
    assert status.state == "finished" and status.text == "the protocol ran to its end."
