"""shell: run a command line through a shell (/bin/sh or `executable`) on the host.

The command line is handed to the shell as ONE quoted argument (`/bin/sh -c '...'`), so
pipes, redirections and `;` work inside it while the surrounding script stays ours.
"""

from __future__ import annotations

import shlex

from runbook_engine.modules.base import Result, TaskContext
from runbook_engine.modules.command import CommandArgs, execute

FREE_FORM = "cmd"


class Args(CommandArgs):
    cmd: str
    executable: str = "/bin/sh"


def run(ctx: TaskContext, args: Args) -> Result:
    return execute(ctx, shlex.join([args.executable, "-c", args.cmd]), args, shown=args.cmd)
