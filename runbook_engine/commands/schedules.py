"""`runbook schedules`: each schedule with its last run (from the history) and next run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "List the schedules of a schedules file: last result and next run time."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schedules", type=Path, default=Path("schedules.yml"),
                        metavar="FILE", help="the schedules file (default: schedules.yml)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def main(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from runbook_engine.scheduler.config import load_schedules
    from runbook_engine.scheduler.journal_view import last_runs
    from runbook_engine.state import open_store

    entries = load_schedules(args.schedules)
    now = datetime.now(UTC)
    with open_store() as store:
        last = last_runs(store, [entry.trigger for entry in entries])
    listing = [_describe(entry, last.get(entry.trigger), now) for entry in entries]
    if args.format == "json":
        print(json.dumps(listing, indent=2, default=str))
    else:
        print(_table(listing))
    return 0


def _describe(entry: Any, run: Any, now: Any) -> dict[str, Any]:
    last_run = None
    if run is not None:
        last_run = {"id": run.id, "status": run.status, "exit_code": run.exit_code,
                    "started_at": run.started_at, "ended_at": run.ended_at}
    return {
        "name": entry.name, "playbook": str(entry.playbook), "cron": entry.cron,
        "timezone": entry.timezone, "enabled": entry.enabled, "overlap": entry.overlap,
        "missed": entry.missed,
        "next_run": entry.next_fire(now).isoformat() if entry.enabled else None,
        "last_run": last_run,
    }


def _table(listing: list[dict[str, Any]]) -> str:
    from runbook_engine.state.render import table, when

    rows = []
    for item in listing:
        run = item["last_run"]
        last = (f"{run['status']} (exit {run['exit_code']}) {when(run['started_at'])} UTC "
                f"{run['id']}" if run else "never")
        schedule = f"{item['cron']} {item['timezone']}"
        rows.append((item["name"], schedule, item["next_run"] or "disabled", last,
                     Path(item["playbook"]).name))
    return table(("SCHEDULE", "CRON", "NEXT RUN", "LAST RUN", "PLAYBOOK"), rows)
