"""The mysqldump path: dump on the host -> S3 -> mysql, and a SQL drill, on real MariaDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.backup.conftest import MariaDB
from tests.backup.helpers import keys_under, unique_prefix
from tests.fixtures.seaweedfs import SeaweedFS
from tests.harness import Target, make_ctx, run_module

FINGERPRINT = "SELECT COUNT(*), SUM(CRC32(CONCAT(id, '/', item))) FROM orders"


@pytest.fixture
def shop(mariadb_server: MariaDB) -> Iterator[str]:
    name = f"shop_{uuid.uuid4().hex[:10]}"
    mariadb_server.sql(
        f"CREATE DATABASE {name}; USE {name};"
        "CREATE TABLE orders (id INT PRIMARY KEY, item TEXT NOT NULL);"
        "INSERT INTO orders SELECT seq, CONCAT('item ''', seq, '''') FROM seq_1_to_100;"
    )
    try:
        yield name
    finally:
        mariadb_server.sql(f"DROP DATABASE IF EXISTS {name}")


def _db(server: MariaDB, password: str | None = None) -> dict[str, Any]:
    return {
        "db_engine": "mysql", "db_host": server.host, "db_port": server.port,
        "db_user": server.user, "db_password": password or server.password,
    }


def test_mysqldump_round_trip_and_drill(
    target: Target, seaweedfs: SeaweedFS, mariadb_server: MariaDB, shop: str
) -> None:
    s3 = seaweedfs.s3_args(prefix=unique_prefix(), name="shop")
    db = _db(mariadb_server)
    made = run_module("backup", make_ctx(target), {**s3, **db, "database": shop})
    assert not made.failed, made.msg
    copy = f"copy_{uuid.uuid4().hex[:10]}"
    try:
        back = run_module(
            "restore", make_ctx(target), {**s3, **db, "database": copy, "create_database": True}
        )
        assert not back.failed, back.msg
        assert mariadb_server.sql(FINGERPRINT, copy) == mariadb_server.sql(FINGERPRINT, shop)
    finally:
        mariadb_server.sql(f"DROP DATABASE IF EXISTS {copy}")
    drill = run_module("restore_drill", make_ctx(target), {
        **s3, **db, "sql_checks": [{"table": "orders", "rows": 100}],
    })
    assert not drill.failed, drill.msg
    assert "1/1 checks passed" in drill.msg
    leftovers = mariadb_server.sql("SHOW DATABASES LIKE 'runbook_drill_%'")
    assert leftovers.strip() == ""


def test_wrong_database_password_leaves_no_backup(
    target: Target, seaweedfs: SeaweedFS, mariadb_server: MariaDB, shop: str
) -> None:
    prefix = unique_prefix()
    s3 = seaweedfs.s3_args(prefix=prefix, name="shop")
    result = run_module(
        "backup", make_ctx(target),
        {**s3, **_db(mariadb_server, "wrong-password"), "database": shop},
    )
    assert result.failed
    assert "mysqldump failed" in result.msg and "Access denied" in result.msg
    assert "wrong-password" not in result.msg
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == set()
