"""Variable precedence, as one lazy view per host and task.

Seven levels, lowest first (a higher level wins):

1. role defaults          (`roles/x/defaults/main.yml`; the task's own role first)
2. inventory              (all < parent group < child group < host; group_vars/host_vars)
3. play                   (`vars:`, then `vars_files:`)
4. role vars and params   (`roles/x/vars/main.yml`, `- role: x` parameters)
5. block and task vars    (`vars:` on a block, include or task; loop variables)
6. host facts             (gathered facts, `set_fact`, `register`, `include_vars`)
7. extra vars             (`-e`, and runbook parameters `-p`)

Magic variables (`inventory_hostname`, `groups`, `hostvars`...) sit above all of them.
Values written by people (levels 1-5 and 7) are templates, rendered when read, with this
same view; values produced on hosts (level 6) never are: a command that prints `{{` must
not make the engine evaluate it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runbook_engine.templating import Templar, TemplateError

_MARKERS = ("{{", "{%")


def _needs_render(value: Any) -> bool:
    if isinstance(value, str):
        return any(m in value for m in _MARKERS)
    if isinstance(value, Mapping):
        return any(_needs_render(v) or _needs_render(k) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_needs_render(v) for v in value)
    return False


class VarView(Mapping[str, Any]):
    """Layers, highest precedence first: (mapping, is_template_source)."""

    __slots__ = ("_cache", "_layers", "_resolving", "_templar", "_transform")

    def __init__(
        self,
        templar: Templar,
        layers: list[tuple[Mapping[str, Any], bool]],
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        self._templar = templar
        self._layers = layers
        self._cache: dict[str, Any] = {}
        self._resolving: set[str] = set()
        self._transform = transform  # e.g. vault decryption of `!vault` values

    def raw(self, key: str) -> tuple[Any, bool]:
        for data, templated in self._layers:
            if key in data:
                return data[key], templated
        raise KeyError(key)

    def __getitem__(self, key: str) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            pass
        value, templated = self.raw(key)
        if self._transform is not None:
            value = self._transform(value)
        if templated and _needs_render(value):
            if key in self._resolving:
                raise TemplateError(f"variable '{key}' refers to itself (recursive template)")
            self._resolving.add(key)
            try:
                value = self._templar.render(value, self)
            finally:
                self._resolving.discard(key)
        self._cache[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return any(key in data for data, _ in self._layers)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for data, _ in self._layers:
            for key in data:
                if key not in seen:
                    seen.add(key)
                    yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def with_layer(self, data: Mapping[str, Any], templated: bool = False) -> VarView:
        """A view with one more layer on top (loop items, registered results)."""
        return VarView(self._templar, [(data, templated), *self._layers], self._transform)


class LazyHostvars(Mapping[str, Any]):
    """`hostvars`: every host's variables, built only for the hosts a template reads."""

    def __init__(self, hosts: list[str], build: Callable[[str], Mapping[str, Any]]) -> None:
        self._hosts = hosts
        self._build = build
        self._views: dict[str, Mapping[str, Any]] = {}

    def __getitem__(self, host: str) -> Mapping[str, Any]:
        if host not in self._views:
            if host not in self._hosts:
                raise KeyError(host)
            self._views[host] = self._build(host)
        return self._views[host]

    def __iter__(self) -> Iterator[str]:
        return iter(self._hosts)

    def __len__(self) -> int:
        return len(self._hosts)


class Omit(str):
    """The `omit` placeholder: a module argument that renders to it is left out."""

    __slots__ = ()


OMIT = Omit("__omit_place_holder__")
