"""The PostgreSQL fixture gives a real server that answers SQL on loopback only."""

from __future__ import annotations

import psycopg

from tests.fixtures.postgres import PostgresServer


def test_server_answers_sql_on_loopback(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.dsn) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
    assert version.startswith(("15", "16"))
    assert listen == "127.0.0.1"


def test_each_test_gets_an_empty_database(postgres_db: str) -> None:
    with psycopg.connect(postgres_db) as conn:
        conn.execute("CREATE TABLE marker (id int)")
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert tables == 1
