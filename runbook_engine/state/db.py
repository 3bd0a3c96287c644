"""One small database layer over SQLite (stdlib) and PostgreSQL (psycopg 3).

SQL is written once with `?` placeholders and portable types; PostgreSQL gets `%s`.
A Database holds one connection guarded by one re-entrant lock, so the executor's host
threads (and the lock heartbeat) can share it safely; SQLite's WAL keeps readers in other
processes unblocked.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError

BUSY_TIMEOUT_MS = 15_000


class IntegrityConflict(Exception):
    """A unique constraint refused a row (another writer got there first)."""


class Database:
    dialect: str

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0

    _conn: Any  # the DB-API connection, in autocommit mode (transactions are explicit)

    # -- subclass hooks ---------------------------------------------------------------
    def _cursor(self, sql: str, params: Sequence[Any]) -> Any:
        """Execute one statement (`?` placeholders); a unique-constraint refusal raises
        IntegrityConflict."""
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        """Execute one INSERT; returns the new row's `id`."""
        raise NotImplementedError

    # -- shared by both backends ------------------------------------------------------
    def _raw_execute(self, sql: str, params: Sequence[Any]) -> tuple[list[dict[str, Any]], int]:
        cursor = self._cursor(sql, params)
        rows: list[dict[str, Any]] = []
        if cursor.description:
            names = [getattr(d, "name", None) or d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return rows, cursor.rowcount

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- public -----------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return self._raw_execute(sql, params)[0]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows it touched."""
        with self._lock:
            return self._raw_execute(sql, params)[1]

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT of one row into a table with an `id` key; returns that id."""
        with self._lock:
            return self._insert(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction; nested uses join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._begin()
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._rollback()
                raise
            self._depth = 0
            self._commit()


def _adapt(params: Sequence[Any]) -> list[Any]:
    # Both backends store flags as INTEGER; psycopg would send a bool as boolean (sqlite3
    # stores True as 1 itself, so SQLite statements skip this).
    return [int(p) if isinstance(p, bool) else p for p in params]


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. On a new file, several processes opening it at once race for the
    switch, and SQLite answers "database is locked" at once (the busy handler is not
    used for it): retry within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _enable_wal(self._conn)
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        try:
            path.chmod(0o600)  # the history names hosts and users: keep it private
        except OSError:
            pass

    def _cursor(self, sql: str, params: Sequence[Any]) -> Any:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityConflict(str(exc)) from exc

    def _begin(self) -> None:
        # IMMEDIATE takes the write lock up front: no deadlock when a reader upgrades.
        self._conn.execute("BEGIN IMMEDIATE")

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        # lastrowid, not RETURNING: a RETURNING row is fetched by a second step of the
        # statement, and every step releases the GIL (a thread switch when hosts are busy).
        row_id = self._cursor(sql, params).lastrowid
        assert row_id is not None
        return int(row_id)


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise InputError(
                "RUNBOOK_STATE_URL names PostgreSQL but psycopg is not installed",
                hint="pip install 'runbook-engine[postgres]'",
            ) from None
        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=15)
        except psycopg.OperationalError as exc:
            raise InputError(f"cannot connect to the state database: {_first_line(exc)}") from None

    def _cursor(self, sql: str, params: Sequence[Any]) -> Any:
        try:
            return self._conn.execute(sql.replace("?", "%s"), _adapt(params))
        except self._psycopg.errors.UniqueViolation as exc:
            raise IntegrityConflict(str(exc)) from exc

    def _begin(self) -> None:
        self._conn.execute("BEGIN")

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        return int(self._cursor(f"{sql} RETURNING id", params).fetchone()[0])


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
