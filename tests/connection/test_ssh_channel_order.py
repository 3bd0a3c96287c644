"""A command that exits without reading its stdin must not take its host's connection down.

OpenSSH drops the whole connection when a message names a channel it has already freed
("data packet referred to nonexistent channel"). Once a command has exited, the server
closes its channel and paramiko's transport thread answers at once; stdin data sent after
that answer killed every other command on the connection (seen in CI, ~1 run in 5 of
test_concurrent_commands_share_one_connection, when a busy controller's GIL held the
sending thread up between paramiko's "is the channel open?" check and its send).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from runbook_engine.connection.factory import connection_for
from runbook_engine.connection.ssh import SSHConnection
from tests.fixtures.sshd import SSHHost

HOLD_UP = 0.5  # far longer than `exit 3` takes on the host


class _HeldUpEvent(threading.Event):
    """A transport's clear-to-send event that holds one thread up before each message it
    sends, as a controller busy with other hosts can: the window in which the command
    exits and the server closes its channel."""

    def __init__(self, held_thread: int, was_set: bool) -> None:
        super().__init__()
        self.held_thread = held_thread
        if was_set:
            self.set()

    def wait(self, timeout: float | None = None) -> bool:
        if threading.get_ident() == self.held_thread:
            threading.Event().wait(HOLD_UP)
        return super().wait(timeout)


@pytest.fixture
def conn(ssh_hosts: list[SSHHost]) -> Iterator[SSHConnection]:
    host = ssh_hosts[0]
    # Every command on a channel of its own: the channels that the server closes.
    connection = connection_for(
        host.name, {**host.inventory_vars(), "runbook_ssh_reuse_shell": False}
    )
    assert isinstance(connection, SSHConnection)
    try:
        yield connection
    finally:
        connection.close()


def test_stdin_for_a_command_that_already_exited_does_not_drop_the_connection(
    conn: SSHConnection,
) -> None:
    with conn.open_stream("sleep 4; echo survived") as other_command:
        transport = conn._transport
        assert transport is not None
        held = _HeldUpEvent(threading.get_ident(), transport.clear_to_send.is_set())
        transport.clear_to_send = held
        result = conn.run("exit 3", stdin=b"never read")
        held.held_thread = 0  # no more holding up
        assert result.rc == 3
        output = other_command.stdout.read()
        assert (output, other_command.wait().rc) == (b"survived\n", 0)
    assert conn.run("echo still connected").stdout == "still connected\n"
