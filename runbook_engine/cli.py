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
from functools import cache

from runbook_engine import __version__, commands
from runbook_engine.errors import ExitCode, InputError


@cache
def command_modules() -> dict[str, str]:
    """Command name -> the module that implements it (read once per process)."""
    return {
        info.name.replace("_", "-"): f"{commands.__name__}.{info.name}"
        for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name)
        if not info.name.startswith("_")
    }


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `command`, only that subcommand (the others' modules
    are not imported: ~15 ms of every start-up)."""
    parser = argparse.ArgumentParser(
        prog="runbook",
        description="Run maintenance playbooks (Ansible dialect) against an inventory of hosts.",
    )
    parser.add_argument("--version", action="version", version=f"runbook {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in command_modules().items():
        if command is not None and name != command:
            continue
        module = importlib.import_module(module_name)
        child = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(child)
        child.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-V"]):  # fast path: no subcommand imports
        print(f"runbook {__version__}")
        return 0
    # The subcommand comes first (the only option before it is --version): a known name
    # sets up that command alone; anything else (help, a typo) gets the whole parser.
    named = argv[0] if argv and argv[0] in command_modules() else None
    parser = build_parser(named)
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


def set_up_process(argv: Sequence[str]) -> None:
    """The process as the `runbook` command runs in it (bench/ tools that call `main()`
    in-process use this too, to measure the same thing). Library users and tests that
    import runbook_engine keep their process as it is."""
    _set_up_collector(argv)
    _without_pydantic_plugins()


def _set_up_collector(argv: Sequence[str]) -> None:
    import gc

    gc.freeze()  # what start-up allocated is never garbage: stop scanning it
    if argv[:1] and argv[0] in _LOAD_THEN_RUN:
        gc.disable()


def _without_pydantic_plugins() -> None:
    """pydantic looks for plugins (the `pydantic` entry-point group) when it builds its
    first model: it imports importlib.metadata (email, zipfile, csv...) and reads the
    metadata of every installed distribution, ~40 ms of every start. Plugins observe an
    application's own models (logfire, say); runbook's models only check its input, so
    the `runbook` command tells pydantic there are none. (pydantic imports this module
    in one place, `plugin/_schema_validator.py`, for `get_plugins` alone.)"""
    if "pydantic.plugin._loader" in sys.modules:
        return
    import types

    loader = types.ModuleType("pydantic.plugin._loader", "runbook: no pydantic plugins")
    loader.get_plugins = tuple  # type: ignore[attr-defined]  # get_plugins() -> ()
    sys.modules[loader.__name__] = loader


def entry() -> None:
    """The `runbook` command. Unlike `main()` (which tests call in-process) it exits
    the fast way: the run is over, every output is flushed and every file closed, and
    letting the interpreter free its whole heap one object at a time costs ~0.5 s."""
    import os

    set_up_process(sys.argv[1:])
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
