"""restore_drill: prove a backup restores. Take the newest (or a named) backup, restore it to
a scratch directory or scratch database on this (drill) host, run the named checks, record
RPO (age of the backup) and RTO (time to restore), clean up, and fail loudly on any
mismatch, a corrupted backup or a missing one.

    - restore_drill:
        bucket: backups
        name: www
        host_label: web1             # whose backups (default: this host)
        min_files: 10
        files_exist: [etc/nginx/nginx.conf]
        command: "nginx -t -p . -c etc/nginx/nginx.conf"   # runs in the restored tree
        max_age: 26h                 # RPO limit
    - restore_drill:
        bucket: backups
        name: appdb
        sql_checks: [{table: orders, min_rows: 1}]
"""

from __future__ import annotations

import shlex
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator, model_validator

from runbook_engine.errors import ModuleFailure, RunbookError
from runbook_engine.modules import restore
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.s3 import catalog, gfs
from runbook_engine.s3.config import make_client
from runbook_engine.s3.hoststream import run_fed


class SqlCheck(ModuleArgs):
    """A row count: of a table (quoted safely) or of a query's single-number result."""

    table: str | None = None
    query: str | None = None
    rows: int | None = Field(None, ge=0, description="Exactly this many.")
    min_rows: int | None = Field(None, ge=0, description="At least this many (default 1).")

    @model_validator(mode="after")
    def _one_source(self) -> SqlCheck:
        if bool(self.table) == bool(self.query):
            raise ValueError("a sql check needs either `table` or `query`")
        return self

    def sql(self, engine: str) -> str:
        if self.query:
            return self.query.rstrip().rstrip(";") + ";\n"
        assert self.table is not None
        quote = '"' if engine == "postgres" else "`"
        ident = ".".join(
            quote + part.replace(quote, quote * 2) + quote for part in self.table.split(".")
        )
        return f"SELECT count(*) FROM {ident};\n"

    @property
    def label(self) -> str:
        return f"rows in {self.table}" if self.table else f"rows from {self.query!r}"


class Args(restore.RestoreSource):
    scratch_dir: str | None = Field(
        None, description="Where the scratch directory is made (default: $TMPDIR or /tmp)."
    )
    expect_files: int | None = Field(None, ge=0, description="Exact number of regular files.")
    min_files: int | None = Field(None, ge=0)
    files_exist: list[str] = Field(default_factory=list, description="Relative to the root.")
    command: str | None = Field(None, description="Must exit 0; runs in the restored tree.")
    sql_checks: list[SqlCheck] = Field(default_factory=list)
    max_age: str | None = Field(None, description="RPO limit, e.g. 26h or 8d.")
    keep_scratch: bool = False

    @field_validator("max_age", mode="before")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value == "":
            return None
        if value is not None:
            gfs.parse_duration(value)
        return value


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def run(ctx: TaskContext, args: Args) -> Result:
    host = args.host_label or ctx.host
    try:
        client = make_client(args)
        backup = catalog.resolve(client, args, host, args.name, args.backup)
    except ModuleFailure as exc:
        return _failed(f"restore drill FAILED: {exc}", {"passed": False})
    where = args.where(backup.key)
    rpo = (datetime.now(UTC) - backup.id.timestamp).total_seconds()
    if ctx.check_mode:
        return Result(changed=False, msg=f"would drill {where} on {ctx.host}")
    drill: dict[str, Any] = {"key": backup.key, "url": where, "rpo_seconds": round(rpo)}
    drill["backup_time"] = backup.id.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    scratch = Scratch()
    try:
        result = _drill(ctx, args, client, backup, drill, scratch, rpo)
    finally:
        problem = "" if args.keep_scratch else _clean_up(ctx, args, scratch)
    if problem:
        result.failed = True
        result.msg += f"; clean-up failed: {problem}"
    elif args.keep_scratch:
        result.msg += f"; scratch kept: {scratch.directory or scratch.database}"
    return result


@dataclass
class Scratch:
    """What the drill created on the host, to remove afterwards."""

    directory: str | None = None
    database: str | None = None


def _drill(
    ctx: TaskContext,
    args: Args,
    client: Any,
    backup: catalog.StoredBackup,
    drill: dict[str, Any],
    scratch: Scratch,
    rpo: float,
) -> Result:
    where = drill["url"]
    checks: list[Check] = []
    started = time.monotonic()
    try:
        if backup.id.is_archive:
            scratch.directory = _make_scratch(ctx, args.scratch_dir)
            restore.restore_into(ctx, client, args, backup, scratch.directory, None, False)
        else:
            scratch.database = f"runbook_drill_{uuid.uuid4().hex[:12]}"
            restore.restore_into(ctx, client, args, backup, None, scratch.database, True)
        drill["rto_seconds"] = round(time.monotonic() - started, 3)
        checks = _run_checks(ctx, args, scratch, backup, rpo)
    except ModuleFailure as exc:
        drill.update(passed=False, checks=[c.as_dict() for c in checks])
        return _failed(f"restore drill FAILED for {where}: {exc}", drill)
    passed = all(c.ok for c in checks)
    drill.update(passed=passed, checks=[c.as_dict() for c in checks])
    summary = (
        f"{where} restored on {ctx.host} in {drill['rto_seconds']:.1f} s (RTO), "
        f"backup age {_human(rpo)} (RPO)"
    )
    if not passed:
        failures = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
        return _failed(f"restore drill FAILED: {summary}; {failures}", drill)
    return Result(  # the scratch copy is gone again: nothing on the host changed
        changed=False,
        msg=f"restore drill passed: {summary}; {len(checks)}/{len(checks)} checks passed",
        data=_data(drill),
    )


