"""pause: wait a while, or until someone presses Enter (controller only).

Without a terminal (CI, cron, a pipe) a prompt with no `seconds`/`minutes` would wait
forever: the pause is skipped with a warning instead, so unattended runs never hang.
"""

from __future__ import annotations

import getpass
import sys
import time
from datetime import datetime

from pydantic import model_validator

from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

ON_CONTROLLER = True
RUN_ONCE = True  # a pause holds the whole play, once (as in Ansible)


class Args(ModuleArgs):
    seconds: float | None = None
    minutes: float | None = None
    prompt: str | None = None
    echo: bool = True

    @model_validator(mode="after")
    def _one_duration(self) -> Args:
        if self.seconds is not None and self.minutes is not None:
            raise ValueError("give 'seconds' or 'minutes', not both")
        for value in (self.seconds, self.minutes):
            if value is not None and value < 0:
                raise ValueError("a pause can't be negative")
        return self


def _duration(args: Args) -> float | None:
    if args.seconds is not None:
        return args.seconds
    if args.minutes is not None:
        return args.minutes * 60
    return None


def _ask(prompt: str, echo: bool) -> str:
    if echo:
        return input(prompt)
    return getpass.getpass(prompt)


def run(ctx: TaskContext, args: Args) -> Result:
    start = datetime.now()
    duration = _duration(args)
    warnings: list[str] = []
    user_input = ""
    if duration is not None:
        if args.prompt:
            ctx.log(args.prompt)
        time.sleep(duration)
    elif sys.stdin is not None and sys.stdin.isatty():
        user_input = _ask(f"[{ctx.host}] {args.prompt or 'Press Enter to continue'}: ", args.echo)
    else:
        warnings.append("pause: no terminal to prompt on; continuing without waiting")
    stop = datetime.now()
    data: dict[str, object] = {
        "start": str(start),
        "stop": str(stop),
        "delta": int((stop - start).total_seconds()),
        "user_input": user_input,
        "echo": args.echo,
    }
    if warnings:
        data["warnings"] = warnings
    return Result(msg="\n".join(warnings) or "Paused", data=data)
