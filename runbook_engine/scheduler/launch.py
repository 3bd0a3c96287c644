"""Start a run as a child process: an ordinary `runbook run`, journaled under a given id.

The scheduler and the HTTP API both start runs this way, so a scheduled or triggered run
takes the same host locks, writes the same journal and sends the same notifications as
one typed in a terminal. Stopping one is a SIGTERM: the child ends cleanly (exit 130) and
its journal marks it interrupted, ready for `runbook resume`.

Each child writes its events as JSON lines to `<log_dir>/<run_id>.jsonl` and its
messages (input errors, warnings) to `<run_id>.err`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunSpec:
    playbook: Path
    inventory: list[str] = field(default_factory=list)
    limit: str | None = None
    extra_vars: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    check: bool = False
    trigger: str = "cli"


def param_text(value: Any) -> str:
    """How a parameter value is written after `-p name=`: lists as JSON, bools lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def run_command(spec: RunSpec, run_id: str) -> list[str]:
    command = [sys.executable, "-m", "runbook_engine", "run", str(spec.playbook)]
    for inventory in spec.inventory:
        command += ["-i", inventory]
    if spec.limit:
        command += ["--limit", spec.limit]
    if spec.extra_vars:
        command += ["-e", json.dumps(spec.extra_vars)]
    for name, value in spec.params.items():
        command += ["-p", f"{name}={param_text(value)}"]
    if spec.check:
        command.append("--check")
    command += ["--format", "jsonl", "--non-interactive", "--trigger", spec.trigger,
                "--run-id", run_id]
    return command


@dataclass
class ChildRun:
    run_id: str
    process: subprocess.Popen[bytes]
    events_path: Path
    errors_path: Path
    started: float = field(default_factory=time.monotonic)
    terminated_at: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def terminate(self) -> None:
        """Ask the run to stop cleanly (it marks itself interrupted and resumable)."""
        if self.process.poll() is None:
            self.terminated_at = self.terminated_at or time.monotonic()
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()

    def error_text(self, limit: int = 4000) -> str:
        try:
            return self.errors_path.read_text(encoding="utf-8", errors="replace")[-limit:]
        except OSError:
            return ""


def start_run(spec: RunSpec, run_id: str, log_dir: Path) -> ChildRun:
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    events_path = log_dir / f"{run_id}.jsonl"
    errors_path = log_dir / f"{run_id}.err"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with os.fdopen(os.open(events_path, flags, 0o600), "wb") as events, \
            os.fdopen(os.open(errors_path, flags, 0o600), "wb") as errors:
        # A session of its own: a Ctrl-C meant for the parent is not delivered to the
        # child too; the parent decides when and how its children stop.
        process = subprocess.Popen(run_command(spec, run_id), stdin=subprocess.DEVNULL,
                                   stdout=events, stderr=errors, start_new_session=True)
    return ChildRun(run_id, process, events_path, errors_path)
