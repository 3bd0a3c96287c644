"""`runbook locks`: host leases held by runs, and breaking one by hand."""

from __future__ import annotations

import argparse

HELP = "List host locks held by runs (stale ones are marked); --release RUN_ID breaks one."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--release", metavar="RUN_ID",
                        help="remove every lease of this run (when its controller is gone)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def main(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    import sys

    from runbook_engine.state import open_store
    from runbook_engine.state.render import table, when

    with open_store() as store:
        if args.release:
            held = [lock for lock in store.locks.list() if lock.run_id == args.release]
            store.locks.release(args.release)
            print(f"released {len(held)} lock(s) of run {args.release}", file=sys.stderr)
        locks = store.locks.list()
    if args.format == "json":
        print(json.dumps([dataclasses.asdict(lock) for lock in locks], indent=2))
        return 0
    if not locks:
        print("no host is locked")
        return 0
    rows = [(lock.host, lock.run_id, lock.playbook, lock.user, lock.controller, lock.pid,
             when(lock.acquired_at), when(lock.expires_at), "stale" if lock.stale else "held")
            for lock in locks]
    print(table(("HOST", "RUN", "PLAYBOOK", "USER", "CONTROLLER", "PID", "SINCE (UTC)",
                 "EXPIRES (UTC)", "STATE"), rows))
    return 0
