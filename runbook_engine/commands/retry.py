"""`runbook retry RUN_ID --failed-hosts`: run the playbook again on the hosts that failed."""

from __future__ import annotations

import argparse

HELP = "rerun a recorded run's playbook (on its failed and unreachable hosts)"


def configure(parser: argparse.ArgumentParser) -> None:
    from runbook_engine.commands._replay import configure_replay

    configure_replay(parser, "retry")
    parser.add_argument("--failed-hosts", action="store_true",
                        help="only the hosts that failed or were unreachable")


def main(args: argparse.Namespace) -> int:
    from runbook_engine.commands._replay import load_recorded_run, request_from_record
    from runbook_engine.commands.run import apply_run_options, execute
    from runbook_engine.engine import prepare

    record, state = load_recorded_run(args.run_id)
    request = request_from_record(record, args)
    apply_run_options(request, args)
    if args.failed_hosts:
        failed = state.failed_hosts
        if not failed:
            print(f"run {record.id} has no failed or unreachable host: nothing to retry")
            return 0
        request.limit = ",".join(failed)
    return execute(prepare(request), args)
