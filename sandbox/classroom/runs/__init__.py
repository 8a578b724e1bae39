"""Scenario runs: loading a scenario file, generating and inserting its rows, reset, undo and snapshots."""
