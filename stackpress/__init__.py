"""stackpress: a stack-pressure test bench for silicon-anode solid-state cells."""

__version__ = "0.1.0"
