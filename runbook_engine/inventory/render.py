"""What `runbook inventory` prints: ansible-inventory's --list, --graph and --host views.

Values are made plain for JSON / YAML, and `!vault` values are masked, never printed.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError, did_you_mean
from runbook_engine.inventory.data import ALL
from runbook_engine.inventory.inventory import Inventory
from runbook_engine.loader.yaml_source import VaultTagged

VAULT_MASK = "<vaulted>"


def plain(value: Any) -> Any:
    """Builtin types only (for dumpers), with every vaulted value replaced by a mask."""
    if isinstance(value, VaultTagged):
        return VAULT_MASK
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value)


def visible_hosts(inventory: Inventory, limit: str | None) -> list[str]:
    if not limit:
        return inventory.hosts
    return inventory.select(ALL, limit=limit)


def list_view(inventory: Inventory, limit: str | None = None) -> dict[str, Any]:
    """`--list` as JSON: each group's direct hosts and children, `_meta.hostvars`."""
    hosts = visible_hosts(inventory, limit)
    shown = set(hosts)
    result: dict[str, Any] = {"_meta": {"hostvars": {}}}
    for host in hosts:
        variables = inventory.host_vars(host)
        if variables:
            result["_meta"]["hostvars"][host] = plain(variables)
    for name, group in inventory.group_objects.items():
        entry: dict[str, Any] = {}
        members = [h for h in group.hosts if h in shown]
        if members and name != ALL:
            entry["hosts"] = members
        if group.children:
            entry["children"] = list(group.children)
        if entry:
            result[name] = entry
    return result


def yaml_list_view(inventory: Inventory, limit: str | None = None) -> dict[str, Any]:
    """`--list --yaml`: the YAML inventory format, each host's variables written once."""
    hosts = set(visible_hosts(inventory, limit))
    written: set[str] = set()
    groups = inventory.group_objects

    def render(name: str) -> dict[str, Any]:
        group, entry = groups[name], {}
        members = [h for h in group.hosts if h in hosts]
        if members:
            entry["hosts"] = {}
            for host in members:
                entry["hosts"][host] = None if host in written else plain(
                    inventory.host_vars(host)) or None
                written.add(host)
        if group.children:
            entry["children"] = {child: render(child) or None for child in group.children}
        return entry

    return {ALL: render(ALL)}


def graph_lines(inventory: Inventory, group: str = ALL, show_vars: bool = False) -> list[str]:
    """`--graph`: the group tree, children and hosts sorted by name, as ansible-inventory."""
    groups = inventory.group_objects
    if group not in groups:
        raise InputError(
            f"group '{group}' is not in the inventory",
            hint=did_you_mean(group, groups) or f"groups: {', '.join(groups)}",
        )
    lines: list[str] = []

    def walk(name: str, depth: int) -> None:
        indent = "  |" * depth
        lines.append(f"{indent}{'--' if depth else ''}@{name}:")
        record = groups[name]
        if show_vars:
            lines.extend(_var_lines(record.vars, depth + 1))
        for child in sorted(record.children):
            walk(child, depth + 1)
        for host in sorted(record.hosts):
            lines.append(f"{'  |' * (depth + 1)}--{host}")
            if show_vars:
                lines.extend(_var_lines(inventory.get_host(host).vars, depth + 2))

    walk(group, 0)
    return lines


def _var_lines(variables: dict[str, Any], depth: int) -> list[str]:
    return [f"{'  |' * depth}--{{{k} = {plain(v)}}}" for k, v in sorted(variables.items())]


def masking_vault_decoder(password_file: Path | None) -> Callable[[str, Path], str] | None:
    """For display only: decrypt whole-file vaulted inventories and vars files, but hand
    back their values masked, so the listing shows the names and never the secrets."""
    from runbook_engine import vault

    if password_file is not None:
        secret = vault.read_password_file(password_file)
    elif os.environ.get(vault.PASSWORD_ENV):
        secret = vault.VaultSecret(os.environ[vault.PASSWORD_ENV].encode())
    else:
        return None
    secrets = vault.VaultSecrets([secret])

    def decode(text: str, path: Path) -> str:
        import yaml

        data = yaml.safe_load(vault.decrypt(text, secrets))
        return yaml.safe_dump(_mask_leaves(data))

    return decode


def _mask_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_leaves(v) for v in value]
    return None if value is None else VAULT_MASK
