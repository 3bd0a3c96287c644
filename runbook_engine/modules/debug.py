"""debug: print a message or a variable's value (controller only)."""

from __future__ import annotations

import json
from typing import Any

from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.templating import TemplateError

ON_CONTROLLER = True
FREE_FORM = "msg"

_NOT_DEFINED = "VARIABLE IS NOT DEFINED!"


class Args(ModuleArgs):
    msg: Any = "Hello world!"
    var: str | None = None
    verbosity: int = 0


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def run(ctx: TaskContext, args: Args) -> Result:
    current = int(ctx.vars.get("ansible_verbosity", 0) or 0)
    if args.verbosity > current:
        return Result(skipped=True, msg="verbosity threshold not met")
    if args.var is None:
        return Result(msg=_as_text(args.msg))
    if ctx.templar is None:
        value: Any = ctx.vars.get(args.var, _NOT_DEFINED)
    else:
        try:
            value = ctx.templar.evaluate(args.var, ctx.vars)
        except TemplateError:
            value = _NOT_DEFINED
    return Result(msg=f"{args.var}: {_as_text(value)}", data={args.var: value})
