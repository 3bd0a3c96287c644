"""The Connection protocol every module talks to a host through.

Modules never assume Python on the target: everything is a POSIX shell command, with data
passed on stdin (never interpolated into the command line) and read back from stdout.
"""

from __future__ import annotations

import select
import time
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable


def wait_budget(deadline: float | None) -> float:
    """How long to block before looking again at a channel's state: 5 s, or less if the
    `time.monotonic()` deadline comes first; TimeoutError once it has passed."""
    wait = 5.0
    if deadline is not None:
        wait = min(wait, deadline - time.monotonic())
        if wait <= 0:
            raise TimeoutError
    return wait


def wait_readable(fd: int, deadline: float | None) -> None:
    """Block until `fd` is readable, or `wait_budget` runs out. poll(), not select(): a
    run over hundreds of hosts holds descriptors above select()'s 1024."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll(wait_budget(deadline) * 1000)


@dataclass(slots=True)
class CommandResult:
    """What a finished command left: exit code and both output streams (raw bytes)."""

    rc: int
    stdout_bytes: bytes = b""
    stderr_bytes: bytes = b""

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode("utf-8", "replace")

    @property
    def ok(self) -> bool:
        return self.rc == 0


class Stream(Protocol):
    """A running command whose stdin / stdout are streamed (backups, restores).

    Use as a context manager; `wait()` closes stdin, drains, and returns the result
    (stdout_bytes is empty: it was consumed through `stdout`).
    """

    stdin: BinaryIO
    stdout: BinaryIO

    def wait(self) -> CommandResult: ...

    def __enter__(self) -> Stream: ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class Connection(Protocol):
    """A live session with one host, reused for every task of a run."""

    host: str  # inventory hostname, for messages

    def connect(self) -> None:
        """Open the session. Raises HostUnreachable with a message a person can act on."""

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float | None = None,
        text: bool = False,
    ) -> CommandResult:
        """Run `command` with /bin/sh on the host. Raises HostUnreachable if the link dies,
        TimeoutError if `timeout` seconds pass (the remote command is killed). `text`: the
        caller knows the output is short text without NUL bytes, so the connection may
        hold it back and send it with the end of the reply."""

    def open_stream(self, command: str) -> Stream:
        """Start `command` with streamed stdin/stdout, for data larger than memory."""

    def close(self) -> None:
        """Close the session; safe to call twice."""
