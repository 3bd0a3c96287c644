"""`runbook run PLAYBOOK -i INVENTORY`: parse arguments, pick the outputs, run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

HELP = "run a playbook against an inventory"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("playbook", type=Path, help="the playbook file (YAML)")
    parser.add_argument("-i", "--inventory", action="append", default=[],
                        help="inventory file, directory or 'host1,host2,' (repeatable)")
    parser.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="k=v, a JSON object, or @file.yml (repeatable; highest precedence)")
    parser.add_argument("-l", "--limit", help="further limit the hosts (pattern or @file)")
    parser.add_argument("-t", "--tags", action="append", default=[],
                        help="only run tasks with these tags (comma separated)")
    parser.add_argument("--skip-tags", action="append", default=[],
                        help="skip tasks with these tags (comma separated)")
    parser.add_argument("--start-at-task", metavar="NAME", help="start at the task with this name")
    parser.add_argument("-f", "--forks", type=int, default=20, help="hosts at once (default 20)")
    parser.add_argument("-C", "--check", action="store_true",
                        help="report what would change, change nothing")
    parser.add_argument("--dry-run", dest="check", action="store_true", help="same as --check")
    parser.add_argument("-D", "--diff", action="store_true", help="show differences in files")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more output (-vvv)")
    parser.add_argument("--format", choices=("text", "json", "jsonl"), default="text",
                        help="text for people (default), json: one document on stdout, "
                             "jsonl: one event per line as it happens")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--report", type=Path, metavar="FILE",
                        help="write the checks' report: self-contained HTML, or JSON (*.json)")
    # For the scheduler and the HTTP API, which start runs as child processes.
    parser.add_argument("--trigger", default="cli", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", dest="new_run_id", type=_run_id, default=None,
                        help=argparse.SUPPRESS)  # not `run_id`: resume/retry's RUN_ID is that
    add_run_options(parser)


def _run_id(text: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", text):
        raise argparse.ArgumentTypeError(f"invalid run id {text!r}")
    return text


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run`, `resume` and `retry`."""
    parser.add_argument("-p", "--param", dest="params", action="append", default=[],
                        metavar="NAME=VALUE", help="a runbook parameter (repeatable)")
    parser.add_argument("--vault-password-file", action="append", default=[], metavar="FILE",
                        help="vault password file (or set RUNBOOK_VAULT_PASSWORD)")
    parser.add_argument("--vault-id", action="append", default=[], metavar="ID@SOURCE",
                        help="a vault id and its password file or 'prompt'")
    parser.add_argument("--ask-vault-pass", action="store_true", help="prompt for the vault "
                        "password")
    parser.add_argument("--wait-lock", type=float, default=0, metavar="SECONDS",
                        help="wait this long for hosts locked by another run (default: fail)")
    parser.add_argument("--approve", action="append", default=[], metavar="STEP",
                        help="pre-approve an approval step (for CI); 'all' approves every step")
    parser.add_argument("--step", action="store_true",
                        help="confirm each task: (y)es, (n)o, (c)ontinue without asking")
    parser.add_argument("--non-interactive", action="store_true",
                        help="never prompt (the default when stdin is not a terminal)")
    parser.add_argument("--no-journal", action="store_true",
                        help="do not record the run in the history (no resume possible)")
    parser.add_argument("--executor", choices=("local", "celery"),
                        default=os.environ.get("RUNBOOK_EXECUTOR", "local"),
                        help="run hosts' tasks here (local) or on Celery workers")
    parser.add_argument("-K", "--ask-become-pass", action="store_true",
                        help="prompt for the sudo password (kept out of every output)")
    parser.add_argument("--syntax-check", action="store_true",
                        help="load and validate everything, touch no host")
    parser.add_argument("--list-hosts", action="store_true", help="list each play's hosts")
    parser.add_argument("--list-tasks", action="store_true", help="list each play's tasks")


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def main(args: argparse.Namespace) -> int:
    from runbook_engine.engine import RunRequest, prepare

    request = RunRequest(
        playbook=args.playbook, inventories=list(args.inventory),
        extra_vars=list(args.extra_vars), limit=args.limit, tags=_split(args.tags),
        skip_tags=_split(args.skip_tags), start_at_task=args.start_at_task,
        forks=max(1, args.forks), check=args.check, diff=args.diff, verbosity=args.verbose,
    )
    apply_run_options(request, args)
    request.trigger = getattr(args, "trigger", "cli") or "cli"
    prepared = prepare(request)
    if args.syntax_check:
        print(f"playbook: {prepared.playbook.path} — syntax and variables OK")
        return 0
    if args.list_hosts or args.list_tasks:
        _print_listing(prepared, hosts=args.list_hosts, tasks=args.list_tasks)
        return 0
    return execute(prepared, args)


