"""Runs started through the API: child processes, their event files, their outcome.

A run is an ordinary `runbook run` child (see scheduler/launch.py) with the trigger
`api:<token name>`. Beside its events file the manager keeps `<run_id>.meta.json` (which
whitelisted playbook, which token) and, once it ended, `<run_id>.exit`, so a restarted
server still knows the runs it started.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_engine.api.config import PlaybookEntry
from runbook_engine.scheduler.launch import ChildRun, RunSpec, start_run

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Launched:
    run_id: str
    playbook: str
    token: str
    exit_code: int | None
    error: str


class RunManager:
    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self._children: dict[str, ChildRun] = {}
        self._lock = threading.Lock()

    def start(self, name: str, entry: PlaybookEntry, token: str, *, params: dict[str, Any],
              extra_vars: dict[str, Any], limit: str | None, check: bool) -> str:
        from runbook_engine.state.store import new_run_id

        run_id = new_run_id()
        spec = RunSpec(playbook=entry.playbook, inventory=list(entry.inventory),
                       limit=combined_limit(entry.limit, limit), extra_vars=extra_vars,
                       params=params, check=check or entry.check, trigger=f"api:{token}")
        self.runs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._meta_path(run_id).write_text(
            json.dumps({"playbook": name, "token": token, "requested_at": time.time()}))
        child = start_run(spec, run_id, self.runs_dir)
        with self._lock:
            self._children[run_id] = child
        threading.Thread(target=self._wait, args=(child,), daemon=True,
                         name=f"run-{run_id}").start()
        return run_id

    def _wait(self, child: ChildRun) -> None:
        code = child.process.wait()
        self._exit_path(child.run_id).write_text(str(code))
        with self._lock:
            self._children.pop(child.run_id, None)

    def _meta_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.meta.json"

    def _exit_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.exit"

    def launched(self, run_id: str) -> Launched | None:
        """A run this server started, or None (also for ids that are not run ids)."""
        if not RUN_ID_PATTERN.match(run_id):
            return None
        try:
            meta = json.loads(self._meta_path(run_id).read_text())
        except (OSError, ValueError):
            return None
        code = self.exit_code(run_id)
        error = ""
        if code not in (None, 0):
            try:
                error = (self.runs_dir / f"{run_id}.err").read_text(errors="replace")[-4000:]
            except OSError:
                error = ""
        return Launched(run_id, str(meta.get("playbook")), str(meta.get("token")), code, error)

    def exit_code(self, run_id: str) -> int | None:
        try:
            return int(self._exit_path(run_id).read_text())
        except (OSError, ValueError):
            return None

    def event_lines(self, run_id: str) -> Iterator[str | None]:
        """The run's JSON lines as they are written; None while waiting for more.

        Ends when the child has exited (or is not ours) and every line was read.
        """
        path = self.runs_dir / f"{run_id}.jsonl"
        pending = ""
        with open(path, encoding="utf-8") as handle:
            while True:
                chunk = handle.readline()
                if chunk:
                    pending += chunk
                    if pending.endswith("\n"):
                        yield pending
                        pending = ""
                    continue
                if self._ended(run_id):
                    rest = handle.read()
                    if pending + rest:
                        yield pending + rest if (pending + rest).endswith("\n") else \
                            pending + rest + "\n"
                    return
                yield None

    def _ended(self, run_id: str) -> bool:
        """Exited, or not a child of this server (started by one that was restarted)."""
        with self._lock:
            ours = run_id in self._children
        return not ours or self.exit_code(run_id) is not None

    def shutdown(self, timeout: float = 60.0) -> None:
        """SIGTERM every run still going (each ends interrupted, resumable); wait."""
        with self._lock:
            children = list(self._children.values())
        for child in children:
            child.terminate()
        deadline = time.monotonic() + timeout
        for child in children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except Exception:
                child.kill()


def combined_limit(configured: str | None, requested: str | None) -> str | None:
    """A request can only narrow the configured hosts, never widen them."""
    if configured and requested:
        return f"{configured}:&{requested}"
    return configured or requested
