"""`runbook approve RUN_ID [--step NAME]`: let a run waiting at an approval gate go on."""

from __future__ import annotations

import argparse

HELP = "Approve a run waiting at an approval step (recorded with who and when)."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--step", metavar="NAME",
                        help="the step to decide (needed when several wait, or in advance)")
    parser.add_argument("--reason", default="", help="a note kept in the run's history")


def main(args: argparse.Namespace) -> int:
    return decide(args, approve=True)


def decide(args: argparse.Namespace, *, approve: bool) -> int:
    """Shared by approve and deny: the decision is recorded under the OS user running us."""
    from runbook_engine.state import open_store
    from runbook_engine.state.render import when

    with open_store() as store:
        run = store.get_run(args.run_id)
        decision = store.approvals.decide(run.id, args.step, approve, reason=args.reason)
    print(f"{decision.status} step {decision.step!r} of run {run.id} "
          f"as {decision.decided_by} at {when(decision.decided_at)} UTC")
    return 0
