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
(`command_line_overrides`), except the host key ones. Set anywhere in a playbook (play,
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

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
_HOST_KEY_SSH_OPTIONS = {"stricthostkeychecking": "StrictHostKeyChecking",
                         "userknownhostsfile": "UserKnownHostsFile"}
_SSH_KINDS = {"ssh", "paramiko", "smart"}
_DEFAULT_TIMEOUT = 10.0


def _first(host_vars: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = host_vars.get(name)
        if value is not None and value != "":
            return value
    return None


def _number(value: Any, name: str, where: str, kind: type[int] | type[float] = int) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {name} {value!r} is not a number") from None


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
    raise InputError(
        f"{where}: host key checking {value!r} is not one of true, false, accept-new"
    )


def _ssh_options(args: str, where: str) -> dict[str, str]:
    """The ssh command-line options we honour, from ansible_ssh_*_args, lower-cased keys."""
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise InputError(f"{where}: cannot parse ssh args {args!r}: {exc}") from None
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
    raise InputError(f"{where}: {name} {value!r} is not true or false")


def ssh_settings(
    host_name: str, host_vars: Mapping[str, Any], subject: str | None = None
) -> SSHSettings:
    """Map a host's Ansible connection variables to SSH settings. Errors name `subject`
    (default "host NAME")."""
    who = subject or f"host {host_name}"
    ssh_args = " ".join(
        str(host_vars[name])
        for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args")
        if host_vars.get(name)
    )
    opts = _ssh_options(ssh_args, who)
    checking = _first(
        host_vars,
        "runbook_host_key_checking",
        "ansible_host_key_checking",
        "ansible_ssh_host_key_checking",
    )
    if checking is None and "stricthostkeychecking" in opts:
        checking = opts["stricthostkeychecking"]
    timeout = _first(host_vars, "ansible_ssh_timeout", "ansible_timeout") or opts.get(
        "connecttimeout", _DEFAULT_TIMEOUT
    )
    key = _first(host_vars, "ansible_ssh_private_key_file", "ansible_private_key_file")
    try:
        return SSHSettings(
            address=str(_first(host_vars, "ansible_host", "ansible_ssh_host") or host_name),
            port=_number(_first(host_vars, "ansible_port", "ansible_ssh_port")
                         or opts.get("port", 22), "ansible_port", who),
            user=_first(host_vars, "ansible_user", "ansible_ssh_user") or opts.get("user"),
            key_files=(str(key),) if key else (),
            extra_key_files=(opts["identityfile"],) if "identityfile" in opts else (),
            password=_first(host_vars, "ansible_password", "ansible_ssh_pass"),
            host_key_checking=_host_key_checking(checking, who),
            known_hosts_file=_first(
                host_vars, "runbook_known_hosts_file", "ansible_ssh_known_hosts_file"
            )
            or opts.get("userknownhostsfile"),
            connect_timeout=_number(timeout, "ansible_ssh_timeout", who, float),
            keepalive_interval=_number(opts.get("serveraliveinterval", 15),
                                       "ServerAliveInterval", who),
            jumps=JumpHost.parse_all(opts.get("proxyjump")),
            proxy_command=opts.get("proxycommand") or None,
            reuse_shell=_flag(reuse, "runbook_ssh_reuse_shell", who)
            if (reuse := _first(host_vars, "runbook_ssh_reuse_shell")) is not None
            else True,
        )
    except ValueError as exc:
        raise InputError(f"{who}: invalid connection variable: {exc}") from None


def connection_vars(
    host_vars: Mapping[str, Any], overrides: Mapping[str, Any], reveal: Callable[[Any], Any]
) -> dict[str, Any]:
    """A host's connection variables: its inventory values (`host_vars`) overridden by
    `command_line_overrides`, `!vault` values decrypted by `reveal` (an inline-vaulted
    ansible_password must reach the connection as plaintext)."""
    merged = {**host_vars, **overrides}
    return {name: reveal(value) for name, value in merged.items() if name in CONNECTION_VARS}


def command_line_overrides(extra_vars: Mapping[str, Any]) -> dict[str, Any]:
    """The connection variables among the extra vars (-e): they override every host's
    inventory values, as in Ansible (`-e ansible_user=deploy`). Host key checking is the
    exception: relaxing it from a command line (or a CI job's arguments) is refused."""
    found = {name: value for name, value in extra_vars.items() if name in CONNECTION_VARS}
    refused = sorted(found.keys() & HOST_KEY_VARS)
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
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
    raise InputError(f"{who}: ansible_connection {kind!r} is not supported (ssh, local)")


def connection_for(host_name: str, host_vars: Mapping[str, Any]) -> Connection:
    """The connection a host's variables ask for. Nothing is opened yet."""
    settings = connection_settings(host_name, host_vars)
    if settings is None:
        return LocalConnection(host_name)
    # Imported here: paramiko and Fabric only when a host is reached over SSH.
    from runbook_engine.connection.ssh import SSHConnection

    return SSHConnection(host_name, settings)
