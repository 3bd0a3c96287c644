"""Ansible's INI inventory: `[group]`, `[group:vars]`, `[group:children]`, `host k=v`."""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError, Position, did_you_mean
from runbook_engine.inventory.data import UNGROUPED, InventoryData
from runbook_engine.inventory.ranges import expand_host_range

SECTION_KINDS = ("hosts", "vars", "children")
_SECTION = re.compile(r"^\[(?P<body>[^\]]*)\]\s*(?:[#;].*)?$")
_HOST_PORT = re.compile(r"^(?P<name>[^:]+):(?P<port>\d+)$")


def parse_value(text: str) -> Any:
    """INI values are Python literals when they parse as one (22, True, [1, 2]), else text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


@dataclass(slots=True)
class _Pending:
    """A reference to a group the file may define further down (Ansible allows that)."""

    kind: str  # "children" or "vars"
    parent: str
    name: str
    value: Any
    position: Position


def parse_ini_inventory(text: str, path: Path, inventory: InventoryData) -> None:
    """Add the groups and hosts of one INI inventory file."""
    _IniParser(path, inventory).parse(text)


class _IniParser:
    def __init__(self, path: Path, inventory: InventoryData) -> None:
        self.path = path
        self.inventory = inventory
        self.pending: list[_Pending] = []

    def pos(self, line: int, column: int = 1) -> Position:
        return Position(str(self.path), line, column)

    def parse(self, text: str) -> None:
        group, kind = UNGROUPED, "hosts"
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            column = raw.index(line[0]) + 1
            if line.startswith("["):
                group, kind = self._section(line, number, column)
            elif kind == "hosts":
                self._host_line(raw, line, group, number, column)
            elif kind == "children":
                self._child_line(line, group, number, column)
            else:
                self._var_line(line, group, number, column)
        self._resolve_pending()

    def _section(self, line: str, number: int, column: int) -> tuple[str, str]:
        match = _SECTION.match(line)
        body = match["body"].strip() if match else ""
        if not match or not body:
            raise InputError(
                f"malformed section header {line!r}",
                self.pos(number, column),
                hint="write [group], [group:vars] or [group:children]",
            )
        name, _, kind = body.partition(":")
        kind = kind or "hosts"
        if kind not in SECTION_KINDS:
            raise InputError(
                f"section [{body}] has unknown type '{kind}'",
                self.pos(number, column + len(name) + 2),
                hint=did_you_mean(kind, SECTION_KINDS, cutoff=0.5)
                or "the types are [group], [group:vars] and [group:children]",
            )
        if not name or any(c.isspace() for c in name):
            raise InputError(f"invalid group name {name!r}", self.pos(number, column + 1))
        if kind != "vars":
            self.inventory.add_group(name, self.pos(number, column))
        return name, kind

    def _host_line(self, raw: str, line: str, group: str, number: int, column: int) -> None:
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InputError(f"cannot read host line: {exc}", self.pos(number, column)) from None
        if not tokens:
            return
        pattern, port = tokens[0], None
        match = _HOST_PORT.match(pattern)
        if match:
            pattern, port = match["name"], int(match["port"])
        host_vars: dict[str, Any] = {}
        var_positions: dict[str, Position] = {}
        for token in tokens[1:]:
            key, sep, value = token.partition("=")
            token_column = raw.find(key) + 1 if key else column
            if not sep or not key:
                raise InputError(
                    f"expected key=value after host '{tokens[0]}', got {token!r}",
                    self.pos(number, token_column or column),
                    hint="one host per line; quote values that contain spaces: key=\"a b\"",
                )
            host_vars[key] = parse_value(value)
            var_positions[key] = self.pos(number, token_column or column)
        line_position = self.pos(number, column)
        for name in expand_host_range(pattern, line_position):
            host = self.inventory.add_host(name, group, line_position, self.path)
            if port is not None:
                host.set_vars({"ansible_port": port}, line_position)
            host.set_vars(host_vars, line_position, var_positions)

    def _child_line(self, line: str, group: str, number: int, column: int) -> None:
        child = _strip_comment(line)
        if not child or any(c.isspace() for c in child):
            raise InputError(
                f"expected one group name per line in [{group}:children], got {line!r}",
                self.pos(number, column),
            )
        self.pending.append(_Pending("children", group, child, None, self.pos(number, column)))

    def _var_line(self, line: str, group: str, number: int, column: int) -> None:
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or any(c.isspace() for c in key):
            raise InputError(
                f"expected key=value in [{group}:vars], got {line!r}",
                self.pos(number, column),
            )
        value = _strip_comment(value.strip())
        self.pending.append(_Pending("vars", group, key, parse_value(value),
                                     self.pos(number, column)))

    def _resolve_pending(self) -> None:
        known = self.inventory.groups
        for item in self.pending:
            if item.kind == "children":
                if item.name not in known:
                    raise InputError(
                        f"[{item.parent}:children] names group '{item.name}', "
                        "which is not defined",
                        item.position,
                        hint=did_you_mean(item.name, known)
                        or f"add a [{item.name}] section, even an empty one",
                    )
                self.inventory.add_child(item.parent, item.name, item.position)
            else:
                if item.parent not in known:
                    raise InputError(
                        f"section [{item.parent}:vars] is for group '{item.parent}', "
                        "which is not defined",
                        item.position,
                        hint=did_you_mean(item.parent, known)
                        or f"add a [{item.parent}] section, even an empty one",
                    )
                self.inventory.set_group_var(item.parent, item.name, item.value, item.position)


def _strip_comment(text: str) -> str:
    """Drop a trailing ' # comment' unless the value is quoted."""
    if text[:1] in "'\"":
        return text
    cut = re.search(r"\s[#;]", text)
    return (text[: cut.start()] if cut else text).strip()
