"""slurp: return a host file's content, base64-encoded (`content | b64decode`)."""

from __future__ import annotations

import base64

from pydantic import AliasChoices, Field

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import fileops
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext


class Args(ModuleArgs):
    src: str = Field(validation_alias=AliasChoices("src", "path"))


def run(ctx: TaskContext, args: Args) -> Result:
    data = fileops.read_file(ctx, args.src)
    if data is None:
        raise ModuleFailure(f"file not found: {args.src}")
    content = base64.b64encode(data).decode("ascii")
    return Result(data={"content": content, "encoding": "base64", "source": args.src})
