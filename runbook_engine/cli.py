"""Command line: argument parsing and rendering only; no engine logic here.

Each subcommand lives in `runbook_engine/commands/<name>.py` and defines
`HELP: str`, `configure(parser)` and `main(args) -> int`. Files whose name has an
underscore map to a dashed command. Imports inside `main` stay lazy, so
`runbook --version` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from runbook_engine import __version__, commands
from runbook_engine.errors import ExitCode, InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbook",
        description="Run maintenance playbooks (Ansible dialect) against an inventory of hosts.",
    )
    parser.add_argument("--version", action="version", version=f"runbook {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        name = info.name.replace("_", "-")
        child = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(child)
        child.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-V"]):  # fast path: no subcommand imports
        print(f"runbook {__version__}")
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return int(ExitCode.INVALID_INPUT)
    try:
        return int(args.handler(args))
    except InputError as exc:
        print(exc.render(), file=sys.stderr)
        return int(ExitCode.INVALID_INPUT)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


# Commands that load a playbook and then run it once. While they import the engine and
# load, nearly every object made lives until the process ends, so the cyclic collector is
# off until `commands.run.execute` freezes what was loaded and turns it back on.
# (Long-lived commands such as `serve` and `scheduler` keep the collector as usual.)
_LOAD_THEN_RUN = frozenset({"run", "retry", "resume"})


def entry() -> None:
    """The `runbook` command. Unlike `main()` (which tests call in-process) it exits
    the fast way: the run is over, every output is flushed and every file closed, and
    letting the interpreter free its whole heap one object at a time costs ~0.5 s."""
    import gc
    import os

    gc.freeze()  # what start-up allocated is never garbage: stop scanning it
    if sys.argv[1:2] and sys.argv[1] in _LOAD_THEN_RUN:
        gc.disable()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
