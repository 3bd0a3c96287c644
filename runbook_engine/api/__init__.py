"""The HTTP API behind `runbook serve`: token auth, a playbook whitelist, runs as children."""
