"""The loaded inventory: hosts, groups, merged variables and host pattern selection.

Variable precedence (lowest first), as Ansible's defaults:
  `all` inline vars < other groups' inline vars < group_vars/all < group_vars/<group>
  < host inline vars < host_vars/<host>.
Groups merge by (depth, ansible_group_priority, name): a child overrides its parents.
group_vars/ and host_vars/ beside the inventory come before those beside the playbook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from runbook_engine.errors import InputError, Position, did_you_mean
from runbook_engine.inventory.data import ALL, Group, Host, InventoryData
from runbook_engine.inventory.limit import limit_terms
from runbook_engine.inventory.patterns import (
    LOCALHOST_NAMES,
    Atom,
    apply_subscript,
    compile_matcher,
    parse_atoms,
)
from runbook_engine.loader.yaml_source import YamlMap

VarsLayer = dict[str, dict[str, Any]]  # entity name -> variables from one vars directory


class Inventory:
    """Read-only after loading; merged variables are computed once per host and cached."""

    def __init__(
        self,
        data: InventoryData,
        group_layers: Sequence[VarsLayer] = (),
        host_layers: Sequence[VarsLayer] = (),
        sources: Sequence[str] = (),
    ) -> None:
        self._data = data
        self._group_layers = list(group_layers)
        self._host_layers = list(host_layers)
        self.sources = list(sources)
        self._order = {name: index for index, name in enumerate(data.hosts)}
        self._implicit: dict[str, Host] = {}
        self._vars_cache: dict[str, dict[str, Any]] = {}
        self._ancestors_cache: dict[str, frozenset[str]] = {}

    # --- structure -------------------------------------------------------------------

    @property
    def hosts(self) -> list[str]:
        """Every host declared, in inventory order (not the implicit localhost)."""
        return list(self._data.hosts)

    @property
    def group_objects(self) -> dict[str, Group]:
        return self._data.groups

    @cached_property
    def groups(self) -> dict[str, list[str]]:
        """The `groups` magic variable: each group with every host in it or its
        descendants, in inventory order."""
        result: dict[str, list[str]] = {name: [] for name in self._data.groups}
        for host in self._data.hosts.values():
            result[ALL].append(host.name)
            for group in self._host_groups(host):
                result[group].append(host.name)
        return result

    def has_host(self, name: str) -> bool:
        return name in self._data.hosts

    def get_host(self, name: str) -> Host:
        """A declared host, or the implicit localhost (local connection) when undeclared."""
        host = self._data.hosts.get(name) or self._implicit.get(name)
        if host is not None:
            return host
        if name in LOCALHOST_NAMES:
            host = Host(name, vars={"ansible_connection": "local"}, implicit=True)
            self._implicit[name] = host
            return host
        raise InputError(
            f"host '{name}' is not in the inventory",
            hint=did_you_mean(name, self._data.hosts) or f"inventory: {', '.join(self.sources)}",
        )

    def group_names(self, host: str) -> list[str]:
        """The `group_names` magic variable: every group the host is in, sorted, not `all`."""
        return sorted(self._host_groups(self.get_host(host)))

    def magic_vars(self, host: str) -> dict[str, Any]:
        """The inventory's magic variables for one host."""
        record = self.get_host(host)
        result: dict[str, Any] = {
            "inventory_hostname": host,
            "inventory_hostname_short": host.split(".", 1)[0],
            "group_names": self.group_names(host),
            "groups": self.groups,
        }
        if record.source is not None:
            result["inventory_file"] = str(record.source)
            result["inventory_dir"] = str(record.source.parent)
        return result

    # --- variables -------------------------------------------------------------------

    def host_vars(self, name: str) -> dict[str, Any]:
        """Inventory-level variables of a host, merged by precedence (a fresh shallow copy;
        values are kept as loaded, `!vault` values included)."""
        cached = self._vars_cache.get(name)
        if cached is None:
            cached = self._vars_cache[name] = self._merge_vars(self.get_host(name))
        return dict(cached)

    def var_position(self, name: str, variable: str) -> Position | None:
        """Where the value of `variable` that host `name` gets was written (the source
        that wins by precedence), when known."""
        for values, positions in reversed(self._var_sources(self.get_host(name))):
            if variable in values:
                return positions.get(variable)
        return None

    def _merge_vars(self, host: Host) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for values, _ in self._var_sources(host):
            merged.update(values)
        return merged

    def _var_sources(self, host: Host) -> list[tuple[Mapping[str, Any], Mapping[str, Position]]]:
        """A host's variable sources, lowest precedence first, each with where its
        variables were written."""
        groups = self._data.groups
        ordered = sorted(
            (groups[g] for g in self._host_groups(host)),
            key=lambda g: (g.depth, g.priority, g.name),
        )
        return [
            (groups[ALL].vars, groups[ALL].var_positions),
            *((group.vars, group.var_positions) for group in ordered),
            *(_with_positions(layer.get(ALL)) for layer in self._group_layers),
            *(_with_positions(layer.get(group.name))
              for layer in self._group_layers for group in ordered),
            (host.vars, host.var_positions),
            *(_with_positions(layer.get(host.name)) for layer in self._host_layers),
        ]

    def _host_groups(self, host: Host) -> frozenset[str]:
        """Every group the host is in, directly or through a child group, except `all`."""
        found: set[str] = set()
        for group in host.groups:
            found |= self._ancestors(group)
        found.discard(ALL)
        return frozenset(found)

    def _ancestors(self, group: str) -> frozenset[str]:
        cached = self._ancestors_cache.get(group)
        if cached is None:
            found = {group}
            for parent in self._data.groups[group].parents:
                found |= self._ancestors(parent)
            cached = self._ancestors_cache[group] = frozenset(found)
        return cached

    # --- patterns --------------------------------------------------------------------

    def select(
        self,
        pattern: str | Sequence[str],
        limit: str | None = None,
        position: Position | None = None,
        *,
        allow_empty: bool = False,
    ) -> list[str]:
        """Hosts matching `pattern` (and `limit`, if given), deduplicated, in inventory
        order. A term naming nothing known, a pattern or limit that matches no host, is an
        InputError. A limit that leaves none of the pattern's hosts gives [] (as Ansible, the
        play is skipped: the limit may target another play of the playbook)."""
        selected = self._evaluate(pattern, position)
        if not selected and not allow_empty:
            raise InputError(
                f"host pattern '{_show(pattern)}' matches no hosts",
                position,
                hint="the groups it names are empty, or its terms exclude every host",
            )
        if limit:
            allowed = self._limit_hosts(limit)
            if not allowed and not allow_empty:
                raise InputError(f"--limit '{limit}' matches no hosts",
                                 hint="the groups it names are empty, or it excludes every host")
            selected = [h for h in selected if h in allowed]
        return selected

    def _limit_hosts(self, limit: str) -> set[str]:
        terms = limit_terms(limit)
        for term, where in terms:
            if where is not None:  # a line of an @file: check it alone to report file:line
                self._evaluate(term, where, what="--limit")
        return set(self._evaluate([term for term, _ in terms], None, what="--limit"))

    def _evaluate(
        self, pattern: str | Sequence[str], position: Position | None, what: str = "host pattern"
    ) -> list[str]:
        hosts: dict[str, None] = {}
        for atom in parse_atoms(pattern, position):
            matched = self._match_atom(atom, position, what)
            if atom.op == "":
                hosts.update(dict.fromkeys(matched))
            elif atom.op == "&":
                keep = set(matched)
                hosts = {h: None for h in hosts if h in keep}
            else:
                drop = set(matched)
                hosts = {h: None for h in hosts if h not in drop}
        return sorted(hosts, key=lambda h: self._order.get(h, len(self._order)))

    def _match_atom(self, atom: Atom, position: Position | None, what: str) -> list[str]:
        groups = self.groups
        if atom.expr in groups:
            return apply_subscript(groups[atom.expr], atom, position)
        if atom.expr in self._data.hosts:
            return apply_subscript([atom.expr], atom, position)
        found: dict[str, None] = {}
        if atom.is_regex or atom.is_glob:
            matches = compile_matcher(atom.expr, position)
            for group, members in groups.items():
                if matches(group):
                    found.update(dict.fromkeys(members))
            found.update((h, None) for h in self._data.hosts if matches(h))
        elif atom.expr in LOCALHOST_NAMES:
            found[self.get_host(atom.expr).name] = None
        if not found and not self._names_a_known_group(atom):
            names = [*groups, *self._data.hosts]
            raise InputError(
                f"{what} '{atom.text}' matches no host or group in the inventory",
                position,
                hint=did_you_mean(atom.expr, names) or _known_groups_hint(groups),
            )
        ordered = sorted(found, key=lambda h: self._order.get(h, len(self._order)))
        return apply_subscript(ordered, atom, position)

    def _names_a_known_group(self, atom: Atom) -> bool:
        if not (atom.is_regex or atom.is_glob):
            return False
        matches = compile_matcher(atom.expr)
        return any(matches(g) for g in self._data.groups)


def _show(pattern: str | Sequence[str]) -> str:
    return pattern if isinstance(pattern, str) else ",".join(pattern)


def _known_groups_hint(groups: dict[str, list[str]]) -> str:
    names = [g for g in groups if g not in (ALL, "ungrouped")]
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"groups in this inventory: {shown}" if names else "this inventory has no groups"


def _with_positions(
    values: Mapping[str, Any] | None,
) -> tuple[Mapping[str, Any], Mapping[str, Position]]:
    if values is None:
        return {}, {}
    return values, values.key_positions if isinstance(values, YamlMap) else {}