def _failed(msg: str, drill: dict[str, Any]) -> Result:
    return Result(failed=True, changed=False, msg=msg, data=_data(drill))


def _data(drill: dict[str, Any]) -> dict[str, Any]:
    return {"drill": drill, "rpo_seconds": drill.get("rpo_seconds"),
            "rto_seconds": drill.get("rto_seconds")}


def _make_scratch(ctx: TaskContext, base: str | None) -> str:
    directory = shlex.quote(base) if base else '"${TMPDIR:-/tmp}"'
    made = ctx.run(f"mkdir -p {directory} && mktemp -d {directory}/runbook-drill.XXXXXXXX")
    if made.rc != 0:
        raise ModuleFailure(f"cannot create a scratch directory: {made.stderr.strip()}")
    return made.stdout.strip()


def _clean_up(ctx: TaskContext, args: Args, scratch: Scratch) -> str:
    """Remove the scratch directory / database; returns what could not be removed."""
    problems: list[str] = []
    try:
        if scratch.directory:
            done = ctx.run(["rm", "-rf", "--", scratch.directory])
            if done.rc != 0:
                problems.append(f"{scratch.directory}: {done.stderr.strip()}")
        if scratch.database:
            admin = args.db(args.maintenance_db).admin_command("drop", scratch.database)
            done = run_fed(ctx, admin, args.password)
            if done.rc != 0:
                problems.append(f"database {scratch.database}: {done.stderr.strip()}")
    except RunbookError as exc:  # the host went away: say so, keep the drill's own verdict
        problems.append(str(exc))
    return "; ".join(problems)


def _run_checks(
    ctx: TaskContext, args: Args, scratch: Scratch, backup: catalog.StoredBackup, rpo: float
) -> list[Check]:
    checks: list[Check] = []
    if args.max_age:
        limit = gfs.parse_duration(args.max_age).total_seconds()
        checks.append(
            Check("backup age", rpo <= limit, f"{_human(rpo)} (limit {args.max_age})")
        )
    file_checks = args.files_exist or args.expect_files is not None or args.min_files is not None
    if scratch.directory:
        checks += _file_checks(ctx, args, scratch.directory)
        if args.sql_checks:
            checks.append(Check("sql checks", False, f"{backup.key} is a file archive"))
    if scratch.database:
        checks += [_sql_check(ctx, args, scratch.database, c) for c in args.sql_checks]
        if file_checks:
            checks.append(Check("file checks", False, f"{backup.key} is a database dump"))
    if args.command:
        checks.append(_command_check(ctx, args.command, scratch.directory, scratch.database))
    return checks


def _file_checks(ctx: TaskContext, args: Args, root: str) -> list[Check]:
    checks: list[Check] = []
    if args.expect_files is not None or args.min_files is not None:
        counted = ctx.run(f"find {shlex.quote(root)} -type f | wc -l")
        count = int(counted.stdout.strip() or -1)
        if args.expect_files is not None:
            ok = count == args.expect_files
            checks.append(Check("file count", ok, f"{count} files, expected {args.expect_files}"))
        if args.min_files is not None:
            ok = count >= args.min_files
            checks.append(Check("file count", ok, f"{count} files, at least {args.min_files}"))
    if args.files_exist:
        wanted = [p.lstrip("/") for p in args.files_exist]
        probe = ctx.run(
            "for p in " + " ".join(shlex.quote(p) for p in wanted)
            + '; do [ -e "$p" ] || printf "%s\\n" "$p"; done',
            chdir=root,
        )
        missing = probe.stdout.splitlines()
        detail = f"missing: {', '.join(missing)}" if missing else f"all {len(wanted)} present"
        checks.append(Check("files exist", probe.rc == 0 and not missing, detail))
    return checks


def _command_check(
    ctx: TaskContext, command: str, scratch: str | None, database: str | None
) -> Check:
    exports = []
    if scratch:
        exports.append(f"RESTORE_DIR={shlex.quote(scratch)}; export RESTORE_DIR;")
    if database:
        exports.append(f"RESTORE_DB={shlex.quote(database)}; export RESTORE_DB;")
    done = ctx.run(" ".join([*exports, command]), chdir=scratch)
    tail = (done.stderr.strip() or done.stdout.strip())[-300:]
    detail = f"exit {done.rc}" + (f": {tail}" if tail and done.rc else "")
    return Check(f"command {command!r}", done.rc == 0, detail)


def _sql_check(ctx: TaskContext, args: Args, database: str, check: SqlCheck) -> Check:
    query = check.sql(args.db_engine).encode()
    done = run_fed(ctx, args.db(database).query_command(), args.password, data=query)
    text = done.stdout.strip().splitlines()
    if done.rc != 0 or not text or not text[-1].strip().lstrip("-").isdigit():
        return Check(check.label, False, f"query failed: {done.stderr.strip()[-300:]}")
    count = int(text[-1].strip())
    if check.rows is not None:
        return Check(check.label, count == check.rows, f"{count}, expected {check.rows}")
    minimum = check.min_rows if check.min_rows is not None else 1
    return Check(check.label, count >= minimum, f"{count}, at least {minimum}")


def _human(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"
