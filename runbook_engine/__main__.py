from runbook_engine.cli import entry

entry()
