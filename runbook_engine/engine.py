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
from runbook_engine.loader.checks import check_playbook
from runbook_engine.loader.model import Playbook
from runbook_engine.loader.playbook import load_playbook
from runbook_engine.loader.yaml_source import VaultTagged, load_yaml_file, load_yaml_text
from runbook_engine.secrets import PASSWORD_VARS, SecretRegistry
from runbook_engine.templating import Templar, TemplateError


@dataclass
class RunRequest:
    """What the command line asks of a run (before anything is loaded)."""

    playbook: Path
    inventories: list[str] = field(default_factory=list)
    extra_vars: list[str] = field(default_factory=list)  # -e values as typed
    params: list[str] = field(default_factory=list)  # -p name=value
    limit: str | None = None
    tags: list[str] = field(default_factory=list)
    skip_tags: list[str] = field(default_factory=list)
    start_at_task: str | None = None
    forks: int = 20
    check: bool = False
    diff: bool = False
    verbosity: int = 0
    vault_password_files: list[str] = field(default_factory=list)
    vault_ids: list[str] = field(default_factory=list)
    ask_vault_pass: bool = False
    interactive: bool | None = None  # None: when stdin is a terminal
    # durable runs
    journal: bool = True
    lock: bool = True
    wait_lock: float = 0
    trigger: str = "cli"
    preapproved: list[str] = field(default_factory=list)
    step: bool = False
    resume_from: str | None = None  # run id whose completed work is skipped
    executor: str = "local"  # local (thread pool) | celery (workers over Redis)


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


class _VaultAccess:
    """Vault passwords for one run: whole encrypted files at load time, `!vault` values
    when a variable is first read. Every plaintext joins the secret registry."""

    def __init__(self, request: RunRequest, secrets: SecretRegistry) -> None:
        self._request = request
        self._registry = secrets
        self._secrets: Any = None
        self._revealed: dict[str, Any] = {}

    def _vault_secrets(self) -> Any:
        if self._secrets is None:
            from runbook_engine import vault

            self._secrets = vault.gather_secrets(
                self._request.vault_password_files, self._request.vault_ids,
                prompt=self._request.ask_vault_pass,
            )
        return self._secrets

    def file(self, text: str, path: Path) -> str:
        from runbook_engine import vault

        secrets = self._vault_secrets()
        if not secrets:
            raise InputError(
                f"{path.name} is vault-encrypted and no vault password was given",
                Position(str(path)),
                "pass --vault-password-file FILE, --vault-id, --ask-vault-pass, "
                "or set RUNBOOK_VAULT_PASSWORD",
            )
        return vault.decrypt_file_text(text, secrets, self._registry)

    def reveal(self, value: Any) -> Any:
        if not isinstance(value, VaultTagged):
            return value
        from runbook_engine import vault

        secrets = self._vault_secrets()
        if not secrets:
            raise TemplateError("a !vault value needs a vault password "
                                "(--vault-password-file or RUNBOOK_VAULT_PASSWORD)")
        return vault.decrypt_value(value, secrets, self._registry)

    def reveal_once(self, value: Any) -> Any:
        """`reveal`, each ciphertext decrypted once per run (a group's vaulted password is
        every host's, and the key derivation costs milliseconds)."""
        if not isinstance(value, VaultTagged):
            return value
        if value not in self._revealed:
            self._revealed[value] = self.reveal(value)
        return self._revealed[value]


