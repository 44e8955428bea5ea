"""Control: the PID, the pressure regulator, the interlocks and the fixed-rate engine."""
