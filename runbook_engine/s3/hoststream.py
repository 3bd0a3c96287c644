"""Commands that feed the host data or secrets on stdin, with become applied.

With a become password, the wrapper from `TaskContext.wrap` always reads the first stdin
line as that password (and gives it to sudo only if sudo asks), so it always goes first.
"""

from __future__ import annotations

from runbook_engine.connection.base import CommandResult, Stream
from runbook_engine.modules.base import TaskContext


def stdin_secrets(ctx: TaskContext, *secrets: str | None) -> bytes:
    """The lines a wrapped command reads first: the become password, then each secret."""
    lines: list[str] = []
    if ctx.become is not None and ctx.become.password:
        lines.append(ctx.become.password)
    lines += [s for s in secrets if s is not None]
    return b"".join(line.encode() + b"\n" for line in lines)


def run_fed(
    ctx: TaskContext, command: str, *secrets: str | None, data: bytes = b""
) -> CommandResult:
    """Run `command` (wrapped) with the secrets, then `data`, on its stdin."""
    feed = stdin_secrets(ctx, *secrets) + data
    return ctx.conn.run(ctx.wrap(command), stdin=feed or None, timeout=ctx.timeout)


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
