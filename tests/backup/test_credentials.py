"""Credentials resolve the standard boto3 way on the controller: explicit keys, else a
profile, else the AWS_* environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_engine.connection.local import LocalConnection
from tests.backup.helpers import unique_prefix
from tests.fixtures.seaweedfs import ADMIN_KEY, ADMIN_SECRET, SeaweedFS
from tests.harness import Target, make_ctx, run_module

CONTROLLER = Target("web1", LocalConnection("web1"), "/nonexistent")


def _rotate(seaweedfs: SeaweedFS, **s3: object):
    args = {
        "bucket": seaweedfs.bucket, "endpoint_url": seaweedfs.endpoint, "region": "us-east-1",
        "prefix": unique_prefix(), "name": "www", "keep_last": 1, "max_attempts": 1, **s3,
    }
    return run_module("backup_rotate", make_ctx(CONTROLLER), args)


@pytest.fixture
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def test_environment_credentials(
    seaweedfs: SeaweedFS, no_ambient_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ADMIN_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    refused = _rotate(seaweedfs)
    assert refused.failed and "S3 rejected the credentials" in refused.msg
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ADMIN_SECRET)
    accepted = _rotate(seaweedfs)
    assert not accepted.failed, accepted.msg
    assert "nothing to rotate" in accepted.msg


def test_profile_credentials(seaweedfs: SeaweedFS, no_ambient_credentials: Path) -> None:
    (no_ambient_credentials / "credentials").write_text(
        f"[backups]\naws_access_key_id = {ADMIN_KEY}\naws_secret_access_key = {ADMIN_SECRET}\n"
    )
    accepted = _rotate(seaweedfs, profile="backups")
    assert not accepted.failed, accepted.msg
    missing = _rotate(seaweedfs, profile="nope")
    assert missing.failed and "nope" in missing.msg


def test_no_credentials_at_all(seaweedfs: SeaweedFS, no_ambient_credentials: Path) -> None:
    result = _rotate(seaweedfs)
    assert result.failed and "no S3 credentials" in result.msg
