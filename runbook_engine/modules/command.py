"""command: run a program with its arguments, no shell (words are quoted one by one).

`command: touch "my file"` or `argv: [touch, my file]`. `creates` / `removes` (paths or
globs, relative to `chdir`) are checked in the same round trip as the command runs.
`execute` is shared with `shell`, `script` and `raw`.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from typing import Any

from pydantic import model_validator

from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

FREE_FORM = "cmd"

_SKIP = "@@RB_SKIP@@"
_WOULD_RUN = "@@RB_WOULD_RUN@@"

# Printable ASCII and the whitespace shlex splits on, without quotes or backslashes:
# such a command line splits into the same words on whitespace as with shlex.split,
# which reads it a character at a time in Python (~0.1 ms for a typical command).
_PLAIN_WORDS = re.compile(r"[\t\n\r\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]*")


class CommandArgs(ModuleArgs):
    """Options every command-like module shares."""

    chdir: str | None = None
    creates: str | None = None
    removes: str | None = None
    stdin: str | None = None
    stdin_add_newline: bool = True
    strip_empty_ends: bool = True


class Args(CommandArgs):
    cmd: str | None = None
    argv: list[str] | None = None

    @model_validator(mode="after")
    def _one_command(self) -> Args:
        if bool(self.cmd) == bool(self.argv):
            raise ValueError("give exactly one of `cmd` (free form) or `argv`")
        return self


def glob_word(pattern: str) -> str:
    """Quote a path for the shell but keep `*` and `?` as glob characters."""
    pieces = re.split(r"([*?])", pattern)
    return "".join(p if p in ("*", "?") else shlex.quote(p) for p in pieces if p)


def _guard(creates: str | None, removes: str | None) -> str:
    """Shell lines that print _SKIP and stop when creates/removes say there is nothing to do."""
    lines = []
    if creates:
        lines.append(
            f'set -- {glob_word(creates)}; if [ -e "$1" ] || [ -L "$1" ]; '
            f"then echo {_SKIP}; exit 0; fi"
        )
    if removes:
        lines.append(
            f'set -- {glob_word(removes)}; if [ ! -e "$1" ] && [ ! -L "$1" ]; '
            f"then echo {_SKIP}; exit 0; fi"
        )
    return "\n".join(lines)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _skip_message(args: CommandArgs) -> tuple[str, str]:
    if args.creates:
        return f"Did not run command since '{args.creates}' exists", (
            f"skipped, since {args.creates} exists"
        )
    return f"Did not run command since '{args.removes}' does not exist", (
        f"skipped, since {args.removes} does not exist"
    )


def execute(
    ctx: TaskContext,
    command: str,
    args: CommandArgs,
    *,
    shown: Any,
    stdin: bytes | None = None,
) -> Result:
    """Run shell text `command` on the host (after the creates/removes guard), one round trip.

    `shown` is the `cmd` value reported back (argv list or string)."""
    guard = _guard(args.creates, args.removes)
    if args.chdir:
        # our own line, not ctx.run(chdir=): `cd x && a; b` would run b after a failed cd
        guard = f"cd -- {shlex.quote(args.chdir)} || exit 1\n{guard}"
    if stdin is None and args.stdin is not None:
        stdin = (args.stdin + ("\n" if args.stdin_add_newline else "")).encode()
    if ctx.check_mode:
        if not (args.creates or args.removes):
            return Result(skipped=True, msg="Command would have run if not in check mode")
        res = ctx.run(f"{guard}\necho {_WOULD_RUN}")
        if _WOULD_RUN in res.stdout:
            return Result(changed=True, msg="Command would have run if not in check mode")
        msg, out = _skip_message(args)
        return Result(msg=msg, rc=0, stdout=out, data={"cmd": shown})
    script = f"{guard}\n{command}" if guard else command
    start = datetime.now()
    res = ctx.run(script, stdin=stdin)
    end = datetime.now()
    if guard and res.rc == 0 and res.stdout == f"{_SKIP}\n":
        msg, out = _skip_message(args)
        return Result(msg=msg, rc=0, stdout=out, data={"cmd": shown})
    stdout, stderr = res.stdout, res.stderr
    if args.strip_empty_ends:
        stdout, stderr = stdout.rstrip("\r\n"), stderr.rstrip("\r\n")
    failed = res.rc != 0
    return Result(
        changed=True,
        failed=failed,
        msg="non-zero return code" if failed else "",
        rc=res.rc,
        stdout=stdout,
        stderr=stderr,
        data={
            "cmd": shown,
            "start": _timestamp(start),
            "end": _timestamp(end),
            "delta": str(end - start),
        },
    )


def split_words(command: str) -> list[str]:
    """The words of a command line, as shlex.split (POSIX rules) gives them."""
    if _PLAIN_WORDS.fullmatch(command):
        return command.split()
    return shlex.split(command)


def run(ctx: TaskContext, args: Args) -> Result:
    argv = list(args.argv) if args.argv else split_words(args.cmd or "")
    if not argv:
        return Result(failed=True, msg="no command given")
    return execute(ctx, shlex.join(argv), args, shown=argv)
