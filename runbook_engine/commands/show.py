"""`runbook show RUN_ID`: one run's arguments and its per-host, per-task table."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbook_engine.state import Decision, RunRecord

HELP = "Show one recorded run: its arguments, the per-host per-task table, or one task's output."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", metavar="RUN_ID", help="a run id from `runbook history`, or last")
    parser.add_argument("--task", metavar="N",
                        help="full output of row N of the table (or every row of a task id/name)")
    parser.add_argument("--host", help="only this host's rows")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def main(args: argparse.Namespace) -> int:
    import json

    from runbook_engine.errors import InputError
    from runbook_engine.state import open_store

    with open_store() as store:
        run = store.get_run(args.run_id)
        rows = store.task_rows(run.id, host=args.host)
        approvals = store.approvals.list(run.id)
    for number, row in enumerate(rows, start=1):
        row["n"] = number
    if args.task is not None:
        rows = [r for r in rows if args.task in (str(r["n"]), r["task_id"], r["task_name"])]
        if not rows:
            raise InputError(f"run {run.id} has no task row {args.task!r}",
                             hint="the N column of `runbook show RUN_ID` numbers the rows")
    if args.format == "json":
        document = {**run.to_dict(), "tasks": rows,
                    "approvals": [dataclasses.asdict(a) for a in approvals]}
        print(json.dumps(document, indent=2, default=str))
        return 0
    if args.task is not None:
        print("\n\n".join(_full_output(row) for row in rows))
        return 0
    print(_summary(run, approvals))
    print()
    print(_task_table(rows) if rows else "no task has run")
    return 0


def _summary(run: RunRecord, approvals: list[Decision]) -> str:
    from runbook_engine.state.render import duration, when

    took = duration(run.ended_at - run.started_at) if run.ended_at else "(still running)"
    lines = [
        f"run        {run.id}" + (f"  (resumes {run.resumed_from})" if run.resumed_from else ""),
        f"status     {run.status}" + (f", exit {run.exit_code}" if run.exit_code is not None
                                      else ""),
        f"playbook   {run.playbook}  sha256 {(run.playbook_sha256 or '-')[:16]}",
        f"inventory  {run.inventory or '-'}   limit {run.limit or '-'}",
        f"tags       {','.join(run.tags) or '-'}   skip {','.join(run.skip_tags) or '-'}"
        + ("   check mode" if run.check else "") + ("   diff" if run.diff else ""),
        f"by         {run.user} on {run.controller} (pid {run.pid}), via {run.trigger}",
        f"started    {when(run.started_at)} UTC, took {took}",
        f"hosts      {', '.join(run.hosts) or '-'}",
    ]
    if run.extra_vars:
        lines.append("extra vars " + ", ".join(f"{k}={v}" for k, v in run.extra_vars.items()))
    if run.params:
        lines.append("params     " + ", ".join(f"{k}={v}" for k, v in run.params.items()))
    for decision in approvals:
        who = f" by {decision.decided_by} at {when(decision.decided_at)} UTC" \
            if decision.decided_by else ""
        lines.append(f"approval   {decision.step}: {decision.status}{who}")
    return "\n".join(lines)


def _task_table(rows: list[dict[str, Any]]) -> str:
    from runbook_engine.state.render import duration, table

    def notes(row: dict[str, Any]) -> str:
        marks = []
        if row["rerun_after_crash"]:
            marks.append("rerun after crash")
        if row["attempt"] > 1:
            marks.append(f"attempt {row['attempt']}")
        if row["ignored"]:
            marks.append("ignored")
        if row["rescued"]:
            marks.append("rescued")
        if row["handler"]:
            marks.append("handler")
        if row["item"]:
            marks.append(f"item {row['item']}")
        return ", ".join(marks)

    return table(
        ("N", "HOST", "TASK", "STATUS", "CHANGED", "RC", "TOOK", "NOTES"),
        [(r["n"], r["host"], r["task_name"] or r["task_id"], r["status"],
          "yes" if r["changed"] else "no", r["rc"], duration(r["duration"]), notes(r))
         for r in rows],
    )


def _full_output(row: dict[str, Any]) -> str:
    parts = [f"#{row['n']} {row['host']}: {row['task_name'] or row['task_id']} "
             f"[{row['status']}] rc={row['rc']}"]
    if row["msg"]:
        parts.append(f"msg: {row['msg']}")
    for stream in ("stdout", "stderr"):
        if row[stream]:
            parts.append(f"--- {stream}\n{row[stream].rstrip()}")
    for change in row["diff"] or []:
        if isinstance(change, dict):
            parts.append("--- diff\n" + "\n".join(f"{k}: {v}" for k, v in change.items()))
    return "\n".join(parts)
