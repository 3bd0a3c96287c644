"""Over real SSH: become via sudo, ProxyJump, password login, per-command latency."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_engine.connection.base import Connection
from runbook_engine.connection.factory import connection_for
from runbook_engine.errors import HostUnreachable
from runbook_engine.modules.base import Become
from tests.fixtures.sshd import SSHHost, nft_available, nft_rules
from tests.harness import Target, make_ctx


@pytest.fixture
def sudo_host(ssh_hosts: list[SSHHost]) -> Iterator[Target]:
    host = ssh_hosts[0]
    conn = connection_for(host.name, host.inventory_vars())
    yield Target(host.name, conn, host.scratch)
    conn.close()


@pytest.fixture
def nosudo_host(ssh_host_nosudo: SSHHost) -> Iterator[Target]:
    conn = connection_for(ssh_host_nosudo.name, ssh_host_nosudo.inventory_vars())
    yield Target(ssh_host_nosudo.name, conn, ssh_host_nosudo.scratch)
    conn.close()


def test_become_root_with_passwordless_sudo(sudo_host: Target) -> None:
    ctx = make_ctx(sudo_host, become=Become())
    result = ctx.run("id -u; cat", stdin=b"data\x00bytes")
    assert (result.rc, result.stdout) == (0, "0\ndata\x00bytes")


def test_become_password_goes_to_sudo_and_the_rest_to_the_command(
    sudo_host: Target, ssh_hosts: list[SSHHost]
) -> None:
    # the fixture's sudo rule asks for the password to become `daemon`
    ctx = make_ctx(sudo_host, become=Become(user="daemon", password=ssh_hosts[0].password))
    result = ctx.run("id -un; cat", stdin=b"payload\n")
    assert (result.rc, result.stdout) == (0, "daemon\npayload\n")


def test_become_with_a_wrong_password_fails_clearly(sudo_host: Target) -> None:
    ctx = make_ctx(sudo_host, become=Become(user="daemon", password="not-the-password"))
    result = ctx.run("id -un")
    assert result.rc != 0
    assert result.stdout == ""
    assert "incorrect password" in result.stderr


def test_become_fails_clearly_without_sudo_rights(
    nosudo_host: Target, ssh_host_nosudo: SSHHost
) -> None:
    no_password = make_ctx(nosudo_host, become=Become()).run("id -u")
    assert no_password.rc != 0
    assert "a password is required" in no_password.stderr
    with_password = make_ctx(nosudo_host, become=Become(password=ssh_host_nosudo.password))
    result = with_password.run("id -u")
    assert result.rc != 0
    assert "is not in the sudoers file" in result.stderr


def _only_through_a_gateway(target: SSHHost) -> contextlib.AbstractContextManager[None]:
    """Refuse direct connections from this (root) process to `target`; a jump host's sshd
    forwards as its unprivileged user, so only a path through it gets through."""
    ok, reason = nft_available()
    if not ok:
        pytest.skip(reason)
    rule = f"ip daddr {target.address} tcp dport {target.port} meta skuid 0 reject"
    return nft_rules("output", [rule])


def _user_and_address_seen(name: str, host_vars: dict[str, object]) -> tuple[str, str]:
    """The remote user, and the address the session arrived at ($SSH_CONNECTION)."""
    conn = connection_for(name, host_vars)
    try:
        user, ssh_connection = conn.run("id -un; echo $SSH_CONNECTION").stdout.split("\n", 1)
    finally:
        conn.close()
    return user, ssh_connection.split()[2]


def test_proxyjump_through_another_host(ssh_hosts: list[SSHHost]) -> None:
    jump, target = ssh_hosts[0], ssh_hosts[1]
    via_jump = {
        **target.inventory_vars(),
        "ansible_ssh_timeout": 3,
        "ansible_ssh_common_args": f"-o ProxyJump={jump.user}@{jump.address}:{jump.port}",
    }
    with _only_through_a_gateway(target):
        direct = connection_for(target.name, {**target.inventory_vars(), "ansible_ssh_timeout": 3})
        with pytest.raises(HostUnreachable, match="refused"):
            direct.run("true")
        seen = _user_and_address_seen(target.name, via_jump)
    assert seen == (target.user, target.address)


def test_proxycommand_reaches_a_host_the_controller_cannot(ssh_hosts: list[SSHHost]) -> None:
    jump, target = ssh_hosts[0], ssh_hosts[1]
    proxy = (
        f"ssh -i {jump.key_file} -o UserKnownHostsFile={jump.known_hosts} "
        f"-o StrictHostKeyChecking=yes -o BatchMode=yes -p {jump.port} "
        f"-W %h:%p {jump.user}@{jump.address}"
    )
    via_proxy = {
        **target.inventory_vars(),
        "ansible_ssh_timeout": 5,
        "ansible_ssh_common_args": f'-o ProxyCommand="{proxy}"',
    }
    with _only_through_a_gateway(target):
        seen = _user_and_address_seen(target.name, via_proxy)
    assert seen == (target.user, target.address)


def test_proxyjump_from_the_users_ssh_config(
    ssh_hosts: list[SSHHost], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bastion set up in ~/.ssh/config, as ssh users do; the inventory names none.
    jump, target = ssh_hosts[0], ssh_hosts[1]
    _with_ssh_config(tmp_path, monkeypatch,
                     f"Host {target.address}\n"
                     f"  ProxyJump {jump.user}@{jump.address}:{jump.port}\n")
    with _only_through_a_gateway(target):
        seen = _user_and_address_seen(target.name, target.inventory_vars())
    assert seen == (target.user, target.address)


def test_proxyjump_with_dash_j_in_extra_args(ssh_hosts: list[SSHHost]) -> None:
    jump, target = ssh_hosts[2], ssh_hosts[0]
    jump_args = f"-J {jump.user}@{jump.address}"
    host_vars = {**target.inventory_vars(), "ansible_ssh_extra_args": jump_args}
    conn = connection_for(target.name, host_vars)
    try:
        assert conn.run("id -un").stdout.strip() == target.user
    finally:
        conn.close()


def test_password_login(ssh_hosts: list[SSHHost]) -> None:
    host = ssh_hosts[2]
    host_vars = host.inventory_vars()
    del host_vars["ansible_ssh_private_key_file"]
    host_vars["ansible_password"] = host.password
    conn = connection_for(host.name, host_vars)
    try:
        assert conn.run("id -un").stdout.strip() == host.user
    finally:
        conn.close()


def _ms_per_command(conn: Connection, count: int) -> float:
    conn.run("true")  # connected and warm
    started = time.perf_counter()
    for _ in range(count):
        conn.run("true")
    return (time.perf_counter() - started) * 1000 / count


def test_command_latency_on_a_persistent_connection(ssh_hosts: list[SSHHost]) -> None:
    host = ssh_hosts[0]
    conn = connection_for(host.name, host.inventory_vars())
    try:
        ms = _ms_per_command(conn, 100)
    finally:
        conn.close()
    print(f"\nSSH: {ms:.1f} ms per command (persistent connection, loopback)")
    # Nagle left on costs ~45 ms per command; well under that proves TCP_NODELAY works.
    assert ms < 40


def test_proxyjump_errors_name_the_failing_hop(ssh_hosts: list[SSHHost]) -> None:
    jump, target = ssh_hosts[0], ssh_hosts[1]
    dead_jump = {
        **target.inventory_vars(),
        "ansible_ssh_timeout": 2,
        "ansible_ssh_common_args": f"-o ProxyJump={jump.user}@{jump.address}:1",
    }
    with pytest.raises(HostUnreachable, match=rf"refused by jump host .*{jump.address}:1"):
        connection_for(target.name, dead_jump).run("true")
    closed_target = {
        **target.inventory_vars(),
        "ansible_port": 1,
        "ansible_ssh_timeout": 2,
        "ansible_ssh_common_args": f"-o ProxyJump={jump.user}@{jump.address}",
    }
    with pytest.raises(HostUnreachable, match=rf"jump host could not reach .*{target.address}:1"):
        connection_for(target.name, closed_target).run("true")


def _with_ssh_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """A HOME of its own whose ~/.ssh/config is `text`, and no ssh-agent."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(text)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def _user_on(name: str, host_vars: dict[str, object]) -> str:
    conn = connection_for(name, host_vars)
    try:
        return conn.run("id -un").stdout.strip()
    finally:
        conn.close()


