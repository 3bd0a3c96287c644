"""NotifySink: POST a JSON event to webhooks when a run ends or waits for an approval.

Events it reacts to: `run_start` (remembers the run), `run_end` (success or failure)
and `approval_requested` {run_id, step, message} (emitted by the approve module).
Each post runs in a background thread with a timeout and retries with backoff; a
failing webhook is reported once on stderr and never changes the run. `close()` waits
for pending posts, bounded by `close_timeout` seconds in total.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from runbook_engine.events import Event
from runbook_engine.secrets import SecretRegistry

EVENTS = frozenset({"failure", "success", "approval"})


class NotifySink:
    def __init__(
        self,
        urls: Iterable[str],
        on: Iterable[str] = EVENTS,
        *,
        slack: bool = False,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        close_timeout: float = 15.0,
        secrets: SecretRegistry | None = None,
    ) -> None:
        self.urls = list(urls)
        self.on = set(on)
        unknown = self.on - EVENTS
        if unknown:
            raise ValueError(f"unknown notify event(s): {', '.join(sorted(unknown))}")
        self.slack = slack
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.close_timeout = close_timeout
        self.secrets = secrets or SecretRegistry()
        self.run: dict[str, Any] = {}
        self.failures: list[str] = []
        self._threads: list[threading.Thread] = []

    def handle(self, event: Event) -> None:
        if event.kind == "run_start":
            self.run = {k: event.data.get(k) for k in ("run_id", "playbook", "limit")}
        elif event.kind == "run_end":
            code = int(event.data.get("exit_code", 1))
            kind = "success" if code == 0 else "failure"
            if kind in self.on:
                self.send(kind, exit_code=code, stats=event.data.get("stats") or {},
                          duration=event.data.get("duration"))
        elif event.kind == "approval_requested" and "approval" in self.on:
            self.send("approval", step=event.data.get("step"),
                      message=event.data.get("message", ""),
                      run_id=event.data.get("run_id", self.run.get("run_id")))

    def send(self, kind: str, **details: Any) -> None:
        """Post one notification to every URL, in the background."""
        payload = self.secrets.mask({"event": kind, **self.run, **details, "time": time.time()})
        body = {"text": _summary(payload)} if self.slack else {**payload,
                                                              "text": _summary(payload)}
        data = json.dumps(body, default=str).encode()
        for url in self.urls:
            thread = threading.Thread(target=self._post, args=(url, data),
                                      name="runbook-notify", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _post(self, url: str, data: bytes) -> None:
        problem = ""
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(
                url, data=data, method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "runbook-engine"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        return
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
                if 400 <= exc.code < 500 and exc.code != 429:
                    break  # the request itself is wrong: retrying cannot help
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                problem = str(getattr(exc, "reason", exc))
            if attempt < self.retries:
                time.sleep(self.backoff * (2 ** attempt))
        shown = _without_credentials(url)
        self.failures.append(f"{shown}: {problem}")
        print(f"warning: notification to {shown} failed: {problem}", file=sys.stderr)

    def close(self) -> None:
        deadline = time.monotonic() + self.close_timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _summary(payload: dict[str, Any]) -> str:
    run = f"run {payload.get('run_id')} ({payload.get('playbook')})"
    if payload["event"] == "approval":
        return f"Approval needed: {run} waits at step {payload.get('step')!r}. " \
               f"{payload.get('message', '')}".strip()
    if payload["event"] == "success":
        return f"Succeeded: {run}"
    return f"FAILED: {run} exited with {payload.get('exit_code')}"


def _without_credentials(url: str) -> str:
    """Webhook URLs often carry a token in their path: show only scheme and host."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rpartition('@')[2]}/..."
