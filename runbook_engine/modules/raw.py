"""raw: send a command line to the host as it is (no creates/removes, no chdir)."""

from __future__ import annotations

import shlex

from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

FREE_FORM = "cmd"


class Args(ModuleArgs):
    cmd: str
    executable: str | None = None


def run(ctx: TaskContext, args: Args) -> Result:
    if ctx.check_mode:
        return Result(skipped=True, msg="raw does not support check mode")
    command = shlex.join([args.executable, "-c", args.cmd]) if args.executable else args.cmd
    res = ctx.run(command)
    failed = res.rc != 0
    return Result(
        changed=True,
        failed=failed,
        msg="non-zero return code" if failed else "",
        rc=res.rc,
        stdout=res.stdout,
        stderr=res.stderr,
    )
