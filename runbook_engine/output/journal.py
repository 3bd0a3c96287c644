"""JournalSink: records a run in the state store as it happens, so it can be shown and resumed.

The "task started on host" entry is written (to the run's spool file, before the task
runs: `state/journal_spool.py`) before the task's result, so a controller killed mid-task
leaves a `running` row that the next open of the store turns into `interrupted`; resume
reruns that task and flags it `rerun_after_crash`.
Everything stored is masked once more here (defence in depth) and outputs are size-capped.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from runbook_engine.events import Event
from runbook_engine.secrets import SecretRegistry
from runbook_engine.state.journal_spool import JournalWriter
from runbook_engine.state.store import Store, dumps

DEFAULT_OUTPUT_CAP = 64 * 1024


def cap_text(text: str, limit: int) -> str:
    """Keep the head and the tail of a long output; the middle is what matters least."""
    if limit <= 0 or len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    dropped = len(text) - head - tail
    return f"{text[:head]}\n... [{dropped} characters not kept] ...\n{text[-tail:]}"


class JournalSink:
    def __init__(
        self,
        store: Store,
        *,
        secrets: SecretRegistry | None = None,
        output_cap: int = DEFAULT_OUTPUT_CAP,
        user: str | None = None,
        trigger: str = "cli",
        resumed_from: str | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets or SecretRegistry()
        self.output_cap = output_cap
        self.user = user
        self.trigger = trigger
        self.resumed_from = resumed_from
        self.run_id: str | None = None
        self._earlier_runs: list[str] = []
        self._tasks: dict[str, dict[str, Any]] = {}
        self._open_rows: dict[tuple[str, str], int] = {}
        # Attempts so far per (host, task); further loop items share the current one.
        self._attempts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._ended = False
        self._writer: JournalWriter | None = None
        self._rows = 0  # the last row's number in this run (rows are named by it)

    def handle(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            with self._lock:
                handler(event)

    def close(self) -> None:
        # A run that never reached run_end (an exception in the executor) is not left running.
        if self.run_id is not None and not self._ended:
            self._end(exit_code=1, status="failed")

    def _end(self, *, exit_code: int, stats: dict[str, Any] | None = None,
             status: str | None = None) -> None:
        """Everything journaled into the store, then the run marked ended."""
        assert self.run_id is not None and self._writer is not None
        self._ended = True
        self._writer.finish()
        self.store.finish_run(self.run_id, exit_code=exit_code, stats=stats, status=status)
        self._writer.discard()

    # -- events -------------------------------------------------------------------------
    def _on_run_start(self, event: Event) -> None:
        data = self.secrets.mask(event.data)
        self.run_id = data.get("run_id")
        if not self.run_id:
            raise ValueError("run_start carries no run_id: the journal cannot record the run")
        resumed_from = data.get("resumed_from", self.resumed_from)
        self.store.start_run(
            self.run_id,
            playbook=str(data.get("playbook", "")),
            playbook_sha256=data.get("playbook_sha256"),
            inventory=_text_or_none(data.get("inventory")),
            limit=_text_or_none(data.get("limit")),
            tags=list(data.get("tags") or []),
            skip_tags=list(data.get("skip_tags") or []),
            check=bool(data.get("check")),
            diff=bool(data.get("diff")),
            extra_vars=data.get("extra_vars") or {},
            params=data.get("params") or {},
            user=data.get("user", self.user),
            trigger=data.get("trigger", self.trigger),
            resumed_from=resumed_from,
        )
        if resumed_from:
            self._earlier_runs = self.store.resume_chain(resumed_from)
        self._writer = JournalWriter(self.store, self.run_id)

    def _on_play_start(self, event: Event) -> None:
        if self.run_id:
            self.store.add_run_hosts(self.run_id, [str(h) for h in event.data.get("hosts", [])])

    def _on_task_start(self, event: Event) -> None:
        task_id = event.data.get("task_id")
        if task_id is not None:
            self._tasks[str(task_id)] = {
                "name": self.secrets.mask_text(event.task or ""),
                "module": event.data.get("module"),
                "position": _text_or_none(event.data.get("position")),
                "handler": bool(event.data.get("handler")),
                "play": event.play,
            }

    def _on_host_task_start(self, event: Event) -> None:
        if not self.run_id or not event.host:
            return
        task_id = str(event.data.get("task_id"))
        key = (event.host, task_id)
        # Every row of this run is written here, so attempts are counted here, not in SQL.
        self._attempts[key] = self._attempts.get(key, 0) + 1
        self._open_rows[key] = self._start_row(event, task_id)

    def _start_row(self, event: Event, task_id: str) -> int:
        assert self.run_id is not None and self._writer is not None
        host = str(event.host)
        task = self._tasks.get(task_id, {})
        self._rows += 1
        self._writer.write({
            "kind": "start", "seq": self._rows, "host": host, "task_id": task_id,
            "task_name": task.get("name") or self.secrets.mask_text(event.task or ""),
            "play": task.get("play", event.play), "module": task.get("module"),
            "position": task.get("position"), "handler": bool(task.get("handler")),
            "rerun_after_crash": self.store.was_interrupted(self._earlier_runs, host, task_id),
            "attempt": self._attempts.setdefault((host, task_id), 1), "time": time.time(),
        })
        return self._rows

    def _on_host_result(self, event: Event) -> None:
        if not self.run_id or not event.host:
            return
        data = event.data
        task_id = str(data.get("task_id"))
        key = (event.host, task_id)
        # Loop items after the first (or a result without a start event) get their own row.
        row = self._open_rows.pop(key, None) or self._start_row(event, task_id)
        result = self.secrets.mask(data.get("result"))
        status = str(data.get("status", "ok"))
        assert self._writer is not None
        # The result and what it saved for resume: one entry, so one transaction.
        diff = getattr(result, "diff", None)
        self._writer.write({
            "kind": "result", "seq": row, "host": event.host, "status": status,
            "changed": bool(getattr(result, "changed", status == "changed")),
            "rc": getattr(result, "rc", None),
            "msg": cap_text(getattr(result, "msg", "") or "", self.output_cap),
            "stdout": cap_text(getattr(result, "stdout", "") or "", self.output_cap),
            "stderr": cap_text(getattr(result, "stderr", "") or "", self.output_cap),
            "diff": dumps(diff) if diff else None,
            "item": _text_or_none(self.secrets.mask(data.get("item"))),
            "ignored": bool(data.get("ignored")), "rescued": bool(data.get("rescued")),
            "time": time.time(), "duration": data.get("duration"),
            "vars": self._saved_vars(data), "vars_seq": time.time_ns(),
        })

    def _saved_vars(self, data: dict[str, Any]) -> list[tuple[str, str, str]]:
        """(kind, name, value as JSON) of what a result saves for resume."""
        saved: list[tuple[str, str, str]] = []
        if data.get("registered") and "register_value" in data:
            saved.append(("registered", data["registered"],
                          dumps(self.secrets.mask(data["register_value"]))))
        for name, value in self.secrets.mask(dict(data.get("facts") or {})).items():
            saved.append(("fact", name, dumps(value)))
        return saved

    def _on_run_end(self, event: Event) -> None:
        if not self.run_id:
            return
        self._end(exit_code=int(event.data.get("exit_code", 1)),
                  stats=event.data.get("stats") or {})


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
