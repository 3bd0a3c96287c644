"""Hosts behind jump hosts (ProxyJump) or a ProxyCommand: a chain of Fabric connections.

Imported only when an inventory asks for a gateway; a host reached directly is opened
by `ssh._DirectHop` without Fabric.
"""

from __future__ import annotations

import fabric

from runbook_engine.connection.settings import SSHSettings
from runbook_engine.connection.ssh import (
    configure_host_keys,
    connect_kwargs,
    parsed_ssh_config,
    tcp_connect,
)


class GatewayHop(fabric.Connection):
    """fabric.Connection with our socket (TCP_NODELAY, float timeouts) and a gateway
    channel that honours the connect timeout."""

    def __init__(self, settings: SSHSettings, host: str, port: int, user: str | None,
                 gateway: GatewayHop | str | None) -> None:
        super().__init__(
            host, user=user, port=port, connect_kwargs=connect_kwargs(settings),
            gateway=gateway if gateway is not None else False,
            # lazy: no invoke config files (nothing of ours reads them); the parsed
            # ssh_config is shared. Building Fabric's full config cost ~1 ms per host.
            config=fabric.Config(lazy=True, ssh_config=parsed_ssh_config()),
        )
        # `_set`: a plain attribute. Assigning one Fabric does not know would store it in
        # the invoke config instead, re-merging the whole config each time (~1 ms).
        self._set(
            connect_timeout=None,  # ours is in connect_kwargs (Fabric would int() it)
            _timeout=settings.connect_timeout,
            _alive_interval=settings.keepalive_interval,
        )
        configure_host_keys(self.client, settings, self.host, int(self.port))

    def open(self):  # type: ignore[no-untyped-def]
        if self.is_connected:
            return None
        self.connect_kwargs.pop("sock", None)
        if not self.gateway:
            self.connect_kwargs["sock"] = tcp_connect(
                self.host, self.port, self._timeout, self._alive_interval
            )
        return super().open()

    def open_gateway(self):  # type: ignore[no-untyped-def]
        if isinstance(self.gateway, str):
            return super().open_gateway()
        self.gateway.open()
        return self.gateway.transport.open_channel(
            kind="direct-tcpip",
            dest_addr=(self.host, int(self.port)),
            src_addr=("", 0),
            timeout=self._timeout,
        )


def build_chain(settings: SSHSettings) -> GatewayHop:
    """The target's connection; its `gateway` leads through the jump hosts, last hop
    first, to the first hop (itself reached directly or through the ProxyCommand)."""
    gateway: GatewayHop | str | None = settings.proxy_command
    for hop in settings.jumps:
        gateway = GatewayHop(settings, hop.address, hop.port, hop.user, gateway)
    return GatewayHop(settings, settings.address, settings.port, settings.user, gateway)
