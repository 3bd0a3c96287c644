"""JSON lines: one event per line, written and flushed as it happens (for machines).

`runbook run --format jsonl` prints this on stdout; the HTTP API streams the same lines
to clients following a run. Each line is an object with `seq`, `kind`, `time` (UTC ISO
8601), `play`, `task`, `host` and the event's data; a `host_result` carries its result
in the same shape as the `--format json` document. Values are already masked by the
engine; they are made JSON-safe here.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any, TextIO

from runbook_engine.events import Event
from runbook_engine.output.json_sink import host_entry, jsonable


def event_record(event: Event) -> dict[str, Any]:
    """The JSON object one line holds."""
    data = dict(event.data)
    if event.kind == "host_result":
        data = {key: value for key, value in data.items()
                if key not in ("result", "register_value", "facts")}
        data["result"] = host_entry(event.data)
    record: dict[str, Any] = {
        "seq": event.seq,
        "kind": event.kind,
        "time": dt.datetime.fromtimestamp(event.time, dt.UTC).isoformat(),
        "play": event.play,
        "task": event.task,
        "host": event.host,
    }
    record.update(data)
    return jsonable(record)


class JsonLinesSink:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout

    def handle(self, event: Event) -> None:
        line = json.dumps(event_record(event), ensure_ascii=False, allow_nan=False)
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()
