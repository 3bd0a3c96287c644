"""backup_rotate against the real store: plan, deletions, and each safety rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runbook_engine.connection.local import LocalConnection
from tests.backup.helpers import backup_key, keys_under, put_object, unique_prefix
from tests.fixtures.seaweedfs import SeaweedFS
from tests.harness import Target, make_ctx, run_module

HOST = "web1"
NEWEST = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _controller() -> Target:
    # backup_rotate runs on the controller only: no host connection is involved.
    return Target(HOST, LocalConnection(HOST), "/nonexistent")


def _seed(seaweedfs: SeaweedFS, days: int) -> tuple[str, list[str]]:
    """One verified backup per day for `days` days, newest first."""
    prefix = unique_prefix()
    client = seaweedfs.client()
    keys = [backup_key(prefix, HOST, "www", NEWEST - timedelta(days=d)) for d in range(days)]
    for key in keys:
        put_object(client, seaweedfs.bucket, key)
    return prefix, keys


def test_check_mode_lists_deletions_and_why_survivors_stay(seaweedfs: SeaweedFS) -> None:
    prefix, keys = _seed(seaweedfs, 6)
    args = seaweedfs.s3_args(prefix=prefix, name="www", keep_last=2, keep_weekly=2)
    result = run_module("backup_rotate", make_ctx(_controller(), check=True), args)
    assert not result.failed, result.msg
    assert result.changed
    kept = {item["key"]: item["reasons"] for item in result.data["kept"]}
    # Monday 2026-03-09 opens ISO week 11, so week 10's newest backup is Sunday the 8th.
    assert kept[keys[0]] == ["last 1", "weekly 2026-W11", "newest verified (always kept)"]
    assert kept[keys[1]] == ["last 2"]
    assert kept[keys[2]] == ["weekly 2026-W10"]
    assert result.data["would_delete"] == keys[3:]
    assert f"would delete: {keys[3]}" in result.msg
    assert f"keep: {keys[2]} (weekly 2026-W10)" in result.msg
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == set(keys)


def test_rotation_deletes_only_what_the_policy_drops(seaweedfs: SeaweedFS) -> None:
    prefix, keys = _seed(seaweedfs, 5)
    client = seaweedfs.client()
    strangers = [
        f"{prefix}/{HOST}/www-notes.txt",
        f"{prefix}/{HOST}/www-20200101T000000Z.tar.gz.bak",
        f"{prefix}/{HOST}/www-20201399T000000Z.tar.gz",
        f"{prefix}/{HOST}/other-20200101T000000Z.tar.gz",
        f"{prefix}/{HOST}/README",
    ]
    for key in strangers:
        put_object(client, seaweedfs.bucket, key)
    args = seaweedfs.s3_args(prefix=prefix, name="www", keep_last=2)
    result = run_module("backup_rotate", make_ctx(_controller()), args)
    assert not result.failed, result.msg
    assert result.data["deleted"] == keys[2:]
    assert keys_under(client, seaweedfs.bucket, prefix) == set(keys[:2]) | set(strangers)
    again = run_module("backup_rotate", make_ctx(_controller()), args)
    assert not again.changed and again.data["deleted"] == []


def test_nothing_is_deleted_when_the_newest_backup_is_unverified(seaweedfs: SeaweedFS) -> None:
    prefix, keys = _seed(seaweedfs, 4)
    client = seaweedfs.client()
    partial = backup_key(prefix, HOST, "www", NEWEST + timedelta(hours=1))
    put_object(client, seaweedfs.bucket, partial, verified=False)
    args = seaweedfs.s3_args(prefix=prefix, name="www", keep_last=1)
    result = run_module("backup_rotate", make_ctx(_controller()), args)
    assert result.failed
    assert "newest backup" in result.msg and "not verified" in result.msg
    assert partial in result.msg
    assert keys_under(client, seaweedfs.bucket, prefix) == set(keys) | {partial}


def test_older_unverified_backups_are_left_alone(seaweedfs: SeaweedFS) -> None:
    prefix, keys = _seed(seaweedfs, 3)
    client = seaweedfs.client()
    odd = backup_key(prefix, HOST, "www", NEWEST - timedelta(days=30))
    put_object(client, seaweedfs.bucket, odd, verified=False)
    args = seaweedfs.s3_args(prefix=prefix, name="www", keep_last=1)
    result = run_module("backup_rotate", make_ctx(_controller()), args)
    assert not result.failed, result.msg
    assert result.data["unverified"] == [odd]
    assert keys_under(client, seaweedfs.bucket, prefix) == {keys[0], odd}


def test_newest_verified_is_kept_even_by_the_narrowest_policy(seaweedfs: SeaweedFS) -> None:
    prefix, keys = _seed(seaweedfs, 3)
    args = seaweedfs.s3_args(prefix=prefix, name="www", keep_within="1h")
    result = run_module("backup_rotate", make_ctx(_controller()), args)
    assert not result.failed, result.msg
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == {keys[0]}
    kept = result.data["kept"]
    assert [k["key"] for k in kept] == [keys[0]]
    assert "newest verified (always kept)" in kept[0]["reasons"]


def test_an_empty_policy_is_rejected_before_anything_happens() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at least one keep_"):
        run_module("backup_rotate", make_ctx(_controller()), {"bucket": "abc", "name": "www"})
