"""Plays -> batches -> tasks -> hosts (see runner.py)."""
