"""The cells the reference review's tables are checked on, cycled 100 times; also prints the retention table.

    .venv/bin/python -m tests.sims.reference_table      # the table, ~15 s

Each variant is a CellParams and a constant stack pressure; `cycled(name)` runs it once
per process (cached) with the fast bare-cell cycling of tests/sims/cycling.py: C/3 CC
charge to 4.2 V, CV to C/10 (at most 1 h), C/3 CC discharge to 2.5 V, 30 s sub-steps.
"""

from __future__ import annotations

import functools

from stackpress.sims.cell import CellParams

from .cycling import Cycling, run

CYCLES = 100
STEP = 30.0  # s; test_degradation checks 10 s gives the same retention
MPA = 1e6

VARIANTS: dict[str, tuple[CellParams, float]] = {
    # stack pressure (the default micro-Si 1 um a-Si | Li6PS5Cl | NCM811 cell)
    "1 MPa": (CellParams(), 1 * MPA),
    "10 MPa": (CellParams(), 10 * MPA),
    "30 MPa": (CellParams(), 30 * MPA),
    "150 MPa": (CellParams(), 150 * MPA),
    "Li6PS5Cl, 0.5 MPa": (CellParams(), 0.5 * MPA),
    "elastic SE, 0.5 MPa": (CellParams(se_modulus=1e9, se_toughness=100.0), 0.5 * MPA),
    # Si structure and size (10 MPa)
    "c-Si 1 um": (CellParams(si_crystalline=True), 10 * MPA),
    "c-Si 100 nm": (CellParams(si_crystalline=True, si_particle_size=100e-9), 10 * MPA),
    "c-Si 500 nm": (CellParams(si_crystalline=True, si_particle_size=500e-9), 10 * MPA),
    "a-Si 500 nm": (CellParams(si_particle_size=500e-9), 10 * MPA),
    # design strategies
    "porous Si 0.3": (CellParams(si_porosity=0.3), 10 * MPA),
    "porous Si 0.6": (CellParams(si_porosity=0.6), 10 * MPA),
    "film, 1 MPa": (CellParams(si_morphology="film"), 1 * MPA),
    "film, 10 MPa": (CellParams(si_morphology="film"), 10 * MPA),
    "binder 5 J/m2, 1 MPa": (CellParams(binder_adhesion=5.0), 1 * MPA),
    "buffer 5 J/m2, 10 MPa": (CellParams(buffer_toughness=5.0), 10 * MPA),
    "buffer 20 J/m2, 150 MPa": (CellParams(buffer_toughness=20.0), 150 * MPA),
    "size ratio 0.3, 2 MPa": (CellParams(si_se_size_ratio=0.3), 2 * MPA),
    "size ratio 3, 2 MPa": (CellParams(si_se_size_ratio=3.0), 2 * MPA),
    "c-Si 1 um, sintering x5": (CellParams(si_crystalline=True, sintering_rate=0.05), 10 * MPA),
    "artificial SEI 0.8": (CellParams(artificial_sei=0.8), 10 * MPA),
}


@functools.cache
def cycled(name: str) -> Cycling:
    params, pressure = VARIANTS[name]
    return run(params, pressure, CYCLES, dt=STEP)


def main() -> None:
    print(f"| cell | stack pressure | 1st-cycle CE | 1st discharge / nominal | retention after {CYCLES} | R growth |")
    print("|---|---|---|---|---|---|")
    for name, (_, pressure) in VARIANTS.items():
        result = cycled(name)
        first = result.records[0]
        print(
            f"| {name} | {pressure / MPA:g} MPa | {result.first_cycle_efficiency:.0%} "
            f"| {first.discharge / result.cell.nominal_capacity:.2f} | {result.retention():.0%} "
            f"| x{result.resistance_growth():.2f} |"
        )


if __name__ == "__main__":
    main()
