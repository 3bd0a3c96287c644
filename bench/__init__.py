"""Benchmark of runbook-engine against ansible-core, pyinfra and a Fabric floor (issue #7)."""
