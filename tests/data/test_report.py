import pandas as pd

from stackpress.data import CYCLE_COLUMNS, make_report
from tests.data.fakes import cycling_samples, record_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_report_writes_figures_cycle_table_and_summary(tmp_path):
    run = record_run(tmp_path / "run.sqlite", cycling_samples(cycles=3), bench_name="sim-hydraulic")
    paths = make_report(run, tmp_path / "report")

    assert [p.name for p in paths] == ["timeseries.png", "swelling.png", "cycles.csv", "summary.txt"]
    for png in paths[:2]:
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000, png

    cycles = pd.read_csv(paths[2])
    assert tuple(cycles.columns) == CYCLE_COLUMNS
    assert cycles["cycle"].tolist() == [1, 2, 3]
    # 1 mA for 1 h in, 1 mA for 0.9 h out, every cycle.
    assert cycles["charge_capacity_Ah"].round(6).tolist() == [1e-3] * 3
    assert cycles["coulombic_efficiency"].round(6).tolist() == [0.9] * 3

    summary = paths[3].read_text()
    for expected in (
        "run:       synthetic",
        "protocol:  cc-cycling",
        "bench:     sim-hydraulic",
        "cycles:    3",
        "first discharge capacity: 0.9 mAh (cycle 1)",
        "capacity retention:       100.0 %",
        "MPa (time-weighted mean ± RMS deviation from setpoint)",
    ):
        assert expected in summary, summary


def test_a_run_that_stopped_before_any_sample_still_gets_a_report(tmp_path):
    run = record_run(tmp_path / "empty.sqlite", [])
    paths = make_report(run, tmp_path / "report")
    assert all(p.stat().st_size > 0 for p in paths)
    summary = paths[3].read_text()
    assert "0 samples" in summary and "no pressure was held" in summary
