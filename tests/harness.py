"""Running one module against one target outside the executor, for module tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_engine.connection.base import Connection
from runbook_engine.modules import load_module
from runbook_engine.modules.base import Become, Result, TaskContext
from runbook_engine.templating import Templar

_TEMPLAR = Templar()


@dataclass
class Target:
    """A host to run modules on: its connection and a scratch directory on it."""

    name: str
    conn: Connection
    scratch: str  # absolute path of an empty directory on the target


def make_ctx(
    target: Target,
    *,
    variables: Mapping[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    search_paths: Sequence[Path] = (),
    become: Become | None = None,
) -> TaskContext:
    return TaskContext(
        host=target.name,
        conn=target.conn,
        vars=dict(variables or {}),
        templar=_TEMPLAR,
        check_mode=check,
        diff=diff,
        search_paths=list(search_paths),
        become=become,
    )


def run_module(name: str, ctx: TaskContext, args: Mapping[str, Any]) -> Result:
    """Validate `args` with the module's Args model and run it, as the executor would."""
    module = load_module(name)
    return module.run(ctx, module.Args.model_validate(dict(args)))
