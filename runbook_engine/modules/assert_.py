"""assert: check that expressions hold for this host's variables (controller only)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.templating import TemplateError

ON_CONTROLLER = True


class Args(ModuleArgs):
    that: list[Any]
    fail_msg: Any = Field(default=None, alias="msg")
    success_msg: Any = "All assertions passed"
    quiet: bool = False

    @field_validator("that", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | bool) else value


def run(ctx: TaskContext, args: Args) -> Result:
    if ctx.templar is None:
        raise ModuleFailure("assert needs a templar to evaluate its conditions")
    for expression in args.that:
        try:
            holds = ctx.templar.condition(expression, ctx.vars)
        except TemplateError as exc:
            raise ModuleFailure(f"the conditional check {expression!r} failed: {exc}") from None
        if not holds:
            msg = args.fail_msg if args.fail_msg is not None else "Assertion failed"
            return Result(
                failed=True,
                msg=str(msg),
                data={"assertion": expression, "evaluated_to": False},
            )
    return Result(msg="" if args.quiet else str(args.success_msg))
