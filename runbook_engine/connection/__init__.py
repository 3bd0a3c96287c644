"""One Connection protocol, two implementations: ssh (Fabric/paramiko) and local (invoke)."""

from runbook_engine.connection.base import CommandResult, Connection, Stream

__all__ = ["CommandResult", "Connection", "Stream"]
