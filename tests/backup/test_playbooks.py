"""The shipped playbooks and roles, end to end through `runbook run` on this machine
(local connection) against the real S3 store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.backup.helpers import keys_under, unique_prefix
from tests.conftest import REPO_ROOT
from tests.fixtures.seaweedfs import ADMIN_SECRET, READONLY_SECRET, SeaweedFS


def _runbook(playbook: str, inventory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook_engine", "run", str(REPO_ROOT / playbook),
         "-i", str(inventory), *extra],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )


def _inventory(tmp: Path, seaweedfs: SeaweedFS, prefix: str, site: Path) -> Path:
    ro = seaweedfs.s3_args(readonly=True)
    inventory: dict[str, Any] = {"all": {
        "vars": {
            "ansible_connection": "local",
            "backup_s3_bucket": seaweedfs.bucket,
            "backup_s3_prefix": prefix,
            "backup_s3_endpoint_url": seaweedfs.endpoint,
            "backup_s3_region": "us-east-1",
            "backup_s3_access_key": seaweedfs.s3_args()["access_key"],
            "backup_s3_secret_key": ADMIN_SECRET,
            "backup_s3_max_attempts": 2,
        },
        "children": {
            "backup_targets": {"hosts": {"app1": {"backup_s3_jobs": [
                {"name": "site", "root": str(site), "paths": ["."], "excludes": ["*.tmp"]},
            ]}}},
            "drill_hosts": {"hosts": {"drill1": {
                "backup_s3_access_key": ro["access_key"],
                "backup_s3_secret_key": READONLY_SECRET,
                "restore_drill_scratch_dir": str(tmp / "drills"),
                "restore_drill_jobs": [{
                    "source_host": "app1", "name": "site", "expect_files": 2,
                    "files_exist": ["index.html", "conf/app.conf"],
                    "command": "grep -q ready conf/app.conf", "max_age": "1h",
                }],
            }}},
        },
    }}
    path = tmp / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


def test_backup_and_drill_playbooks(tmp_path: Path, seaweedfs: SeaweedFS) -> None:
    site = tmp_path / "site"
    (site / "conf").mkdir(parents=True)
    (site / "index.html").write_text("<h1>hi</h1>\n")
    (site / "conf" / "app.conf").write_text("state ready\n")
    (site / "scratch.tmp").write_text("excluded\n")
    prefix = unique_prefix()
    inventory = _inventory(tmp_path, seaweedfs, prefix, site)

    planned = _runbook("playbooks/backup.yml", inventory, "--check")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == set()

    backup = _runbook("playbooks/backup.yml", inventory)
    assert backup.returncode == 0, backup.stdout + backup.stderr
    keys = keys_under(seaweedfs.client(), seaweedfs.bucket, f"{prefix}/app1/")
    assert len(keys) == 1 and next(iter(keys)).startswith(f"{prefix}/app1/site-")

    drill = _runbook("playbooks/restore-drill.yml", inventory)
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert "restore drill passed" in drill.stdout and "(RPO)" in drill.stdout
    assert not any((tmp_path / "drills").iterdir())

    client = seaweedfs.client()
    key = next(iter(keys))
    stored = client.get_object(Bucket=seaweedfs.bucket, Key=key)
    body = bytearray(stored["Body"].read())
    body[-10] ^= 0x55
    client.put_object(
        Bucket=seaweedfs.bucket, Key=key, Body=bytes(body), Metadata=stored["Metadata"]
    )
    broken = _runbook("playbooks/restore-drill.yml", inventory)
    assert broken.returncode == 4, broken.stdout + broken.stderr
    assert f"{key} is corrupted" in broken.stdout
    for run in (planned, backup, drill, broken):
        assert ADMIN_SECRET not in run.stdout + run.stderr
        assert READONLY_SECRET not in run.stdout + run.stderr
