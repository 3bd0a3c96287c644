"""One ordered stream of everything that happens in a run; every output is a sink of it.

Kinds and their payload (`Event.data`), in the order they occur. `play`, `task` and
`host` are attributes of the event itself.

- run_start        {run_id, playbook, playbook_sha256, inventory: [..], limit, tags,
                    skip_tags, check, diff, extra_vars (masked)}
- play_start       {hosts: [..], task_count}
- task_start       {task_id, module, position "file:line:col", hosts: [..], handler: bool}
- host_task_start  {task_id}  (just before a task runs on a host: crash evidence)
- host_result      {task_id, module, status: ok|changed|failed|skipped|unreachable,
                    result: Result (masked), duration, ignored, rescued,
                    item (loop label, only for loop items), registered (var name or None),
                    register_value (absent when no_log), facts (set_fact/ansible_facts)}
                   A loop emits one host_result per item.
- play_end         {}
- run_end          {stats: {host: {ok, changed, failed, skipped, unreachable, rescued,
                    ignored}}, exit_code, duration}
- warning          {msg}
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a run (kinds and payloads: module docstring)."""

    kind: str
    seq: int
    time: float
    play: str | None = None
    task: str | None = None
    host: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Sink(Protocol):
    def handle(self, event: Event) -> None: ...

    def close(self) -> None: ...


class EventBus:
    """Numbers events and hands them to every sink in order, one at a time.

    A sink that raises is reported once on stderr and dropped: output trouble must never
    change what happens on hosts.
    """

    def __init__(self, sinks: list[Sink] | None = None) -> None:
        self.sinks: list[Sink] = list(sinks or [])
        self._seq = 0
        self._lock = threading.Lock()

    def add(self, sink: Sink) -> None:
        self.sinks.append(sink)

    def emit(
        self,
        kind: str,
        *,
        play: str | None = None,
        task: str | None = None,
        host: str | None = None,
        **data: Any,
    ) -> Event:
        with self._lock:
            self._seq += 1
            event = Event(kind, self._seq, time.time(), play, task, host, data)
            for sink in list(self.sinks):
                try:
                    sink.handle(event)
                except Exception as exc:
                    name = type(sink).__name__
                    print(f"warning: output sink {name} failed: {exc}", file=sys.stderr)
                    self.sinks.remove(sink)
        return event

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                pass
