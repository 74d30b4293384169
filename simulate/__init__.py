"""`tenure simulate`: a scenario's months run on the time-skipping server (SPEC §7)."""