@dataclass
class Prepared:
    """A playbook, inventory and variables loaded and checked: ready to run."""

    request: RunRequest
    playbook: Playbook
    inventory: Any
    play_hosts: list[list[str]]
    extra_vars: dict[str, Any]
    templar: Templar
    secrets: SecretRegistry
    vault: _VaultAccess
    params: dict[str, Any] = field(default_factory=dict)
    masked_params: dict[str, Any] = field(default_factory=dict)
    resume: Any = None  # state.store.ResumeState when resuming
    notify: Sink | None = None  # webhooks named by the playbook or RUNBOOK_NOTIFY_URLS
    uses_ssh: bool = False  # some target host is reached over SSH (not all local)

    @property
    def hosts(self) -> list[str]:
        return list(dict.fromkeys(h for hosts in self.play_hosts for h in hosts))

    def run(self, sinks: Sequence[Sink], *, connect: Callable[[str], Any] | None = None,
            confirm: Callable[[str], str] | None = None, run_id: str | None = None) -> int:
        """Run the playbook: journal it, lock its hosts, stream events to `sinks`."""
        from runbook_engine.connection.factory import connection_for

        request = self.request
        store = _open_store() if (request.journal or request.lock) else None
        try:
            run_id = run_id or _new_run_id()
            if store is not None and request.lock:
                store.locks.acquire(run_id, self.hosts, playbook=str(self.playbook.path),
                                    user=_user(), wait=request.wait_lock)
            bus = EventBus(list(sinks))
            if store is not None and request.journal:
                from runbook_engine.output.journal import JournalSink

                bus.add(JournalSink(store, secrets=self.secrets, user=_user(),
                                    trigger=request.trigger, resumed_from=request.resume_from))
            if self.notify is not None:
                bus.add(self.notify)
            return self._execute(bus, run_id, connect or self._default_connect(connection_for),
                                 confirm)
        finally:
            if store is not None:
                if request.lock and run_id:
                    store.locks.release(run_id)
                store.close()

    def _default_connect(self, connection_for: Callable[..., Any]) -> Callable[[str], Any]:
        from runbook_engine.connection.factory import (
            command_line_overrides,
            host_connection_vars,
        )

        overrides = command_line_overrides(self.extra_vars)  # checked by prepare()
        extra_vars = {**self.extra_vars, **self.params}

        def connect(host: str) -> Any:
            return connection_for(host, host_connection_vars(
                self.inventory, host, overrides, self.vault.reveal_once, self.templar,
                extra_vars))

        return connect

    def _execute(self, bus: EventBus, run_id: str, connect: Callable[[str], Any],
                 confirm: Callable[[str], str] | None) -> int:
        request = self.request
        options = RunOptions(
            check=request.check, diff=request.diff, forks=request.forks, limit=request.limit,
            tags=frozenset(request.tags), skip_tags=frozenset(request.skip_tags),
            start_at_task=request.start_at_task, extra_vars={**self.extra_vars, **self.params},
            verbosity=request.verbosity, run_id=run_id,
            step=request.step, preapproved=frozenset(request.preapproved),
        )
        runner = PlaybookRunner(
            self.playbook, self.inventory, self.play_hosts, options=options, bus=bus,
            connect=connect, templar=self.templar, secrets=self.secrets,
            reveal=self.vault.reveal,
            resume=self.resume.hosts if self.resume is not None else None,
            confirm=confirm if request.step else None,
            task_executor=_task_executor(request.executor, self),
        )
        bus.emit(
            "run_start", run_id=run_id, playbook=str(self.playbook.path),
            playbook_sha256=self.playbook.sha256, inventory=list(request.inventories),
            limit=request.limit, tags=list(request.tags), skip_tags=list(request.skip_tags),
            check=request.check, diff=request.diff, hosts=self.hosts,
            extra_vars=self.secrets.mask(self.extra_vars), params=self.masked_params,
            resumed_from=request.resume_from,
        )
        try:
            return runner.run()
        finally:
            bus.close()


def _task_executor(name: str, prepared: Prepared) -> Any:
    if name == "local":
        return None
    if name == "celery":
        try:
            from runbook_engine.distributed.executor import celery_task_executor
        except ImportError as exc:
            raise InputError(f"--executor celery is not available: {exc}",
                             hint="pip install 'runbook-engine[celery]'") from None
        return celery_task_executor(prepared)
    raise InputError(f"unknown executor {name!r}", hint="use local or celery")


def _ordered(hosts: list[str], order: str) -> list[str]:
    """The play's `order:` (inventory order is what select() returns)."""
    if order == "sorted":
        return sorted(hosts)
    if order == "reverse_sorted":
        return sorted(hosts, reverse=True)
    if order == "reverse_inventory":
        return list(reversed(hosts))
    return hosts


def _open_store() -> Any:
    from runbook_engine.state.store import open_store

    return open_store()


def _new_run_id() -> str:
    from runbook_engine.state.store import new_run_id

    return new_run_id()


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _value_position(inventory: Any, host: str, exc: InputError) -> Position | None:
    from runbook_engine.connection.factory import ConnectionVarError

    if not isinstance(exc, ConnectionVarError):
        return None
    return next((where for name in exc.names
                 if (where := inventory.var_position(host, name)) is not None), None)


