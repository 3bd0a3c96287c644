"""include_vars: load variables from a YAML/JSON file on the controller.

The file is found like Ansible does (role `vars/` first, then the playbook's directory);
its top-level mapping is returned as `data["ansible_facts"]` (under `name` if given),
for the executor to merge into the host's variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import model_validator

from runbook_engine.connection.settings import CONNECTION_VARS
from runbook_engine.errors import InputError, ModuleFailure
from runbook_engine.loader.yaml_source import load_yaml_file
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

ON_CONTROLLER = True
FREE_FORM = "file"

class Args(ModuleArgs):
    file: str | None = None
    dir: str | None = None
    name: str | None = None
    extensions: list[str] = ["yml", "yaml", "json"]

    @model_validator(mode="after")
    def _file_or_dir(self) -> Args:
        if (self.file is None) == (self.dir is None):
            raise ValueError("give exactly one of 'file' or 'dir'")
        return self


def _load(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml_file(path)
    except InputError as exc:
        raise ModuleFailure(exc.render()) from None
    except OSError as exc:
        raise ModuleFailure(f"could not read {path}: {exc.strerror}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ModuleFailure(f"{path} must hold a mapping of variable names, not a {kind}")
    return data


def _files(ctx: TaskContext, args: Args) -> list[Path]:
    if args.file is not None:
        return [ctx.find_file(args.file, kind="vars")]
    assert args.dir is not None
    directory = ctx.find_file(args.dir, kind="vars")
    if not directory.is_dir():
        raise ModuleFailure(f"{directory} is not a directory")
    wanted = {f".{e.lstrip('.')}" for e in args.extensions}
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in wanted)


def run(ctx: TaskContext, args: Args) -> Result:
    files = _files(ctx, args)
    merged: dict[str, Any] = {}
    for path in files:
        loaded = _load(path)
        if not args.name and (refused := sorted(loaded.keys() & CONNECTION_VARS)):
            # The run's one connection per host was made from the inventory: it would be
            # silently ignored.
            raise ModuleFailure(
                f"{path}: {refused[0]} is a connection variable: it is read from the "
                "inventory or -e, not from included vars"
            )
        merged.update(loaded)
    for key in merged:
        if not isinstance(key, str) or not key.isidentifier():
            raise ModuleFailure(f"{key!r} is not a valid variable name")
    facts = {args.name: merged} if args.name else merged
    return Result(
        data={"ansible_facts": facts, "ansible_included_var_files": [str(p) for p in files]}
    )
