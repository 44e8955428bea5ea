"""The physics that stands in for the bench: a Si solid-state cell, its fixture and its sensors.

    from stackpress.sims.world import SimWorld
    world = SimWorld.from_bench(tables, clock, seed=0)   # the bench TOML's [cell], [fixture], [load_cell]
    world.cycler, world.force_sensor, world.actuator     # the driver roles (drivers/roles.py)
    world.truth()                                        # the noiseless true state, for tests and benchmarks

One job per module:
    si.py           material laws of LixSi vs x: strain, modulus, conductivity, diffusivity, OCP + hysteresis
    materials.py    NCM811 OCP, Li-In potential, Li6PS5Cl conductivity
    transport.py    contact fraction vs pressure, Butler-Volmer, composite conduction, particle diffusion
    cell.py         the lumped cell: parameters, state, V(I) and I(V), swelling and stack compliance
    degradation.py  the ageing laws: contact loss, SE cracking, particle fracture, interphase, sintering, swelling
    zones.py        a cell split into zones at different local pressures (a tilted fixture)
    fixtures.py     hydraulic ram, rigid frame, disc springs, servo screw, tilted frame
    load_cell.py    load-cell noise, resolution, drift, range
    world.py        SimWorld: the shared world that advances lazily to the clock, and the cycler's mode
    instruments.py  SimCycler, SimForceSensor, SimActuator over one world
    settings.py     reading the bench tables, with errors that name `[section] key`

Everything is plain floats and `math` in SI units: a one-second sub-step costs a few microseconds.
"""
