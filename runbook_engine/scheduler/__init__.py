"""Scheduled runs: the schedules file, the scheduler service and its one-shot mode.

Every scheduled run is an ordinary `runbook run` child process whose journal trigger is
`schedule:<name>` (see launch.py), so it shares locks, history and notifications.
"""
