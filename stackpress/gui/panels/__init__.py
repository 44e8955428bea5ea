"""The bench window's side panels, one job each: bench, protocol, pressure, alarms and events, cycle table."""
