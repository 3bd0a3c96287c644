"""fail: stop this host with a message (controller only)."""

from __future__ import annotations

from typing import Any

from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

ON_CONTROLLER = True
FREE_FORM = "msg"


class Args(ModuleArgs):
    msg: Any = "Failed as requested from task"


def run(ctx: TaskContext, args: Args) -> Result:
    msg = args.msg if isinstance(args.msg, str) else str(args.msg)
    return Result(failed=True, msg=msg)
