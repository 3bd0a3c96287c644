"""Webhook notifications against real local HTTP servers: recording, failing, hanging."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runbook_engine.events import EventBus
from runbook_engine.output.notify import NotifySink
from runbook_engine.secrets import SecretRegistry


class Webhook:
    """A real HTTP server on 127.0.0.1; `fail_first` answers 500 that many times."""

    def __init__(self, fail_first: int = 0, hang: bool = False) -> None:
        self.received: list[dict] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.hang = hang
        self.release = threading.Event()
        self.arrived = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                if hook.hang:
                    hook.release.wait(30)
                    return
                if hook.attempts <= hook.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()
                hook.arrived.set()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0KEN"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhooks() -> Iterator[list[Webhook]]:
    made: list[Webhook] = []
    yield made
    for hook in made:
        hook.stop()


def run_once(sink: NotifySink, exit_code: int) -> None:
    bus = EventBus([sink])
    bus.emit("run_start", run_id="run-n1", playbook="restart.yml", limit=None)
    bus.emit("run_end", stats={"web1": {"failed": 1}}, exit_code=exit_code, duration=2.0)
    bus.close()


def test_a_failed_run_posts_a_json_event(webhooks: list[Webhook]) -> None:
    hook = Webhook()
    webhooks.append(hook)
    run_once(NotifySink([hook.url], secrets=SecretRegistry(["restart.yml"])), exit_code=4)
    (payload,) = hook.received
    assert payload["event"] == "failure" and payload["run_id"] == "run-n1"
    assert payload["exit_code"] == 4 and payload["stats"] == {"web1": {"failed": 1}}
    assert payload["playbook"] == "********" and "FAILED" in payload["text"]


def test_only_the_chosen_events_are_sent_and_slack_gets_text(webhooks: list[Webhook]) -> None:
    hook = Webhook()
    webhooks.append(hook)
    run_once(NotifySink([hook.url], on={"failure"}), exit_code=0)
    assert hook.attempts == 0
    sink = NotifySink([hook.url], on={"success", "approval"}, slack=True)
    bus = EventBus([sink])
    bus.emit("run_start", run_id="run-n2", playbook="db.yml", limit=None)
    bus.emit("approval_requested", run_id="run-n2", step="drop replica", message="sure?")
    bus.close()
    assert hook.received == [{"text": "Approval needed: run run-n2 (db.yml) waits at step "
                                      "'drop replica'. sure?"}]


def test_a_500_is_retried_until_it_succeeds(webhooks: list[Webhook]) -> None:
    hook = Webhook(fail_first=2)
    webhooks.append(hook)
    run_once(NotifySink([hook.url], retries=3, backoff=0.05), exit_code=0)
    assert hook.attempts == 3 and hook.received[0]["event"] == "success"


def test_a_hanging_webhook_never_holds_the_run(webhooks: list[Webhook]) -> None:
    hung, good = Webhook(hang=True), Webhook()
    webhooks.extend([hung, good])
    # Retrying the hung hook would take ~5 s; close() gives up waiting after 1 s.
    sink = NotifySink([hung.url, good.url], timeout=0.8, retries=5, backoff=0.05,
                      close_timeout=1)
    started = time.monotonic()
    run_once(sink, exit_code=4)
    assert time.monotonic() - started < 3
    assert hung.attempts >= 1 and good.received[0]["event"] == "failure"


def test_an_unreachable_webhook_is_a_warning_not_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    probe = Webhook()
    url = probe.url
    probe.stop()  # nothing listens there any more
    sink = NotifySink([url], retries=1, backoff=0.05, timeout=1)
    run_once(sink, exit_code=4)
    assert len(sink.failures) == 1
    err = capsys.readouterr().err
    assert "notification to http://127.0.0.1" in err and "T0KEN" not in err
