"""The shell commands that run on the host: producers (tar, pg_dump, mysqldump) piped into
a compressor, and the reverse for restores. Only POSIX sh and the tools themselves.

A pipeline's exit status is its last command's, so a failing producer would go unnoticed
behind a healthy compressor (dash has no `pipefail`). Each producer therefore reports its
own status on stderr as a marker line; a missing marker means the host side died.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from runbook_engine.connection.base import CommandResult

_MARKER = "runbook-producer-rc="
_MARKER_LINE = re.compile(rf"^{_MARKER}(\d+)$", re.MULTILINE)

COMPRESSORS = {"gzip": "gzip -c", "zstd": "zstd -q -c", "none": ""}
DECOMPRESSORS = {"gz": "gzip -dc", "zst": "zstd -q -dc", "none": "cat"}
EXT_BY_COMPRESSION = {"gzip": ".gz", "zstd": ".zst", "none": ""}
# Credentials a database client reads from its environment; set from stdin, never argv.
PASSWORD_ENV = {"postgres": "PGPASSWORD", "mysql": "MYSQL_PWD"}


def compressor(kind: str, level: int | None) -> str:
    base = COMPRESSORS[kind]
    if base and level is not None:
        base += f" -{int(level)}"
    return base


def with_status(producer: str, consumer: str = "") -> str:
    """`producer | consumer`, with the producer's exit status reported on stderr."""
    reported = f"{{ {producer}; echo {_MARKER}$? >&2; }}"
    return f"{reported} | {consumer}" if consumer else reported


def read_password_into(env_name: str) -> str:
    """Read one line of stdin into `env_name` and export it: keeps secrets out of argv."""
    return f"IFS= read -r {env_name}; export {env_name};"


def producer_status(result: CommandResult) -> int | None:
    """The producer's exit status from the marker, or None if the host side never got
    that far (killed, connection lost)."""
    found = _MARKER_LINE.findall(result.stderr)
    return int(found[-1]) if found else None


def stderr_without_marker(result: CommandResult, limit: int = 600) -> str:
    text = _MARKER_LINE.sub("", result.stderr).strip()
    return text[-limit:]


@dataclass(frozen=True, slots=True)
class TarSource:
    """Paths to archive, relative to `root` (absolute paths are taken relative to `/`)."""

    root: str
    paths: Sequence[str]
    excludes: Sequence[str] = ()

    def command(self) -> str:
        words = ["tar", "-C", self.root, "-cf", "-"]
        words += [f"--exclude={pattern}" for pattern in self.excludes]
        words.append("--")
        words += [_relative(p, self.root) for p in self.paths]
        return shlex.join(words)


def _relative(path: str, root: str) -> str:
    if root == "/" and path.startswith("/"):
        return path.lstrip("/") or "."
    return path


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """How to reach a database from the host (the password travels on stdin)."""

    engine: str  # postgres | mysql
    database: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    has_password: bool = False

    def _client_args(self) -> list[str]:
        args: list[str] = []
        if self.engine == "postgres":
            if self.host:
                args += ["-h", self.host]
            if self.port:
                args += ["-p", str(self.port)]
            if self.user:
                args += ["-U", self.user]
            return args
        if self.host:
            args.append(f"--host={self.host}")
        if self.port:
            args.append(f"--port={self.port}")
        if self.user:
            args.append(f"--user={self.user}")
        return args

    def _prelude(self) -> str:
        return read_password_into(PASSWORD_ENV[self.engine]) + " " if self.has_password else ""

    def dump_command(self, options: Sequence[str]) -> str:
        if self.engine == "postgres":
            argv = ["pg_dump", "--no-password", *self._client_args(), *options]
            argv += ["--dbname", self.database]
        else:
            argv = ["mysqldump", *self._client_args(), "--single-transaction", *options]
            argv += ["--", self.database]
        return self._prelude() + shlex.join(argv)

    def load_command(self, source: str) -> str:
        """`source` (a shell pipeline emitting SQL) loaded in one transaction."""
        if self.engine == "postgres":
            argv = ["psql", "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1"]
            argv += ["--single-transaction", *self._client_args(), "--dbname", self.database]
        else:
            argv = ["mysql", *self._client_args(), "--", self.database]
        return self._prelude() + with_status(source, shlex.join(argv))

    def query_command(self) -> str:
        """Print bare values of the SQL read from stdin (after the password line)."""
        if self.engine == "postgres":
            argv = ["psql", "-X", "-A", "-t", "-q", "--no-password", "-v", "ON_ERROR_STOP=1"]
            argv += [*self._client_args(), "--dbname", self.database]
        else:
            argv = ["mysql", "--batch", "--skip-column-names", *self._client_args()]
            argv += ["--", self.database]
        return self._prelude() + shlex.join(argv)

    def admin_command(self, action: str, name: str) -> str:
        """Create or drop database `name` (restore drills use a scratch database)."""
        quoted = '"' + name.replace('"', '""') + '"'
        if self.engine == "postgres":
            sql = f"CREATE DATABASE {quoted}" if action == "create" else (
                f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"
            )
            argv = ["psql", "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1"]
            argv += [*self._client_args(), "--dbname", self.database, "-c", sql]
        else:
            ticked = "`" + name.replace("`", "``") + "`"
            sql = f"CREATE DATABASE {ticked}" if action == "create" else (
                f"DROP DATABASE IF EXISTS {ticked}"
            )
            argv = ["mysql", *self._client_args(), "-e", sql]
        return self._prelude() + shlex.join(argv)
