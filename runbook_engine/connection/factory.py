"""Inventory variables -> a Connection (lazy: nothing is opened until first use).

Variables understood (Ansible names, plus runbook_* where Ansible has none):

- ansible_connection: ssh (also paramiko, smart) | local. Without it, a host named
  localhost / 127.0.0.1 / ::1 (and no other ansible_host) is local, as Ansible's implicit
  localhost.
- ansible_host, ansible_port, ansible_user (ansible_ssh_user)
- ansible_ssh_private_key_file (ansible_private_key_file), ansible_password (ansible_ssh_pass)
- ansible_ssh_common_args, ansible_ssh_extra_args: `-o ProxyJump=u@h:p` / `-J u@h:p`,
  `-o ProxyCommand=...`, `-o ConnectTimeout=N`, `-o StrictHostKeyChecking=yes|no|accept-new`,
  `-o UserKnownHostsFile=F`, `-o ServerAliveInterval=N`, `-i KEY`, `-p PORT`, `-l USER`.
  Other options (ControlMaster, ControlPersist, -C...) are ignored.
- ansible_ssh_timeout (ansible_timeout): connect timeout in seconds (default 10).
- runbook_host_key_checking (ansible_host_key_checking, ansible_ssh_host_key_checking):
  true/strict (default), accept-new, false/off. Never taken from the environment: only
  the inventory can relax it.
- runbook_known_hosts_file (ansible_ssh_known_hosts_file): a known_hosts file checked
  besides ~/.ssh/known_hosts; `accept-new` records new keys in it.
- runbook_ssh_reuse_shell: true (default) runs commands one after another in one
  long-lived remote /bin/sh per host; false opens an SSH channel (a new sshd session)
  per command, as Ansible without pipelining does.

They come from the inventory, overridden by the same names given with -e
(`command_line_overrides`), except the host key ones. Templates in them are rendered from
the host's inventory variables, the extra vars and the inventory's magic variables
(`host_connection_vars`). Set anywhere in a playbook (play,
block, task or role vars, vars_files, set_fact) they are refused at load time, and
include_vars fails: one connection per host serves the whole run.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any

from runbook_engine.connection.base import Connection
from runbook_engine.connection.local import LocalConnection
from runbook_engine.connection.settings import (
    CONNECTION_VARS,
    HOST_KEY_VARS,
    HostKeyChecking,
    JumpHost,
    SSHSettings,
)
from runbook_engine.errors import InputError
from runbook_engine.secrets import PASSWORD_VARS

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
_HOST_KEY_SSH_OPTIONS = {"stricthostkeychecking": "StrictHostKeyChecking",
                         "userknownhostsfile": "UserKnownHostsFile"}
_SSH_KINDS = {"ssh", "paramiko", "smart"}
_DEFAULT_TIMEOUT = 10.0
_SSH_ARGS = ("ansible_ssh_common_args", "ansible_ssh_extra_args")
_PORT = ("ansible_port", "ansible_ssh_port")
_TIMEOUT = ("ansible_ssh_timeout", "ansible_timeout")
_HOST_KEY_CHECKING = (
    "runbook_host_key_checking", "ansible_host_key_checking", "ansible_ssh_host_key_checking"
)


class ConnectionVarError(InputError):
    """A connection variable's value makes no sense. `names` are the variables that can
    hold it (aliases and the ssh args included, in the order they are read), so the
    caller can point at the one the host really got."""

    def __init__(self, message: str, names: tuple[str, ...], hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.names = names


def _first(host_vars: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = host_vars.get(name)
        if value is not None and value != "":
            return value
    return None


def _number(
    value: Any, name: str, where: str, kind: type[int] | type[float] = int,
    names: tuple[str, ...] = (),
) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConnectionVarError(f"{where}: {name} {value!r} is not a number",
                                 names or (name,)) from None


def _text(host_vars: Mapping[str, Any], names: tuple[str, ...], where: str) -> str | None:
    """The first of `names` set: a name, address, path or ssh args, as text (numbers are
    fine: user 1000). A list, a mapping or a YAML boolean (`ansible_user: no` reads as
    false) is refused rather than turned into "[...]" or "False" and tried on the host."""
    name = next((n for n in names if _first(host_vars, n) is not None), None)
    if name is None:
        return None
    value = host_vars[name]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        kind = ("true or false" if isinstance(value, bool) else
                "a mapping" if isinstance(value, Mapping) else
                "a list" if isinstance(value, list | tuple | set) else type(value).__name__)
        secret = name in PASSWORD_VARS or name in _SSH_ARGS  # a ProxyCommand's password
        shown = "" if secret else f" ({value!r})"
        raise ConnectionVarError(
            f"{where}: {name} must be text, got {kind}{shown}", names,
            hint=f'quote it: in YAML, {name}: no is false, {name}: "no" is text'
            if isinstance(value, bool)
            else "give one value, not a list or a mapping",
        )
    return str(value)


def _host_key_checking(value: Any, where: str) -> HostKeyChecking:
    if value is None:
        return "strict"
    if isinstance(value, bool):
        return "strict" if value else "off"
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "strict", "on"}:
        return "strict"
    if text in {"false", "no", "0", "off"}:
        return "off"
    if text in {"accept-new", "accept_new"}:
        return "accept-new"
    raise ConnectionVarError(
        f"{where}: host key checking {value!r} is not one of true, false, accept-new",
        (*_HOST_KEY_CHECKING, *_SSH_ARGS),
    )


def _ssh_options(args: str, where: str) -> dict[str, str]:
    """The ssh command-line options we honour, from ansible_ssh_*_args, lower-cased keys."""
    try:
        words = shlex.split(args)
    except ValueError as exc:
        # Not the args themselves: a ProxyCommand may carry a password (rendered from a
        # vaulted variable); the error's position points at them.
        raise ConnectionVarError(f"{where}: cannot parse ssh args: {exc}", _SSH_ARGS) from None
    options: dict[str, str] = {}
    flags = {"-J": "proxyjump", "-i": "identityfile", "-p": "port", "-l": "user"}
    i = 0
    while i < len(words):
        word = words[i]
        flag, value = word[:2], word[2:]
        if flag == "-o" or flag in flags:
            if not value:
                i += 1
                value = words[i] if i < len(words) else ""
            if flag == "-o":
                key, sep, val = value.partition("=")
                if not sep:
                    key, _, val = value.partition(" ")
                options[key.strip().lower()] = val.strip()
            else:
                options[flags[flag]] = value
        i += 1
    return options


def _flag(value: Any, name: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "on"}:
        return True
    if text in {"false", "no", "0", "off"}:
        return False
    raise ConnectionVarError(f"{where}: {name} {value!r} is not true or false", (name,))


def ssh_settings(
    host_name: str, host_vars: Mapping[str, Any], subject: str | None = None
) -> SSHSettings:
    """Map a host's Ansible connection variables to SSH settings. Errors name `subject`
    (default "host NAME")."""
    who = subject or f"host {host_name}"
    for name in _SSH_ARGS:
        _text(host_vars, (name,), who)
    ssh_args = " ".join(str(host_vars[name]) for name in _SSH_ARGS if host_vars.get(name))
    opts = _ssh_options(ssh_args, who)
    checking = _first(host_vars, *_HOST_KEY_CHECKING)
    if checking is None and "stricthostkeychecking" in opts:
        checking = opts["stricthostkeychecking"]
    timeout = _first(host_vars, *_TIMEOUT) or opts.get("connecttimeout", _DEFAULT_TIMEOUT)

    def text(*names: str) -> str | None:
        return _text(host_vars, names, who)

    key = text("ansible_ssh_private_key_file", "ansible_private_key_file")
    try:
        return SSHSettings(
            address=text("ansible_host", "ansible_ssh_host") or host_name,
            port=_number(_first(host_vars, *_PORT) or opts.get("port", 22), "ansible_port",
                         who, names=(*_PORT, *_SSH_ARGS)),
            user=text("ansible_user", "ansible_ssh_user") or opts.get("user"),
            key_files=(key,) if key else (),
            extra_key_files=(opts["identityfile"],) if "identityfile" in opts else (),
            password=text("ansible_password", "ansible_ssh_pass"),
            host_key_checking=_host_key_checking(checking, who),
            known_hosts_file=text("runbook_known_hosts_file", "ansible_ssh_known_hosts_file")
            or opts.get("userknownhostsfile"),
            connect_timeout=_number(timeout, "ansible_ssh_timeout", who, float,
                                    names=(*_TIMEOUT, *_SSH_ARGS)),
            keepalive_interval=_number(opts.get("serveraliveinterval", 15),
                                       "ServerAliveInterval", who, names=_SSH_ARGS),
            jumps=JumpHost.parse_all(opts.get("proxyjump")),
            proxy_command=opts.get("proxycommand") or None,
            reuse_shell=_flag(reuse, "runbook_ssh_reuse_shell", who)
            if (reuse := _first(host_vars, "runbook_ssh_reuse_shell")) is not None
            else True,
        )
    except ValueError as exc:  # a ProxyJump that does not parse
        raise ConnectionVarError(f"{who}: invalid connection variable: {exc}",
                                 _SSH_ARGS) from None


def connection_vars(
    host_vars: Mapping[str, Any], overrides: Mapping[str, Any], reveal: Callable[[Any], Any]
) -> dict[str, Any]:
    """A host's connection variables: its inventory values (`host_vars`) overridden by
    `command_line_overrides`, `!vault` values decrypted by `reveal` (an inline-vaulted
    ansible_password must reach the connection as plaintext)."""
    merged = {**host_vars, **overrides}
    return {name: reveal(value) for name, value in merged.items() if name in CONNECTION_VARS}


def host_connection_vars(
    inventory: Any,
    host: str,
    overrides: Mapping[str, Any],
    reveal: Callable[[Any], Any],
    templar: Any,
    extra_vars: Mapping[str, Any],
) -> dict[str, Any]:
    """`connection_vars` for `host`, with templates in them rendered, as Ansible does
    (`ansible_user: "{{ deploy_user }}"`), from the host's inventory variables, the extra
    vars and the inventory's magic variables, through the executor's `VarView` (so a
    variable a template reads may be a template too, and `!vault` values are decrypted
    when read). Play and task variables are not there: one connection per host serves
    the whole run."""
    from runbook_engine.executor.variables import VarView
    from runbook_engine.templating import TemplateError, is_template

    host_vars = inventory.host_vars(host)
    found = connection_vars(host_vars, overrides, reveal)
    templated = [name for name, value in found.items() if is_template(value)]
    if templated:
        view = VarView(templar, [(inventory.magic_vars(host), False), (extra_vars, True),
                                 (host_vars, True)], reveal)
        for name in templated:
            try:
                found[name] = view[name]
            except TemplateError as exc:
                raise ConnectionVarError(f"host {host}: {name}: {exc}", (name,)) from None
    return found


def command_line_overrides(extra_vars: Mapping[str, Any]) -> dict[str, Any]:
    """The connection variables among the extra vars (-e): they override every host's
    inventory values, as in Ansible (`-e ansible_user=deploy`). Host key checking is the
    exception: relaxing it from a command line (or a CI job's arguments) is refused."""
    found = {name: value for name, value in extra_vars.items() if name in CONNECTION_VARS}
    refused = sorted(found.keys() & HOST_KEY_VARS)
    for name in _SSH_ARGS:
        if name in found:
            options = _ssh_options(str(found[name]), f"-e {name}")
            refused += [f"{name} (-o {shown})"
                        for o, shown in _HOST_KEY_SSH_OPTIONS.items() if o in options]
    if refused:
        raise InputError(
            f"-e {refused[0]}: host key checking can only be set in the inventory",
            hint="set runbook_host_key_checking / runbook_known_hosts_file on the hosts "
                 "or groups that need it",
        )
    # A bad value is the command line's fault, not any host's inventory entry.
    connection_settings("-e", found, subject="-e")
    return found


def connection_settings(
    host_name: str, host_vars: Mapping[str, Any], subject: str | None = None
) -> SSHSettings | None:
    """The SSH settings a host's variables ask for (None: the local connection). Raises
    InputError for a value that makes no sense; `prepare()` calls it for every target host,
    so that is reported before any host is touched."""
    kind = _first(host_vars, "ansible_connection")
    if kind is None:
        address = str(_first(host_vars, "ansible_host") or host_name)
        kind = "local" if host_name in _LOCAL_NAMES and address in _LOCAL_NAMES else "ssh"
    kind = str(kind).lower()
    if kind == "local":
        return None
    if kind in _SSH_KINDS:
        return ssh_settings(host_name, host_vars, subject)
    who = subject or f"host {host_name}"
    raise ConnectionVarError(
        f"{who}: ansible_connection {kind!r} is not supported (ssh, local)",
        ("ansible_connection",))


def connection_for(host_name: str, host_vars: Mapping[str, Any]) -> Connection:
    """The connection a host's variables ask for. Nothing is opened yet."""
    settings = connection_settings(host_name, host_vars)
    if settings is None:
        return LocalConnection(host_name)
    # Imported here: paramiko and Fabric only when a host is reached over SSH.
    from runbook_engine.connection.ssh import SSHConnection

    return SSHConnection(host_name, settings)
