"""Sweeps: the grid and its overrides, checking every cell first, and cells on a real Dask cluster."""

from __future__ import annotations

import io
import math
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from stackpress.cli import main
from stackpress.data import read_run
from stackpress.protocols.load import bundled_protocols
from stackpress.sweep import SweepError, bundled_studies, load_study
from stackpress.sweep.run import run_sweep

TEMPLATE = """
name = "window"
[limits]
voltage = ["2.5 V", "4.3 V"]
pressure_window = ["0.5 MPa", "100 MPa"]
[[block]]
steps = ["Hold pressure at {pressure}", "Rest for 10 minutes"]
[[block]]
repeat = {cycles}
steps = ["Charge at {rate} until 4.2 V", "Hold at 4.2 V until C/20", "Rest for 10 minutes",
         "Discharge at {rate} until 2.5 V", "Rest for 10 minutes"]
"""

COARSE = """
"engine.period" = "30 s"
"engine.sim_step" = "30 s"
"regulator.ki" = 0.02
"""


def write_sweep(folder: Path, body: str, template: str = TEMPLATE) -> Path:
    (folder / "window.toml").write_text(template)
    path = folder / "sweep.toml"
    path.write_text(f'name = "test"\nprotocol = "window.toml"\nbench = "sim-hydraulic"\n{body}')
    return path


def test_the_grid_expands_in_file_order_with_fixed_and_grouped_settings(tmp_path):
    study = load_study(write_sweep(tmp_path, """
seed = 7
[fixed]
cycles = 2
rate = "C/3"
"engine.period" = "10 s"
[grid]
pressure = ["2 MPa", "20 MPa"]
[[grid.design]]
label = "c-Si 100 nm"
"cell.si_structure" = "crystalline"
"cell.si_particle_size" = "100 nm"
[[grid.design]]
"cell.si_structure" = "amorphous"
"cell.si_particle_size" = "1 um"
"""))
    cells = study.cells()
    assert [(c.index, dict(c.labels)) for c in cells] == [
        (1, {"pressure": "2 MPa", "design": "c-Si 100 nm"}),
        (2, {"pressure": "2 MPa", "design": "cell.si_structure=amorphous, cell.si_particle_size=1 um"}),
        (3, {"pressure": "20 MPa", "design": "c-Si 100 nm"}),
        (4, {"pressure": "20 MPa", "design": "cell.si_structure=amorphous, cell.si_particle_size=1 um"}),
    ]
    assert dict(cells[2].settings) == {
        "cycles": 2,
        "rate": "C/3",
        "engine.period": "10 s",
        "pressure": "20 MPa",
        "cell.si_structure": "crystalline",
        "cell.si_particle_size": "100 nm",
    }
    assert {c.seed for c in cells} == {7}
    assert cells[2].describe() == "cell 3 (pressure=20 MPa, design=c-Si 100 nm)"

    # Placeholders are filled as written; table.key replaces one key of the base bench and nothing else.
    text = study.protocol_text(cells[2])
    assert '"Hold pressure at 20 MPa"' in text and "repeat = 2" in text and '"Charge at C/3 until 4.2 V"' in text
    base = study.bench.tables
    tables = study.bench_tables(cells[2])
    assert tables["cell"] == {**base["cell"], "si_structure": "crystalline", "si_particle_size": "100 nm"}
    assert tables["engine"] == {"period": "10 s"}
    assert {k: v for k, v in tables.items() if k not in ("cell", "engine")} == {
        k: v for k, v in base.items() if k not in ("cell", "engine")
    }
    assert base["cell"]["si_particle_size"] == "1 um"  # the base bench is not touched

    job = study.jobs(tmp_path / "out")[2]
    assert job.run_path == str(tmp_path / "out" / "cells" / "cell-003.sqlite")
    assert tomllib.loads(job.bench_text) == tables  # what the cell's run file will hold as its bench


def test_a_seed_axis_gives_replicates(tmp_path):
    study = load_study(write_sweep(tmp_path, """
[fixed]
cycles = 1
rate = "C/3"
pressure = "10 MPa"
[grid]
seed = [1, 2, 3]
"""))
    cells = study.cells()
    assert [(c.seed, dict(c.labels)) for c in cells] == [(1, {"seed": "1"}), (2, {"seed": "2"}), (3, {"seed": "3"})]


