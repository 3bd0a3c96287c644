"""restore_drill over a real store and real hosts: passes, mismatches, corruption, absence."""

from __future__ import annotations

from typing import Any

from tests.backup.helpers import keys_under, unique_prefix
from tests.fixtures.seaweedfs import SeaweedFS
from tests.harness import Target, make_ctx, run_module


def _backed_up(target: Target, seaweedfs: SeaweedFS) -> tuple[dict[str, Any], str]:
    src = f"{target.scratch}/site"
    target.conn.run(
        f"mkdir -p {src}/etc && printf 'listen 80\\n' > {src}/etc/app.conf"
        f" && head -c 50000 /dev/urandom > {src}/data.bin && echo ok > {src}/health"
    )
    s3 = seaweedfs.s3_args(prefix=unique_prefix(), name="site")
    made = run_module(
        "backup", make_ctx(target), {**s3, "root": src, "paths": ["."], "compression": "gzip"}
    )
    assert not made.failed, made.msg
    return s3, made.data["backup"]["key"]


def _leftovers(target: Target) -> str:
    return target.conn.run(f"ls -A {target.scratch}/drills 2>/dev/null").stdout.strip()


def test_drill_passes_and_records_rpo_and_rto(target: Target, seaweedfs: SeaweedFS) -> None:
    s3, key = _backed_up(target, seaweedfs)
    result = run_module("restore_drill", make_ctx(target), {
        **s3,
        "scratch_dir": f"{target.scratch}/drills",
        "expect_files": 3,
        "files_exist": ["etc/app.conf", "/health"],
        "command": "grep -q 'listen 80' etc/app.conf && test -s \"$RESTORE_DIR/data.bin\"",
        "max_age": "1h",
    })
    assert not result.failed, result.msg
    assert result.msg.startswith("restore drill passed:")
    assert "(RTO)" in result.msg and "(RPO)" in result.msg and "4/4 checks passed" in result.msg
    drill = result.data["drill"]
    assert drill["key"] == key and drill["passed"]
    assert 0 <= result.data["rpo_seconds"] < 600
    assert 0 < result.data["rto_seconds"] < 120
    assert all(c["ok"] for c in drill["checks"])
    assert _leftovers(target) == ""  # scratch directory and staging file removed


def test_drill_fails_loudly_on_every_mismatch(target: Target, seaweedfs: SeaweedFS) -> None:
    s3, _ = _backed_up(target, seaweedfs)
    result = run_module("restore_drill", make_ctx(target), {
        **s3,
        "scratch_dir": f"{target.scratch}/drills",
        "expect_files": 7,
        "files_exist": ["etc/app.conf", "etc/missing.conf"],
        "command": "grep -q 'listen 443' etc/app.conf",
    })
    assert result.failed
    assert result.msg.startswith("restore drill FAILED")
    assert "3 files, expected 7" in result.msg
    assert "missing: etc/missing.conf" in result.msg
    assert "command \"grep -q 'listen 443' etc/app.conf\": exit 1" in result.msg
    assert not result.data["drill"]["passed"]
    assert _leftovers(target) == ""


def test_drill_fails_on_a_corrupted_backup_and_names_it(
    target: Target, seaweedfs: SeaweedFS
) -> None:
    s3, key = _backed_up(target, seaweedfs)
    client = seaweedfs.client()
    stored = client.get_object(Bucket=seaweedfs.bucket, Key=key)
    body = bytearray(stored["Body"].read())
    body[len(body) // 2] ^= 0xFF  # one flipped byte, same size, same metadata
    client.put_object(
        Bucket=seaweedfs.bucket, Key=key, Body=bytes(body), Metadata=stored["Metadata"]
    )
    result = run_module("restore_drill", make_ctx(target), {
        **s3, "scratch_dir": f"{target.scratch}/drills", "min_files": 1,
    })
    assert result.failed
    assert f"s3://{seaweedfs.bucket}/{key} is corrupted" in result.msg
    assert "nothing was restored" in result.msg
    assert _leftovers(target) == ""


def test_drill_fails_when_there_is_no_backup(target: Target, seaweedfs: SeaweedFS) -> None:
    prefix = unique_prefix()
    s3 = seaweedfs.s3_args(prefix=prefix, name="site")
    result = run_module("restore_drill", make_ctx(target), {**s3, "min_files": 1})
    assert result.failed
    assert "restore drill FAILED: no backups of 'site'" in result.msg
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == set()


def test_drill_of_a_named_backup(target: Target, seaweedfs: SeaweedFS) -> None:
    s3, key = _backed_up(target, seaweedfs)
    result = run_module("restore_drill", make_ctx(target), {
        **s3, "backup": key.rsplit("/", 1)[1], "files_exist": ["health"],
    })
    assert not result.failed, result.msg
    assert result.data["drill"]["key"] == key


def test_checks_that_cannot_apply_fail_the_drill(target: Target, seaweedfs: SeaweedFS) -> None:
    s3, key = _backed_up(target, seaweedfs)
    result = run_module("restore_drill", make_ctx(target), {
        **s3, "scratch_dir": f"{target.scratch}/drills",
        "sql_checks": [{"table": "orders"}],
    })
    assert result.failed
    assert f"sql checks: {key} is a file archive" in result.msg
    assert _leftovers(target) == ""


def test_keep_scratch_leaves_the_restored_tree(target: Target, seaweedfs: SeaweedFS) -> None:
    s3, _ = _backed_up(target, seaweedfs)
    result = run_module("restore_drill", make_ctx(target), {
        **s3, "scratch_dir": f"{target.scratch}/drills", "keep_scratch": True,
        "files_exist": ["health"],
    })
    assert not result.failed, result.msg
    kept = result.msg.rsplit("scratch kept: ", 1)[1]
    assert target.conn.run(f"test -f {kept}/health").rc == 0
    target.conn.run(f"rm -rf {kept}")
