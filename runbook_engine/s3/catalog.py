"""What backups of one host + name the store holds, and whether each carries the verified
mark (`sha256` + `size` metadata matching the object, written only after read-back)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runbook_engine.errors import ModuleFailure
from runbook_engine.s3.config import S3Args
from runbook_engine.s3.errors import S3Failure, describe, s3_errors
from runbook_engine.s3.naming import BackupKey, host_prefix, parse_key
from runbook_engine.s3.upload import META_SHA256, META_SIZE

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class StoredBackup:
    id: BackupKey
    size: int
    last_modified: datetime
    sha256: str | None  # None: no valid verified mark

    @property
    def key(self) -> str:
        return self.id.key

    @property
    def verified(self) -> bool:
        return self.sha256 is not None


@dataclass(frozen=True, slots=True)
class Listing:
    backups: list[StoredBackup]  # oldest first
    ignored: list[str]  # keys under the host prefix, starting with the name, not backups

    @property
    def newest(self) -> StoredBackup | None:
        return self.backups[-1] if self.backups else None


def verified_sha256(head: dict[str, Any]) -> str | None:
    meta = head.get("Metadata", {})
    digest = meta.get(META_SHA256, "")
    if _HEX64.fullmatch(digest) and meta.get(META_SIZE) == str(head.get("ContentLength")):
        return digest
    return None


def head(client: Any, settings: S3Args, key: str) -> dict[str, Any]:
    try:
        return client.head_object(Bucket=settings.bucket, Key=key)  # type: ignore[no-any-return]
    except s3_errors() as exc:
        raise S3Failure(describe(exc, "reading", settings.where(key))) from exc


def list_backups(client: Any, settings: S3Args, host: str, name: str) -> Listing:
    """Every backup of host/name (with its verified state), oldest first."""
    prefix = host_prefix(settings.prefix, host)
    found: list[tuple[BackupKey, dict[str, Any]]] = []
    ignored: list[str] = []
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=settings.bucket, Prefix=prefix + name
        )
        for page in pages:
            for obj in page.get("Contents", []):
                parsed = parse_key(obj["Key"], settings.prefix, host, name)
                if parsed is None:
                    ignored.append(obj["Key"])
                else:
                    found.append((parsed, obj))
    except s3_errors() as exc:
        raise S3Failure(describe(exc, "listing", settings.where(prefix + name))) from exc
    backups = []
    for parsed, obj in sorted(found, key=lambda item: item[0]):
        info = head(client, settings, parsed.key)
        backups.append(
            StoredBackup(parsed, int(obj["Size"]), obj["LastModified"], verified_sha256(info))
        )
    return Listing(backups, ignored)


def resolve(client: Any, settings: S3Args, host: str, name: str, which: str) -> StoredBackup:
    """`latest` (the newest backup, which must be verified) or a key / file name."""
    if which == "latest":
        listing = list_backups(client, settings, host, name)
        newest = listing.newest
        if newest is None:
            raise ModuleFailure(
                f"no backups of {name!r} for host {host} under "
                f"{settings.where(host_prefix(settings.prefix, host))}"
            )
        if not newest.verified:
            raise ModuleFailure(
                f"the newest backup {settings.where(newest.key)} is not verified "
                "(no valid sha256 mark): refusing it; name an older backup explicitly"
            )
        return newest
    key = which if "/" in which else host_prefix(settings.prefix, host) + which
    parsed = parse_key(key, settings.prefix, host, name)
    if parsed is None:
        raise ModuleFailure(f"{key!r} is not a backup of {name!r} for host {host}")
    info = head(client, settings, key)
    stored = StoredBackup(parsed, int(info["ContentLength"]), info["LastModified"], None)
    digest = verified_sha256(info)
    if digest is None:
        raise ModuleFailure(f"{settings.where(key)} is not verified (no valid sha256 mark)")
    return StoredBackup(stored.id, stored.size, stored.last_modified, digest)
