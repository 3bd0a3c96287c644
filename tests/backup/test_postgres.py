"""The database path: pg_dump on the host -> S3 -> psql, and SQL restore drills, against a
real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.backup.helpers import keys_under, unique_prefix
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.seaweedfs import SeaweedFS
from tests.harness import Target, make_ctx, run_module

FINGERPRINT = (
    "SELECT count(*) || ':' || md5(string_agg(id || '/' || item, ',' ORDER BY id)) FROM orders"
)


@pytest.fixture
def shop(postgres_server: PostgresServer) -> Iterator[str]:
    """A database with 100 orders; dropped afterwards."""
    name = f"shop_{uuid.uuid4().hex[:10]}"
    postgres_server.create_database(name)
    postgres_server.psql(
        "CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL);"
        "INSERT INTO orders SELECT g, 'item ''' || g || '''' FROM generate_series(1, 100) g;",
        name,
    )
    try:
        yield name
    finally:
        postgres_server.drop_database(name)


def _db_args(server: PostgresServer) -> dict[str, Any]:
    return {"db_host": server.host, "db_port": server.port, "db_user": server.user}


def test_dump_restore_round_trip(
    target: Target, seaweedfs: SeaweedFS, postgres_server: PostgresServer, shop: str
) -> None:
    s3 = seaweedfs.s3_args(prefix=unique_prefix(), name="shop")
    db = _db_args(postgres_server)
    made = run_module(
        "backup", make_ctx(target), {**s3, **db, "database": shop, "db_password": "unused"}
    )
    assert not made.failed, made.msg
    assert made.data["backup"]["key"].endswith((".sql.zst", ".sql.gz"))
    copy = f"copy_{uuid.uuid4().hex[:10]}"
    try:
        back = run_module(
            "restore", make_ctx(target), {**s3, **db, "database": copy, "create_database": True}
        )
        assert not back.failed, back.msg
        assert postgres_server.psql(FINGERPRINT, copy) == postgres_server.psql(FINGERPRINT, shop)
    finally:
        postgres_server.drop_database(copy)


def test_sql_drill_checks_rows_and_drops_its_scratch_database(
    target: Target, seaweedfs: SeaweedFS, postgres_server: PostgresServer, shop: str
) -> None:
    s3 = seaweedfs.s3_args(prefix=unique_prefix(), name="shop")
    db = _db_args(postgres_server)
    made = run_module("backup", make_ctx(target), {**s3, **db, "database": shop})
    assert not made.failed, made.msg
    checks = [
        {"table": "orders", "rows": 100},
        {"query": "SELECT count(*) FROM orders WHERE item LIKE 'item%'", "min_rows": 50},
    ]
    passed = run_module("restore_drill", make_ctx(target), {
        **s3, **db, "sql_checks": checks, "command": 'test -n "$RESTORE_DB"',
    })
    assert not passed.failed, passed.msg
    assert "3/3 checks passed" in passed.msg
    failing = run_module("restore_drill", make_ctx(target), {
        **s3, **db, "sql_checks": [{"table": "orders", "rows": 101}, {"table": "missing"}],
    })
    assert failing.failed
    assert "rows in orders: 100, expected 101" in failing.msg
    assert "rows in missing: query failed" in failing.msg
    drills = "SELECT datname FROM pg_database WHERE datname LIKE 'runbook_drill_%'"
    assert postgres_server.psql(drills).strip() == ""


def test_failed_dump_leaves_no_backup(
    target: Target, seaweedfs: SeaweedFS, postgres_server: PostgresServer
) -> None:
    prefix = unique_prefix()
    s3 = seaweedfs.s3_args(prefix=prefix, name="nope")
    result = run_module(
        "backup", make_ctx(target),
        {**s3, **_db_args(postgres_server), "database": "does_not_exist"},
    )
    assert result.failed
    assert "pg_dump failed" in result.msg and "does_not_exist" in result.msg
    assert keys_under(seaweedfs.client(), seaweedfs.bucket, prefix) == set()
