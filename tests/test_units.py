import pytest

from stackpress.units import UnitError, quantity


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("10 MPa", "Pa", 10e6),
        ("100 bar", "Pa", 10e6),
        ("0.785 cm2", "m**2", 0.785e-4),
        ("3 mAh/cm2", "A*s/m**2", 108.0 * 1000),
        ("2 h", "s", 7200.0),
        ("1.5e3 kPa", "Pa", 1.5e6),
        (".5 um", "m", 0.5e-6),
    ],
)
def test_quantities_become_si_floats(text, unit, expected):
    assert quantity(text, unit, "x") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10 MPx", "unknown unit 'MPx'"),
        ("10 V", "is not a pressure"),
        ("10", "needs a number and a unit"),
        (10, "needs a unit"),
        ("1" * 5000 + " Pa x", "setpoint"),
    ],
)
def test_bad_quantities_name_the_setting_and_the_problem(text, message):
    with pytest.raises(UnitError, match="setpoint") as error:
        quantity(text, "Pa", "setpoint")
    assert message in str(error.value)


def test_a_text_parsed_before_is_checked_again_for_each_setting_and_unit():
    # the parsing is cached per (text, unit): each caller still gets its own unit and its own setting's name
    assert quantity("1 h", "s", "a") == 3600.0
    with pytest.raises(UnitError, match=r"^b: '1 h' is not a pressure"):
        quantity("1 h", "Pa", "b")
    for what in ("c", "d"):
        with pytest.raises(UnitError, match=f"^{what}: unknown unit 'MPx'"):
            quantity("1 MPx", "Pa", what)
