"""restore: download a backup through the controller, verify its SHA-256 BEFORE unpacking,
then unpack it into a directory or load the dump into a database.

    - restore:
        bucket: backups
        name: www
        backup: latest            # or a key / file name from `backup`'s result
        dest: /srv/restore/www
    - restore:
        bucket: backups
        name: appdb
        database: app_restored
        create_database: true

See runbook_engine/s3/restoring.py for why the data is staged on the host first.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import Result, TaskContext, fail
from runbook_engine.s3 import catalog, hostcmd, naming, restoring
from runbook_engine.s3.config import S3Args, make_client
from runbook_engine.s3.hoststream import run_fed


class RestoreSource(S3Args):
    """Which backup, and how to reach a database on the host (shared with restore_drill)."""

    name: str = Field(description="Backup name given to `backup`.")
    host_label: str | None = Field(None, description="Whose backups (default: this host).")
    backup: str = Field("latest", description="`latest`, or a key / file name.")
    staging_dir: str | None = Field(
        None, description="Host directory for the verified download (default: beside dest)."
    )
    maintenance_db: str = Field("postgres", description="Where CREATE DATABASE runs.")
    db_engine: Literal["postgres", "mysql"] = "postgres"
    db_host: str | None = None
    db_port: int | None = None
    db_user: str | None = None
    db_password: SecretStr | None = None

    @field_validator("db_host", "db_port", "db_user", "db_password", mode="before")
    @classmethod
    def _db_empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return naming.check_name(value)

    def db(self, database: str) -> hostcmd.DatabaseTarget:
        return hostcmd.DatabaseTarget(
            self.db_engine,
            database,
            self.db_host,
            self.db_port,
            self.db_user,
            has_password=self.db_password is not None,
        )

    @property
    def password(self) -> str | None:
        return self.db_password.get_secret_value() if self.db_password else None


class Args(RestoreSource):
    dest: str | None = Field(None, description="Directory to unpack an archive into.")
    database: str | None = Field(None, description="Database to load a dump into.")
    create_database: bool = False

    @model_validator(mode="after")
    def _one_destination(self) -> Args:
        if bool(self.dest) == bool(self.database):
            raise ValueError("give either `dest` (a directory) or `database`")
        return self


def run(ctx: TaskContext, args: Args) -> Result:
    try:
        return _restore(ctx, args)
    except ModuleFailure as exc:
        return fail(str(exc))


def _restore(ctx: TaskContext, args: Args) -> Result:
    host = args.host_label or ctx.host
    client = make_client(args)
    backup = catalog.resolve(client, args, host, args.name, args.backup)
    where = args.where(backup.key)
    into = args.dest or f"database {args.database}"
    if ctx.check_mode:
        return Result(changed=True, msg=f"would restore {where} into {into}")
    started = time.monotonic()
    restore_into(ctx, client, args, backup, args.dest, args.database, args.create_database)
    seconds = time.monotonic() - started
    age = (datetime.now(UTC) - backup.id.timestamp).total_seconds()
    return Result(
        changed=True,
        msg=f"restored {where} ({backup.size} bytes, sha256 verified) into {into} "
        f"in {seconds:.1f} s",
        data={
            "restore": {
                "key": backup.key,
                "url": where,
                "size": backup.size,
                "sha256": backup.sha256,
                "dest": args.dest,
                "database": args.database,
                "seconds": round(seconds, 3),
                "backup_age_seconds": round(age),
            }
        },
    )


def restore_into(
    ctx: TaskContext,
    client: Any,
    args: RestoreSource,
    backup: catalog.StoredBackup,
    dest: str | None,
    database: str | None,
    create_database: bool,
) -> None:
    """Verified download, then unpack into `dest` or load into `database` (shared with
    restore_drill)."""
    staging = args.staging_dir or (_parent(dest) if dest else None)
    if staging:
        made = ctx.run(["mkdir", "-p", staging])
        if made.rc != 0:
            raise ModuleFailure(f"cannot create {staging} on {ctx.host}: {made.stderr.strip()}")
    with restoring.staged_download(ctx, client, args, backup, staging) as staged:
        if dest:
            restoring.unpack(ctx, staged, backup, dest)
            return
        assert database is not None
        if create_database:
            admin = args.db(args.maintenance_db).admin_command("create", database)
            made = run_fed(ctx, admin, args.password)
            if made.rc != 0:
                raise ModuleFailure(f"creating database {database} failed: {made.stderr.strip()}")
        restoring.load_dump(ctx, staged, backup, args.db(database), args.password)


def _parent(path: str) -> str:
    trimmed = path.rstrip("/")
    if "/" not in trimmed:
        return "."
    return trimmed.rsplit("/", 1)[0] or "/"
