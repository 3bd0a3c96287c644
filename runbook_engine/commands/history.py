"""`runbook history`: recorded runs, newest first, filtered by playbook, host, status, date."""

from __future__ import annotations

import argparse

HELP = "List recorded runs (newest first), filtered by playbook, host, status or date."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--playbook", help="only runs of this playbook (path or file name)")
    parser.add_argument("--host", help="only runs that targeted this host")
    parser.add_argument("--status", choices=("running", "ok", "failed", "interrupted"))
    parser.add_argument("--since", metavar="WHEN", help="2026-11-26, 2026-11-26T07:30 or 2h/3d")
    parser.add_argument("--until", metavar="WHEN", help="same forms as --since")
    parser.add_argument("-n", "--limit", type=int, default=20, help="at most N runs (20)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def main(args: argparse.Namespace) -> int:
    import json

    from runbook_engine.state import open_store
    from runbook_engine.state.render import duration, parse_time, table, when

    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    with open_store() as store:
        runs = store.list_runs(playbook=args.playbook, host=args.host, status=args.status,
                               since=since, until=until, limit=max(1, args.limit))
    if args.format == "json":
        print(json.dumps([run.to_dict() for run in runs], indent=2, default=str))
        return 0
    if not runs:
        print("no recorded runs match")
        return 0
    rows = [
        (run.id, when(run.started_at),
         duration(run.ended_at - run.started_at) if run.ended_at else "-",
         run.status, run.exit_code, run.playbook, len(run.hosts), run.user, run.trigger)
        for run in runs
    ]
    headers = ("RUN", "STARTED (UTC)", "TOOK", "STATUS", "EXIT", "PLAYBOOK", "HOSTS", "USER",
               "TRIGGER")
    print(table(headers, rows))
    return 0
