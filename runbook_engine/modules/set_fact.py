"""set_fact: define host variables for the rest of the run (controller only).

Every argument other than `cacheable` becomes a fact; the executor merges
`data["ansible_facts"]` into the host's variables.
"""

from __future__ import annotations

from pydantic import ConfigDict

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

ON_CONTROLLER = True


class Args(ModuleArgs):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    cacheable: bool = False


def run(ctx: TaskContext, args: Args) -> Result:
    facts = dict(args.model_extra or {})
    if not facts:
        raise ModuleFailure("set_fact needs at least one name=value to set")
    for name in facts:
        if not name.isidentifier():
            raise ModuleFailure(f"{name!r} is not a valid variable name")
    return Result(data={"ansible_facts": facts, "_ansible_facts_cacheable": args.cacheable})
