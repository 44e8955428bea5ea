"""The bench window's panels, one job each: bench, protocol, pressure, regulator, auto-tune, alarms and events,
cycle table."""
