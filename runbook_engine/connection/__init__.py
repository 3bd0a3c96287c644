"""One Connection protocol, two implementations: ssh (paramiko) and local (subprocess)."""

from runbook_engine.connection.base import CommandResult, Connection, Stream

__all__ = ["CommandResult", "Connection", "Stream"]
