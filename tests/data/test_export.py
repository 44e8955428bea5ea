import json
import math
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest

from stackpress.data import Recorder, RecordingPolicy, export_run
from tests.data.fakes import make_sample

EXPECTED_COLUMNS = [
    "Test Time / s",
    "Voltage / V",
    "Current / A",
    "Net Capacity / Ah",
    "Cycle Count / 1",
    "Step Count / 1",
    "Applied Pressure / Pa",
    "Surface Pressure / Pa",
    "Ambient Temperature / degC",
    "Force / N",
    "Gap / m",
    "Electrode Thickness / m",
]
OURS = {"Force / N": "N", "Gap / m": "m", "Electrode Thickness / m": "m"}


@pytest.fixture
def run_path(tmp_path):
    path = tmp_path / "run.sqlite"
    samples = [
        make_sample(t=0.0, current=0.0, charge=0.0, setpoint=math.nan, step=1),
        make_sample(t=60.0, voltage=3.9, current=2e-3, charge=7.2, force=1130.0, pressure=10e6, step=2),
        make_sample(t=120.0, voltage=3.6, current=-2e-3, charge=3.6, gap=1.21e-3, thickness=51e-6, step=3),
    ]
    with Recorder(path, {"name": "export-me"}, policy=RecordingPolicy(interval=0.0)) as recorder:
        for s in samples:
            recorder.sample(s)
    return path


def check_values(table):
    assert table["Test Time / s"].tolist() == [0.0, 60.0, 120.0]
    assert table["Current / A"].tolist() == [0.0, 2e-3, -2e-3]  # charging positive, as recorded
    assert table["Net Capacity / Ah"].tolist() == pytest.approx([0.0, 2e-3, 1e-3])  # C / 3600
    assert table["Step Count / 1"].tolist() == [1, 2, 3]
    assert math.isnan(table["Applied Pressure / Pa"].iloc[0])  # no pressure held yet
    assert table["Applied Pressure / Pa"].iloc[1] == 10e6
    assert table["Force / N"].iloc[1] == 1130.0
    assert table["Electrode Thickness / m"].iloc[2] == 51e-6


def test_csv_is_a_plain_table_with_bdf_headers(run_path, tmp_path):
    out = export_run(run_path, tmp_path / "run.csv")
    assert out == tmp_path / "run.csv"
    assert out.read_text().splitlines()[0] == ",".join(EXPECTED_COLUMNS)
    table = pd.read_csv(out)
    assert list(table.columns) == EXPECTED_COLUMNS
    check_values(table)


def test_parquet_has_bdf_columns_and_declares_ours(run_path, tmp_path):
    out = export_run(run_path, tmp_path / "run.parquet")
    table = pq.read_table(out)
    assert table.column_names == EXPECTED_COLUMNS
    assert str(table.schema.field("Cycle Count / 1").type) == "int64"
    check_values(table.to_pandas())

    declared = json.loads(table.schema.metadata[b"stackpress:declared_columns"])
    assert {d["name"]: d["unit"] for d in declared} == OURS
    assert all(d["description"] for d in declared)
    assert json.loads(table.schema.metadata[b"stackpress:run_meta"])["name"] == "export-me"


@pytest.mark.parametrize("name", ["run.xlsx", "run", "run.csv.gz"])
def test_an_unknown_extension_is_refused_before_anything_is_written(run_path, tmp_path, name):
    with pytest.raises(ValueError, match=re.escape("use .csv or .parquet")):
        export_run(run_path, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_csv_and_parquet_hold_the_same_numbers_to_the_last_bit(run_path, tmp_path):
    csv = pd.read_csv(export_run(run_path, tmp_path / "run.csv"))
    parquet = pq.read_table(export_run(run_path, tmp_path / "run.parquet")).to_pandas()
    # Dtypes may differ: a float column whose values are all whole (0 s, 60 s, 120 s) reads back as integers.
    pd.testing.assert_frame_equal(csv, parquet, check_exact=True, check_dtype=False)
