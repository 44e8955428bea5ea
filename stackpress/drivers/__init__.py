"""Instruments: the roles the engine talks to, and the drivers that fill them."""
