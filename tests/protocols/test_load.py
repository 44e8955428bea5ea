"""Protocol files: what they load into, and how every malformed file is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from stackpress.protocols.errors import ProtocolError
from stackpress.protocols.load import bundled_protocols, check_against_bench, load_protocol, parse_protocol_text
from stackpress.protocols.steps import (
    Charge,
    Current,
    CurrentStep,
    End,
    Limits,
    PressureStep,
    Recording,
    StopCondition,
    VoltageStep,
)

EXAMPLE = """\
name = "demo"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa", "Rest for 10 minutes"]
[[block]]
repeat = 5
steps = ["Charge at C/3 until 4.2 V", "Hold at 4.2 V until C/20", "Rest for 10 minutes",
         "Discharge at C/3 until 2.5 V", "Rest for 10 minutes"]
"""
LIMITS = '[limits]\nvoltage = ["2.5 V", "4.3 V"]\n'
CAPACITY = 5 * 3.6  # 5 mAh in C
AREA = 0.785e-4  # 0.785 cm2 in m2


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(text: str, source: str = "/lab/p.toml") -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol_text(text, source)
    return caught.value.problems


def one_block(*steps: str, extra: str = "") -> str:
    quoted = ", ".join(f'"{step}"' for step in steps)
    return f"{LIMITS}[[block]]\n{extra}steps = [{quoted}]\n"


def test_a_file_loads_into_steps_blocks_and_limits(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    protocol = load_protocol(path)
    assert (protocol.name, protocol.source, protocol.text) == ("demo", str(path), EXAMPLE)
    assert protocol.limits == Limits(2.5, 4.3, 5e6, 50e6)
    assert [block.repeat for block in protocol.blocks] == [1, 5]
    assert protocol.blocks[0].steps[0] == PressureStep(
        text="Hold pressure at 10 MPa", where="p.toml, block 1, step 1", line=5, setpoint=1e7
    )
    assert protocol.blocks[1].steps[1] == VoltageStep(
        text="Hold at 4.2 V until C/20",
        where="p.toml, block 2, step 2",
        line=8,
        voltage=4.2,
        ends=(End("current_below", Current(0.05, "C")),),
    )
    assert len(list(protocol.sequence())) == 2 + 5 * 5


def test_a_path_given_as_text_loads_too(tmp_path: Path) -> None:
    assert load_protocol(str(write(tmp_path, EXAMPLE))).name == "demo"


def test_name_defaults_to_the_file_stem_and_block_names_appear_in_where() -> None:
    text = one_block("Rest for 1 h", extra='name = "settle"\n')
    protocol = parse_protocol_text(text, "/lab/long-rest.toml")
    assert protocol.name == "long-rest"
    assert protocol.blocks[0].steps[0].where == "long-rest.toml, block 1 (settle), step 1"


def test_an_explicit_pressure_window_replaces_the_default() -> None:
    text = one_block("Hold pressure at 60 MPa").replace(
        LIMITS, LIMITS + 'pressure_window = ["1 MPa", "80 MPa"]\n'
    )
    protocol = parse_protocol_text(text, "wide.toml")
    assert protocol.limits == Limits(2.5, 4.3, 1e6, 80e6)
    assert protocol.blocks[0].steps[0].setpoint == 60e6


def test_the_message_names_file_block_and_step() -> None:
    text = EXAMPLE.replace('"Charge at C/3 until 4.2 V"', '"Charge at C/3 untill 4.2 V"')
    assert problems_of(text, "/lab/demo.toml") == [
        'demo.toml, block 2, step 1 ("Charge at C/3 untill 4.2 V") at line 8: cannot read this step; '
        'expected e.g. "Charge at C/3 until 4.2 V"'
    ]


def test_toml_syntax_errors_name_the_file_and_line() -> None:
    [problem] = problems_of('name = "x"\n[limits\nvoltage = ["2.5 V", "4.3 V"]\n')
    assert problem.startswith("p.toml: not valid TOML: ")
    assert "line 2" in problem


def test_a_missing_file_or_unknown_name_lists_the_bundled_protocols(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ProtocolError) as caught:
        load_protocol(missing)
    bundled = ", ".join(sorted(bundled_protocols()))
    assert caught.value.problems == [
        f"no protocol file '{missing}' and no bundled protocol of that name (bundled: {bundled})"
    ]
    with pytest.raises(ProtocolError, match=r"^no protocol file 'dmeo'.*bundled: constant-pressure-cycling, demo,"):
        load_protocol("dmeo")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ProtocolError, match=r"^latin\.toml: cannot read the file"):
        load_protocol(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("stpes = 1\n" + one_block("Rest for 1 h"),
         "p.toml: unknown key 'stpes'; expected name, limits, record, block"),
        (one_block("Rest for 1 h").replace(LIMITS, LIMITS + "volts = 3\n"),
         "p.toml, limits: unknown key 'volts' (did you mean 'voltage'?); expected voltage, pressure_window, "
         "on_fault, resume, max_pause, on_abort"),
        (one_block("Rest for 1 h").replace(LIMITS, LIMITS + 'on_falt = "pause"\n'),
         "p.toml, limits: unknown key 'on_falt' (did you mean 'on_fault'?); expected voltage, pressure_window, "
         "on_fault, resume, max_pause, on_abort"),
        (one_block("Rest for 1 h", extra="repaet = 5\n"),
         "p.toml, block 1: unknown key 'repaet' (did you mean 'repeat'?); expected name, repeat, until, record, "
         "steps, block"),
        (one_block("Rest for 1 h", extra="stpes = []\n"),
         "p.toml, block 1: unknown key 'stpes' (did you mean 'steps'?); expected name, repeat, until, record, "
         "steps, block"),
    ],
)
def test_unknown_keys_are_refused_with_a_suggestion(text: str, problem: str) -> None:
    assert problems_of(text) == [problem]


@pytest.mark.parametrize(
    ("extra", "shown"),
    [('repeat = "5"\n', "'5'"), ("repeat = 0\n", "0"), ("repeat = -2\n", "-2"),
     ("repeat = 2.5\n", "2.5"), ("repeat = true\n", "True")],
)
def test_repeat_must_be_a_whole_number_of_at_least_one(extra: str, shown: str) -> None:
    assert problems_of(one_block("Rest for 1 h", extra=extra)) == [
        f"p.toml, block 1: repeat must be a whole number of 1 or more, like repeat = 5, not {shown}"
    ]


@pytest.mark.parametrize(
    "steps",
    ['steps = "Rest for 1 h"', "steps = []", "steps = {a = 1}", 'repeat = 2'],
)
def test_a_block_needs_a_non_empty_list_of_steps(steps: str) -> None:
    assert problems_of(f"{LIMITS}[[block]]\n{steps}\n") == [
        'p.toml, block 1: steps must be a non-empty list, like steps = ["Rest for 10 minutes"]'
    ]


def test_a_step_that_is_not_text_is_refused() -> None:
    text = f'{LIMITS}[[block]]\nsteps = ["Rest for 1 h", 5, ["Rest for 2 h"]]\n'
    assert problems_of(text) == [
        'p.toml, block 1, step 2: a step must be text in quotes, like "Rest for 10 minutes", not 5',
        "p.toml, block 1, step 3: a step must be text in quotes, like \"Rest for 10 minutes\", "
        "not ['Rest for 2 h']",
    ]


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ("", 'p.toml: needs one or more [[block]] tables, each with steps = ["..."]'),
        ("block = []\n", 'p.toml: needs one or more [[block]] tables, each with steps = ["..."]'),
        ("block = [1, 2]\n", 'p.toml: needs one or more [[block]] tables, each with steps = ["..."]'),
        ('[block]\nsteps = ["Rest for 1 h"]\n', "p.toml: write each block as [[block]] (two brackets), not [block]"),
    ],
)
def test_a_protocol_needs_blocks(blocks: str, problem: str) -> None:
    assert problems_of(blocks + LIMITS) == [problem]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('name = 3\n' + one_block("Rest for 1 h"), 'p.toml: name must be non-empty text, like name = "demo", not 3'),
        ('name = ""\n' + one_block("Rest for 1 h"), "p.toml: name must be non-empty text"),
        (one_block("Rest for 1 h", extra="name = 7\n"),
         'p.toml, block 1: name must be non-empty text, like name = "cycling", not 7'),
    ],
)
def test_names_must_be_text(text: str, problem: str) -> None:
    [found] = problems_of(text)
    assert found.startswith(problem)


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        ("", 'p.toml: needs a [limits] table with voltage = ["2.5 V", "4.3 V"]'),
        ('limits = "2.5 V"\n', 'p.toml: needs a [limits] table with voltage = ["2.5 V", "4.3 V"]'),
        ("[limits]\n", 'p.toml, limits: voltage must be a pair [min, max], e.g. voltage = ["2.5 V", "4.3 V"]'),
        ('[limits]\nvoltage = "4.3 V"\n', "p.toml, limits: voltage must be a pair [min, max]"),
        ('[limits]\nvoltage = ["2.5 V", "3 V", "4.3 V"]\n', "p.toml, limits: voltage must be a pair [min, max]"),
        ('[limits]\nvoltage = ["4.3 V", "2.5 V"]\n',
         "p.toml, limits: voltage: the minimum 4.3 V must be below the maximum 2.5 V"),
        ('[limits]\nvoltage = ["4.2 V", "4.2 V"]\n', "p.toml, limits: voltage: the minimum 4.2 V must be below"),
        ('[limits]\nvoltage = ["2.5 V", "4.3 MPa"]\n', "p.toml, limits: voltage: '4.3 MPa' is not a voltage"),
        ('[limits]\nvoltage = ["2.5 V", 4.3]\n', "p.toml, limits: voltage: 4.3 needs a unit"),
        ('[limits]\nvoltage = ["2.5 V", "4.3 v"]\n',
         "p.toml, limits: voltage: unknown unit 'v' in '4.3 v' (units are case-sensitive: did you mean 'V'?)"),
        ('[limits]\nvoltage = ["2.5 V", "4.3 V"]\npressure_window = ["50 MPa", "5 MPa"]\n',
         "p.toml, limits: pressure_window: the minimum 50 MPa must be below the maximum 5 MPa"),
        ('[limits]\nvoltage = ["2.5 V", "4.3 V"]\npressure_window = ["5 MPa", "60 Mpa"]\n',
         "p.toml, limits: pressure_window: unknown unit 'Mpa' in '60 Mpa' (units are case-sensitive"),
        ('[limits]\nvoltage = ["2.5 V", "4.3 V"]\npressure_window = "50 MPa"\n',
         'p.toml, limits: pressure_window must be a pair [min, max], e.g. pressure_window = ["5 MPa", "50 MPa"]'),
    ],
)
def test_malformed_limits_are_refused(limits: str, problem: str) -> None:
    [found] = problems_of(limits + '[[block]]\nsteps = ["Rest for 1 h"]\n')
    assert found.startswith(problem)


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ("Hold at 4.4 V for 1 h", "4.4 V is outside the voltage limits 2.5 V to 4.3 V"),
        ("Charge at 1 mA until 4.5 V", "4.5 V is outside the voltage limits 2.5 V to 4.3 V"),
        ("Discharge at 1 mA until 2 V", "2 V is outside the voltage limits 2.5 V to 4.3 V"),
        ("Hold pressure at 60 MPa", "60 MPa is outside the pressure window 5 MPa to 50 MPa"),
        # "mPa" is a millipascal: a valid unit, refused by the window rather than read as MPa
        ("Hold pressure at 10 mPa", "1e-08 MPa is outside the pressure window 5 MPa to 50 MPa"),
    ],
)
def test_steps_outside_the_files_own_limits_are_refused_at_load(step: str, problem: str) -> None:
    [found] = problems_of(one_block(step))
    assert found.startswith(f'p.toml, block 1, step 1 ("{step}") at line 4: {problem}')


def test_every_problem_in_a_file_is_reported_together_in_file_order() -> None:
    text = """\
