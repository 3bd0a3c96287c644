"""JournalSink: records a run in the state store as it happens, so it can be shown and resumed.

The "task started on host" row is committed before the task runs (the executor waits for
it: `EventBus.wait_durable()`), so a controller killed mid-task leaves a `running` row that
the next open of the store turns into `interrupted`; resume reruns that task and flags it
`rerun_after_crash`.

Writes go through one writer thread, in order, several per transaction (group commit):
the host threads queue rows and go on. A commit per row, made by each host thread under
the event bus's lock, was ~10% of a run's CPU. A result is committed at the latest when
the same host's next task starts (that start waits for everything queued before it) or
when the run ends; a controller killed in between leaves that task `running`, as a kill a
moment earlier would, and resume reruns it.

Everything stored is masked once more here (defence in depth) and outputs are size-capped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from runbook_engine.events import Event
from runbook_engine.secrets import SecretRegistry
from runbook_engine.state.store import Store

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
        self._open_rows: dict[tuple[str, str], _StartRow] = {}
        # Attempts so far per (host, task); further loop items share the current one.
        self._attempts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._ended = False
        self._writer = _Writer(store)

    def handle(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            with self._lock:
                self._writer.raise_failure()
                handler(event)

    def wait_durable(self) -> None:
        """Return once everything handled so far is committed."""
        self._writer.flush()

    def close(self) -> None:
        # A run that never reached run_end (an exception in the executor) is not left running.
        try:
            if self.run_id is not None and not self._ended:
                run_id = self.run_id
                self._writer.queue(
                    lambda: self.store.finish_run(run_id, exit_code=1, status="failed"))
                self._ended = True
            self._writer.flush()
        finally:
            self._writer.stop()

    # -- events -------------------------------------------------------------------------
    def _on_run_start(self, event: Event) -> None:
        data = self.secrets.mask(event.data)
        self.run_id = data.get("run_id")
        if not self.run_id:
            raise ValueError("run_start carries no run_id: the journal cannot record the run")
        resumed_from = data.get("resumed_from", self.resumed_from)
        self._writer.queue(lambda: self._start_run(data, resumed_from))
        self._writer.flush()

    def _start_run(self, data: dict[str, Any], resumed_from: str | None) -> None:
        assert self.run_id is not None
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

    def _on_play_start(self, event: Event) -> None:
        if self.run_id:
            run_id, hosts = self.run_id, [str(h) for h in event.data.get("hosts", [])]
            self._writer.queue(lambda: self.store.add_run_hosts(run_id, hosts))

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

    def _start_row(self, event: Event, task_id: str) -> _StartRow:
        assert self.run_id is not None
        host = str(event.host)
        task = self._tasks.get(task_id, {})
        row = _StartRow(
            self.store, self._earlier_runs, self.run_id, host, task_id,
            task_name=task.get("name") or self.secrets.mask_text(event.task or ""),
            play=task.get("play", event.play), module=task.get("module"),
            position=task.get("position"), handler=bool(task.get("handler")),
            attempt=self._attempts.setdefault((host, task_id), 1),
        )
        self._writer.queue(row)
        return row

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
        self._writer.queue(self._finish_row(event, row, result, status))

    def _finish_row(
        self, event: Event, row: _StartRow, result: Any, status: str
    ) -> Callable[[], None]:
        """The writes that record a result (and what it registered), masked now, done
        later by the writer (in one transaction with the rest of its batch)."""
        assert self.run_id is not None and event.host is not None
        run_id, host, data = self.run_id, event.host, event.data
        finished = dict(
            status=status,
            changed=bool(getattr(result, "changed", status == "changed")),
            rc=getattr(result, "rc", None),
            msg=cap_text(getattr(result, "msg", "") or "", self.output_cap),
            stdout=cap_text(getattr(result, "stdout", "") or "", self.output_cap),
            stderr=cap_text(getattr(result, "stderr", "") or "", self.output_cap),
            diff=getattr(result, "diff", None),
            item=_text_or_none(self.secrets.mask(data.get("item"))),
            ignored=bool(data.get("ignored")),
            rescued=bool(data.get("rescued")),
            duration=data.get("duration"),
        )
        registered = ({data["registered"]: self.secrets.mask(data["register_value"])}
                      if _registers(data) else None)
        facts = self.secrets.mask(dict(data["facts"])) if data.get("facts") else None

        def write() -> None:
            self.store.task_finished(row.row_id, **finished)
            if registered:
                self.store.save_vars(run_id, host, "registered", registered)
            if facts:
                self.store.save_vars(run_id, host, "fact", facts)

        return write

    def _on_run_end(self, event: Event) -> None:
        if not self.run_id:
            return
        run_id = self.run_id
        exit_code = int(event.data.get("exit_code", 1))
        stats = event.data.get("stats") or {}
        self._writer.queue(lambda: self.store.finish_run(run_id, exit_code=exit_code,
                                                         stats=stats))
        self._ended = True
        self._writer.flush()


def _registers(data: dict[str, Any]) -> bool:
    return bool(data.get("registered")) and "register_value" in data


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


class _StartRow:
    """The row of a task starting on a host; `row_id` is known once the writer inserted it
    (before any write that refers to it: the writer keeps the order of the queue)."""

    def __init__(self, store: Store, earlier_runs: list[str], run_id: str, host: str,
                 task_id: str, **fields: Any) -> None:
        self.store = store
        self.earlier_runs = earlier_runs
        self.run_id, self.host, self.task_id = run_id, host, task_id
        self.fields = fields
        self.row_id = 0

    def __call__(self) -> None:
        rerun = self.store.was_interrupted(self.earlier_runs, self.host, self.task_id)
        self.row_id = self.store.task_started(self.run_id, self.host, self.task_id,
                                              rerun_after_crash=rerun, **self.fields)


class _Writer:
    """One thread that performs queued writes in order, each batch in one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[Callable[[], None]] = []
        self._queued = 0  # writes ever queued
        self._done = 0  # writes ever committed
        self._failure: Exception | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    def queue(self, write: Callable[[], None]) -> None:
        with self._cond:
            self.raise_failure()
            self._queue.append(write)
            self._queued += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="journal-writer",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every write queued so far is committed (or the writer failed)."""
        with self._cond:
            target = self._queued
            while self._done < target and self._failure is None:
                self._cond.wait()
            self.raise_failure()

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            try:
                with self.store.transaction():
                    for write in batch:
                        write()
            except Exception as exc:  # reported by the next call of the sink (and dropped)
                with self._cond:
                    self._failure = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()
