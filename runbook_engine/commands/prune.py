"""`runbook prune`: remove old runs from the state store."""

from __future__ import annotations

import argparse

HELP = "Remove runs older than an age or date from the state store (history and results)."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--older-than", metavar="WHEN", required=True,
                        help="runs started before this: a span (30d, 12w) or a date "
                             "(2026-10-01, 2026-10-01T07:30)")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what would be removed; remove nothing")
    parser.add_argument("--vacuum", action="store_true",
                        help="then shrink the SQLite file (rewrites it; best while no run "
                             "is going). PostgreSQL's autovacuum does this itself")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def main(args: argparse.Namespace) -> int:
    import json

    from runbook_engine.state import open_store
    from runbook_engine.state.render import parse_time, when
    from runbook_engine.state.retention import compact, describe, prune

    before = parse_time(args.older_than)
    with open_store() as store:
        result = prune(store, before, dry_run=args.dry_run)
        compacted = args.vacuum and not args.dry_run and compact(store)
    if args.format == "json":
        print(json.dumps({
            # epoch seconds, as `history --format json` gives started_at
            "before": before, "dry_run": args.dry_run, "removed": result.removed,
            "task_results": result.task_results, "kept_newest": result.kept_newest,
            "kept_resumed": result.kept_resumed, "vacuumed": compacted,
        }, indent=2))
        return 0
    for line in describe(result, when(before), dry_run=args.dry_run):
        print(line)
    if compacted:
        print("the state file was compacted")
    return 0
