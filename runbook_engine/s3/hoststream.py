"""Streams to and from the host through the task's connection, with become applied and the
secrets the host command needs (sudo password, database password) fed on stdin."""

from __future__ import annotations

from runbook_engine.connection.base import Stream
from runbook_engine.modules.base import TaskContext


def stdin_secrets(ctx: TaskContext, *secrets: str | None) -> bytes:
    """The lines a wrapped command reads first: sudo's password, then each given secret."""
    lines: list[str] = []
    if ctx.become is not None and ctx.become.password:
        lines.append(ctx.become.password)
    lines += [s for s in secrets if s is not None]
    return b"".join(line.encode() + b"\n" for line in lines)


def open_host_stream(
    ctx: TaskContext, command: str, *, secrets: bytes = b"", keep_stdin: bool = False
) -> Stream:
    """Start `command` (wrapped with the task's become/env) with streamed stdin/stdout.
    Unless `keep_stdin`, stdin is closed after the secrets so the command never waits."""
    stream = ctx.conn.open_stream(ctx.wrap(command))
    if secrets:
        stream.stdin.write(secrets)
        stream.stdin.flush()
    if not keep_stdin:
        stream.stdin.close()
    return stream
