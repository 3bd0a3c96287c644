"""A connection that passes every call to a real one and remembers the command lines,
so tests can prove a secret never appeared on one."""

from __future__ import annotations

from typing import Any

from runbook_engine.connection.base import CommandResult, Connection


class RecordingConnection:
    def __init__(self, real: Connection) -> None:
        self.real = real
        self.host = real.host
        self.commands: list[str] = []

    def connect(self) -> None:
        self.real.connect()

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float | None = None,
        text: bool = False,
    ) -> CommandResult:
        self.commands.append(command)
        return self.real.run(command, stdin=stdin, timeout=timeout, text=text)

    def open_stream(self, command: str) -> Any:
        self.commands.append(command)
        return self.real.open_stream(command)

    def close(self) -> None:
        self.real.close()