def test_every_bad_combination_is_refused_by_name_before_anything_runs(tmp_path):
    # 150 MPa is outside the protocol's pressure window, "crystaline" is a typo: only the cells with them are wrong.
    path = write_sweep(tmp_path, """
[fixed]
cycles = 1
rate = "C/3"
[grid]
pressure = ["10 MPa", "150 MPa"]
"cell.si_structure" = ["amorphous", "crystaline"]
""")
    out = tmp_path / "out"
    with pytest.raises(SweepError) as refused:
        run_sweep(load_study(path), out, workers=1)
    problems = refused.value.problems
    assert any(p.startswith("cell 2 (pressure=10 MPa, cell.si_structure=crystaline): ") and "si_structure" in p
               for p in problems)
    assert any(p.startswith("cell 3 (pressure=150 MPa, cell.si_structure=amorphous): window.toml")
               and "150 MPa is outside the pressure window 0.5 MPa to 100 MPa" in p for p in problems)
    assert not any(p.startswith("cell 1 ") for p in problems)
    assert not out.exists()  # nothing ran, nothing was written


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[fixed]\ncycles = 1\nrate = "C/3"\n[grid]\npresure = ["10 MPa"]',
         "'presure' is not a placeholder of the protocol window.toml (did you mean 'pressure'?)"),
        ('[fixed]\ncycles = 1\npressure = "10 MPa"\n[grid]\n"cell.si_porosity" = [0.0]',
         "the protocol window.toml uses {rate}, but neither [fixed] nor [grid] sets it"),
        ('[fixed]\ncycles = 1\nrate = "C/3"\n[grid]\npressure = ["10 MPa"]\n"cel.si_porosity" = [0.1]',
         "[cel] is not a bench table (did you mean 'cell'?)"),
        ('[fixed]\ncycles = 1\nrate = "C/3"\npressure = "1 MPa"\n[grid]\npressure = ["10 MPa"]',
         "'pressure' is set in [fixed] and varied in [grid]"),
    ],
    ids=["typo", "missing", "table", "twice"],
)
def test_sweep_file_mistakes_are_refused(tmp_path, body, message):
    with pytest.raises(SweepError, match=re.escape(message)):
        load_study(write_sweep(tmp_path, body))


def test_a_template_cannot_reach_into_python_objects(tmp_path):
    template = TEMPLATE.replace("{rate}", "{rate.__class__}")
    with pytest.raises(SweepError, match=r"placeholder \{rate.__class__\} is not allowed"):
        load_study(write_sweep(tmp_path, '[fixed]\ncycles = 1\nrate = "C/3"\n[grid]\npressure = ["10 MPa"]', template))


def test_the_bundled_pressure_window_sweep_is_40_checked_cells_outside_the_bundled_protocols(tmp_path):
    assert "pressure-window" in bundled_studies()
    study = load_study("pressure-window")
    jobs = study.jobs(tmp_path / "out")  # every cell passes the checks stackpress run makes
    assert len(jobs) == 40
    assert [axis.name for axis in study.axes] == ["pressure", "design"]
    assert [p.label for p in study.axes[0].points][0::7] == ["1 MPa", "150 MPa"]
    assert "pressure-window-cycling" not in bundled_protocols()  # a template is not a runnable protocol
    highest = tomllib.loads(jobs[-1].bench_text)
    assert highest["limits"]["max_pressure"] == "200 MPa" and highest["fixture"]["rating"] == "250 MPa"


def test_the_bundled_pressure_history_sweep_forms_each_cell_at_its_pressure_and_cycles_all_at_10_mpa(tmp_path):
    study = load_study("pressure-history")
    jobs = study.jobs(tmp_path / "out")
    assert len(jobs) == 10
    assert [axis.name for axis in study.axes] == ["formation_pressure", "design"]
    assert "Hold pressure at 150 MPa" in jobs[-1].protocol_text and "Ramp pressure to 10 MPa" in jobs[-1].protocol_text
    assert "pressure-history-cycling" not in bundled_protocols()


