"""What is needed to reach a host over SSH: plain data, built from inventory variables.

Kept apart from `ssh` so that reading an inventory (and a run whose hosts are all
local) does not import paramiko and Fabric (~0.15 s of start-up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

HostKeyChecking = Literal["strict", "accept-new", "off"]

# What may relax host key checking: only the inventory sets these (not -e, not the env).
HOST_KEY_VARS = frozenset({
    "runbook_host_key_checking", "ansible_host_key_checking", "ansible_ssh_host_key_checking",
    "runbook_known_hosts_file", "ansible_ssh_known_hosts_file",
})
# Every variable `factory.connection_settings` reads (its docstring says what each does).
CONNECTION_VARS = HOST_KEY_VARS | {
    "ansible_connection", "ansible_host", "ansible_ssh_host", "ansible_port",
    "ansible_ssh_port", "ansible_user", "ansible_ssh_user", "ansible_ssh_private_key_file",
    "ansible_private_key_file", "ansible_password", "ansible_ssh_pass",
    "ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_timeout",
    "ansible_timeout", "runbook_ssh_reuse_shell",
}


@dataclass(frozen=True, slots=True)
class JumpHost:
    """One ProxyJump hop: `[user@]host[:port]`."""

    address: str
    port: int = 22
    user: str | None = None

    @classmethod
    def parse(cls, spec: str) -> JumpHost:
        user, _, hostport = spec.rpartition("@")
        host, port_text = hostport, ""
        if hostport.startswith("["):  # [v6addr]:port
            host, _, rest = hostport[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
        elif hostport.count(":") == 1:
            host, port_text = hostport.split(":")
        if port_text and not port_text.isdigit():
            raise ValueError(f"jump host {spec!r}: port {port_text!r} is not a number")
        return cls(host, int(port_text or 22), user or None)

    @classmethod
    def parse_all(cls, spec: str | None) -> tuple[JumpHost, ...]:
        """A ProxyJump value: hops separated by commas, first hop first; `none` is none."""
        if not spec or spec.strip().lower() == "none":
            return ()
        return tuple(cls.parse(hop.strip()) for hop in spec.split(",") if hop.strip())


@dataclass(frozen=True, slots=True)
class SSHSettings:
    """Everything needed to reach one host (built from inventory vars by the factory)."""

    address: str
    port: int = 22
    user: str | None = None
    key_files: tuple[str, ...] = ()
    password: str | None = None
    host_key_checking: HostKeyChecking = "strict"
    # Checked besides ~/.ssh/known_hosts; `accept-new` records new keys here (else there).
    known_hosts_file: str | None = None
    connect_timeout: float = 10.0
    keepalive_interval: int = 15
    jumps: tuple[JumpHost, ...] = ()  # ProxyJump hops, first hop first
    proxy_command: str | None = None
    extra_key_files: tuple[str, ...] = field(default=())  # tried after key_files
    # Run commands one after another in one long-lived remote shell (session_shell).
    reuse_shell: bool = True

    def target(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.address}:{self.port}"
