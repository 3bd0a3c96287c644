"""Subcommands of `runbook`, discovered by file name (see runbook_engine.cli)."""
