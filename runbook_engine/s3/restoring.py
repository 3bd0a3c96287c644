"""Restores: bring a backup to the host and verify it BEFORE anything is unpacked.

Chosen design: stream the object through the controller into a private temporary file on
the host (`umask 077`, `mktemp`) while hashing it here; unpack or load only when the
SHA-256 and size match the verified mark (and, where the host has `sha256sum`, the file on
the host hashes the same). One download, and not one unverified byte reaches the target
directory or database. The cost is disk space for one archive on the host, in
`staging_dir` (default: next to the destination, so a same-filesystem scratch area).
The temporary file is removed in every case.
"""

from __future__ import annotations

import hashlib
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import TaskContext
from runbook_engine.s3 import hostcmd
from runbook_engine.s3.catalog import StoredBackup
from runbook_engine.s3.config import S3Args
from runbook_engine.s3.errors import S3Failure, describe, s3_errors
from runbook_engine.s3.hoststream import open_host_stream, run_fed, stdin_secrets

CHUNK = 1024 * 1024


class BackupCorrupted(ModuleFailure):
    """The downloaded bytes do not match the backup's verified SHA-256 / size."""


@dataclass(frozen=True, slots=True)
class Staged:
    path: str  # the verified archive/dump on the host
    size: int
    sha256: str
    seconds: float


@contextmanager
def staged_download(
    ctx: TaskContext, client: Any, settings: S3Args, backup: StoredBackup, staging_dir: str | None
) -> Iterator[Staged]:
    """Download `backup` to a temporary file on the host and verify it; removed on exit."""
    started = time.monotonic()
    directory = shlex.quote(staging_dir) if staging_dir else '"${TMPDIR:-/tmp}"'
    made = ctx.run(f"umask 077 && mktemp {directory}/.runbook-restore.XXXXXXXX")
    if made.rc != 0:
        raise ModuleFailure(f"cannot create a staging file on {ctx.host}: {made.stderr.strip()}")
    path = made.stdout.strip()
    try:
        size, digest = _download(ctx, client, settings, backup, path)
        where = settings.where(backup.key)
        if size != backup.size or digest != backup.sha256:
            raise BackupCorrupted(
                f"{where} is corrupted: sha256 {digest} and {size} bytes read, "
                f"expected {backup.sha256} and {backup.size} bytes; nothing was restored"
            )
        _check_on_host(ctx, path, size, digest, where)
        yield Staged(path, size, digest, time.monotonic() - started)
    finally:
        ctx.run(f"rm -f -- {shlex.quote(path)}")


def _download(
    ctx: TaskContext, client: Any, settings: S3Args, backup: StoredBackup, path: str
) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    command = f"umask 077 && cat > {shlex.quote(path)}"
    with open_host_stream(ctx, command, secrets=stdin_secrets(ctx), keep_stdin=True) as stream:
        for chunk in _object_chunks(client, settings, backup.key):
            sha.update(chunk)
            size += len(chunk)
            try:
                stream.stdin.write(chunk)
            except OSError as exc:
                raise ModuleFailure(f"writing to {ctx.host} failed: {exc}") from exc
        stream.stdin.close()
        done = stream.wait()
    if done.rc != 0:
        raise ModuleFailure(f"writing the staging file on {ctx.host} failed: {done.stderr.strip()}")
    return size, sha.hexdigest()


def _object_chunks(client: Any, settings: S3Args, key: str) -> Iterator[bytes]:
    try:
        body = client.get_object(Bucket=settings.bucket, Key=key)["Body"]
        yield from body.iter_chunks(CHUNK)
    except s3_errors() as exc:
        raise S3Failure(describe(exc, "downloading", settings.where(key))) from exc


def _check_on_host(ctx: TaskContext, path: str, size: int, digest: str, where: str) -> None:
    """The bytes on the host are the bytes hashed here (sha256sum when the host has it)."""
    quoted = shlex.quote(path)
    probe = ctx.run(
        f"wc -c < {quoted}; if command -v sha256sum >/dev/null 2>&1; "
        f"then sha256sum < {quoted}; fi"
    )
    lines = probe.stdout.split()
    if probe.rc != 0 or not lines or int(lines[0]) != size:
        raise BackupCorrupted(f"the staged copy of {where} on {ctx.host} has the wrong size")
    if len(lines) > 1 and lines[1] != digest:
        raise BackupCorrupted(f"the staged copy of {where} on {ctx.host} hashes differently")


def _decompressor(backup: StoredBackup) -> str:
    return hostcmd.DECOMPRESSORS[backup.id.compression if "." in backup.id.ext else "none"]


def unpack(ctx: TaskContext, staged: Staged, backup: StoredBackup, dest: str) -> None:
    """Extract the verified archive into `dest` (created if missing)."""
    if not backup.id.is_archive:
        raise ModuleFailure(f"{backup.key} is a database dump, not an archive: restore a database")
    source = f"{_decompressor(backup)} < {shlex.quote(staged.path)}"
    extract = shlex.join(["tar", "-xf", "-", "-C", dest])
    command = f"mkdir -p {shlex.quote(dest)} && " + hostcmd.with_status(source, extract)
    done = ctx.run(command)
    status = hostcmd.producer_status(done)
    if done.rc != 0 or status != 0:
        raise ModuleFailure(
            f"unpacking into {dest} on {ctx.host} failed: {hostcmd.stderr_without_marker(done)}"
        )


def load_dump(
    ctx: TaskContext,
    staged: Staged,
    backup: StoredBackup,
    db: hostcmd.DatabaseTarget,
    password: str | None,
) -> None:
    """Load the verified SQL dump into `db` in one transaction (all or nothing)."""
    if backup.id.is_archive:
        raise ModuleFailure(f"{backup.key} is a file archive, not a database dump")
    source = f"{_decompressor(backup)} < {shlex.quote(staged.path)}"
    done = run_fed(ctx, db.load_command(source), password)
    status = hostcmd.producer_status(done)
    if done.rc != 0 or status != 0:
        raise ModuleFailure(
            f"loading into database {db.database} on {ctx.host} failed: "
            f"{hostcmd.stderr_without_marker(done)}"
        )