def apply_run_options(request: object, args: argparse.Namespace) -> None:
    interactive = sys.stdin.isatty() and not args.non_interactive
    request.params = list(args.params)  # type: ignore[attr-defined]
    request.vault_password_files = list(args.vault_password_file)  # type: ignore[attr-defined]
    request.vault_ids = list(args.vault_id)  # type: ignore[attr-defined]
    request.ask_vault_pass = args.ask_vault_pass  # type: ignore[attr-defined]
    request.wait_lock = args.wait_lock  # type: ignore[attr-defined]
    request.preapproved = _split(args.approve)  # type: ignore[attr-defined]
    request.step = args.step  # type: ignore[attr-defined]
    request.interactive = interactive  # type: ignore[attr-defined]
    request.journal = not args.no_journal  # type: ignore[attr-defined]
    request.executor = args.executor  # type: ignore[attr-defined]


def execute(prepared: object, args: argparse.Namespace) -> int:
    """Run a prepared playbook with the outputs the arguments ask for."""
    from runbook_engine.errors import ExitCode
    from runbook_engine.state.locks import LockedError

    if getattr(args, "ask_become_pass", False):
        import getpass

        password = getpass.getpass("BECOME password: ")
        prepared.extra_vars["ansible_become_password"] = password  # type: ignore[attr-defined]
        prepared.secrets.add(password)  # type: ignore[attr-defined]
    _sigterm_interrupts()
    _freeze_what_is_loaded(prepared)
    try:
        return prepared.run(_sinks(args), confirm=_ask_step,  # type: ignore[attr-defined]
                            run_id=getattr(args, "new_run_id", None))
    except LockedError as exc:
        print(exc.render(), file=sys.stderr)
        return int(ExitCode.HOST_LOCKED)


def _freeze_what_is_loaded(prepared: object) -> None:
    """When `cli.entry` turned the cyclic collector off for loading, keep what was loaded
    (modules, classes, the playbook, the inventory, paramiko) out of its reach for good,
    and turn it back on for the run. Every collection would otherwise walk all of it
    again. bench/gc_cost.py at 50 hosts: 71-104 ms in the collector before, 20-28 ms
    with the freeze, 6-9 ms with the larger first generation too. In-process callers
    (tests) are untouched."""
    import gc

    if not gc.isenabled():
        if getattr(prepared, "uses_ssh", False):
            # paramiko and cryptography load at the first connection otherwise: load them
            # now, with the rest of what lives for the whole run.
            import runbook_engine.connection.ssh  # noqa: F401
        gc.freeze()
        # Most of a run's garbage is freed by reference counting as soon as it is made;
        # a larger first generation lets it go before a collection looks at it.
        gc.set_threshold(5000)
        gc.enable()


def _ask_step(task: str) -> str:
    while True:
        try:
            answer = input(f"Perform task: {task} (N)o/(y)es/(c)ontinue: ").strip().lower()
        except EOFError:
            return "n"
        if answer in ("", "n", "no"):
            return "n"
        if answer in ("y", "yes", "c", "continue"):
            return answer[0]


def _sigterm_interrupts() -> None:
    """SIGTERM (a scheduler or CI stopping us) ends the run like Ctrl-C: cleanly."""
    import signal

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _sinks(args: argparse.Namespace) -> list:
    sinks: list = []
    if args.format == "json":
        from runbook_engine.output.json_sink import JsonSink

        sinks.append(JsonSink(sys.stdout))
    elif args.format == "jsonl":
        from runbook_engine.output.jsonl import JsonLinesSink

        sinks.append(JsonLinesSink(sys.stdout))
    else:
        from runbook_engine.output.console import ConsoleSink

        sinks.append(ConsoleSink(verbosity=args.verbose))
    if args.junit:
        from runbook_engine.output.junit import JunitSink

        sinks.append(JunitSink(args.junit))
    report = getattr(args, "report", None)
    if report or args.format == "text":
        from runbook_engine.output.checks_report import ChecksReport

        # the table of check results follows the recap on a terminal; files on request
        console = _terminal_console if args.format == "text" else None
        sinks.append(ChecksReport.for_file(report, console) if report
                     else ChecksReport(console=console))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            from runbook_engine.output.summary import GitHubSummarySink
        except ImportError:  # pragma: no cover
            pass
        else:
            sinks.append(GitHubSummarySink(summary))
    return sinks


def _print_listing(prepared: object, *, hosts: bool, tasks: bool) -> None:
    from runbook_engine.loader.playbook import walk_tasks

    playbook = prepared.playbook  # type: ignore[attr-defined]
    for play, play_hosts in zip(playbook.plays, prepared.play_hosts, strict=True):  # type: ignore[attr-defined]
        print(f"play: {play.name} ({len(play_hosts)} hosts)")
        if hosts:
            for host in play_hosts:
                print(f"    {host}")
        if tasks:
            for section in (play.pre_tasks, play.tasks, play.post_tasks):
                for task in walk_tasks(section):
                    if task.kind in ("task", "include"):
                        tags = f"  tags: {', '.join(sorted(task.tags))}" if task.tags else ""
                        print(f"    {task.display_name}  ({task.position}){tags}")


def _terminal_console() -> Console:
    from rich.console import Console

    return Console()
