"""What the run history says about a schedule: its runs carry the trigger `schedule:<name>`."""

from __future__ import annotations

from typing import Any


def last_runs(store: Any, triggers: list[str]) -> dict[str, Any]:
    """The newest run record of each trigger (absent when it never ran)."""
    found: dict[str, Any] = {}
    for trigger in triggers:
        rows = store.db.query(
            "SELECT id FROM runs WHERE trigger_source = ? ORDER BY started_at DESC, id DESC"
            " LIMIT 1", (trigger,))
        if rows:
            found[trigger] = store.get_run(rows[0]["id"])
    return found


def running_run_ids(store: Any, trigger: str) -> list[str]:
    """Runs of this trigger still running (opening the store already retired dead ones)."""
    rows = store.db.query(
        "SELECT id FROM runs WHERE trigger_source = ? AND status = 'running'", (trigger,))
    return [row["id"] for row in rows]
