"""Backup object keys: `PREFIX/HOST/NAME-YYYYmmddTHHMMSSZ.EXT`, built and parsed strictly.

Retention and restores only ever act on keys this module parses; anything else under the
prefix (notes, other tools' files) is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
EXTENSIONS = ("tar.gz", "tar.zst", "tar", "sql.gz", "sql.zst", "sql")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,252}")
_EXT_GROUP = "|".join(re.escape(e) for e in EXTENSIONS)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"backup name {name!r} must be letters, digits, '.', '_' or '-' (max 128)"
        )
    return name


def check_host(host: str) -> str:
    if not _HOST.fullmatch(host):
        raise ValueError(f"host label {host!r} must be letters, digits, '.', '_', ':' or '-'")
    return host


@dataclass(frozen=True, slots=True, order=True)
class BackupKey:
    """One backup object's identity. Ordering is by time first (then the rest)."""

    timestamp: datetime  # UTC, whole seconds
    prefix: str
    host: str
    name: str
    ext: str

    @property
    def key(self) -> str:
        stamp = self.timestamp.strftime(TIMESTAMP_FORMAT)
        return f"{host_prefix(self.prefix, self.host)}{self.name}-{stamp}.{self.ext}"

    @property
    def is_archive(self) -> bool:
        return self.ext.startswith("tar")

    @property
    def compression(self) -> str:
        return self.ext.rsplit(".", 1)[1] if "." in self.ext else "none"


def host_prefix(prefix: str, host: str) -> str:
    """The listing prefix holding one host's backups (ends with '/')."""
    return f"{prefix}/{host}/" if prefix else f"{host}/"


def new_key(prefix: str, host: str, name: str, ext: str, now: datetime | None = None) -> BackupKey:
    if ext not in EXTENSIONS:
        raise ValueError(f"unknown backup extension {ext!r}")
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return BackupKey(moment, prefix, check_host(host), check_name(name), ext)


def parse_key(key: str, prefix: str, host: str, name: str) -> BackupKey | None:
    """The BackupKey for `key` if it is exactly a backup of `host`/`name`, else None."""
    pattern = (
        re.escape(host_prefix(prefix, host))
        + re.escape(name)
        + rf"-(?P<ts>\d{{8}}T\d{{6}}Z)\.(?P<ext>{_EXT_GROUP})"
    )
    match = re.fullmatch(pattern, key)
    if not match:
        return None
    try:
        stamp = datetime.strptime(match["ts"], TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # 20241399T... matches the digits but is no date
        return None
    return BackupKey(stamp, prefix, host, name, match["ext"])
