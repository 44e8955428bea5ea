"""A strain-gauge load cell under the stack: true force plus drift and noise, quantised, clipped.

Deterministic for a given seed: the noise comes from its own `random.Random`, so
adding readings of another instrument does not change this one's sequence.
"""

from __future__ import annotations

import random

from stackpress.sims.settings import Section


class LoadCell:
    """reading = round((F + drift * t + N(0, noise)) / resolution) * resolution, within +-full_scale."""

    def __init__(
        self,
        full_scale: float = 5000.0,
        noise: float = 1.0,
        resolution: float = 0.1,
        drift: float = 0.5 / 3600.0,
        seed: int = 0,
    ) -> None:
        """`full_scale` N; `noise` N (1 sigma, 0.02 % of 5 kN); `resolution` N; `drift` N/s of zero drift."""
        self.full_scale = full_scale
        self.noise = noise
        self.resolution = resolution
        self.drift = drift
        self._gauss = random.Random(f"load-cell:{seed}").gauss

    def measure(self, force: float, t: float) -> float:
        """One reading, N, of the true compressive `force` N at time `t` s (the zero drifts linearly in t)."""
        reading = force + self.drift * t
        if self.noise > 0.0:
            reading += self._gauss(0.0, self.noise)
        if self.resolution > 0.0:
            reading = round(reading / self.resolution) * self.resolution
        if reading > self.full_scale:
            return self.full_scale
        if reading < -self.full_scale:
            return -self.full_scale
        return reading


def load_cell_from_section(section: Section, seed: int) -> LoadCell:
    """The load cell the bench's [load_cell] table describes (every key optional)."""
    return LoadCell(
        full_scale=section.quantity("range", "N", "5 kN"),
        noise=section.quantity("noise", "N", "1 N", positive=False),
        resolution=section.quantity("resolution", "N", "0.1 N", positive=False),
        drift=section.quantity("drift", "N/s", "0.5 N/h", minimum=None),
        seed=seed,
    )
