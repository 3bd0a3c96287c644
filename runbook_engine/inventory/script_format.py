"""Dynamic inventory: an executable that prints Ansible's `--list` JSON.

`{"group": {"hosts": [...], "vars": {...}, "children": [...]}, "_meta": {"hostvars": {...}}}`;
a group may also be a bare list of hosts. Without `_meta`, each host is asked with `--host`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError, Position
from runbook_engine.inventory.data import InventoryData

SCRIPT_TIMEOUT_SECONDS = 120


def is_inventory_script(path: Path) -> bool:
    """Executable files that start with `#!` are run, as Ansible's script plugin does."""
    if not (path.is_file() and os.access(path, os.X_OK)):
        return False
    with path.open("rb") as handle:
        return handle.read(2) == b"#!"


def run_inventory_script(path: Path, inventory: InventoryData) -> None:
    data = _run_json(path, "--list")
    if not isinstance(data, dict):
        raise InputError(
            f"inventory script printed {type(data).__name__} for --list, expected a JSON object",
            Position(str(path)),
        )
    meta = data.get("_meta")
    hostvars = meta.get("hostvars") if isinstance(meta, dict) else None
    seen: list[str] = []
    for group, body in data.items():
        if group != "_meta":
            seen.extend(_add_group(path, inventory, str(group), body))
    for name in dict.fromkeys(seen):
        host_vars = hostvars.get(name, {}) if isinstance(hostvars, dict) else None
        if host_vars is None:
            host_vars = _run_json(path, "--host", name)
        if not isinstance(host_vars, dict):
            raise InputError(
                f"inventory script gave variables of host '{name}' as "
                f"{type(host_vars).__name__}, expected a JSON object",
                Position(str(path)),
            )
        inventory.hosts[name].set_vars(host_vars, Position(str(path)))


def _add_group(path: Path, inventory: InventoryData, group: str, body: Any) -> list[str]:
    inventory.add_group(group, Position(str(path)))
    if not isinstance(body, dict):
        body = {"hosts": body}
    elif not any(key in body for key in ("hosts", "vars", "children")):
        body = {"hosts": [group], "vars": body}  # Ansible's shorthand: a host with its vars
    hosts = body.get("hosts") or []
    variables = body.get("vars") or {}
    children = body.get("children") or []
    if not isinstance(hosts, list) or not isinstance(variables, dict) or not isinstance(
        children, list
    ):
        raise InputError(
            f"inventory script: group '{group}' needs 'hosts' and 'children' as lists and "
            "'vars' as an object",
            Position(str(path)),
        )
    names = [str(h) for h in hosts]
    for name in names:
        inventory.add_host(name, group, Position(str(path)), path)
    for key, value in variables.items():
        inventory.set_group_var(group, str(key), value, Position(str(path)))
    for child in children:
        inventory.add_child(group, str(child), Position(str(path)))
    return names


def _run_json(path: Path, *args: str) -> Any:
    command = " ".join([str(path), *args])
    try:
        proc = subprocess.run(
            [str(path.resolve()), *args],
            capture_output=True,
            timeout=SCRIPT_TIMEOUT_SECONDS,
            cwd=path.parent,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"inventory script '{command}' did not finish in {SCRIPT_TIMEOUT_SECONDS}s",
            Position(str(path)),
        ) from None
    except OSError as exc:
        raise InputError(f"cannot run inventory script '{command}': {exc.strerror}",
                         Position(str(path))) from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise InputError(
            f"inventory script '{command}' exited with status {proc.returncode}"
            + ("".join(f"\n  {line}" for line in stderr)),
            Position(str(path)),
        )
    try:
        return json.loads(proc.stdout.decode("utf-8", "replace"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"inventory script '{command}' printed invalid JSON at output line {exc.lineno}, "
            f"column {exc.colno}: {exc.msg}",
            Position(str(path)),
        ) from None