def _notify_sink(playbook: Playbook, secrets: SecretRegistry) -> Sink | None:
    """Webhooks from the first play that names them, or RUNBOOK_NOTIFY_URLS."""
    spec: Any = next((p.notify for p in playbook.plays if p.notify), None)
    env_urls = [u for u in os.environ.get("RUNBOOK_NOTIFY_URLS", "").split(",") if u.strip()]
    if not spec and not env_urls:
        return None
    from runbook_engine.output.notify import NotifySink

    if isinstance(spec, str):
        spec = {"urls": [spec]}
    elif isinstance(spec, list):
        spec = {"urls": spec}
    spec = dict(spec or {})
    urls = [str(u) for u in spec.get("urls", spec.get("webhooks", []))] + env_urls
    # YAML 1.1 reads an unquoted `on:` key as the boolean true
    on = spec.get("on", spec.get(True, ["failure", "approval"]))
    try:
        return NotifySink(urls, on=set(on if isinstance(on, list) else [on]),
                          slack=bool(spec.get("slack", False)), secrets=secrets)
    except ValueError as exc:
        play = next((p for p in playbook.plays if p.notify), playbook.plays[0])
        raise InputError(f"notify: {exc}", play.position,
                         "events are: failure, success, approval") from None


def prepare(request: RunRequest, *, resume: Any = None) -> Prepared:
    """Load and validate everything; InputError (exit 2) before any host is touched."""
    from runbook_engine.connection.factory import (
        command_line_overrides,
        connection_settings,
        host_connection_vars,
    )
    from runbook_engine.inventory import load_inventory
    from runbook_engine.params import resolve_params

    secrets = SecretRegistry()
    vault = _VaultAccess(request, secrets)
    extra_vars = parse_extra_vars(request.extra_vars)
    for name in PASSWORD_VARS & extra_vars.keys():  # never printed, journaled or stored
        secrets.add(extra_vars[name])
    playbook = load_playbook(request.playbook, extra_vars=extra_vars, vault=vault.file)
    inventory = load_inventory(request.inventories, extra_var_dirs=[playbook.path.parent],
                               vault=vault.file)
    templar = Templar(search_paths=[playbook.path.parent])
    specs = [spec for play in playbook.plays for spec in play.params]
    resolved = resolve_params(specs, request.params, interactive=request.interactive)
    for value in resolved.secret_values:
        secrets.add(value)
    play_hosts = []
    for play in playbook.plays:
        pattern = play.hosts
        if "{{" in pattern:
            try:
                pattern = str(templar.render(pattern, {**play.vars, **extra_vars,
                                                       **resolved.values}))
            except TemplateError as exc:
                raise InputError(f"hosts: {exc}", play.position) from None
        hosts = inventory.select(pattern, request.limit, play.position,
                                 allow_empty=bool(request.limit))
        play_hosts.append(_ordered(hosts, play.order))
    if request.limit and not any(play_hosts):
        raise InputError(f"--limit '{request.limit}' leaves no host in any play",
                         hint="check the name, or run `runbook inventory --graph`")
    check_playbook(playbook, inventory, play_hosts, {**extra_vars, **resolved.values}, templar)
    overrides = command_line_overrides(extra_vars)
    uses_ssh = False
    for host in dict.fromkeys(h for hosts in play_hosts for h in hosts):
        try:
            settings = connection_settings(host, host_connection_vars(
                inventory, host, overrides, vault.reveal_once, templar,
                {**extra_vars, **resolved.values}))
            uses_ssh = uses_ssh or settings is not None
        except (InputError, TemplateError) as exc:
            # The message names the host, the variable and its value; point at where the
            # host got that value (its entry, a group's vars, group_vars/...), else at the
            # host's entry.
            if isinstance(exc, TemplateError):
                exc = InputError(f"host {host}: {exc}")
            where = exc.position or _value_position(inventory, host, exc) \
                or inventory.get_host(host).position
            raise InputError(exc.message, where, exc.hint) from None
    return Prepared(request, playbook, inventory, play_hosts, extra_vars, templar, secrets,
                    vault, resolved.values, resolved.masked(), resume,
                    _notify_sink(playbook, secrets), uses_ssh)