def test_a_small_sweep_on_a_local_cluster_writes_the_table_the_maps_and_survives_a_failed_cell(tmp_path):
    path = write_sweep(tmp_path, f"""
[fixed]
cycles = 2
rate = "C/2"
{COARSE}
[grid]
pressure = ["2 MPa", "20 MPa"]
"cell.si_structure" = ["amorphous", "crystalline"]
[maps]
at_cycle = 2
""")
    out = tmp_path / "out"
    # Cell 2's run file cannot be created (a folder is in the way): it fails at run time, on its worker.
    (out / "cells" / "cell-002.sqlite").mkdir(parents=True)
    progress = io.StringIO()
    result = run_sweep(load_study(path), out, workers=2, overwrite=True, progress=progress)

    cells = result.cells.set_index("cell")
    assert cells["status"].to_dict() == {1: "finished", 2: "failed", 3: "finished", 4: "finished"}
    assert "cell 2 (pressure=2 MPa, cell.si_structure=crystalline) failed: " in progress.getvalue()
    assert "4/4 cells, 1 failed" in progress.getvalue()
    assert cells.loc[2, "error"]

    table = pd.read_parquet(out / "cycles.parquet")
    assert list(table.columns[:7]) == ["cell", "status", "error", "run", "pressure", "pressure / Pa",
                                       "cell.si_structure"]
    finished = table[table["status"] == "finished"]
    assert finished.groupby("cell")["cycle"].apply(list).to_dict() == {1: [1, 2], 3: [1, 2], 4: [1, 2]}
    assert (finished["discharge_capacity_Ah"] > 0).all()
    assert finished.loc[finished["cycle"] == 1, "retention"].tolist() == [1.0, 1.0, 1.0]
    assert table.loc[table["cell"] == 3, "pressure / Pa"].iloc[0] == 20e6
    assert table.loc[table["cell"] == 2, "cycle"].isna().all()  # the failed cell: one row, no cycle
    assert len(pd.read_csv(out / "cycles.csv")) == len(table)

    # Each cell is a run file of its own, with the protocol and bench it ran.
    run = read_run(out / table.loc[table["cell"] == 3, "run"].iloc[0])
    assert "Hold pressure at 20 MPa" in run.meta["protocol"]
    assert 'si_structure = "amorphous"' in run.meta["bench"] and 'period = "30 s"' in run.meta["bench"]
    for name in ("retention-map.png", "retention-vs-pressure.png"):
        assert (out / "maps" / name).stat().st_size > 10_000


