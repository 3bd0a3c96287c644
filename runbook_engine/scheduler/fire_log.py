"""The last time each schedule fired, kept in a small JSON file beside the state store.

It is what lets a restarted scheduler notice the fire times it missed while it was down.
Writes replace the file atomically (write a temporary file, then rename).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path


def default_state_dir() -> Path:
    state_dir = os.environ.get("RUNBOOK_STATE_DIR")
    return Path(state_dir) if state_dir else Path.cwd() / ".runbook"


class FireLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fired: dict[str, str] = self._read()

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        fired = data.get("last_fire", {}) if isinstance(data, dict) else {}
        return {str(k): str(v) for k, v in fired.items()} if isinstance(fired, dict) else {}

    def last_fire(self, name: str) -> datetime | None:
        text = self._fired.get(name)
        if not text:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None

    def record(self, name: str, fired_at: datetime) -> None:
        self._fired[name] = fired_at.isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps({"last_fire": self._fired}, indent=2, sort_keys=True),
                             encoding="utf-8")
        temporary.replace(self.path)


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on `path` while inside; yields False when another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
