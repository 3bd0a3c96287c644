"""Faults against real servers: the store dying mid-upload, bad credentials, a read-only
key, a corrupted object, the host dying mid-stream. None may leave a valid-looking backup."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runbook_engine.errors import HostUnreachable
from runbook_engine.modules.base import Result
from tests.backup.helpers import (
    RecordingConnection,
    backup_key,
    keys_under,
    put_object,
    unique_prefix,
)
from tests.fixtures.seaweedfs import ADMIN_SECRET, READONLY_SECRET, SeaweedFS
from tests.harness import Target, make_ctx, run_module

BIG_MB = 120  # large enough that the upload is still running when the fault is injected


@pytest.fixture
def big_tree(target: Target) -> Iterator[str]:
    """A directory with one incompressible BIG_MB file; removed after the test."""
    src = f"{target.scratch}/big"
    made = target.conn.run(
        f"mkdir -p {src} && head -c {BIG_MB}M /dev/urandom > {src}/blob", timeout=120
    )
    assert made.rc == 0, made.stderr
    yield src
    target.conn.run(f"rm -rf {src}")


def _small_tree(target: Target) -> str:
    src = f"{target.scratch}/small"
    target.conn.run(f"mkdir -p {src} && echo hello > {src}/a && echo world > {src}/b")
    return src


def _in_background(fn: Callable[[], Result]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def body() -> None:
        try:
            outcome.append(fn())
        except Exception as exc:  # reported to the test, which asserts on it
            outcome.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


def _wait_for_upload(seaweedfs: SeaweedFS, prefix: str, timeout: float = 60) -> None:
    """Until a multipart upload under `prefix` has at least one part stored."""
    client = seaweedfs.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        uploads = client.list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=prefix)
        for upload in uploads.get("Uploads", []):
            parts = client.list_parts(
                Bucket=seaweedfs.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
            if parts.get("Parts"):
                return
        time.sleep(0.05)
    raise AssertionError("the upload never started")


def test_store_dying_mid_upload_leaves_no_backup(
    target: Target, seaweedfs: SeaweedFS, big_tree: str
) -> None:
    src = big_tree
    prefix = unique_prefix()
    client = seaweedfs.client()
    older = backup_key(prefix, target.name, "big", datetime.now(UTC) - timedelta(days=1))
    put_object(client, seaweedfs.bucket, older)
    args = seaweedfs.s3_args(
        prefix=prefix, name="big", root=src, paths=["blob"], compression="none",
        part_size_mb=5, max_attempts=1, connect_timeout=2, read_timeout=5,
    )
    thread, outcome = _in_background(lambda: run_module("backup", make_ctx(target), args))
    _wait_for_upload(seaweedfs, prefix)
    seaweedfs.kill()
    thread.join(120)
    seaweedfs.start()
    result = outcome[0]
    assert isinstance(result, Result) and result.failed, result
    assert "cannot reach the S3 endpoint" in result.msg or "failed" in result.msg
    assert "partial upload" in result.msg
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == {older}


def test_wrong_secret_is_refused_and_never_leaks(target: Target, seaweedfs: SeaweedFS) -> None:
    src = _small_tree(target)
    prefix = unique_prefix()
    wrong = "definitely-not-the-secret-0451"
    recorder = RecordingConnection(target.conn)
    spied = Target(target.name, recorder, target.scratch)
    args = seaweedfs.s3_args(prefix=prefix, name="s", root=src, paths=["."], secret_key=wrong)
    result = run_module("backup", make_ctx(spied), args)
    assert result.failed
    assert "S3 rejected the credentials" in result.msg
    assert wrong not in repr(result)
    assert wrong.encode() not in recorder.sent
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == set()


def test_credentials_never_reach_the_host(target: Target, seaweedfs: SeaweedFS) -> None:
    src = _small_tree(target)
    recorder = RecordingConnection(target.conn)
    spied = Target(target.name, recorder, target.scratch)
    s3 = seaweedfs.s3_args(prefix=unique_prefix(), name="s")
    made = run_module("backup", make_ctx(spied), {**s3, "root": src, "paths": ["."]})
    assert not made.failed, made.msg
    back = run_module("restore", make_ctx(spied), {**s3, "dest": f"{target.scratch}/back"})
    assert not back.failed, back.msg
    assert recorder.sent  # the host did get the commands and the data
    assert ADMIN_SECRET.encode() not in recorder.sent
    assert ADMIN_SECRET not in repr(made) + repr(back)


def test_read_only_key_cannot_back_up_or_rotate_but_can_restore(
    target: Target, seaweedfs: SeaweedFS
) -> None:
    src = _small_tree(target)
    prefix = unique_prefix()
    admin = seaweedfs.s3_args(prefix=prefix, name="s")
    readonly = seaweedfs.s3_args(prefix=prefix, name="s", readonly=True)
    made = run_module("backup", make_ctx(target), {**admin, "root": src, "paths": ["."]})
    assert not made.failed, made.msg
    # another name: within the same second the same name would be refused as "exists"
    readonly_other = seaweedfs.s3_args(prefix=prefix, name="s2", readonly=True)
    denied = run_module("backup", make_ctx(target),
                        {**readonly_other, "root": src, "paths": ["."]})
    assert denied.failed
    assert "AccessDenied" in denied.msg and "not allowed" in denied.msg
    assert READONLY_SECRET not in repr(denied)
    older = backup_key(prefix, target.name, "s", datetime.now(UTC) - timedelta(days=3))
    put_object(seaweedfs.client(), seaweedfs.bucket, older)
    rotate = run_module("backup_rotate", make_ctx(target), {**readonly, "keep_last": 1})
    assert rotate.failed and "AccessDenied" in rotate.msg
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == {
        made.data["backup"]["key"], older
    }
    back = run_module("restore", make_ctx(target), {**readonly, "dest": f"{target.scratch}/ro"})
    assert not back.failed, back.msg
    assert target.conn.run(f"cmp {src}/a {target.scratch}/ro/a").rc == 0


def test_restore_of_a_corrupted_object_unpacks_nothing(
    target: Target, seaweedfs: SeaweedFS
) -> None:
    src = _small_tree(target)
    s3 = seaweedfs.s3_args(prefix=unique_prefix(), name="s")
    made = run_module("backup", make_ctx(target), {**s3, "root": src, "paths": ["."]})
    key = made.data["backup"]["key"]
    client = seaweedfs.client()
    stored = client.get_object(Bucket=seaweedfs.bucket, Key=key)
    body = stored["Body"].read()
    client.put_object(
        Bucket=seaweedfs.bucket, Key=key, Body=body[:-1] + bytes([body[-1] ^ 1]),
        Metadata=stored["Metadata"],
    )
    dest = f"{target.scratch}/dest"
    result = run_module("restore", make_ctx(target), {**s3, "dest": dest})
    assert result.failed
    assert f"{key} is corrupted" in result.msg
    assert target.conn.run(f"ls -A {dest}").stdout.strip() == ""
    assert ".runbook-restore" not in target.conn.run(f"ls -A {target.scratch}").stdout


def _producer_shell(marker: str) -> int:
    """PID of the host-side `sh -c` running the backup's tar (its cmdline names `marker`)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[0].endswith(b"sh") and b"tar" in argv[-2] and marker.encode() in argv[-2]:
                return int(proc.name)
        time.sleep(0.05)
    raise AssertionError("backup producer not found")


