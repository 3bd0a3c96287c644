"""script: run a controller-side script on the host, piped to its interpreter's stdin.

`script: backup.sh --full` finds `backup.sh` under the role's `files/` (or the playbook's
directory). The interpreter is `executable`, else the script's `#!` line, else /bin/sh.
Nothing is copied to the host, so no temp file is left behind.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import Result, TaskContext
from runbook_engine.modules.command import CommandArgs, execute

FREE_FORM = "cmd"
_SHELLS = {"sh", "bash", "dash", "ksh", "zsh", "ash", "mksh"}


class Args(CommandArgs):
    cmd: str
    executable: str | None = None


def _interpreter(source: bytes, executable: str | None) -> list[str]:
    if executable:
        return shlex.split(executable)
    first = source.split(b"\n", 1)[0]
    if first.startswith(b"#!"):
        return first[2:].decode("utf-8", "replace").split()
    return ["/bin/sh"]


def run(ctx: TaskContext, args: Args) -> Result:
    if args.stdin is not None:
        raise ModuleFailure("script reads the script itself on stdin; `stdin` is not supported")
    words = shlex.split(args.cmd)
    if not words:
        raise ModuleFailure("no script given")
    source = ctx.find_file(words[0], "files").read_bytes()
    interpreter = _interpreter(source, args.executable)
    # shells read a script from stdin with `-s`, most other interpreters with `-`
    program = interpreter[1] if len(interpreter) > 1 and interpreter[0].endswith("env") else ""
    if PurePosixPath(program or interpreter[0]).name in _SHELLS:
        argv = [*interpreter, "-s", "--", *words[1:]]
    else:
        argv = [*interpreter, "-", *words[1:]]
    return execute(ctx, shlex.join(argv), args, shown=args.cmd, stdin=source)
