"""Commands that feed the host data or secrets on stdin, with become applied.

sudo reads its password from stdin only when it needs one: with a NOPASSWD rule or a cached
timestamp it does not, and the password line would reach the command as data (a corrupt
staged archive, or the sudo password read as the database password). So before feeding it,
`sudo -n` asks whether a password is needed at all.
"""

from __future__ import annotations

import shlex

from runbook_engine.connection.base import CommandResult, Stream
from runbook_engine.modules.base import TaskContext


def _sudo_wants_password(ctx: TaskContext) -> bool:
    become = ctx.become
    if become is None or not become.password:
        return False
    probe = ctx.conn.run(f"sudo -n -u {shlex.quote(become.user)} -- true", timeout=ctx.timeout)
    return probe.rc != 0


def stdin_secrets(ctx: TaskContext, *secrets: str | None) -> bytes:
    """The lines a wrapped command reads first: sudo's password (only if sudo will ask for
    it), then each given secret."""
    lines: list[str] = []
    if _sudo_wants_password(ctx):
        assert ctx.become is not None and ctx.become.password is not None
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
