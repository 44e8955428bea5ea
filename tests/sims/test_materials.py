"""The materials around the Si: the NCM811 cathode's potential and its slope."""

from __future__ import annotations

import pytest

from stackpress.sims.materials import ncm811_ocp, ncm811_ocp_slope

from .helpers import numeric_slope


def test_ncm811_ocp_is_chen_2020s_fit():
    assert ncm811_ocp(0.2661) == pytest.approx(4.28, abs=0.01)
    assert ncm811_ocp(0.5) == pytest.approx(3.97, abs=0.01)
    assert ncm811_ocp(0.9084) == pytest.approx(3.56, abs=0.02)


def test_ncm811_slope_is_the_derivative_of_the_ocp():
    for y in (0.27, 0.31, 0.4, 0.55, 0.7, 0.9):
        slope = ncm811_ocp_slope(y)
        assert slope == pytest.approx(numeric_slope(ncm811_ocp, y, 1e-7), rel=1e-5)
        assert slope < 0.0