def test_cli_sweep_check_lists_the_cells_and_runs_nothing(tmp_path, capsys):
    path = write_sweep(tmp_path, f'[fixed]\ncycles = 1\nrate = "C/3"\n{COARSE}\n[grid]\npressure = ["5 MPa", "10 MPa"]')
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--check"]) == 0
    out = capsys.readouterr().out
    assert "cell 1 (pressure=5 MPa)\ncell 2 (pressure=10 MPa)\n" in out
    assert "2 cells, all checked; nothing was run" in out
    assert not (tmp_path / "out").exists()

    bad = write_sweep(tmp_path, '[fixed]\ncycles = 1\nrate = "C/3"\n[grid]\npressure = ["150 MPa"]')
    assert main(["sweep", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "cell 1 (pressure=150 MPa): window.toml" in capsys.readouterr().err


def test_cells_can_record_in_place_on_threads_of_this_process(tmp_path):
    path = write_sweep(tmp_path, f'[fixed]\ncycles = 1\nrate = "C/2"\n{COARSE}\n[grid]\npressure = ["10 MPa"]')
    result = run_sweep(load_study(path), tmp_path / "out", workers=1, processes=False, scratch=None)
    assert result.cells["status"].tolist() == ["finished"]
    assert read_run(tmp_path / "out" / "cells" / "cell-001.sqlite").meta["closed"] == "true"
    assert (tmp_path / "out" / "protocol-template.toml").read_text() == TEMPLATE


def test_a_release_below_the_window_is_refused_before_anything_runs_as_stackpress_run_refuses_it(tmp_path):
    # Session refuses it too, but only on the cell's worker: the sweep's own check must catch it first.
    template = TEMPLATE.replace('"0.5 MPa"', '"2 MPa"').replace('"Rest for 10 minutes"]', '"Release pressure"]', 1)
    path = write_sweep(tmp_path, f"""
[fixed]
cycles = 1
rate = "C/3"
pressure = "10 MPa"
{COARSE}
[grid]
"limits.safe_preload" = ["1 MPa", "5 MPa"]
""", template)
    with pytest.raises(SweepError) as refused:
        load_study(path).jobs(tmp_path / "out")
    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith("cell 1 (limits.safe_preload=1 MPa): ")
    assert "releases to the bench's safe preload of 1 MPa, outside the pressure window 2 MPa to 100 MPa" in (
        refused.value.problems[0]
    )


def test_retention_is_against_the_reference_cycle_and_leaves_out_a_cut_short_last_cycle(tmp_path):
    from stackpress.sweep.cells import CellResult
    from stackpress.sweep.maps import cell_summary
    from stackpress.sweep.run import sweep_table

    path = write_sweep(tmp_path, f"""
[fixed]
cycles = 3
rate = "C/3"
{COARSE}
[grid]
pressure = ["5 MPa", "10 MPa"]
[maps]
at_cycle = 3
reference_cycle = 2
""")
    study = load_study(path)
    jobs = study.jobs(tmp_path / "out")
    capacities = {1: [2.0, 1.6, 1.2], 2: [2.0, 1.0, 0.9]}  # Ah per cycle; cell 2 tripped in its cycle 3
    results = {
        job.index: CellResult(job.index, "finished" if job.index == 1 else "tripped", "",
                              pd.DataFrame({"cycle": [1, 2, 3], "discharge_capacity_Ah": capacities[job.index]}),
                              0.0, job.run_path)
        for job in jobs
    }
    table = sweep_table(study, jobs, results, tmp_path / "out")
    assert table["retention"].tolist() == pytest.approx([1.25, 1.0, 0.75, 2.0, 1.0, 0.9])
    cells = cell_summary(table, study).set_index("cell")
    assert cells["first_discharge_mAh"].tolist() == pytest.approx([1600.0, 1000.0])
    assert cells["retention_last"].tolist() == pytest.approx([0.75, 1.0])  # cell 2: its cycle 3 is left out
    assert cells.loc[1, "retention_at_3"] == pytest.approx(0.75)
    assert math.isnan(cells.loc[2, "retention_at_3"])


def test_a_sweep_over_a_bench_with_real_instruments_is_refused(tmp_path):
    (tmp_path / "rig.toml").write_text(
        '[instruments.cycler]\ndriver = "scpi"\nresource = "TCPIP0::127.0.0.1::5025::SOCKET"\n'
        'dialect = "keithley-2450"\n'
    )
    path = write_sweep(tmp_path, '[fixed]\ncycles = 1\nrate = "C/3"\n[grid]\npressure = ["10 MPa"]\n')
    path.write_text(path.read_text().replace('bench = "sim-hydraulic"', 'bench = "rig.toml"'))
    with pytest.raises(SweepError) as refused:
        load_study(path)
    assert refused.value.problems == [
        f"sweep.toml: bench {tmp_path / 'rig.toml'} has an [instruments] table: a sweep runs only simulated "
        "benches (checking its cells would connect the real instruments); name a bench without [instruments]"
    ]


def test_a_misspelt_protocol_of_a_sweep_gets_a_hint(tmp_path):
    path = write_sweep(tmp_path, '[grid]\nseed = [1, 2]\n')
    path.write_text(path.read_text().replace('protocol = "window.toml"', 'protocol = "dmeo"'))
    with pytest.raises(SweepError, match=re.escape(
        f"sweep.toml: protocol: no protocol file 'dmeo' here or in {tmp_path} and no bundled protocol of that name "
        "(did you mean 'demo'?) (bundled: ")):
        load_study(path)