def _sshd_session_of(pid: int) -> int:
    """The sshd process serving the connection that started `pid`."""
    while pid > 1:
        stat = Path(f"/proc/{pid}/stat").read_text()
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm.startswith("sshd"):
            return pid
        pid = int(stat[stat.rindex(")") + 2 :].split()[1])
    raise AssertionError("no sshd ancestor")


def test_host_dying_mid_stream_leaves_no_backup(
    target: Target, seaweedfs: SeaweedFS, big_tree: str
) -> None:
    src = big_tree
    prefix = unique_prefix()
    args = seaweedfs.s3_args(
        prefix=prefix, name="big", root=src, paths=["blob"], compression="none", part_size_mb=5
    )
    thread, outcome = _in_background(lambda: run_module("backup", make_ctx(target), args))
    shell = _producer_shell(src)
    _wait_for_upload(seaweedfs, prefix)
    if target.name == "localhost":
        os.killpg(shell, signal.SIGKILL)  # the whole host side: shell, tar, compressor
    else:
        os.kill(_sshd_session_of(shell), signal.SIGKILL)  # the link to the host drops
    thread.join(120)
    result = outcome[0]
    if target.name == "localhost":
        assert isinstance(result, Result) and result.failed
        assert "ended before tar finished (host or connection died)" in result.msg
    else:  # the executor reports a lost link as an unreachable host
        assert isinstance(result, HostUnreachable), result
        assert "connection lost" in str(result)
    client = seaweedfs.client()
    assert keys_under(client, seaweedfs.bucket, prefix) == set()
    leftovers = client.list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert not leftovers.get("Uploads")


@pytest.mark.parametrize("which", ["latest", "named"])
def test_restore_refuses_an_unverified_backup(
    target: Target, seaweedfs: SeaweedFS, which: str
) -> None:
    prefix = unique_prefix()
    key = backup_key(prefix, target.name, "s", datetime.now(UTC))
    put_object(seaweedfs.client(), seaweedfs.bucket, key, verified=False)
    backup = "latest" if which == "latest" else key
    dest = f"{target.scratch}/u"
    s3 = seaweedfs.s3_args(prefix=prefix, name="s", backup=backup, dest=dest)
    result = run_module("restore", make_ctx(target), s3)
    assert result.failed and "not verified" in result.msg
    assert target.conn.run(f"test -e {dest}").rc != 0
