"""`runbook resume RUN_ID`: continue each host from its first task that did not succeed."""

from __future__ import annotations

import argparse
import sys

HELP = "continue a failed or interrupted run where each host stopped"


def configure(parser: argparse.ArgumentParser) -> None:
    from runbook_engine.commands._replay import configure_replay

    configure_replay(parser, "continue")
    parser.add_argument("--force", action="store_true",
                        help="resume even though the playbook changed since the run")


def main(args: argparse.Namespace) -> int:
    from runbook_engine.commands._replay import load_recorded_run, request_from_record
    from runbook_engine.commands.run import apply_run_options, execute
    from runbook_engine.engine import prepare
    from runbook_engine.errors import InputError

    record, state = load_recorded_run(args.run_id)
    if record.status == "ok":
        print(f"run {record.id} finished ok: nothing to resume")
        return 0
    if record.status == "running":
        raise InputError(f"run {record.id} is still running (pid {record.pid} on "
                         f"{record.controller})", hint="wait for it, or stop it first")
    request = request_from_record(record, args)
    apply_run_options(request, args)
    request.resume_from = record.id
    prepared = prepare(request, resume=state)
    if state.playbook_changed(prepared.playbook.sha256) and not args.force:
        raise InputError(
            f"the playbook changed since run {record.id} "
            "(its files no longer match the recorded checksum)",
            hint="review the change; `runbook resume RUN_ID --force` continues anyway",
        )
    done = sum(len(p.completed) for p in state.hosts.values())
    # stderr: stdout may carry a machine-readable document (--format json)
    print(f"resuming run {record.id}: {done} host-task results already done are skipped",
          file=sys.stderr)
    return execute(prepared, args)
