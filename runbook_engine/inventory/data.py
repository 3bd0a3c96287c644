"""The inventory's structure as sources add to it: groups, hosts, parent/child links.

Every format parser (YAML, INI, script, host list) feeds one `InventoryData`; `reconcile`
then applies Ansible's implicit rules (`all`, `ungrouped`) and computes group depths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError, Position
from runbook_engine.loader.yaml_source import YamlMap

ALL = "all"
UNGROUPED = "ungrouped"
PRIORITY_VAR = "ansible_group_priority"


@dataclass(slots=True)
class Group:
    """An inventory group: its variables, hosts and child groups."""

    name: str
    position: Position | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    var_positions: dict[str, Position] = field(default_factory=dict)  # where each was set
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    priority: int = 1
    depth: int = 0


@dataclass(slots=True)
class Host:
    """An inventory host: its variables and the groups it is in directly."""

    name: str
    position: Position | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)  # direct memberships only
    source: Path | None = None  # the inventory file that declared it first
    implicit: bool = False
    var_positions: dict[str, Position] = field(default_factory=dict)  # where each was set

    def set_vars(
        self,
        values: Mapping[str, Any],
        position: Position | None,
        positions: Mapping[str, Position] | None = None,
    ) -> None:
        """Set variables read at `position`; `positions` (or a YAML mapping's own key
        positions) say where each one was written, when known more precisely."""
        self.vars.update(values)
        if positions is None:
            positions = values.key_positions if isinstance(values, YamlMap) else {}
        for name in values:
            where = positions.get(name) or position
            if where is not None:
                self.var_positions[name] = where
            else:
                self.var_positions.pop(name, None)


class InventoryData:
    """Groups and hosts in declaration order (that order is the inventory order)."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.hosts: dict[str, Host] = {}
        self.add_group(ALL)
        self.add_group(UNGROUPED)

    def add_group(self, name: str, position: Position | None = None) -> Group:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = Group(name, position)
        elif group.position is None:
            group.position = position
        return group

    def add_host(
        self,
        name: str,
        group: str | None = None,
        position: Position | None = None,
        source: Path | None = None,
    ) -> Host:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = Host(name, position, source=source)
        if group and group != ALL:
            owner = self.add_group(group)
            if name not in owner.hosts:
                owner.hosts.append(name)
                host.groups.append(group)
        return host

    def add_child(self, parent: str, child: str, position: Position | None = None) -> None:
        if child == ALL:
            raise InputError(f"group '{ALL}' cannot be a child of '{parent}'", position,
                             hint=f"every group is already a descendant of '{ALL}'")
        cycle = self._path(child, parent)
        if cycle is not None:
            chain = " -> ".join([parent, *cycle])
            raise InputError(
                f"group '{child}' cannot be a child of '{parent}': that makes a cycle ({chain})",
                position,
                hint="a group cannot contain itself, directly or through its children",
            )
        parent_group, child_group = self.add_group(parent), self.add_group(child, position)
        if child not in parent_group.children:
            parent_group.children.append(child)
            child_group.parents.append(parent)

    def set_group_var(self, group: str, key: str, value: Any, position: Position | None) -> None:
        if key == PRIORITY_VAR:
            try:
                self.add_group(group).priority = int(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"{PRIORITY_VAR} of group '{group}' must be an integer, got {value!r}",
                    position,
                ) from None
            return
        owner = self.add_group(group)
        owner.vars[key] = value
        if position is not None:
            owner.var_positions[key] = position
        else:
            owner.var_positions.pop(key, None)

    def _path(self, start: str, goal: str, seen: set[str] | None = None) -> list[str] | None:
        """Names from `start` down to `goal` through children, or None if unreachable."""
        if start == goal:
            return [start]
        seen = set() if seen is None else seen
        group = self.groups.get(start)
        if group is None or start in seen:
            return None
        seen.add(start)
        for child in group.children:
            rest = self._path(child, goal, seen)
            if rest is not None:
                return [start, *rest]
        return None

    def reconcile(self) -> None:
        """Apply the implicit rules: top-level groups under `all`; hosts with no other group
        in `ungrouped`; depth = longest distance from `all`."""
        for name, group in self.groups.items():
            if name != ALL and not group.parents:
                self.add_child(ALL, name)
        ungrouped = self.groups[UNGROUPED]
        for host in self.hosts.values():
            others = [g for g in host.groups if g != UNGROUPED]
            if others and UNGROUPED in host.groups:
                host.groups.remove(UNGROUPED)
                ungrouped.hosts.remove(host.name)
            elif not others and not host.groups:
                self.add_host(host.name, UNGROUPED)
        self._compute_depths()

    def _compute_depths(self) -> None:
        pending = [ALL]
        self.groups[ALL].depth = 0
        while pending:
            name = pending.pop()
            group = self.groups[name]
            for child in group.children:
                child_group = self.groups[child]
                if child_group.depth < group.depth + 1:
                    child_group.depth = group.depth + 1
                    pending.append(child)
