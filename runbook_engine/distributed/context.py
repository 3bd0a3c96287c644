"""The minimal run context a worker rebuilds around one task: a PlayRun whose runner
holds the shipped inventory slice, options and host states (the controller's own objects
stay on the controller)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runbook_engine.connection.base import Connection
from runbook_engine.executor.runner import HostState, PlayRun, RunOptions
from runbook_engine.loader.model import Playbook
from runbook_engine.secrets import SecretRegistry
from runbook_engine.templating import Templar


class InventorySlice:
    """The inventory as far as one task needs it: every host's name, the groups, and the
    variables of the hosts the task may touch (itself, its delegate; all of the batch
    when the playbook reads `hostvars`)."""

    def __init__(self, hosts: list[str], groups: Mapping[str, list[str]],
                 host_vars: Mapping[str, dict[str, Any]]) -> None:
        self.hosts = hosts
        self.groups = dict(groups)
        self._host_vars = host_vars

    def group_names(self, host: str) -> list[str]:
        return sorted(g for g, members in self.groups.items() if host in members)

    def host_vars(self, host: str) -> dict[str, Any]:
        return dict(self._host_vars.get(host, {}))


class CollectingRegistry(SecretRegistry):
    """Secrets learnt on the worker (vault reveals, become passwords), to send back."""

    def __init__(self) -> None:
        super().__init__()
        self.learnt: list[str] = []

    def add(self, value: Any) -> None:
        if value is not None and str(value) and str(value) not in self:
            self.learnt.append(str(value))
        super().add(value)


class CollectingBus:
    """Events a module emits through ctx.emit, replayed by the controller."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, kind: str, **data: Any) -> None:
        self.events.append((kind, data))


class WorkerRunner:
    """Stands in for PlaybookRunner: the attributes a PlayRun and a TaskRunner read."""

    def __init__(self, playbook: Playbook, inventory: InventorySlice, options: RunOptions,
                 templar: Templar, secrets: SecretRegistry, reveal: Callable[[Any], Any],
                 connect: Callable[[str], Connection], states: dict[str, HostState]) -> None:
        self.playbook = playbook
        self.inventory = inventory
        self.options = options
        self.templar = templar
        self.secrets = secrets
        self.reveal = reveal
        self.run_id = options.run_id
        self.bus = CollectingBus()
        self.hosts = states
        self._connect = connect
        self.connections = self  # PlayRun.connection() calls runner.connections.get(host)

    def get(self, host: str) -> Connection:
        return self._connect(host)

    def host(self, name: str) -> HostState:
        state = self.hosts.get(name)
        if state is None:
            state = self.hosts[name] = HostState(name)
        return state


def play_run(runner: WorkerRunner, play_index: int, play_hosts: list[str],
             batch: list[str]) -> PlayRun:
    run = PlayRun(runner, runner.playbook.plays[play_index], play_hosts)  # type: ignore[arg-type]
    run.batch[:] = batch
    return run


def bundle_playbook_dir(playbook: Playbook) -> Path:
    return playbook.path.parent
