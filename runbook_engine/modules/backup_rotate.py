"""backup_rotate: grandfather-father-son retention of one host's backups of one name.

    - backup_rotate:
        bucket: backups
        name: www
        keep_last: 3
        keep_daily: 7
        keep_weekly: 4
        keep_monthly: 12

Safety rules:
- nothing is deleted when the newest backup is not verified (the task fails instead);
- the newest verified backup is always kept, whatever the policy says;
- only keys matching `PREFIX/HOST/NAME-YYYYmmddTHHMMSSZ.EXT` are considered; unverified
  older backups are reported and left alone.
Check mode lists what would be deleted and, for each survivor, the rules that keep it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import Result, TaskContext, fail
from runbook_engine.s3 import catalog, gfs, naming
from runbook_engine.s3.config import S3Args, make_client
from runbook_engine.s3.errors import S3Failure, describe, s3_errors

ON_CONTROLLER = True  # talks to S3 only, never to the host
DELETE_BATCH = 1000  # DeleteObjects' limit
NEWEST_REASON = "newest verified (always kept)"


class Args(S3Args):
    name: str
    host_label: str | None = Field(None, description="Whose backups (default: this host).")
    keep_last: int = Field(0, ge=0)
    keep_hourly: int = Field(0, ge=0)
    keep_daily: int = Field(0, ge=0)
    keep_weekly: int = Field(0, ge=0)
    keep_monthly: int = Field(0, ge=0)
    keep_yearly: int = Field(0, ge=0)
    keep_within: str | None = Field(None, description="e.g. 7d, 2w, 1m (relative to newest).")

    @field_validator("keep_within", mode="before")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value == "":
            return None
        if value is not None:
            gfs.parse_duration(value)
        return value

    @model_validator(mode="after")
    def _some_rule(self) -> Args:
        naming.check_name(self.name)
        if self.policy().empty:
            raise ValueError("give at least one keep_* rule (an empty policy would keep nothing)")
        return self

    def policy(self) -> gfs.Policy:
        return gfs.Policy(
            keep_last=self.keep_last,
            keep_hourly=self.keep_hourly,
            keep_daily=self.keep_daily,
            keep_weekly=self.keep_weekly,
            keep_monthly=self.keep_monthly,
            keep_yearly=self.keep_yearly,
            keep_within=gfs.parse_duration(self.keep_within) if self.keep_within else None,
        )


def run(ctx: TaskContext, args: Args) -> Result:
    try:
        return _rotate(ctx, args)
    except ModuleFailure as exc:
        return fail(str(exc))


def _rotate(ctx: TaskContext, args: Args) -> Result:
    host = args.host_label or ctx.host
    client = make_client(args)
    listing = catalog.list_backups(client, args, host, args.name)
    newest = listing.newest
    if newest is None:
        return Result(msg=f"no backups of {args.name!r} for {host}: nothing to rotate")
    if not newest.verified:
        return fail(
            f"refusing to rotate: the newest backup {args.where(newest.key)} is not verified; "
            "nothing was deleted",
            unverified=[newest.key],
        )
    verified = [b for b in listing.backups if b.verified]
    decision = gfs.decide(args.policy(), [b.id.timestamp for b in verified])
    keep = {verified[i].key: reasons for i, reasons in decision.keep.items()}
    keep.setdefault(newest.key, []).append(NEWEST_REASON)
    doomed = [verified[i].key for i in decision.delete if verified[i].key != newest.key]
    data: dict[str, Any] = {
        "deleted" if not ctx.check_mode else "would_delete": doomed,
        "kept": [{"key": k, "reasons": r} for k, r in sorted(keep.items(), reverse=True)],
        "unverified": [b.key for b in listing.backups if not b.verified],
        "ignored": listing.ignored,
    }
    if doomed and not ctx.check_mode:
        _delete(client, args, doomed)
    return Result(changed=bool(doomed), msg=_summary(ctx.check_mode, doomed, keep), data=data)


def _delete(client: Any, args: S3Args, keys: list[str]) -> None:
    failed: list[str] = []
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start : start + DELETE_BATCH]
        try:
            response = client.delete_objects(
                Bucket=args.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
        except s3_errors() as exc:
            raise S3Failure(describe(exc, "deleting old backups in", args.where())) from exc
        failed += [f"{e['Key']} ({e.get('Code', '?')})" for e in response.get("Errors", [])]
    if failed:
        raise ModuleFailure("could not delete: " + ", ".join(failed))


def _summary(check: bool, doomed: list[str], keep: dict[str, list[str]]) -> str:
    verb = "would delete" if check else "deleted"
    lines = [f"{verb} {len(doomed)}, keeping {len(keep)}"]
    lines += [f"  {verb}: {key}" for key in doomed]
    lines += [f"  keep: {key} ({', '.join(r)})" for key, r in sorted(keep.items(), reverse=True)]
    return "\n".join(lines)
