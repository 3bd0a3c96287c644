"""Ansible's YAML inventory: `all: {hosts, vars, children}`, groups nested under children."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError, Position, did_you_mean
from runbook_engine.inventory.data import InventoryData
from runbook_engine.inventory.ranges import expand_host_range
from runbook_engine.loader.yaml_source import YamlMap, position_of

GROUP_KEYS = ("hosts", "vars", "children")
_HOST_PORT = re.compile(r"^(?P<name>[^:]+):(?P<port>\d+)$")


def parse_yaml_inventory(data: Any, path: Path, inventory: InventoryData) -> None:
    """Add the groups and hosts of one loaded YAML inventory document."""
    if data is None:
        return
    if not isinstance(data, YamlMap):
        raise InputError(
            f"a YAML inventory is a mapping of group names, got {_kind(data)}",
            position_of(data) or Position(str(path)),
            hint="start the file with 'all:' and put hosts, vars and children under it",
        )
    parser = _YamlInventoryParser(path, inventory)
    for name, body in data.items():
        parser.group(_name(name, data.pos(name), "group"), body, data.pos(name))


class _YamlInventoryParser:
    def __init__(self, path: Path, inventory: InventoryData) -> None:
        self.path = path
        self.inventory = inventory

    def group(self, name: str, body: Any, position: Position | None) -> None:
        self.inventory.add_group(name, position)
        if body is None:
            return
        if not isinstance(body, YamlMap):
            raise InputError(
                f"group '{name}' must be a mapping with {_keys()}, got {_kind(body)}",
                position_of(body) or position,
            )
        for key in body:
            if key not in GROUP_KEYS:
                hint = did_you_mean(str(key), GROUP_KEYS, cutoff=0.5)
                raise InputError(
                    f"unknown key '{key}' in group '{name}': a group has only {_keys()}",
                    body.pos(key),
                    hint=hint or "put host names under 'hosts:' and group names under 'children:'",
                )
        self._vars(name, body)
        self._hosts(name, body)
        self._children(name, body)

    def _vars(self, group: str, body: YamlMap) -> None:
        variables = self._mapping(body, "vars", group)
        for key, value in variables.items():
            self.inventory.set_group_var(
                group, _name(key, variables.pos(key), "variable"), value,
                variables.value_pos(key),
            )

    def _hosts(self, group: str, body: YamlMap) -> None:
        hosts = self._mapping(body, "hosts", group)
        for pattern, host_vars in hosts.items():
            position = hosts.pos(pattern)
            pattern = _name(pattern, position, "host")
            if host_vars is not None and not isinstance(host_vars, YamlMap):
                raise InputError(
                    f"variables of host '{pattern}' must be a mapping, got {_kind(host_vars)}",
                    hosts.value_pos(pattern),
                    hint=f"write '{pattern}:' alone, or indent 'name: value' lines under it",
                )
            port = None
            match = _HOST_PORT.match(pattern)
            if match:
                pattern, port = match["name"], int(match["port"])
            for name in expand_host_range(pattern, position):
                host = self.inventory.add_host(name, group, position, self.path)
                if port is not None:
                    host.set_vars({"ansible_port": port}, position)
                if host_vars:
                    host.set_vars(host_vars, position)

    def _children(self, group: str, body: YamlMap) -> None:
        children = self._mapping(body, "children", group)
        for child, child_body in children.items():
            position = children.pos(child)
            child = _name(child, position, "group")
            self.inventory.add_child(group, child, position)
            self.group(child, child_body, position)

    def _mapping(self, body: YamlMap, key: str, group: str) -> YamlMap:
        value = body.get(key)
        if value is None:
            return YamlMap()
        if not isinstance(value, YamlMap):
            example = {"hosts": "web1:", "vars": "http_port: 80", "children": "webservers:"}[key]
            raise InputError(
                f"'{key}' of group '{group}' must be a mapping, got {_kind(value)}",
                body.value_pos(key),
                hint=f"write one '{example}' per line under '{key}:', not a '- item' list",
            )
        return value


def _name(value: Any, position: Position | None, what: str) -> str:
    if isinstance(value, bool) or value is None or not isinstance(value, str | int | float):
        raise InputError(f"a {what} name must be a plain word, got {value!r}", position)
    return str(value)


def _keys() -> str:
    return ", ".join(f"'{k}'" for k in GROUP_KEYS)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
