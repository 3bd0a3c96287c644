"""An approval gate: the run waits here until a person approves (or denies, or time runs out).

In a terminal the engineer running the playbook is asked. Otherwise the request is recorded
in the state store and announced (`approval_requested` event: notifications), and anyone
may answer from another terminal with `runbook approve RUN_ID` / `runbook deny RUN_ID`.
`--approve STEP` (or `--approve all`) grants it up front, for CI. A denial or a timeout
fails the task cleanly; the run can be resumed later and will ask again.
"""

from __future__ import annotations

import sys
import threading

from pydantic import Field

from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

ON_CONTROLLER = True
RUN_ONCE = True  # one decision per step for the whole batch

_PROMPT_LOCK = threading.Lock()


class Args(ModuleArgs):
    message: str = Field("Continue?", alias="msg")
    step: str | None = Field(None, description="name of the gate; defaults to the task name")
    approvers: list[str] = Field(default_factory=list, description="who may approve")
    timeout: float = Field(3600, gt=0, description="seconds to wait for a decision")
    interactive: bool | None = Field(None, description="ask in the terminal (default: if a TTY)")


def run(ctx: TaskContext, args: Args) -> Result:
    step = args.step or ctx.task_name or "approval"
    preapproved = set(ctx.vars.get("runbook_preapproved", []))
    if step in preapproved or "all" in preapproved:
        return Result(msg=f"approval '{step}' granted up front (--approve)",
                      data={"approval": {"step": step, "status": "approved", "by": "--approve"}})
    if ctx.check_mode:
        return Result(skipped=True, msg=f"check mode: would ask for approval '{step}'")
    run_id = str(ctx.vars.get("ansible_run_id", ""))
    interactive = sys.stdin.isatty() if args.interactive is None else args.interactive
    from runbook_engine.state.store import open_store

    with open_store() as store:
        store.request_approval(run_id, step, args.message, args.approvers)
        if interactive and not args.approvers:
            decision = _ask_here(store, run_id, step, args.message)
        else:
            ctx.emit("approval_requested", run_id=run_id, step=step, message=args.message,
                     approvers=args.approvers)
            decision = store.wait_for_approval(run_id, step, args.timeout)
    info = {"step": step, "status": decision.status, "by": decision.decided_by}
    if decision.status == "approved":
        return Result(msg=f"approval '{step}' granted by {decision.decided_by}",
                      data={"approval": info})
    if decision.status == "denied":
        reason = f": {decision.message}" if decision.message else ""
        return Result(failed=True, msg=f"approval '{step}' denied by {decision.decided_by}"
                      f"{reason}", data={"approval": info})
    return Result(failed=True, data={"approval": info},
                  msg=f"approval '{step}' timed out after {args.timeout:g} s "
                      f"(resume the run to ask again)")


def _ask_here(store: object, run_id: str, step: str, message: str) -> object:
    import getpass

    with _PROMPT_LOCK:
        answer = input(f"\nAPPROVAL [{step}] {message} (yes/no): ").strip().lower()
    user = getpass.getuser()
    decide = store.approvals.decide  # type: ignore[attr-defined]
    return decide(run_id, step, approve=answer in ("y", "yes"), user=user)
