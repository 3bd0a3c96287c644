"""The engine's front door: load and validate everything, then run.

`prepare()` reads the playbook, inventory and variables and checks all of it; it raises
InputError (exit code 2) before any host is touched. `Prepared.run()` executes and
returns the exit code. The CLI, resume and the HTTP API all go through here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError, Position
from runbook_engine.events import EventBus, Sink
from runbook_engine.executor.runner import PlaybookRunner, RunOptions
from runbook_engine.executor.secrets import SecretRegistry
from runbook_engine.loader.checks import check_playbook
from runbook_engine.loader.model import Playbook
from runbook_engine.loader.playbook import load_playbook
from runbook_engine.loader.yaml_source import load_yaml_file, load_yaml_text
from runbook_engine.templating import Templar, TemplateError


@dataclass
class RunRequest:
    playbook: Path
    inventories: list[str] = field(default_factory=list)
    extra_vars: list[str] = field(default_factory=list)  # -e values as typed
    limit: str | None = None
    tags: list[str] = field(default_factory=list)
    skip_tags: list[str] = field(default_factory=list)
    start_at_task: str | None = None
    forks: int = 20
    check: bool = False
    diff: bool = False
    verbosity: int = 0
    vault_password: str | None = None
    run_id: str = ""


def parse_extra_vars(values: Sequence[str]) -> dict[str, Any]:
    """`-e k=v k2=v2`, `-e '{"json": 1}'`, `-e @vars.yml` — later ones win."""
    result: dict[str, Any] = {}
    for value in values:
        text = value.strip()
        if text.startswith("@"):
            data = load_yaml_file(text[1:])
            if not isinstance(data, dict):
                raise InputError(f"-e {value}: the file must hold a mapping", Position(text[1:]))
            result.update(data)
        elif text.startswith(("{", "[")):
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = load_yaml_text(text, "-e")
            if not isinstance(data, dict):
                raise InputError(f"-e {value}: expected a JSON object")
            result.update(data)
        else:
            import shlex

            for word in shlex.split(text):
                key, sep, val = word.partition("=")
                if not sep or not key.isidentifier():
                    raise InputError(
                        f"-e {word!r}: expected key=value, a JSON object or @file",
                        hint="example: -e version=6.5 -e '{\"sites\": [\"a\", \"b\"]}'",
                    )
                result[key] = val
    return result


def _vault_decoder(password: str | None) -> tuple[Callable[[str, Path], str] | None,
                                                   Callable[[str], str] | None]:
    if not password:
        return None, None
    try:
        from runbook_engine import vault
    except ImportError:  # pragma: no cover - vault support lands separately
        return None, None

    def whole_file(text: str, path: Path) -> str:
        try:
            return vault.decrypt(text, password)
        except Exception as exc:
            raise InputError(f"cannot decrypt {path}: {exc}", Position(str(path))) from None

    def value(text: str) -> str:
        return vault.decrypt(text, password)

    return whole_file, value


@dataclass
class Prepared:
    request: RunRequest
    playbook: Playbook
    inventory: Any
    play_hosts: list[list[str]]
    extra_vars: dict[str, Any]
    templar: Templar
    secrets: SecretRegistry

    def run(self, sinks: Sequence[Sink], *, connect: Callable[[str], Any] | None = None,
            resume: Callable[[str], set[str]] | None = None) -> int:
        from runbook_engine.connection.factory import connection_for

        bus = EventBus(list(sinks))
        request = self.request
        options = RunOptions(
            check=request.check, diff=request.diff, forks=request.forks, limit=request.limit,
            tags=frozenset(request.tags), skip_tags=frozenset(request.skip_tags),
            start_at_task=request.start_at_task, extra_vars=self.extra_vars,
            verbosity=request.verbosity, run_id=request.run_id,
        )
        inventory = self.inventory

        def default_connect(host: str) -> Any:
            return connection_for(host, inventory.host_vars(host))

        runner = PlaybookRunner(
            self.playbook, inventory, self.play_hosts, options=options, bus=bus,
            connect=connect or default_connect, templar=self.templar, secrets=self.secrets,
            resume=resume,
        )
        bus.emit(
            "run_start", run_id=runner.run_id, playbook=str(self.playbook.path),
            playbook_sha256=self.playbook.sha256, inventory=list(request.inventories),
            limit=request.limit, tags=list(request.tags), skip_tags=list(request.skip_tags),
            check=request.check, diff=request.diff,
            extra_vars=self.secrets.mask(self.extra_vars),
        )
        try:
            return runner.run()
        finally:
            bus.close()


def prepare(request: RunRequest) -> Prepared:
    from runbook_engine.inventory import load_inventory

    password = request.vault_password or os.environ.get("RUNBOOK_VAULT_PASSWORD")
    file_decoder, value_decoder = _vault_decoder(password)
    extra_vars = parse_extra_vars(request.extra_vars)
    playbook = load_playbook(request.playbook, extra_vars=extra_vars, vault=file_decoder)
    inventory = load_inventory(request.inventories, extra_var_dirs=[playbook.path.parent],
                               vault=file_decoder)
    templar = Templar(search_paths=[playbook.path.parent])
    secrets = SecretRegistry(decrypt=value_decoder)
    play_hosts = []
    for play in playbook.plays:
        pattern = play.hosts
        if "{{" in pattern:
            try:
                pattern = str(templar.render(pattern, {**play.vars, **extra_vars}))
            except TemplateError as exc:
                raise InputError(f"hosts: {exc}", play.position) from None
        play_hosts.append(inventory.select(pattern, request.limit, play.position,
                                           allow_empty=bool(request.limit)))
    if request.limit and not any(play_hosts):
        raise InputError(f"--limit '{request.limit}' leaves no host in any play",
                         hint="check the name, or run `runbook inventory --graph`")
    check_playbook(playbook, inventory, play_hosts, extra_vars, templar)
    return Prepared(request, playbook, inventory, play_hosts, extra_vars, templar, secrets)