name = "bad"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
name = "settle"
steps = ["Hold pressure at 10 Mpa", "Rest for 10 minutes"]
[[block]]
name = "cycling"
repaet = 5
steps = ["Charge at C/3 untill 4.2 V", "Hold at 4.5 V until C/20", "Rest", 3]
"""
    problems = problems_of(text, "/lab/bad.toml")
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        'bad.toml, block 1 (settle), step 1 ("Hold pressure at 10 Mpa") at line 6',
        "bad.toml, block 2 (cycling)",
        'bad.toml, block 2 (cycling), step 1 ("Charge at C/3 untill 4.2 V") at line 10',
        'bad.toml, block 2 (cycling), step 3 ("Rest") at line 10',
        "bad.toml, block 2 (cycling), step 4",
        'bad.toml, block 2 (cycling), step 2 ("Hold at 4.5 V until C/20") at line 10',
    ]
    assert "did you mean 'MPa'" in problems[0]
    assert "unknown key 'repaet'" in problems[1]
    assert "outside the voltage limits" in problems[5]


def test_bundled_protocols_ship_as_package_data() -> None:
    bundled = bundled_protocols()
    assert {"constant-pressure-cycling", "demo"} <= set(bundled)  # the whole set: tests/protocols/test_bundled.py
    for name, path in bundled.items():
        assert path.name == f"{name}.toml"
        assert path.read_text(encoding="utf-8").startswith("# "), f"{name} must say what it is for"


@pytest.mark.parametrize("name", ["demo", "constant-pressure-cycling"])
def test_bundled_protocols_load_and_pass_the_bench_check(name: str) -> None:
    protocol = load_protocol(name)
    assert (protocol.name, protocol.source) == (name, f"bundled:{name}")
    assert protocol.limits == Limits(2.5, 4.3)
    first = protocol.blocks[0].steps[0]
    assert isinstance(first, PressureStep)
    assert (first.setpoint, first.where.split(",")[0]) == (1e7, f"bundled:{name}")
    check_against_bench(protocol, capacity=CAPACITY, area=AREA, max_pressure=50e6, max_current=1.0)


def test_demo_is_formation_then_the_five_example_cycles() -> None:
    demo = load_protocol("demo")
    example = parse_protocol_text(EXAMPLE, "example.toml")
    formation, cycling = demo.blocks[1], demo.blocks[2]
    assert formation.repeat == 1
    assert [step.current for step in formation.steps if isinstance(step, CurrentStep)] == [
        Current(0.1, "C"), Current(0.1, "C")
    ]
    assert cycling.repeat == 5
    assert [step.text for step in cycling.steps] == [step.text for step in example.blocks[1].steps]


def test_constant_pressure_cycling_is_the_example() -> None:
    bundled = load_protocol("constant-pressure-cycling")
    example = parse_protocol_text(EXAMPLE, "example.toml")
    assert bundled.limits == example.limits
    assert [(block.repeat, [step.text for step in block.steps]) for block in bundled.blocks] == [
        (block.repeat, [step.text for step in block.steps]) for block in example.blocks
    ]


def test_the_fault_policy_defaults_to_pause_for_the_operator_for_at_most_an_hour() -> None:
    limits = parse_protocol_text(one_block("Rest for 1 h"), "p.toml").limits
    assert (limits.on_fault, limits.resume, limits.max_pause) == ("pause", "operator", 3600.0)


def test_the_fault_policy_is_read_from_the_limits() -> None:
    text = one_block("Rest for 1 h").replace(
        LIMITS, LIMITS + 'on_fault = "stop"\nresume = "auto"\nmax_pause = "10 min"\n'
    )
    assert parse_protocol_text(text, "p.toml").limits == Limits(2.5, 4.3, 5e6, 50e6, "stop", "auto", 600.0)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('on_fault = "halt"', "p.toml, limits: on_fault must be 'pause' or 'stop', not 'halt'"),
        ('on_fault = "pasue"',
         "p.toml, limits: on_fault must be 'pause' or 'stop', not 'pasue' (did you mean 'pause'?)"),
        ("on_fault = true", "p.toml, limits: on_fault must be 'pause' or 'stop', not True"),
        ('resume = "automatic"',
         "p.toml, limits: resume must be 'operator' or 'auto', not 'automatic' (did you mean 'auto'?)"),
        ('max_pause = "0 s"', "p.toml, limits: max_pause: '0 s' must be more than zero"),
        ('max_pause = "1 V"', "p.toml, limits: max_pause: '1 V' is not a time"),
        ("max_pause = 60", "p.toml, limits: max_pause: 60 needs a unit"),
        ('max_pause = "1 Hr"', "p.toml, limits: max_pause: unknown unit 'Hr'"),
    ],
)
def test_a_bad_fault_policy_is_refused_naming_the_key(line: str, problem: str) -> None:
    [found] = problems_of(one_block("Rest for 1 h").replace(LIMITS, LIMITS + line + "\n"))
    assert found.startswith(problem)


def test_every_fault_policy_problem_is_reported_with_the_steps_problems() -> None:
    text = one_block("Hold at 4.4 V for 1 h").replace(LIMITS, LIMITS + 'on_fault = "x"\nresume = "y"\n')
    problems = problems_of(text)
    assert len(problems) == 2 and "on_fault" in problems[0] and "resume" in problems[1]


def test_a_fault_policy_built_in_python_is_checked_against_the_bench_too() -> None:
    protocol = parse_protocol_text(one_block("Rest for 1 h"), "p.toml")
    bad = dataclasses.replace(protocol, limits=dataclasses.replace(protocol.limits, resume="never", max_pause=0.0))
    with pytest.raises(ProtocolError) as caught:
        check_against_bench(bad, capacity=CAPACITY, area=AREA, max_pressure=100e6, max_current=1.0)
    assert caught.value.problems == [
        "p.toml, limits: resume must be 'operator' or 'auto', not 'never'",
        "p.toml, limits: max_pause must be a time above zero, not 0.0 s",
    ]


NESTED = """\
name = "nested"
[limits]
voltage = ["2.5 V", "4.3 V"]
[[block]]
steps = ["Hold pressure at 10 MPa"]
[[block]]
name = "study"
repeat = 3
until = "discharge capacity < 80 % of cycle 1"
record = "every 30 s or 5 mV"
[[block.block]]
name = "reference"
steps = ["Charge at C/10 until 4.2 V", "Discharge at C/10 until 2.5 V"]
[[block.block]]
repeat = 10
steps = ["Charge at C/3 until 4.2 V", "Discharge at C/3 until 2.5 V"]
"""


def test_blocks_nest_with_their_own_repeats_stop_conditions_and_recording() -> None:
    protocol = parse_protocol_text(NESTED, "/lab/nested.toml")
    study = protocol.blocks[1]
    assert (study.repeat, [block.repeat for block in study.steps]) == (3, [1, 10])
    assert study.until == (StopCondition("discharge capacity < 80 % of cycle 1", "discharge", 0.8, 1),)
    assert study.record == Recording(30.0, 0.005, 0.0)
    first, reference = study.steps[1].steps[0], study.steps[0].steps[0]
    assert (first.where, first.line) == ("nested.toml, block 2.2, step 1", 16)
    assert (reference.where, reference.line) == ("nested.toml, block 2.1 (reference), step 1", 13)
    assert len(list(protocol.sequence())) == 1 + 3 * (2 + 10 * 2)


@pytest.mark.parametrize(
    ("until", "condition"),
    [
        ("charge capacity < 2 mAh", StopCondition("charge capacity < 2 mAh", "charge", Charge(7.2, "C"))),
        ("discharge capacity < 70 %", StopCondition("discharge capacity < 70 %", "discharge",
                                                    Charge(0.7, "nominal"))),
        ("Discharge Capacity < 90 % of cycle 3", StopCondition("Discharge Capacity < 90 % of cycle 3", "discharge",
                                                               0.9, 3)),
    ],
)
def test_stop_conditions_read_a_capacity_or_a_share_of_a_reference_cycle(until: str, condition) -> None:
    protocol = parse_protocol_text(one_block("Rest for 1 h", extra=f'repeat = 5\nuntil = "{until}"\n'), "p.toml")
    assert protocol.blocks[0].until == (condition,)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('until = "discharge capacity < 80 % of cycle 1"\n', "a block with until needs repeat"),
        ('repeat = 5\nuntil = "capacity fades"\n', "cannot read until = 'capacity fades'"),
        ('repeat = 5\nuntil = "discharge capacity < 2 mAh of cycle 1"\n', "compare with a cycle as a percentage"),
        ('repeat = 5\nuntil = "discharge capacity < 0 mAh"\n', "until: '0 mAh' must be more than zero"),
        ('repeat = 5\nuntil = 3\n', "until must be text"),
        ('repeat = 5\nrecord = "every 5 MPa/s"\n', "recording: '5 MPa/s' is not a time"),
        ('block = []\n', "a block has either steps"),
    ],
)
def test_bad_loops_and_recordings_are_refused_naming_the_block(extra: str, problem: str) -> None:
    [found] = problems_of(one_block("Rest for 1 h", extra=extra))
    assert found.startswith("p.toml, block 1: ")
    assert problem in found


def test_a_nested_block_is_checked_like_any_other() -> None:
    text = NESTED.replace('"Charge at C/3 until 4.2 V"', '"Charge at C/3 untill 4.2 V"')
    text = text.replace("repeat = 10", "repeat = 0")
    problems = problems_of(text, "/lab/nested.toml")
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        "nested.toml, block 2.2",
        'nested.toml, block 2.2, step 1 ("Charge at C/3 untill 4.2 V") at line 16',
    ]


def test_on_abort_must_be_hold_or_release() -> None:
    text = one_block("Rest for 1 h").replace(LIMITS, LIMITS + 'on_abort = "relase"\n')
    with pytest.raises(ProtocolError, match=r"on_abort must be 'hold' or 'release', not 'relase' \(did you mean"):
        parse_protocol_text(text, "p.toml")
    assert parse_protocol_text(text.replace("relase", "release"), "p.toml").limits.on_abort == "release"