def _vars_without(host: SSHHost, *names: str) -> dict[str, object]:
    return {k: v for k, v in host.inventory_vars().items() if k not in names}


def test_ssh_config_of_the_user_is_honoured(
    ssh_hosts: list[SSHHost], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = ssh_hosts[0]
    _with_ssh_config(tmp_path, monkeypatch,
                     f"Host web-alias\n  HostName {host.address}\n  Port {host.port}\n"
                     f"  User {host.user}\n  IdentityFile {host.key_file}\n")
    # address, user and key come from ~/.ssh/config alone
    host_vars = _vars_without(host, "ansible_host", "ansible_port", "ansible_user",
                              "ansible_ssh_private_key_file")
    assert _user_on("web-alias", host_vars) == host.user


def test_ssh_config_match_exec_runs_its_command(
    ssh_hosts: list[SSHHost], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `Match exec` is the one ssh_config feature that needs invoke, which paramiko is
    # imported without (connection/paramiko_loader.py): it must still work.
    host = ssh_hosts[0]
    ran = tmp_path / "match-exec-ran"
    _with_ssh_config(tmp_path, monkeypatch,
                     f'Match originalhost web-exec exec "touch {ran}"\n'
                     f"  HostName {host.address}\n  User {host.user}\n"
                     f"  IdentityFile {host.key_file}\n")
    # invoke.run copies stdin to the command; pytest's stdin refuses to be read
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    host_vars = _vars_without(host, "ansible_host", "ansible_user",
                              "ansible_ssh_private_key_file")
    assert _user_on("web-exec", host_vars) == host.user
    assert ran.exists()


def test_aes_gcm_is_chosen_and_its_packets_need_no_random_padding(
    ssh_hosts: list[SSHHost], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = ssh_hosts[0]
    conn = connection_for(host.name, host.inventory_vars())
    try:
        conn.run("true")  # connected: keys exchanged, the shell started
        transport = conn._transport  # type: ignore[attr-defined]
        assert transport.local_cipher == "aes128-gcm@openssh.com"
        calls: list[int] = []
        real_urandom = os.urandom

        def counting_urandom(n: int) -> bytes:
            calls.append(n)
            return real_urandom(n)

        monkeypatch.setattr(os, "urandom", counting_urandom)
        results = [conn.run(f"echo {i}; echo err{i} >&2") for i in range(20)]
        data = conn.run("cat", stdin=b"x" * 100_000)  # many packets, in full
    finally:
        conn.close()
    assert [(r.rc, r.stdout, r.stderr) for r in results] == [
        (0, f"{i}\n", f"err{i}\n") for i in range(20)]
    assert (data.rc, len(data.stdout)) == (0, 100_000)
    assert calls == []  # sshd accepted every zero-padded packet, and none asked the kernel


def test_a_host_named_in_ascii_is_reached_without_the_idna_codec(ssh_hosts: list[SSHHost]) -> None:
    # getaddrinfo() encodes a str name with the idna codec, whose first use imports
    # encodings.idna, stringprep and unicodedata at every SSH run; an ASCII name or
    # address needs no encoding and is passed as bytes (ssh._resolvable).
    host = ssh_hosts[0]
    code = ("import json, sys\n"
            "from runbook_engine.connection.factory import connection_for\n"
            "host_vars = json.loads(sys.argv[1])\n"
            "conn = connection_for('web', host_vars)\n"
            "result = conn.run('echo reached')\n"
            "conn.close()\n"
            "print(result.stdout.strip(), 'encodings.idna' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(host.inventory_vars())],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "reached False\n"), proc.stderr


def test_a_name_outside_ascii_still_goes_through_idna() -> None:
    from runbook_engine.connection.ssh import _resolvable

    assert _resolvable("127.0.0.1") == b"127.0.0.1"
    assert _resolvable("bücher.example") == "bücher.example"  # getaddrinfo applies IDNA


def test_connecting_starts_one_thread_the_transports(
    ssh_hosts: list[SSHHost], monkeypatch: pytest.MonkeyPatch
) -> None:
    # paramiko would start a threading.Timer per connection for the handshake's time
    # limit; ssh._Packetizer keeps a deadline instead (a thread costs ~0.25 ms of CPU).
    started: list[str] = []
    real_start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(type(self).__name__)
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    host = ssh_hosts[0]
    conn = connection_for(host.name, host.inventory_vars())
    try:
        assert conn.run("echo up").stdout == "up\n"
    finally:
        conn.close()
    assert started == ["Transport"]


def test_a_handshake_that_stalls_ends_at_its_deadline() -> None:
    from runbook_engine.connection.ssh import _transport

    ours, silent_server = socket.socketpair()
    try:
        transport = _transport(ours)  # reads with paramiko's 0.1 s poll, like a connect
        packetizer = transport.packetizer
        packetizer.start_handshake(0.3)
        began = time.monotonic()
        with pytest.raises(EOFError):
            packetizer.read_all(4)  # the server never answers
        assert 0.3 <= time.monotonic() - began < 3
        packetizer.complete_handshake()
        assert not packetizer.handshake_timed_out()
    finally:
        ours.close()
        silent_server.close()
