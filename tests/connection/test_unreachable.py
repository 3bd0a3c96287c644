"""Unreachable hosts fail fast and say why; a connection dying mid-command is reported."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook_engine.connection.factory import connection_for
from runbook_engine.connection.ssh import SSHConnection
from runbook_engine.errors import HostUnreachable
from tests.fixtures.sshd import HostPool, SSHHost, blackhole, nft_available

TIMEOUT = 2


@pytest.fixture(scope="module")
def victim(sshd_pool: HostPool) -> Iterator[SSHHost]:
    """A host of its own, since these tests freeze and kill its sshd."""
    host = sshd_pool.start("victim", sudo=False)
    yield host
    if not host.alive():
        host.restart()


def _connect(host: SSHHost, **extra: Any) -> tuple[HostUnreachable, float]:
    host_vars = {**host.inventory_vars(), "ansible_ssh_timeout": TIMEOUT, **extra}
    conn = connection_for(host.name, host_vars)
    started = time.monotonic()
    with pytest.raises(HostUnreachable) as failed:
        conn.run("true")
    conn.close()
    return failed.value, time.monotonic() - started


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_is_refused_at_once(victim: SSHHost) -> None:
    error, took = _connect(victim, ansible_port=_unused_port())
    assert "connection refused" in str(error)
    assert str(error).startswith(f"{victim.name}: ")
    assert took < 1.5


def test_unknown_name_is_a_resolution_error(victim: SSHHost) -> None:
    error, _ = _connect(victim, ansible_host="no-such-host.invalid")
    assert "cannot resolve 'no-such-host.invalid'" in str(error)


def test_frozen_sshd_times_out(victim: SSHHost) -> None:
    victim.stop()
    try:
        error, took = _connect(victim)
    finally:
        victim.cont()
    assert "sent no SSH greeting within 2 s" in str(error)
    assert TIMEOUT - 0.5 < took < TIMEOUT + 3


def test_dropped_packets_time_out(victim: SSHHost) -> None:
    ok, reason = nft_available()
    if not ok:
        pytest.skip(reason)
    with blackhole(victim):
        error, took = _connect(victim)
    assert "timed out after 2 s" in str(error)
    assert TIMEOUT - 0.5 < took < TIMEOUT + 3


def test_wrong_key_is_an_authentication_failure(victim: SSHHost, tmp_path: Path) -> None:
    key = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    error, _ = _connect(victim, ansible_ssh_private_key_file=str(key))
    assert "authentication failed" in str(error)
    assert str(key) in str(error)


def test_sshd_killed_mid_command_is_unreachable_then_reconnects(victim: SSHHost) -> None:
    conn = connection_for(victim.name, victim.inventory_vars())
    assert isinstance(conn, SSHConnection)
    marker = Path(victim.scratch) / "started"
    outcome: list[BaseException | str] = []

    def long_command() -> None:
        try:
            outcome.append(conn.run(f"touch {marker}; sleep 30").stdout)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=long_command)
    worker.start()
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists()
    killed_at = time.monotonic()
    victim.kill_sessions()
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - killed_at < 5
    assert isinstance(outcome[0], HostUnreachable), outcome
    assert "connection lost" in str(outcome[0])
    # the daemon still listens: the next command opens a new session
    assert conn.run("echo back").stdout == "back\n"
    conn.close()


def test_connection_refused_after_the_daemon_is_gone(victim: SSHHost) -> None:
    conn = connection_for(victim.name, victim.inventory_vars())
    assert conn.run("echo up").stdout == "up\n"
    victim.kill_sessions()  # while they are still the daemon's children
    victim.kill()
    try:
        with pytest.raises(HostUnreachable):
            conn.run("echo again")
        with pytest.raises(HostUnreachable, match="refused"):
            conn.run("echo again")
    finally:
        conn.close()
        victim.restart()
    again = connection_for(victim.name, victim.inventory_vars())
    assert again.run("echo up").rc == 0
    again.close()


def test_host_going_silent_mid_command_is_detected(victim: SSHHost) -> None:
    ok, reason = nft_available()
    if not ok:
        pytest.skip(reason)
    host_vars = {**victim.inventory_vars(), "ansible_ssh_extra_args": "-o ServerAliveInterval=1"}
    conn = connection_for(victim.name, host_vars)
    assert conn.run("echo up").stdout == "up\n"
    started = time.monotonic()
    with blackhole(victim), pytest.raises(HostUnreachable, match="connection lost"):
        conn.run("sleep 30")
    assert time.monotonic() - started < 10
    conn.close()


def test_stream_cut_mid_way_is_unreachable(victim: SSHHost) -> None:
    conn = connection_for(victim.name, victim.inventory_vars())
    with pytest.raises(HostUnreachable, match="connection lost"), conn.open_stream(
        "cat /dev/zero"
    ) as stream:
        assert len(stream.stdout.read(1024 * 1024)) == 1024 * 1024
        victim.kill_sessions()
        while stream.stdout.read(1024 * 1024):
            pass
        stream.wait()
    conn.close()


def test_frozen_session_hits_the_command_timeout(victim: SSHHost) -> None:
    conn = connection_for(victim.name, {**victim.inventory_vars(), "ansible_ssh_timeout": TIMEOUT})
    assert conn.run("echo up").stdout == "up\n"
    frozen = victim.session_pids()
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="timed out after 1 s"):
            conn.run("echo never", timeout=1)
        assert time.monotonic() - started < 1 + TIMEOUT + 2
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        conn.close()
