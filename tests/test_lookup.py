"""Looking up what the user named: the did-you-mean hint, and a file path or a bundled file's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackpress.bench import BenchError, bundled_benches, load_bench
from stackpress.cli import main
from stackpress.drivers.dialect import ConfigError, bundled_dialects, load_dialect
from stackpress.lookup import NotFound, bundled, did_you_mean, resolve
from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.load import bundled_protocols, load_protocol
from stackpress.sweep import SweepError, bundled_studies, load_study


@pytest.mark.parametrize(
    ("word", "options", "hint"),
    [
        ("Chrage", ["Charge", "Discharge", "Hold"], " (did you mean 'Charge'?)"),
        ("LOADCELL", ["cycler", "load_cell", "actuator"], " (did you mean 'load_cell'?)"),  # spelled as the option
        ("charge", ["Charge", "Discharge"], " (did you mean 'Charge'?)"),
        ("sim-hydraulc", ["sim-rigid", "sim-hydraulic", "sim-servo"], " (did you mean 'sim-hydraulic'?)"),
    ],
)
def test_did_you_mean_finds_the_closest_option_whatever_its_case(word, options, hint):
    assert did_you_mean(word, options) == hint


def test_did_you_mean_is_empty_when_nothing_is_close():
    assert did_you_mean("xyzzy", ["pressure", "voltage"]) == ""
    assert did_you_mean("pressure", []) == ""


def test_bundled_lists_the_toml_files_of_a_package_folder_sorted_by_name():
    benches = bundled("stackpress", "benches")
    assert list(benches) == sorted(benches)
    assert "sim-hydraulic" in benches
    assert all(path.is_file() and path.suffix == ".toml" and path.stem == name for name, path in benches.items())
    assert benches == bundled_benches()
    assert bundled_dialects() == bundled("stackpress.drivers", "dialects")
    assert bundled_protocols() == bundled("stackpress.protocols", "bundled")
    assert bundled_studies() == bundled("stackpress.sweep", "bundled")


def test_resolve_finds_a_bundled_name_and_prefers_an_existing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    benches = bundled_benches()
    found = resolve("sim-hydraulic", benches, "bench")
    assert found.bundled and found.path == benches["sim-hydraulic"]
    Path("sim-hydraulic").write_text('[limits]\nmax_pressure = "8 MPa"\n')
    found = resolve("sim-hydraulic", benches, "bench")
    assert not found.bundled and found.path == Path("sim-hydraulic")
    assert load_bench("sim-hydraulic").max_pressure == pytest.approx(8e6)  # the user's file, not the bundled one


def test_resolve_looks_beside_a_folder_before_here(tmp_path, monkeypatch):
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    (here / "p.toml").write_text("here")
    (there / "p.toml").write_text("there")
    monkeypatch.chdir(here)
    assert resolve("p.toml", {}, "protocol", beside=there).path.read_text() == "there"
    assert resolve("p.toml", {}, "protocol", beside=tmp_path).path.read_text() == "here"
    with pytest.raises(NotFound, match=rf"^no protocol file 'q.toml' here or in {tmp_path} and no bundled protocol"):
        resolve("q.toml", {}, "protocol", beside=tmp_path)


def _problem(load, error: type[Exception], word: str) -> str:
    """The one problem `load(word)` is refused with, as its own error type (the list ones hold a list)."""
    with pytest.raises(error) as refused:
        load(word)
    problems = getattr(refused.value, "problems", [str(refused.value)])
    assert len(problems) == 1
    return problems[0]


@pytest.mark.parametrize(
    ("load", "error", "word", "what", "names", "close"),
    [
        (load_bench, BenchError, "sim-hydraulc", "bench", bundled_benches, "sim-hydraulic"),
        (load_protocol, ProtocolError, "Dmeo", "protocol", bundled_protocols, "demo"),
        (load_dialect, ConfigError, "keithley-2540", "dialect", bundled_dialects, "keithley-2450"),
        (load_study, SweepError, "pressure-windw", "sweep", bundled_studies, "pressure-window"),
    ],
    ids=["bench", "protocol", "dialect", "sweep"],
)
def test_a_misspelt_bundled_name_is_named_with_a_hint_and_the_bundled_ones(load, error, word, what, names, close):
    assert _problem(load, error, word) == (
        f"no {what} file '{word}' and no bundled {what} of that name (did you mean '{close}'?) "
        f"(bundled: {', '.join(names())})"
    )


def test_a_name_like_nothing_bundled_gets_no_hint():
    problem = _problem(load_bench, BenchError, "my-rig.toml")
    assert problem.startswith("no bench file 'my-rig.toml' and no bundled bench of that name (bundled: sim-")
    assert "did you mean" not in problem


def test_run_with_a_misspelt_bench_says_which_was_meant(tmp_path, capsys):
    assert main(["run", "demo", "--bench", "sim-hydraulc", "--out", str(tmp_path / "r.sqlite")]) == 2
    assert "did you mean 'sim-hydraulic'?" in capsys.readouterr().err
    assert not (tmp_path / "r.sqlite").exists()
