"""ping: prove the host answers a shell command (one round trip); returns `ping: pong`."""

from __future__ import annotations

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext


class Args(ModuleArgs):
    data: str = "pong"


def run(ctx: TaskContext, args: Args) -> Result:
    if args.data == "crash":
        raise ModuleFailure("boom (ping was asked to crash)")
    res = ctx.run("echo pong")
    if res.rc != 0 or res.stdout.strip() != "pong":
        raise ModuleFailure(f"the host's shell did not answer: {res.stderr.strip()}")
    return Result(data={"ping": args.data})
