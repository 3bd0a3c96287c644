"""Emit the events the executor emits, through a real EventBus, into a JournalSink."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result

REPO_ROOT = Path(__file__).resolve().parents[2]


def start(bus: EventBus, run_id: str, **extra: Any) -> None:
    data: dict[str, Any] = {
        "run_id": run_id, "playbook": "playbooks/patch.yml", "playbook_sha256": "ab" * 32,
        "inventory": "inventories/prod.yml", "limit": "web*", "tags": ["patch"],
        "skip_tags": [], "check": False, "diff": True, "extra_vars": {"release": "1.2"},
        "params": {"ticket": "OPS-1"},
    }
    data.update(extra)
    bus.emit("run_start", **data)


def play(bus: EventBus, hosts: list[str]) -> None:
    bus.emit("play_start", play="patch", name="patch", hosts=hosts, serial_batches=[hosts])


def task(bus: EventBus, task_id: str, name: str, hosts: list[str], module: str = "command") -> None:
    bus.emit("task_start", play="patch", task=name, task_id=task_id, name=name, module=module,
             position=f"patch.yml:{task_id}", hosts=hosts, handler=False)


def on_host(
    bus: EventBus, task_id: str, name: str, host: str, result: Result, *,
    registered: str | None = None, facts: dict[str, Any] | None = None, no_log: bool = False,
    item: str | None = None, start: bool = True,
) -> None:
    if start:
        bus.emit("host_task_start", play="patch", task=name, host=host, task_id=task_id)
    status = ("failed" if result.failed else "skipped" if result.skipped
              else "changed" if result.changed else "ok")
    data: dict[str, Any] = {
        "task_id": task_id, "status": status, "result": result, "duration": 0.25,
        "item": item, "ignored": False, "rescued": False, "registered": registered,
        "facts": facts or {},
    }
    if registered and not no_log:
        data["register_value"] = result.registered()
    bus.emit("host_result", play="patch", task=name, host=host, **data)


def end(bus: EventBus, exit_code: int) -> None:
    bus.emit("run_end", stats={}, exit_code=exit_code, duration=1.5)
