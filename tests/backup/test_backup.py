"""backup: archives and dumps streamed from the host into a real S3 store (SeaweedFS)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from tests.backup.helpers import backup_key, keys_under, put_object
from tests.fixtures.seaweedfs import SeaweedFS
from tests.harness import Target, make_ctx, run_module


def _tree(target: Target) -> str:
    src = f"{target.scratch}/src"
    target.conn.run(
        f"mkdir -p {src}/etc {src}/cache && printf 'hello\\n' > {src}/etc/a.conf"
        f" && head -c 300000 /dev/urandom > {src}/blob && echo junk > {src}/cache/x.log"
    )
    return src


def test_backup_uploads_a_verified_object(target: Target, seaweedfs: SeaweedFS) -> None:
    src = _tree(target)
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    result = run_module(
        "backup",
        make_ctx(target),
        seaweedfs.s3_args(prefix=prefix, name="www", root=src, paths=["."], excludes=["cache"]),
    )
    assert not result.failed, result.msg
    backup = result.data["backup"]
    assert backup["key"].startswith(f"{prefix}/{target.name}/www-")
    assert backup["key"].endswith((".tar.zst", ".tar.gz"))
    obj = seaweedfs.client().get_object(Bucket=seaweedfs.bucket, Key=backup["key"])
    body = obj["Body"].read()
    assert len(body) == backup["size"]
    assert hashlib.sha256(body).hexdigest() == backup["sha256"] == obj["Metadata"]["sha256"]


def test_round_trip_backup_rotate_restore_byte_for_byte(
    target: Target, seaweedfs: SeaweedFS
) -> None:
    src = _tree(target)
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    client = seaweedfs.client()
    older = [
        backup_key(prefix, target.name, "www", datetime.now(UTC) - timedelta(days=d))
        for d in (1, 2, 3)
    ]
    for key in older:
        put_object(client, seaweedfs.bucket, key)
    s3 = seaweedfs.s3_args(prefix=prefix, name="www")
    made = run_module("backup", make_ctx(target), {**s3, "root": src, "paths": ["etc", "blob"]})
    assert not made.failed, made.msg
    rotated = run_module("backup_rotate", make_ctx(target), {**s3, "keep_last": 2})
    assert not rotated.failed, rotated.msg
    assert rotated.data["deleted"] == older[1:]
    assert keys_under(client, seaweedfs.bucket, prefix) == {made.data["backup"]["key"], older[0]}
    dest = f"{target.scratch}/restored"
    result = run_module("restore", make_ctx(target), {**s3, "dest": dest})
    assert not result.failed, result.msg
    compare = target.conn.run(
        f"cd {src} && cmp blob {dest}/blob && cmp etc/a.conf {dest}/etc/a.conf"
    )
    assert compare.rc == 0, compare.stderr
    assert result.data["restore"]["key"] == made.data["backup"]["key"]
    leftovers = target.conn.run(f"ls -A {target.scratch}")
    assert ".runbook-restore" not in leftovers.stdout


def test_server_side_encryption_is_requested(target: Target, seaweedfs: SeaweedFS) -> None:
    src = _tree(target)
    s3 = seaweedfs.s3_args(prefix=f"t-{uuid.uuid4().hex[:8]}", name="enc")
    made = run_module(
        "backup", make_ctx(target), {**s3, "root": src, "paths": ["etc"], "sse": "AES256"}
    )
    assert not made.failed, made.msg
    head = seaweedfs.client().head_object(Bucket=seaweedfs.bucket, Key=made.data["backup"]["key"])
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"]["sha256"] == made.data["backup"]["sha256"]
    back = run_module("restore", make_ctx(target), {**s3, "dest": f"{target.scratch}/enc"})
    assert not back.failed, back.msg
    assert target.conn.run(f"cmp {src}/etc/a.conf {target.scratch}/enc/etc/a.conf").rc == 0


def test_a_tar_failure_is_reported_and_leaves_nothing(
    target: Target, seaweedfs: SeaweedFS
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    s3 = seaweedfs.s3_args(prefix=prefix, name="gone")
    result = run_module(
        "backup", make_ctx(target), {**s3, "root": target.scratch, "paths": ["no-such-dir"]}
    )
    assert result.failed
    assert "tar failed on" in result.msg and "no-such-dir" in result.msg
    listed = seaweedfs.client().list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert listed.get("KeyCount", 0) == 0


def test_check_mode_uploads_nothing(target: Target, seaweedfs: SeaweedFS) -> None:
    src = _tree(target)
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    s3 = seaweedfs.s3_args(prefix=prefix, name="www")
    result = run_module("backup", make_ctx(target, check=True), {**s3, "root": src, "paths": ["."]})
    assert result.changed and not result.failed
    assert result.msg.startswith(f"would upload s3://{seaweedfs.bucket}/{prefix}/")
    listed = seaweedfs.client().list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert listed.get("KeyCount", 0) == 0


def test_restore_check_mode_touches_nothing(target: Target, seaweedfs: SeaweedFS) -> None:
    src = _tree(target)
    s3 = seaweedfs.s3_args(prefix=f"t-{uuid.uuid4().hex[:8]}", name="www")
    made = run_module("backup", make_ctx(target), {**s3, "root": src, "paths": ["etc"]})
    assert not made.failed, made.msg
    dest = f"{target.scratch}/never"
    result = run_module("restore", make_ctx(target, check=True), {**s3, "dest": dest})
    assert result.changed and not result.failed
    assert result.msg == f"would restore {made.data['backup']['url']} into {dest}"
    assert target.conn.run(f"test -e {dest}").rc != 0


def test_thousands_of_tar_errors_do_not_stall_the_stream(
    target: Target, seaweedfs: SeaweedFS
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    missing = [f"missing-file-number-{i:05d}" for i in range(4000)]  # ~250 KB of errors
    result = run_module(
        "backup",
        make_ctx(target),
        {**seaweedfs.s3_args(prefix=prefix, name="noisy"), "root": target.scratch,
         "paths": missing},
    )
    assert result.failed
    assert "tar failed on" in result.msg and "missing-file-number-03999" in result.msg
    listed = seaweedfs.client().list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert listed.get("KeyCount", 0) == 0
