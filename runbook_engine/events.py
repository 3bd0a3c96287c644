"""One ordered stream of everything that happens in a run; every output is a sink of it.

Kinds and their payload (`Event.data`), in the order they occur:

- run_start      {playbook, inventory, limit, tags, skip_tags, check, diff, extra_vars (masked)}
- play_start     {name, hosts: [..], serial_batches: [[..], ..]}
- task_start     {name, module, position, hosts: [..], handler: bool}
- host_result    {status: ok|changed|failed|skipped|unreachable, result: Result, duration,
                  item: loop item label (optional), ignored: bool}
- host_unreachable {msg}
- handler_start  {name}
- play_end       {}
- run_end        {stats: {host: {ok, changed, failed, skipped, unreachable, rescued, ignored}},
                  exit_code, duration}
- warning        {msg}
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Event:
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
