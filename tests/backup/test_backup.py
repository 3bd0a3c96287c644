"""backup: archives and dumps streamed from the host into a real S3 store (SeaweedFS)."""

from __future__ import annotations

import hashlib
import uuid

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


def test_round_trip_restores_byte_for_byte(target: Target, seaweedfs: SeaweedFS) -> None:
    src = _tree(target)
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    s3 = seaweedfs.s3_args(prefix=prefix, name="www")
    made = run_module("backup", make_ctx(target), {**s3, "root": src, "paths": ["etc", "blob"]})
    assert not made.failed, made.msg
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
