"""One JSON document describing the whole run, printed at close().

close() always prints, so the document exists (and parses) even when hosts fail, the run is
interrupted, or run_end never came (`"finished": false`). Every value is made JSON-safe
first: bytes, sets, dates, paths and unknown objects become strings or lists.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import math
import sys
import time
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any, TextIO

from runbook_engine.events import Event
from runbook_engine.modules.base import Result

_MAX_DEPTH = 64


def jsonable(value: Any, depth: int = 0) -> Any:
    """A copy of `value` that json.dumps accepts as it is (strict JSON: no NaN)."""
    if depth > _MAX_DEPTH:
        return "<nested too deep>"
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value, depth + 1)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [jsonable(v, depth + 1) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, Result):
        return jsonable(value.registered(), depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value), depth + 1)
    return str(value)


def _key(key: Any) -> str:
    return key if isinstance(key, str) else str(jsonable(key))


def host_entry(data: Mapping[str, Any]) -> dict[str, Any]:
    """One host's result for one task (or one loop item), as the document shows it."""
    result = data.get("result")
    if not isinstance(result, Result):
        result = Result()
    entry: dict[str, Any] = dict(result.data)
    entry.update(
        status=data.get("status", "ok"),
        changed=result.changed,
        failed=result.failed,
        skipped=result.skipped,
        unreachable=result.unreachable,
        msg=result.msg,
        rc=result.rc,
        stdout=result.stdout,
        stderr=result.stderr,
        diff=result.diff,
        duration=data.get("duration"),
        ignored=bool(data.get("ignored", False)),
        rescued=bool(data.get("rescued", False)),
    )
    if "item" in data:
        entry["item"] = data["item"]
    return entry


class JsonSink:
    """Collects the run and prints it as one JSON document at close()."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.run: dict[str, Any] = {}
        self.plays: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.stats: dict[str, Any] = {}
        self.exit_code: int | None = None
        self.duration: float | None = None
        self.finished = False
        self._started = time.time()
        self._tasks: dict[tuple[str | None, str], dict[str, Any]] = {}
        self._closed = False

    def handle(self, event: Event) -> None:
        kind, data = event.kind, event.data
        if kind == "run_start":
            self._started = event.time
            self.run = {**data, "started": _iso(event.time)}
        elif kind == "play_start":
            self.plays.append({"name": event.play, "hosts": data.get("hosts", []), "tasks": []})
        elif kind == "task_start":
            self._task_start(event)
        elif kind == "host_result":
            self._host_result(event)
        elif kind == "warning":
            self.warnings.append(str(data.get("msg", "")))
        elif kind == "run_end":
            self.finished = True
            self.stats = data.get("stats") or {}
            self.exit_code = data.get("exit_code")
            self.duration = data.get("duration")

    def _current_play(self, name: str | None) -> dict[str, Any]:
        if not self.plays or self.plays[-1]["name"] != name:
            self.plays.append({"name": name, "hosts": [], "tasks": []})
        return self.plays[-1]

    def _task_start(self, event: Event) -> None:
        data = event.data
        task = {
            "task_id": data.get("task_id"),
            "name": event.task,
            "module": data.get("module"),
            "position": data.get("position"),
            "handler": bool(data.get("handler", False)),
            "results": {},
        }
        self._current_play(event.play)["tasks"].append(task)
        self._tasks[(event.play, str(data.get("task_id", event.task)))] = task

    def _host_result(self, event: Event) -> None:
        data = event.data
        key = (event.play, str(data.get("task_id", event.task)))
        task = self._tasks.get(key)
        if task is None:  # a result without its task_start: still record it
            task = {"task_id": data.get("task_id"), "name": event.task, "results": {}}
            self._current_play(event.play)["tasks"].append(task)
            self._tasks[key] = task
        entry = host_entry(data)
        host = event.host or "?"
        previous = task["results"].get(host)
        if "item" in data or isinstance(previous, list):
            task["results"].setdefault(host, []).append(entry)
        else:
            task["results"][host] = entry

    def document(self) -> dict[str, Any]:
        duration = self.duration
        if duration is None:
            duration = round(time.time() - self._started, 3)
        return {
            "run": self.run,
            "plays": self.plays,
            "warnings": self.warnings,
            "stats": self.stats,
            "exit_code": self.exit_code,
            "finished": self.finished,
            "duration": duration,
        }

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        text = json.dumps(jsonable(self.document()), indent=2, ensure_ascii=False, allow_nan=False)
        self.stream.write(text + "\n")
        self.stream.flush()


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat()
