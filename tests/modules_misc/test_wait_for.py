"""wait_for: real listening / closed ports and real files, polled on the host."""

from __future__ import annotations

import shlex
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from runbook_engine.errors import ModuleFailure
from tests.harness import Target, make_ctx, run_module


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A real listening TCP socket on loopback that greets every client with a banner."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def greet() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            with client:
                client.sendall(b"SSH-2.0-RunbookTest\r\n")

    thread = threading.Thread(target=greet, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join()
    server.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_started_on_a_listening_port(target: Target, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    result = run_module("wait_for", make_ctx(target), {"port": port, "timeout": 10})
    assert not result.failed, result.msg
    assert result.data["port"] == port and result.data["elapsed"] < 5


def test_closed_port_times_out_with_message(target: Target) -> None:
    port = _closed_port()
    started = time.monotonic()
    result = run_module("wait_for", make_ctx(target), {"port": port, "timeout": 1, "sleep": 0.2})
    assert result.failed and result.msg == f"Timeout when waiting for 127.0.0.1:{port}"
    assert time.monotonic() - started < 10
    custom = run_module(
        "wait_for", make_ctx(target), {"port": port, "timeout": 0, "msg": "db never came up"}
    )
    assert custom.failed and custom.msg == "db never came up"
    gone = run_module("wait_for", make_ctx(target), {"port": port, "state": "stopped"})
    assert not gone.failed


def test_stopped_waits_until_the_port_closes(target: Target) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    closer = threading.Timer(1.0, server.close)
    closer.start()
    try:
        result = run_module(
            "wait_for", make_ctx(target),
            {"port": port, "state": "stopped", "timeout": 20, "sleep": 0.2},
        )
    finally:
        closer.cancel()
        server.close()
    assert not result.failed, result.msg


def test_search_regex_on_a_port_banner(target: Target, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    found = run_module(
        "wait_for", make_ctx(target),
        {"port": port, "search_regex": "^SSH-2\\.0-Runbook", "timeout": 10},
    )
    assert not found.failed, found.msg
    never = run_module(
        "wait_for", make_ctx(target),
        {"port": port, "search_regex": "nginx", "timeout": 1, "connect_timeout": 1},
    )
    assert never.failed and "search string nginx" in never.msg


def test_path_present_regex_and_absent(target: Target) -> None:
    path = f"{target.scratch}/ready.flag"
    quoted = shlex.quote(path)
    target.conn.run(f"(sleep 1; echo 'state: READY' > {quoted}) >/dev/null 2>&1 &")
    result = run_module(
        "wait_for", make_ctx(target),
        {"path": path, "search_regex": "state: (READY|UP)", "timeout": 20, "sleep": 0.2},
    )
    assert not result.failed, result.msg
    assert target.conn.run(f"test -f {quoted}").rc == 0
    target.conn.run(f"(sleep 1; rm -f {quoted}) >/dev/null 2>&1 &")
    absent = run_module(
        "wait_for", make_ctx(target), {"path": path, "state": "absent", "timeout": 20}
    )
    assert not absent.failed and target.conn.run(f"test -e {quoted}").rc != 0


def test_drained_when_no_connection_is_left(target: Target, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    result = run_module(
        "wait_for", make_ctx(target), {"port": port, "state": "drained", "timeout": 10}
    )
    assert not result.failed, result.msg


def test_host_with_shell_metacharacters_is_data(target: Target) -> None:
    canary = f"{target.scratch}/canary"
    host = f"127.0.0.1;touch {canary};$(touch {canary})`touch {canary}`"
    result = run_module(
        "wait_for", make_ctx(target), {"host": host, "port": 22, "timeout": 0}
    )
    assert result.failed
    assert target.conn.run(f"test -e {shlex.quote(canary)}").rc != 0


def test_clear_error_without_bash_or_nc(target: Target) -> None:
    if target.conn.run("command -v nc").rc == 0:
        pytest.skip("nc is installed here: the no-tool path can't be shown")
    bin_dir = f"{target.scratch}/bin-without-bash"
    target.conn.run(
        f"mkdir {bin_dir} && cp -s /usr/bin/* {bin_dir}/ 2>/dev/null; rm -f {bin_dir}/bash"
    )
    assert target.conn.run(f"test -e {bin_dir}/sh && ! test -e {bin_dir}/bash").rc == 0
    ctx = make_ctx(target)
    ctx.environment = {"PATH": bin_dir}
    with pytest.raises(ModuleFailure, match="needs bash"):
        run_module("wait_for", ctx, {"port": 22, "timeout": 1})
