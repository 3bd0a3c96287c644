"""Emit the events the executor emits, through a real EventBus, into a JournalSink."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.journal import JournalSink
from runbook_engine.state import Store

REPO_ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0


def runbook(state_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`runbook ARGV` as a user runs it, on the store at `state_url`."""
    env = {**os.environ, "RUNBOOK_STATE_URL": state_url}
    return subprocess.run([sys.executable, "-m", "runbook_engine", *argv], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


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


def record_aged_run(store: Store, run_id: str, playbook: str, age_days: float, *,
                    exit_code: int = 0, **run_start: str) -> None:
    """A finished run of two hosts with a registered result, started `age_days` ago.
    `run_start`: more of the run's start (`trigger`, `resumed_from`)."""
    bus = EventBus([JournalSink(store)])
    start(bus, run_id, playbook=playbook, **run_start)
    play(bus, ["web1", "web2"])
    task(bus, "t1", "check app", ["web1", "web2"])
    for host in ("web1", "web2"):
        on_host(bus, "t1", "check app", host, Result(rc=0, stdout=f"ok on {host}"),
                registered="check")
    end(bus, exit_code)
    store.db.execute("UPDATE runs SET started_at = ?, ended_at = ? WHERE id = ?",
                     (time.time() - age_days * DAY, time.time() - age_days * DAY + 5, run_id))
