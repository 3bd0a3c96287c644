"""become over a streamed backup/restore: sudo's password goes on stdin before the data."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest

from runbook_engine.connection.factory import connection_for
from runbook_engine.modules.base import Become
from tests.fixtures.seaweedfs import SeaweedFS
from tests.harness import Target, make_ctx, run_module


@pytest.fixture
def sudo_target(request: pytest.FixtureRequest) -> Iterator[tuple[Target, str]]:
    host = request.getfixturevalue("ssh_hosts")[0]
    if not host.sudo:
        pytest.skip("the first SSH test host has no sudo rule")
    conn = connection_for(host.name, host.inventory_vars())
    scratch = f"{host.scratch}/become-{uuid.uuid4().hex[:8]}"
    conn.run(f"mkdir -p {scratch}")
    try:
        yield Target(host.name, conn, scratch), host.password
    finally:
        conn.run(f"rm -rf {scratch}")
        conn.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="creates a root-only file for the test host")
def test_root_only_files_need_become(
    sudo_target: tuple[Target, str], seaweedfs: SeaweedFS
) -> None:
    target, password = sudo_target
    secret_dir = f"{target.scratch}/private"
    os.makedirs(secret_dir)
    with open(f"{secret_dir}/key.pem", "w") as handle:
        handle.write("-----BEGIN TEST KEY-----\n")
    os.chmod(secret_dir, 0o700)  # owned by root: the SSH user cannot read it
    s3 = seaweedfs.s3_args(prefix=f"t-{uuid.uuid4().hex[:8]}", name="private")
    args = {**s3, "root": target.scratch, "paths": ["private"]}
    try:
        denied = run_module("backup", make_ctx(target), args)
        assert denied.failed and "Permission denied" in denied.msg
        become = Become(password=password)
        made = run_module("backup", make_ctx(target, become=become), args)
        assert not made.failed, made.msg
        dest = f"{target.scratch}/back"
        back = run_module("restore", make_ctx(target, become=become), {**s3, "dest": dest})
        assert not back.failed, back.msg
        with open(f"{dest}/private/key.pem") as handle:
            assert handle.read() == "-----BEGIN TEST KEY-----\n"
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)
        shutil.rmtree(f"{target.scratch}/back", ignore_errors=True)
