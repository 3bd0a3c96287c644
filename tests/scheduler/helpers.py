"""Shared by the scheduler and API tests: playbooks, polling, the history of a state dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

RUNBOOK = [sys.executable, "-m", "runbook_engine"]

# Writes a marker file, then (optionally) waits: long enough to be stopped mid-task.
MARKER_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars:
    pause: 0
  tasks:
    - name: write marker
      shell: echo "{{ ansible_run_id }}" >> {{ marker }}
    - name: hold
      command: sleep {{ pause }}
      when: pause | int > 0
"""


def write_playbook(directory: Path, name: str = "marker.yml") -> Path:
    path = directory / name
    path.write_text(MARKER_PLAYBOOK, encoding="utf-8")
    return path


def wait_until(probe: Callable[[], T], timeout: float = 60, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def runs(state_dir: Path, trigger: str | None = None) -> list[Any]:
    """Run records in this state dir's history (newest first), optionally by trigger."""
    from runbook_engine.state.db import SqliteDatabase
    from runbook_engine.state.store import Store

    path = state_dir / "state.db"
    if not path.exists():
        return []
    with Store(SqliteDatabase(path)) as store:
        records = store.list_runs(limit=100)
    return [r for r in records if trigger is None or r.trigger == trigger]


def runbook_env(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RUNBOOK_STATE_DIR"] = str(state_dir)
    env.pop("RUNBOOK_STATE_URL", None)
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.pop("RUNBOOK_NOTIFY_URLS", None)
    return env


def runbook(args: list[str], state_dir: Path, cwd: Path,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RUNBOOK, *args], cwd=cwd, env=runbook_env(state_dir),
                          capture_output=True, text=True, timeout=timeout)
