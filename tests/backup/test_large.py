"""A ~200 MB backup and restore: byte-for-byte, with the controller's memory bounded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.backup.helpers import unique_prefix
from tests.conftest import REPO_ROOT
from tests.fixtures.seaweedfs import SeaweedFS

SIZE_MB = 200
PART_MB = 8
# Two part buffers plus boto3's request copy: a few parts, far from the archive size.
MAX_GROWTH_MB = 64


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", "ssh"])
def test_200mb_round_trip_with_bounded_controller_memory(
    kind: str, seaweedfs: SeaweedFS, request: pytest.FixtureRequest, tmp_path_factory
) -> None:
    if kind == "local":
        host, host_vars = "localhost", {"ansible_connection": "local"}
        scratch = str(tmp_path_factory.mktemp("large"))
    else:
        ssh_host = request.getfixturevalue("ssh_hosts")[0]
        host, host_vars = ssh_host.name, ssh_host.inventory_vars()
        scratch = f"{ssh_host.scratch}/large-{unique_prefix()}"
    from runbook_engine.connection.factory import connection_for

    conn = connection_for(host, host_vars)
    src, dest = f"{scratch}/src", f"{scratch}/dest"
    made = conn.run(
        f"mkdir -p {src} && head -c {SIZE_MB}M /dev/urandom > {src}/big.bin", timeout=300
    )
    assert made.rc == 0, made.stderr
    spec = {
        "host": host,
        "vars": host_vars,
        "scratch": scratch,
        "s3": seaweedfs.s3_args(prefix=unique_prefix(), name="large", part_size_mb=PART_MB),
        "backup": {"root": src, "paths": ["big.bin"], "compression": "none"},
        "restore": {"dest": dest},
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.backup.measure_memory", json.dumps(spec)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads(done.stdout)
        backup, restore = report["backup"], report.get("restore")
        assert not backup["failed"], backup["msg"]
        assert backup["data"]["backup"]["size"] >= SIZE_MB * 1024 * 1024
        assert restore is not None and not restore["failed"], restore
        same = conn.run(f"cmp {src}/big.bin {dest}/big.bin", timeout=300)
        assert same.rc == 0, same.stdout + same.stderr
        print(f"peak RSS growth: backup {backup['growth_kib']} KiB, "
              f"restore {restore['growth_kib']} KiB")
        for phase in (backup, restore):
            assert phase["growth_kib"] < MAX_GROWTH_MB * 1024, (phase["growth_kib"], phase["msg"])
    finally:
        conn.run(f"rm -rf {scratch}", timeout=120)
        conn.close()
