"""Shared by `resume` and `retry`: a recorded run turned back into a RunRequest."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def configure_replay(parser: argparse.ArgumentParser, what: str) -> None:
    """Arguments shared by `resume` and `retry`."""
    from runbook_engine.commands.run import add_run_options

    parser.add_argument("run_id", help=f"the run to {what} ('last' for the newest)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--junit", default=None, metavar="FILE")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="extra vars on top of the recorded ones (give secrets again here)")
    add_run_options(parser)


def load_recorded_run(run_id: str) -> tuple[Any, Any]:
    """The run's record and what each host completed (following earlier resumes)."""
    from runbook_engine.state.store import open_store

    with open_store() as store:
        store.recover_interrupted()
        state = store.resume_state(store.get_run(run_id).id)
    return state.run, state


def _inventory_sources(recorded: str | None) -> list[str]:
    """The journal keeps the -i sources joined by commas; a host list ('a,b,') is one."""
    if not recorded:
        return []
    parts = recorded.split(",")
    if all(Path(p).exists() for p in parts if p):
        return [p for p in parts if p]
    return [recorded]


def request_from_record(record: Any, args: argparse.Namespace) -> Any:
    """Same playbook, inventory, limit, tags, check/diff, extra vars and params."""
    from runbook_engine.engine import RunRequest
    from runbook_engine.secrets import MASK

    # A recorded value holding the mask carried a secret: never replay the mask as a value.
    kept = {k: v for k, v in record.extra_vars.items() if MASK not in json.dumps(v)}
    dropped = sorted(set(record.extra_vars) - set(kept))
    if dropped:
        print(f"warning: extra vars {', '.join(dropped)} held secrets and were not recorded; "
              "give them again with -e", file=sys.stderr)
    request = RunRequest(
        playbook=Path(record.playbook), inventories=_inventory_sources(record.inventory),
        extra_vars=([json.dumps(kept)] if kept else []) + list(getattr(args, "extra_vars", [])),
        limit=record.limit, tags=list(record.tags), skip_tags=list(record.skip_tags),
        check=record.check, diff=record.diff, verbosity=getattr(args, "verbose", 0),
    )
    # secret params were never stored: they are asked for again (or given with -p)
    recorded = [f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in record.params.items() if v != MASK and v is not None]
    args.params = recorded + list(getattr(args, "params", []))
    return request
