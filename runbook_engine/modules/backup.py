"""backup: archive paths (tar) or dump a database on the host, stream it over the connection
and upload it to S3 in parts, verified before it counts. S3 credentials stay here.

    - backup:
        bucket: backups
        endpoint_url: https://s3.example.net
        secret_key: "{{ vault_s3_secret }}"
        name: www
        paths: [/etc/nginx, /srv/www]
        excludes: ["*.log", "cache"]

Key: `PREFIX/HOST/NAME-YYYYmmddTHHMMSSZ.EXT`. On any failure the upload is aborted and no
object is left that could pass for a backup.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from runbook_engine.connection.base import CommandResult
from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import Result, TaskContext, fail
from runbook_engine.s3 import hostcmd, naming
from runbook_engine.s3.config import S3Args, make_client
from runbook_engine.s3.errors import S3Failure, describe, s3_errors
from runbook_engine.s3.hoststream import open_host_stream, stdin_secrets
from runbook_engine.s3.upload import MultipartUpload, UploadedBackup

ON_CONTROLLER = False
# GNU tar exits 1 when a file changed while being read: the archive is still usable.
TAR_WARNING_STATUS = 1


class Args(S3Args):
    name: str = Field(description="Backup name; part of the key (letters, digits, . _ -).")
    host_label: str | None = Field(None, description="Host part of the key (default: host).")
    paths: list[str] = Field(default_factory=list, description="Paths to archive with tar.")
    root: str = Field("/", description="Archive members are relative to this directory.")
    excludes: list[str] = Field(default_factory=list, description="tar --exclude patterns.")
    database: str | None = Field(None, description="Dump this database instead of paths.")
    db_engine: Literal["postgres", "mysql"] = "postgres"
    db_host: str | None = None
    db_port: int | None = None
    db_user: str | None = None
    db_password: SecretStr | None = None
    dump_options: list[str] | None = Field(
        None, description="Extra pg_dump/mysqldump options (default: no owner/privileges)."
    )
    compression: Literal["auto", "zstd", "gzip", "none"] = "auto"
    compression_level: int | None = Field(None, ge=1, le=19)

    @field_validator("db_host", "db_port", "db_user", "db_password", mode="before")
    @classmethod
    def _db_empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _one_source(self) -> Args:
        if bool(self.paths) == bool(self.database):
            raise ValueError("give either `paths` (an archive) or `database` (a dump)")
        naming.check_name(self.name)
        if self.host_label is not None:
            naming.check_host(self.host_label)
        return self


def run(ctx: TaskContext, args: Args) -> Result:
    try:
        return _backup(ctx, args)
    except ModuleFailure as exc:
        return fail(str(exc))


def _backup(ctx: TaskContext, args: Args) -> Result:
    host = args.host_label or naming.check_host(ctx.host)
    compression = _choose_compression(ctx, args)
    kind = "tar" if args.paths else "sql"
    ext = kind + hostcmd.EXT_BY_COMPRESSION[compression]
    target = naming.new_key(args.prefix, host, args.name, ext)
    where = args.where(target.key)
    producer, tool = _producer(args)
    if ctx.run(f"command -v {shlex.quote(tool)}").rc != 0:
        return fail(f"{tool} is not installed on {ctx.host}")

    client = make_client(args)
    _check_free(client, args, target.key)
    if ctx.check_mode:
        return Result(
            changed=True,
            msg=f"would upload {where}",
            data={"backup": {"key": target.key, "url": where}},
        )

    metadata = {
        "runbook-host": host,
        "runbook-name": args.name,
        "runbook-created": target.timestamp.strftime(naming.TIMESTAMP_FORMAT),
        "runbook-format": ext,
    }
    secret = args.db_password.get_secret_value() if args.db_password else None
    command = hostcmd.with_status(producer, hostcmd.compressor(compression, args.compression_level))
    started = datetime.now(UTC)
    with (
        open_host_stream(ctx, command, secrets=stdin_secrets(ctx, secret)) as stream,
        MultipartUpload(client, args, target.key, metadata, _content_type(ext)) as upload,
    ):
        upload.write_from(stream.stdout)
        finished = stream.wait()
        warnings = _check_producer(finished, tool, ctx.host)
        uploaded = upload.commit()
    seconds = (datetime.now(UTC) - started).total_seconds()
    return _report(args, uploaded, compression, seconds, warnings)


def _choose_compression(ctx: TaskContext, args: Args) -> str:
    if args.compression != "auto":
        return args.compression
    return "zstd" if ctx.run("command -v zstd").rc == 0 else "gzip"


def _producer(args: Args) -> tuple[str, str]:
    """The host command writing the raw archive/dump to stdout, and the tool it needs."""
    if args.paths:
        return hostcmd.TarSource(args.root, args.paths, args.excludes).command(), "tar"
    assert args.database is not None
    db = hostcmd.DatabaseTarget(
        args.db_engine,
        args.database,
        args.db_host,
        args.db_port,
        args.db_user,
        has_password=args.db_password is not None,
    )
    default_options = (
        ["--no-owner", "--no-privileges"] if args.db_engine == "postgres" else ["--routines"]
    )
    options = args.dump_options if args.dump_options is not None else default_options
    tool = "pg_dump" if args.db_engine == "postgres" else "mysqldump"
    return db.dump_command(options), tool


def _check_free(client: Any, args: Args, key: str) -> None:
    """Refuse to overwrite: two backups in the same second would share a key. A listing,
    not HeadObject: its errors carry the S3 code (a HEAD answers a bare 403)."""
    try:
        listed = client.list_objects_v2(Bucket=args.bucket, Prefix=key, MaxKeys=1)
    except s3_errors() as exc:
        raise S3Failure(describe(exc, "checking", args.where(key))) from exc
    if any(obj["Key"] == key for obj in listed.get("Contents", [])):
        raise ModuleFailure(f"{args.where(key)} already exists; not overwriting a backup")


def _check_producer(finished: CommandResult, tool: str, host: str) -> list[str]:
    """Raise unless the host side finished cleanly; returns warnings worth showing."""
    status = hostcmd.producer_status(finished)
    detail = hostcmd.stderr_without_marker(finished)
    if status is None:
        raise ModuleFailure(
            f"the stream from {host} ended before {tool} finished (host or connection died)"
            + (f": {detail}" if detail else "")
        )
    if finished.rc != 0:
        raise ModuleFailure(f"compressing on {host} failed (rc={finished.rc}): {detail}")
    if status == TAR_WARNING_STATUS and tool == "tar":
        return [detail or "tar: some files changed while being read"]
    if status != 0:
        raise ModuleFailure(f"{tool} failed on {host} (rc={status}): {detail}")
    return []


def _content_type(ext: str) -> str:
    if ext.endswith(".gz"):
        return "application/gzip"
    if ext.endswith(".zst"):
        return "application/zstd"
    return "application/x-tar" if ext.startswith("tar") else "application/sql"


def _report(
    args: Args, uploaded: UploadedBackup, compression: str, seconds: float, warnings: list[str]
) -> Result:
    where = args.where(uploaded.key)
    msg = (
        f"backed up {uploaded.size} bytes to {where} in {seconds:.1f} s "
        f"(sha256 {uploaded.sha256[:12]}…, verified)"
    )
    if warnings:
        msg += "; warnings: " + " | ".join(warnings)
    return Result(
        changed=True,
        msg=msg,
        data={
            "backup": {
                "bucket": args.bucket,
                "key": uploaded.key,
                "url": where,
                "size": uploaded.size,
                "sha256": uploaded.sha256,
                "parts": uploaded.parts,
                "compression": compression,
                "seconds": round(seconds, 3),
                "verified": True,
            },
            "warnings": warnings,
        },
    )
